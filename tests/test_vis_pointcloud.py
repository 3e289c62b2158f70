"""Smoke tests for visualisation.pointcloud: each figure comes back with its panels labelled."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import voxel_sphere_shell  # noqa: E402

from pcc.pointcloud.octree_codec import encode_octree  # noqa: E402
from pcc.pointcloud.stats import occupancy_stats  # noqa: E402
from visualisation import pointcloud as vp  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _shell():
    return voxel_sphere_shell(radius=12.0, centre=16.0, n=20000)


def test_level_bits_figure():
    enc = encode_octree(_shell())
    fig = vp.level_bits_figure({"shell": enc.levels}, file_bits={"shell": 8 * len(enc.data)})
    assert len(fig.axes) == 3
    assert fig.axes[0].get_ylabel() == "real bits of the level (kbit)"
    assert all(ax.get_xlabel() == "octree level (0 = root)" for ax in fig.axes)
    assert "% of file" in fig.axes[0].get_legend().get_texts()[0].get_text()


def test_children_and_histogram_figures():
    st = {"shell": occupancy_stats(_shell(), 5), "point": occupancy_stats(np.array([[1, 2, 3]]), 5)}
    fig = vp.children_per_node_figure(st)
    assert fig.axes[0].get_ylabel() == "occupied children per node"
    assert len(fig.axes[1].get_lines()) == 2
    fig2 = vp.occupancy_histogram_figure(st)
    assert len(fig2.axes) == 3  # two heat maps + colour bar
    assert fig2.axes[-1].get_ylabel() == "share of the level's nodes (%)"


def test_slices_and_latents():
    x = np.zeros((8, 8, 8))
    x[2:5, 3, :] = 1
    fig = vp.occupancy_slices_figure({"input": x, "p": x * 0.7}, n_slices=2)
    assert len([a for a in fig.axes if a.images]) == 4
    assert fig.axes[0].get_title() == "z = 0" or fig.axes[0].get_title().startswith("z = ")
    y = np.random.default_rng(0).normal(size=(6, 2, 3, 3))
    fig2 = vp.latent_slices_figure(y, n_channels=3)
    assert len([a for a in fig2.axes if a.images]) == 3
    assert fig2.axes[-1].get_ylabel() == "latent value (quantisation steps)"
    with pytest.raises(ValueError):
        vp.latent_slices_figure(y[0])


def test_training_and_score_figures():
    hist = {"a": {"step": [1, 2, 3], "loss": [3, 2, 1]}, "b": {"step": [1, 2], "loss": [2, 1]}}
    fig = vp.loss_comparison_figure(hist, metrics=[("loss", "loss (nats)")])
    assert fig.axes[0].get_ylabel() == "loss (nats)" and len(fig.axes[0].get_lines()) == 2
    t = np.zeros((2, 4, 4, 4))
    t[:, 0] = 1
    fig2 = vp.probability_histograms_figure({"m": t * 0.8 + 0.1}, t)
    assert "100 % of occupied" in fig2.axes[0].get_title()
    fig3 = vp.score_bars_figure(
        {"m1": {"recall": 0.5, "precision": 1.0}, "m2": {"recall": 0.2, "precision": 0.3}}
    )
    assert fig3.axes[0].get_ylabel() == "score (%)" and len(fig3.axes[0].patches) == 4
