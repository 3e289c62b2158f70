"""Figures of notebook ``01_sensitivity``: how sensitive each Gaussian is, and what that decides.

All functions take arrays / tensors (or a :class:`pcc.c3dgs.stages.SensitivityResult`) and return
a matplotlib ``Figure`` or a plotly ``Figure``; nothing is shown or saved here.

* :func:`sensitivity_histograms` - colour and shape sensitivity on a log axis, with the keep-exact
  thresholds the pipeline really uses (and optionally other thresholds, e.g. the paper's);
* :func:`sensitivity_vs_attributes` - sensitivity against opacity and size: why some matter;
* :func:`removal_curves` - test PSNR after removing the least / most sensitive or random Gaussians;
* :func:`sensitivity_3d` / :func:`sensitivity_3d_static` - the scene coloured by log sensitivity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from visualisation.arrays import as_numpy
from visualisation.style import PALETTE

__all__ = [
    "log_sensitivity",
    "removal_curves",
    "sensitivity_3d",
    "sensitivity_3d_static",
    "sensitivity_histograms",
    "sensitivity_vs_attributes",
]


def log_sensitivity(values, floor: float | None = None) -> np.ndarray:
    """``log10`` of sensitivities; zeros (never seen) are set to ``floor`` (default: one decade
    below the smallest positive value) so they stay visible at the bottom of a colour scale."""
    v = as_numpy(values).ravel()
    pos = v[v > 0]
    if floor is None:
        floor = float(np.log10(pos.min())) - 1.0 if pos.size else -12.0
    out = np.full(v.shape, floor)
    out[v > 0] = np.log10(v[v > 0])
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %" if x < 0.1 else f"{100 * x:.1f} %"


def sensitivity_histograms(
    color_importance,
    shape_importance,
    color_threshold: float,
    shape_threshold: float,
    *,
    extra_thresholds: Mapping[str, tuple[float, float]] | None = None,
    bins: int = 60,
    title: str | None = None,
) -> Figure:
    """Histograms of per-Gaussian colour and shape sensitivity (log x axis) with thresholds.

    The solid line is the keep-exact threshold of each VQ stage; its label gives how many
    Gaussians lie above it (they keep their exact features). ``extra_thresholds`` maps a name to
    ``(colour, shape)`` thresholds drawn dashed (e.g. ``{"paper (absolute)": (6e-7, 3e-6)}``).
    Gaussians with zero sensitivity (seen by no camera) cannot sit on a log axis; their count is
    written in the panel.
    """
    fig = Figure(figsize=(10.0, 4.8), layout="constrained")
    axes = fig.subplots(1, 2)
    data = (
        ("colour", as_numpy(color_importance).ravel(), color_threshold, 0),
        ("shape", as_numpy(shape_importance).ravel(), shape_threshold, 1),
    )
    for ax, (name, v, thr, j) in zip(axes, data, strict=True):
        pos = v[v > 0]
        n_zero = int((v <= 0).sum())
        if pos.size:
            lo, hi = np.log10(pos.min()), np.log10(pos.max())
            edges = np.logspace(lo, hi if hi > lo else lo + 1, bins + 1)
            ax.hist(pos, bins=edges, color=PALETTE[0], alpha=0.85)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"{name} sensitivity (|dE/dparam| per pixel)")
        ax.set_ylabel("Gaussians per bin")
        ax.set_title(f"{name} sensitivity of {v.size:,} Gaussians")
        if np.isfinite(thr):
            above = float((v > thr).mean())
            ax.axvline(
                thr,
                color=PALETTE[3],
                lw=2,
                label=f"keep threshold {thr:.2g}: {int((v > thr).sum()):,} kept exact ({_pct(above)})",
            )
        for k, (label, pair) in enumerate((extra_thresholds or {}).items()):
            t = pair[j]
            ax.axvline(
                t,
                color=PALETTE[(k + 1) % len(PALETTE)],
                lw=1.5,
                ls="--",
                label=f"{label} {t:.2g}: {_pct(float((v > t).mean()))} above",
            )
        if n_zero:
            ax.plot([], [], ls="none", label=f"{n_zero:,} with zero sensitivity (off the log axis)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=9, frameon=False)
    fig.suptitle(
        title or "Sensitivity spans many orders of magnitude; only the top tail is kept exact",
        fontsize=12,
    )
    return fig


def sensitivity_vs_attributes(
    importance,
    opacity,
    size,
    *,
    importance_label: str = "colour sensitivity",
    size_label: str = "largest scale (world units)",
    threshold: float | None = None,
    max_points: int = 20_000,
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """Sensitivity against opacity and against size (2D histograms, log colour = count).

    ``opacity [N]`` in [0, 1], ``size [N]`` e.g. the largest scale of each Gaussian. Gaussians with
    zero sensitivity are left out (their count is in the title). The dashed line is
    ``threshold`` when given.
    """
    from matplotlib.colors import LogNorm

    imp, op, sz = as_numpy(importance).ravel(), as_numpy(opacity).ravel(), as_numpy(size).ravel()
    pos = imp > 0
    n_zero = int((~pos).sum())
    rng = np.random.default_rng(seed)
    idx = np.nonzero(pos)[0]
    if idx.size > max_points:
        idx = np.sort(rng.choice(idx, max_points, replace=False))
    y = np.log10(imp[idx])
    fig = Figure(figsize=(10.0, 3.9), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    panels = ((op[idx], "opacity (after sigmoid)", False), (sz[idx], size_label, True))
    for ax, (x, xlabel, logx) in zip(axes, panels, strict=True):
        xs = np.log10(np.clip(x, 1e-12, None)) if logx else x
        h = ax.hist2d(xs, y, bins=60, cmap="viridis", norm=LogNorm(), cmin=1)
        ax.set_xlabel(("log10 " if logx else "") + xlabel)
        if threshold is not None and threshold > 0 and np.isfinite(threshold):
            ax.axhline(
                np.log10(threshold), color=PALETTE[3], ls="--", lw=1.5, label="keep threshold"
            )
            ax.legend(loc="lower right", fontsize=9)
        ax.grid(False)
    axes[0].set_ylabel(f"log10 {importance_label}")
    fig.colorbar(h[3], ax=axes, label="Gaussians per cell", shrink=0.9)
    shown = f"{idx.size:,} of {int(pos.sum()):,} Gaussians shown"
    if n_zero:
        shown += f"; {n_zero:,} with zero sensitivity left out"
    fig.suptitle(
        title or f"Sensitivity rises with opacity; size matters less ({shown})", fontsize=12
    )
    return fig


def removal_curves(
    curves: Sequence,
    *,
    baseline_psnr: float | None = None,
    points: Mapping[str, tuple[float, float]] | None = None,
    title: str | None = None,
    xlabel: str = "fraction of Gaussians removed (%)",
    ylabel: str = "test-view PSNR (dB)",
    strategy_labels: Mapping[str, str] | None = None,
    baseline_label: str = "all Gaussians",
    legend_loc: str = "best",
    figsize: tuple[float, float] = (6.8, 4.2),
) -> Figure:
    """Test PSNR against the fraction removed, one line per :class:`pcc.c3dgs.stages.PruningCurve`.

    ``baseline_psnr`` (the uncompressed model) is drawn as a dotted line labelled
    ``baseline_label``; ``points`` are single operating points ``{label: (fraction, psnr)}`` drawn
    as large stars; ``strategy_labels`` renames the curves' strategies in the legend. Also draws
    notebook 02's :func:`visualisation.pruning.psnr_vs_pruned`.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    markers = {"least-sensitive": "o", "random": "s", "most-sensitive": "^"}
    names = strategy_labels or {}
    for i, c in enumerate(curves):
        ax.plot(
            100 * np.asarray(c.fractions),
            c.psnr,
            marker=markers.get(c.strategy, "o"),
            color=PALETTE[i % len(PALETTE)],
            label=names.get(c.strategy, f"remove {c.strategy.replace('-', ' ')} first"),
        )
    for j, (label, (frac, p)) in enumerate((points or {}).items()):
        ax.plot(
            [100 * frac],
            [p],
            marker="*",
            ms=14,
            ls="none",
            color=PALETTE[(len(curves) + j) % len(PALETTE)],
            markeredgecolor="black",
            label=f"{label} ({100 * frac:.1f} %, {p:.2f} dB)",
        )
    if baseline_psnr is not None:
        ax.axhline(
            baseline_psnr, color="0.3", ls=":", label=f"{baseline_label} ({baseline_psnr:.2f} dB)"
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=9, loc=legend_loc)
    ax.set_title(title or "Sensitivity ranks Gaussians: removing the least sensitive costs least")
    return fig


