"""What quantisation kept: original vs quantised features, error curves, initialisations, codebook usage.

Part of :mod:`visualisation.vq` (import the public names from there)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from visualisation.arrays import as_numpy
from visualisation.style import PALETTE
from visualisation.vq._common import (
    CENTROID_COLOR,
    DATA_COLOR,
    DEAD_COLOR,
    GREY,
    KEPT_COLOR,
    _log_if_wide,
    _shown,
    subsample_indices,
)
from visualisation.vq.features import (
    Projection,
    _scale_axes,
    fit_pca,
)


# --------------------------------------------------------------------------- results
def _usage(indices, n_rows: int) -> np.ndarray:
    return np.bincount(as_numpy(indices, np.int64), minlength=n_rows)[:n_rows]


def plot_original_vs_quantised(
    features,
    table,
    indices,
    *,
    n_centroids: int | None = None,
    projection: Projection | None = None,
    feature_name: str = "features",
    title: str | None = None,
    max_points: int = 6000,
    seed: int = 0,
    figsize=(11.0, 4.6),
) -> Figure:
    """Original features ``[N, D]`` next to the rows of the table ``[M, D]`` that replace them.

    ``indices [N]`` point every Gaussian to its row. The first ``n_centroids`` rows are the
    codebook (orange, area proportional to the number of Gaussians using the row); the rest are
    features kept exact (vermillion crosses). Both panels share the PCA axes of the originals.
    """
    x, t = as_numpy(features), as_numpy(table)
    n_rows = t.shape[0]
    k = n_rows if n_centroids is None else int(n_centroids)
    proj = projection or fit_pca(x, 2, seed=seed)
    idx = subsample_indices(x.shape[0], max_points, seed)
    p = proj(x[idx])
    pt = proj(t)
    use = _usage(indices, n_rows)
    fig = Figure(figsize=figsize, layout="constrained")
    ax0, ax1 = fig.subplots(1, 2, sharex=True, sharey=True)
    ax0.scatter(p[:, 0], p[:, 1], s=3, color=DATA_COLOR, alpha=0.45)
    ax0.set_title(f"original: {_shown(len(idx), x.shape[0])} Gaussians")
    ax1.scatter(p[:, 0], p[:, 1], s=3, color=GREY, alpha=0.2, label="original")
    used = use[:k] > 0
    area = 4.0 + 60.0 * np.sqrt(use[:k] / max(use[:k].max(), 1))
    ax1.scatter(
        pt[:k][used, 0],
        pt[:k][used, 1],
        s=area[used],
        color=CENTROID_COLOR,
        edgecolor="black",
        linewidth=0.3,
        label=f"codebook ({int(used.sum())} used rows)",
    )
    if n_rows > k:
        ax1.scatter(
            pt[k:, 0],
            pt[k:, 1],
            s=14,
            marker="x",
            color=KEPT_COLOR,
            label=f"kept exact ({n_rows - k})",
        )
    ax1.set_title(f"quantised: {n_rows:,} table rows for {x.shape[0]:,} Gaussians")
    ax1.legend(loc="upper right", markerscale=1.0)
    for ax in (ax0, ax1):
        ax.set_xlabel(proj.label(0, feature_name))
    ax0.set_ylabel(proj.label(1, feature_name))
    fig.suptitle(
        title or f"{feature_name}: original vs quantised (marker area ∝ Gaussians per row)"
    )
    return fig


def plot_original_vs_quantised_3d(
    points,
    quantised,
    *,
    title: str = "Scale directions: original vs quantised",
    max_points: int = 4000,
    seed: int = 0,
    elev: float = 40.0,
    azim: float = 55.0,
    figsize=(11.0, 5.0),
) -> Figure:
    """3D scatter of original points ``[N, 3]`` next to the distinct quantised points ``[M, 3]``."""
    a = np.sort(as_numpy(points), axis=1)
    q = np.sort(as_numpy(quantised), axis=1)
    idx = subsample_indices(a.shape[0], max_points, seed)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = [fig.add_subplot(1, 2, i + 1, projection="3d") for i in range(2)]
    axes[0].scatter(*a[idx].T, s=2, color=DATA_COLOR, alpha=0.4, depthshade=False)
    axes[0].set_title(f"original ({_shown(len(idx), a.shape[0])})")
    axes[1].scatter(*a[idx].T, s=2, color=GREY, alpha=0.15, depthshade=False)
    axes[1].scatter(*q.T, s=10, color=CENTROID_COLOR, edgecolor="black", lw=0.2, depthshade=False)
    axes[1].set_title(f"quantised ({q.shape[0]:,} distinct rows)")
    allp = np.concatenate([a[idx], q])
    lo, hi = allp.min(0), allp.max(0)
    for ax in axes:
        _scale_axes(ax)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_zlim(lo[2], hi[2])
        ax.view_init(elev=elev, azim=azim)
    fig.suptitle(title)
    return fig


def plot_error_curves(
    curves: Mapping[str, Sequence[float]],
    *,
    title: str = "Quantisation error during k-means",
    ylabel: str = "batch mean squared error (feature units²)",
    log: bool = True,
    figsize=(6.4, 4.2),
) -> Figure:
    """One curve per run: ``{label: errors per step}`` (``VectorQuantizer.errors``)."""
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    for i, (label, e) in enumerate(curves.items()):
        e = np.asarray(e, dtype=np.float64)
        ax.plot(np.arange(1, e.size + 1), e, color=PALETTE[i % len(PALETTE)], lw=1.5, label=label)
        if e.size:
            ax.annotate(
                f"{e[-1]:.3g}",
                (e.size, e[-1]),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=9,
                color=PALETTE[i % len(PALETTE)],
            )
    if log:
        _log_if_wide(ax, [np.asarray(e) for e in curves.values()])
    ax.set_xlabel("k-means step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return fig


def plot_init_comparison(
    features,
    runs: Mapping[str, tuple],
    *,
    projection: Projection | None = None,
    feature_name: str = "features",
    title: str = "Codebook initialisation: where the centroids start and where they end",
    max_points: int = 4000,
    seed: int = 0,
    panel_size=(4.2, 3.6),
) -> Figure:
    """A 2 x R grid: initial (top) and final (bottom) centroids of every run over the features.

    ``runs`` maps a label (e.g. ``"uniform"``) to ``(initial [K, D], final [K, D])`` or to
    ``(initial, final, usage [K])``; with usage, dead centroids (usage 0) are drawn as open
    circles and counted in the panel title.
    """
    x = as_numpy(features)
    proj = projection or fit_pca(x, 2, seed=seed)
    idx = subsample_indices(x.shape[0], max_points, seed)
    p = proj(x[idx])
    n = len(runs)
    fig = Figure(figsize=(panel_size[0] * n, panel_size[1] * 2), layout="constrained")
    axes = np.atleast_2d(fig.subplots(2, n, sharex=True, sharey=True, squeeze=False))
    allc = [proj(c) for r in runs.values() for c in r[:2]]
    both = np.concatenate([p] + allc)
    lo, hi = both.min(0), both.max(0)
    pad = 0.05 * (hi - lo + 1e-12)
    for j, (label, run) in enumerate(runs.items()):
        init, final = proj(run[0]), proj(run[1])
        usage = as_numpy(run[2], np.int64) if len(run) > 2 and run[2] is not None else None
        for i, (c, when) in enumerate(((init, "initial"), (final, "final"))):
            ax = axes[i, j]
            ax.scatter(p[:, 0], p[:, 1], s=2, color=GREY, alpha=0.3)
            sz = float(np.clip(400.0 / np.sqrt(c.shape[0]), 4, 30))
            if i == 1 and usage is not None:
                dead = usage == 0
                ax.scatter(
                    *c[~dead].T, s=sz, color=CENTROID_COLOR, edgecolor="black", lw=0.3, label="used"
                )
                ax.scatter(
                    *c[dead].T,
                    s=sz,
                    facecolor="none",
                    edgecolor=DEAD_COLOR,
                    lw=0.8,
                    label="dead (no Gaussian)",
                )
                ax.legend(loc="lower right", fontsize=9)
                ax.set_title(f"{label}: {when} ({int(dead.sum())} of {c.shape[0]} dead)")
            else:
                ax.scatter(*c.T, s=sz, color=CENTROID_COLOR, edgecolor="black", lw=0.3)
                ax.set_title(f"{label}: {when}")
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
            if i == 1:
                ax.set_xlabel(proj.label(0, feature_name))
            if j == 0:
                ax.set_ylabel(proj.label(1, feature_name))
    fig.suptitle(title)
    return fig


def plot_codebook_usage(
    usages: Mapping[str, Sequence[int]],
    *,
    title: str = "Codebook usage: Gaussians per centroid",
    figsize=(6.4, 4.2),
) -> Figure:
    """Sorted Gaussians-per-centroid counts of several codebooks (``{label: usage [K]}``).

    The y axis is symmetric-log so that the dead centroids (count 0) stay visible at the bottom;
    the legend gives the number of dead centroids of each codebook.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    for i, (label, u) in enumerate(usages.items()):
        u = np.sort(as_numpy(u, np.int64))[::-1]
        dead = int((u == 0).sum())
        ax.step(
            np.arange(1, u.size + 1),
            u,
            where="mid",
            color=PALETTE[i % len(PALETTE)],
            lw=1.6,
            label=f"{label}: {dead} of {u.size} dead",
        )
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=-0.3)
    ax.set_xlabel("centroid rank (most used first)")
    ax.set_ylabel("Gaussians assigned (count)")
    ax.set_title(title)
    ax.legend()
    return fig
