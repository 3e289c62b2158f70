"""Smoke tests for visualisation.scene: figures come back with labelled axes and the right panels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from visualisation import scene as vs  # noqa: E402


def _labelled(ax) -> bool:
    return bool(ax.get_xlabel()) and bool(ax.get_ylabel())


@pytest.fixture
def gaussians():
    g = torch.Generator().manual_seed(0)
    n = 200
    scales = torch.exp(torch.randn(n, 3, generator=g) - 3)
    opac = torch.rand(n, generator=g)
    sh = torch.randn(n, 16, 3, generator=g) * 0.3
    return scales, opac, sh


def test_parameter_distributions_has_six_labelled_panels(gaussians):
    fig = vs.parameter_distributions(*gaussians)
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 6
    assert all(_labelled(ax) for ax in axes)
    assert "scene units" in axes[0].get_xlabel()
    assert "200" in fig._suptitle.get_text()


def test_parameter_distributions_without_view_dependence(gaussians):
    scales, opac, sh = gaussians
    fig = vs.parameter_distributions(scales, opac, sh[:, :1])
    assert "degree 0" in " ".join(t.get_text() for t in fig.axes[4].texts)


def test_parameter_distributions_rejects_mismatched_shapes(gaussians):
    scales, opac, sh = gaussians
    with pytest.raises(ValueError):
        vs.parameter_distributions(scales, opac[:10], sh)


def test_camera_layout_shows_both_splits():
    rng = np.random.default_rng(0)
    fig = vs.camera_layout(
        rng.normal(size=(8, 3)), rng.normal(size=(3, 3)), rng.normal(size=(50, 3))
    )
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("train cameras (8)" in t for t in labels)
    assert any("test cameras (3)" in t for t in labels)
    assert "x (scene units)" == ax.get_xlabel()


def test_compare_views_grid_with_error_column():
    rng = np.random.default_rng(0)
    gts = [rng.random((8, 10, 3)) for _ in range(2)]
    renders = [torch.as_tensor(rng.random((8, 10, 3))) for _ in range(2)]
    fig = vs.compare_views(
        {"ground truth": gts, "render": renders},
        ["v0", "v1"],
        error_between=("ground truth", "render"),
        captions={"render": ["PSNR 1", "PSNR 2"]},
    )
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 6  # 2 views x (2 columns + error)
    assert image_axes[0].get_ylabel() == "v0"
    assert image_axes[1].get_xlabel() == "PSNR 1"
    assert any("absolute error" in ax.get_ylabel() for ax in fig.axes)  # the colour bar


def test_compare_views_rejects_a_short_column():
    with pytest.raises(ValueError):
        vs.compare_views({"a": [np.zeros((4, 4, 3))]}, ["v0", "v1"])


def test_per_view_bars_one_bar_per_view_and_series():
    fig = vs.per_view_bars(["a", "b", "c"], {"before": [30, 31, 29], "after": [29, 30, 28.5]})
    ax = fig.axes[0]
    assert len(ax.patches) == 6
    assert ax.get_ylabel() == "PSNR (dB)"
    assert "mean 30.00" in ax.get_legend().get_texts()[0].get_text()


def test_pipeline_diagram_has_a_box_per_stage():
    fig = vs.pipeline_diagram()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert all(s.name in texts for s in vs.PIPELINE)
    assert sum(t.startswith("notebook ") for t in texts) == len(vs.PIPELINE)
