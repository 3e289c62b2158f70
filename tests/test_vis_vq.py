"""Smoke tests for visualisation.vq: figures and animations come back labelled and complete."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pcc.c3dgs.vq import VectorQuantizer, quantize_features  # noqa: E402
from visualisation import vq as vis  # noqa: E402

# animations built but never rendered warn when garbage-collected (in whichever test runs then)
pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted")


@pytest.fixture
def fitted():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 6, generator=g) * torch.tensor([3.0, 1.0, 0.5, 0.2, 0.1, 0.1])
    w = torch.rand(300, generator=g)
    vq = VectorQuantizer(k=8, steps=9, batch_size=64, history_every=3, seed=1)
    table, idx, keep = quantize_features(x, w, float(w.sort().values[-11]), vq)
    return x, w, vq, table, idx, keep


def test_pca_orders_components_and_projects_consistently(fitted):
    x = fitted[0]
    proj = vis.fit_pca(x, 2)
    assert proj.components.shape == (2, 6)
    assert proj.explained[0] >= proj.explained[1] > 0
    assert abs(proj.components[0, 0]) > 0.9  # the widest axis of the data
    assert proj(x).shape == (300, 2)
    assert proj(torch.zeros(4, 5, 6)).shape == (4, 5, 2)  # centroid histories [F, K, D]
    assert "% of var." in proj.label(0, "SH")
    with pytest.raises(ValueError):
        proj(np.zeros((3, 4)))


def test_feature_space_and_scales(fitted):
    x, w = fitted[:2]
    fig = vis.plot_feature_space(x, weights=w, feature_name="SH", max_points=100)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("PC 1 of SH") and ax.get_ylabel().startswith("PC 2")
    assert "100 of 300" in ax.get_title()
    assert len(fig.axes) == 2  # the colour bar
    scales = torch.rand(50, 3)
    fig = vis.plot_scales_3d(scales / scales.norm(dim=1, keepdim=True))
    assert "s3 (longest)" in fig.axes[0].get_zlabel()


def test_animations_have_one_frame_per_snapshot(fitted):
    x, _, vq = fitted[:3]
    assert len(vq.history) == 4 and vq.history_steps == [0, 3, 6, 9]
    anim = vis.animate_centroids_2d(
        x, vq.history_tensor(), steps=vq.history_steps, errors=vq.errors, feature_name="SH"
    )
    assert isinstance(anim, FuncAnimation)
    frames = list(anim.new_frame_seq())
    assert len(frames) == 4
    fig = anim._fig
    assert fig.axes[1].get_xlabel() == "k-means step"
    anim._func(3)
    assert fig.axes[0].get_title() == "step 9 of 9"
    assert "centroids" in fig.axes[0].get_legend().get_texts()[1].get_text()
    html = anim.to_jshtml()
    assert html.count("data:image/png") == 4

    pts = np.abs(np.random.default_rng(0).normal(size=(80, 3)))
    hist = np.abs(np.random.default_rng(1).normal(size=(5, 6, 3)))
    anim3 = vis.animate_centroids_3d(pts, hist, steps=[0, 2, 4, 6, 8])
    assert len(list(anim3.new_frame_seq())) == 5
    anim3._func(4)
    assert anim3._fig.axes[0].get_title() == "step 8 of 8"
    with pytest.raises(ValueError):
        vis.animate_centroids_2d(x, np.zeros((0, 8, 6)))
    with pytest.raises(ValueError):
        vis.animate_centroids_3d(pts, hist, steps=[0, 1])


def test_original_vs_quantised_counts_rows(fitted):
    x, _, vq, table, idx, keep = fitted
    fig = vis.plot_original_vs_quantised(x, table, idx, n_centroids=vq.k, feature_name="SH")
    right = fig.axes[1]
    assert f"{table.shape[0]:,} table rows" in right.get_title()
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert any("kept exact (10)" in t for t in labels)
    fig3 = vis.plot_original_vs_quantised_3d(torch.rand(40, 3), torch.rand(5, 3))
    assert "5 distinct rows" in fig3.axes[1].get_title()


def test_error_curves_init_comparison_and_usage(fitted):
    x = fitted[0]
    runs = {}
    for init in ("uniform", "kmeans++"):
        vq = VectorQuantizer(k=8, steps=5, batch_size=64, init=init, reseed_dead=False, seed=2)
        vq.fit(x)
        runs[init] = (vq.initial_centroids, vq.centroids, vq.cluster_sizes(x))
    fig = vis.plot_error_curves({"a": [1.0, 0.5, 0.01], "b": [0.9, 0.8, 0.7]})
    assert fig.axes[0].get_yscale() == "log"  # spans more than 20x
    assert len(fig.axes[0].get_lines()) == 2
    fig = vis.plot_init_comparison(x, runs)
    assert len(fig.axes) == 4
    assert "dead" in fig.axes[2].get_title()
    fig = vis.plot_codebook_usage({k: r[2] for k, r in runs.items()})
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    dead = int((runs["uniform"][2] == 0).sum())
    assert f"uniform: {dead} of 8 dead" in texts


def test_explorer_result_and_widget_call_the_plain_function():
    ref = np.full((8, 8, 3), 0.5)
    q = ref + 0.01
    fig = vis.plot_explorer_result(ref, q, psnr_db=40.0, info={"k": 64})
    assert "40.00 dB" in fig.axes[1].get_title() and "k 64" in fig._suptitle.get_text()
    calls = []

    def compute(k, keep_fraction):
        calls.append((k, keep_fraction))
        return vis.plot_explorer_result(ref, q, psnr_db=1.0)

    box = vis.vq_explorer(compute, [32, 64], [0.0, 0.01], k=64, keep=0.01)
    assert calls == []  # building the widget computes nothing
    box.controls["k"].value = 32
    assert calls == [(32, 0.01)]
    box.controls["keep_fraction"].value = 0.0
    assert calls[-1] == (32, 0.0)
