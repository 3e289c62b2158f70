"""Figures of the learned occupancy coder: where the bits go per level, and is the model calibrated.

Used by ``notebooks/17_learned_lossless.ipynb``; inputs are plain arrays / the ``levels`` rows of
:mod:`pcc.bench.bench_occupancy` (or :class:`pcc.pointcloud.octree_codec.LevelStats` lists).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from visualisation.style import apply_style, color


def plot_bits_per_level(
    levels: list[int], bits: dict[str, list[float]], title: str | None = None
) -> plt.Figure:
    """Grouped bars: real bits of every octree level for each coder (``{coder: bits per level}``)."""
    apply_style()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    names = list(bits)
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(levels))
    for i, name in enumerate(names):
        kbits = np.asarray(bits[name], dtype=float) / 1e3
        ax.bar(x + (i - (len(names) - 1) / 2) * width, kbits, width, label=name, color=color(i))
    ax.set_xticks(x, [str(v) for v in levels])
    ax.set_xlabel("octree level (0 = root; the last level codes the voxels)")
    ax.set_ylabel("real bits of the level (kbit)")
    ax.set_title(title or "Most bits go to the last two levels: that is where a model must win")
    ax.legend(frameon=False)
    return fig


def plot_calibration(
    p_pred: np.ndarray, bits: np.ndarray, n_bins: int = 20, title: str | None = None
) -> plt.Figure:
    """Reliability diagram of P(child occupied): predicted vs observed frequency, with counts.

    ``p_pred`` float ``[n]`` predicted probabilities, ``bits`` ``[n]`` what was coded (0/1).
    """
    apply_style()
    p_pred = np.asarray(p_pred, dtype=float)
    bits = np.asarray(bits, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(p_pred, edges) - 1, 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    mean_p = np.bincount(which, weights=p_pred, minlength=n_bins) / np.maximum(counts, 1)
    freq = np.bincount(which, weights=bits, minlength=n_bins) / np.maximum(counts, 1)
    used = counts > 0
    fig, (ax, axc) = plt.subplots(
        2, 1, figsize=(5, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.plot([0, 1], [0, 1], color=color(7), lw=1, ls="--", label="perfect calibration")
    ax.plot(mean_p[used], freq[used], "o-", color=color(0), label="learned model")
    ax.set_ylabel("observed frequency of 'occupied'")
    ax.set_title(title or "Predicted vs actual occupancy: points on the diagonal are calibrated")
    ax.legend(frameon=False, loc="upper left")
    axc.bar(edges[:-1], counts, width=1.0 / n_bins, align="edge", color=color(5))
    axc.set_yscale("log")
    axc.set_xlabel("predicted P(child occupied)")
    axc.set_ylabel("symbols")
    return fig