def _clim(logv: np.ndarray, lo: float = 2.0, hi: float = 99.8) -> tuple[float, float]:
    """Colour range from percentiles, so a few near-zero outliers do not flatten the scale."""
    return float(np.percentile(logv, lo)), float(np.percentile(logv, hi))


def _sensitivity_kwargs(importance, label: str, kwargs: dict) -> dict:
    logv = log_sensitivity(importance)
    kwargs = {"values": logv, "value_label": label, **kwargs}
    kwargs.setdefault("title", "Gaussians coloured by sensitivity (bright = matters)")
    kwargs.setdefault("units", "world units")
    kwargs.setdefault("clim", _clim(logv))
    return kwargs


def sensitivity_3d(points, importance, *, label: str = "log10 colour sensitivity", **kwargs):
    """Interactive plotly scatter of the Gaussians' centres coloured by log sensitivity.

    The colour range spans the 2nd-99.8th percentiles (``clim=`` overrides it).
    """
    from visualisation.points3d import points3d

    return points3d(as_numpy(points), **_sensitivity_kwargs(importance, label, kwargs))


def sensitivity_3d_static(points, importance, *, label: str = "log10 colour sensitivity", **kwargs):
    """Static matplotlib version of :func:`sensitivity_3d` (for PNGs and reports)."""
    from visualisation.points3d import points3d_static

    return points3d_static(as_numpy(points), **_sensitivity_kwargs(importance, label, kwargs))
