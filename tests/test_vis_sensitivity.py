"""Smoke tests of visualisation.sensitivity (headless, tiny inputs)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pcc.c3dgs.stages import PruningCurve  # noqa: E402
from visualisation import sensitivity as vs  # noqa: E402


def _imp(n=300, seed=0):
    rng = np.random.default_rng(seed)
    v = 10 ** rng.normal(-5, 1, n)
    v[:7] = 0.0
    return v


def test_log_sensitivity_puts_zeros_below_the_smallest():
    out = vs.log_sensitivity(np.array([0.0, 1e-3, 1e-5]))
    assert np.allclose(out, [-6.0, -3.0, -5.0])


def test_histograms_show_thresholds_and_zero_count():
    c, s = _imp(), _imp(seed=1)
    fig = vs.sensitivity_histograms(
        torch.as_tensor(c), s, 1e-4, 1e-3, extra_thresholds={"paper": (6e-7, 3e-6)}
    )
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    ax = fig.axes[0]
    assert "sensitivity" in ax.get_xlabel() and ax.get_ylabel() and ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("keep threshold" in t and "kept exact" in t for t in labels)
    assert any(t.startswith("paper") for t in labels)
    assert any("7 with zero sensitivity" in t for t in labels)


def test_infinite_threshold_draws_no_line():
    fig = vs.sensitivity_histograms(_imp(), _imp(), float("inf"), 1e-5)
    assert fig.axes[0].get_legend() is None or not any(
        "keep threshold" in t.get_text() for t in fig.axes[0].get_legend().get_texts()
    )


def test_sensitivity_vs_attributes():
    n = 300
    rng = np.random.default_rng(0)
    fig = vs.sensitivity_vs_attributes(
        _imp(n), rng.random(n), 10 ** rng.normal(-2, 0.5, n), threshold=1e-4
    )
    axes = [a for a in fig.axes if a.get_xlabel()]
    assert {"opacity (after sigmoid)", "log10 largest scale (world units)"} <= {
        a.get_xlabel() for a in axes
    }
    assert "7 with zero sensitivity" in fig._suptitle.get_text()


def test_removal_curves():
    curves = [
        PruningCurve(
            s,
            np.array([0, 0.2]),
            np.array([10, 8]),
            np.array([30.0, p]),
            np.array([0.9, 0.8]),
            np.zeros((2, 1)),
        )
        for s, p in (("least-sensitive", 29.0), ("random", 25.0))
    ]
    fig = vs.removal_curves(curves, baseline_psnr=30.0)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "test-view PSNR (dB)" and "%" in ax.get_xlabel()
    assert len(ax.get_lines()) == 3


def test_3d_views():
    pts = np.random.default_rng(0).random((50, 3))
    fig = vs.sensitivity_3d(pts, _imp(50))
    assert type(fig).__name__ == "Figure" and len(fig.data) >= 1
    static = vs.sensitivity_3d_static(pts, _imp(50))
    assert isinstance(static, Figure)
