"""Smoke tests of visualisation.pruning (headless, tiny inputs)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pcc.c3dgs.stages import PruningCurve  # noqa: E402
from visualisation import pruning as vp  # noqa: E402


def test_kept_vs_pruned_3d_both_backends():
    rng = np.random.default_rng(0)
    kept, removed = rng.random((40, 3)), rng.random((5, 3))
    fig = vp.kept_vs_pruned_3d(kept, removed)
    names = {t.name for t in fig.data}
    assert any("kept" in n for n in names) and any("pruned" in n for n in names)
    assert "5 of 45" in fig.layout.title.text
    static = vp.kept_vs_pruned_3d_static(kept, removed)
    assert isinstance(static, Figure)


def test_every_pruned_gaussian_is_shown_when_subsampling():
    rng = np.random.default_rng(0)
    kept, removed = rng.random((500, 3)), rng.random((7, 3))
    fig = vp.kept_vs_pruned_3d(kept, removed, max_points=100)
    n = {t.name.split(" (")[0]: len(t.x) for t in fig.data}
    assert n["pruned"] == 7 and n["kept, shown"] == 93
    assert "all pruned and 93 of 500 kept shown" in fig.layout.title.text


def test_neighbor_count_histogram():
    counts = np.array([-1, 0, 1, 2, 2, 3, 9, 12])
    fig = vp.neighbor_count_histogram(counts, 4.0, 0.05)
    ax = fig.axes[0]
    assert "0.05 world units" in ax.get_xlabel() and ax.get_ylabel() == "Gaussians"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "kept: 5" in texts and "pruned: 2" in texts


def test_psnr_vs_pruned_with_points():
    c = PruningCurve(
        "least-sensitive",
        np.array([0, 0.1, 0.3]),
        np.array([10, 9, 7]),
        np.array([30.0, 29.9, 28.0]),
        np.ones(3),
        np.zeros((3, 2)),
    )
    fig = vp.psnr_vs_pruned([c], baseline_psnr=30.0, points={"density": (0.15, 28.5)})
    ax = fig.axes[0]
    assert "PSNR (dB)" in ax.get_ylabel() and "(%)" in ax.get_xlabel()
    assert len(ax.get_lines()) == 3


def test_prune_counts():
    fig = vp.prune_counts({"input": 100, "after sensitivity": 90, "after density": 70})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Gaussians" and len(ax.patches) == 3
    assert any("70 (70.0 %)" in t.get_text() for t in ax.texts)
