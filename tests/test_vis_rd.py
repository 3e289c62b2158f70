"""Smoke tests of the rate-distortion figures (``visualisation/rd.py``)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from visualisation import rd  # noqa: E402


def _rows(scale: float, shift: float) -> list[dict]:
    return [
        {"bpp": scale * b, "d1_psnr": shift + p, "d2_psnr": shift + p + 2, "label": f"p{i}"}
        for i, (b, p) in enumerate([(0.02, 52), (0.06, 58), (0.18, 63), (0.4, 68)])
    ]


def test_rd_curves_two_panels_with_anchors():
    anchors = {"gpcc": [(0.02, 50.0), (0.06, 56.0), (0.2, 61.0), (0.5, 66.0)]}
    fig = rd.rd_curves(
        {"learned": _rows(0.5, 1.0), "octree": _rows(1.0, 0.0)},
        anchors=anchors,
        peak=1023,
        annotate={"learned": "label"},
        title="t",
    )
    assert len(fig.axes) == 2
    d1, d2 = fig.axes
    assert d1.get_xscale() == "log" and "bits per input point" in d1.get_xlabel()
    assert "peak 1023" in d1.get_ylabel() and d2.get_ylabel().startswith("D2")
    labels = [t.get_text() for t in d1.get_legend().get_texts()]
    assert labels == ["learned", "octree", "gpcc (published)"]
    assert len(d2.get_lines()) == 2  # anchors only where their metric is drawn
    plt.close(fig)


def test_bd_bars_marks_undefined_values():
    rows = [
        {"codec": "learned", "reference": "octree", "metric": "d1_psnr", "bd_rate": -60.0},
        {"codec": "learned", "reference": "octree", "metric": "d2_psnr", "bd_rate": -45.0},
        {"codec": "draco", "reference": "octree", "metric": "d1_psnr", "bd_rate": None},
        {"codec": "draco", "reference": "other", "metric": "d1_psnr", "bd_rate": 10.0},
    ]
    fig = rd.bd_bars(rows, reference="octree")
    ax = fig.axes[0]
    assert "BD-rate vs octree" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["learned", "draco"]
    assert len(ax.patches) == 2  # two defined bars; None is written as n/a
    assert any(t.get_text().strip() == "n/a" for t in ax.texts)
    plt.close(fig)


def test_error_histograms():
    rng = np.random.default_rng(0)
    fig = rd.error_histograms({"a": rng.random(1000), "b": 2 * rng.random(500)})
    ax = fig.axes[0]
    assert "voxels" in ax.get_xlabel() and ax.get_yscale() == "log"
    assert len(ax.get_legend().get_texts()) == 2
    first = ax.get_lines()[0].get_ydata()
    assert first[0] == 1.0 and all(first[:-1] >= first[1:])  # a complementary CDF
    plt.close(fig)
