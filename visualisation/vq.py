"""Figures and animations of sensitivity-aware vector quantisation (k-means on Gaussian features).

Every function takes plain arrays (NumPy or torch) and RETURNS a matplotlib ``Figure`` or a
``FuncAnimation`` (or, for :func:`vq_explorer`, an ipywidgets box); nothing is shown or saved here.
Used by ``notebooks/03_vector_quantisation.ipynb``.

* :func:`fit_pca` / :class:`Projection` - a 2D (or 3D) principal-component view of feature vectors;
  fitted once on the data and then applied to centroids, so every frame shares the same axes;
* :func:`plot_feature_space` - features in their PCA plane, coloured by sensitivity;
* :func:`plot_scales_3d` - unit scale directions of Gaussians (sorted axes) in 3D;
* :func:`animate_centroids_2d` / :func:`animate_centroids_3d` - the codebook history recorded by
  :class:`pcc.c3dgs.vq.VectorQuantizer` (``history``, ``history_steps``, ``errors``);
* :func:`plot_original_vs_quantised` / :func:`plot_original_vs_quantised_3d` - what the table
  keeps of the feature cloud, marker area proportional to how many Gaussians use each row;
* :func:`plot_error_curves` - batch quantisation error per k-means step, several runs;
* :func:`plot_init_comparison` - initial and final codebooks of several initialisations;
* :func:`plot_codebook_usage` - Gaussians per centroid, sorted, with the dead centroids counted;
* :func:`plot_explorer_result` and :func:`vq_explorer` - the interactive codebook-size /
  keep-fraction explorer (the widget only calls a plain function you pass it).

Large clouds are sub-sampled (seeded) for scatter plots; titles say how many points are shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from visualisation.arrays import as_numpy
from visualisation.style import CMAPS, PALETTE

__all__ = [
    "Projection",
    "animate_centroids_2d",
    "animate_centroids_3d",
    "fit_pca",
    "plot_codebook_usage",
    "plot_error_curves",
    "plot_explorer_result",
    "plot_feature_space",
    "plot_init_comparison",
    "plot_original_vs_quantised",
    "plot_original_vs_quantised_3d",
    "plot_scales_3d",
    "subsample_indices",
    "vq_explorer",
]

GREY = "#9a9a9a"
DATA_COLOR = PALETTE[0]  # blue: the Gaussians' features
CENTROID_COLOR = PALETTE[1]  # orange: codebook entries
KEPT_COLOR = PALETTE[2]  # bluish green: rows kept exact (not clustered)
DEAD_COLOR = "#000000"  # open black circles: dead centroids


def subsample_indices(n: int, max_points: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n`` rows, drawn without replacement."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_points, replace=False))


def _log_if_wide(ax, values: Sequence[np.ndarray], ratio: float = 20.0) -> None:
    """Log y axis (plain-number ticks) when positive values span more than ``ratio``."""
    v = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in values] or [np.zeros(0)])
    if v.size == 0 or np.any(v <= 0) or v.max() / v.min() <= ratio:
        return
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_yscale("log")
    plain = FuncFormatter(lambda y, _pos: f"{y:g}")
    ax.yaxis.set_major_formatter(plain)
    # label the minor ticks too when the axis spans less than two decades
    ax.yaxis.set_minor_formatter(plain if v.max() / v.min() < 100 else NullFormatter())


def _shown(n_shown: int, n: int) -> str:
    return f"all {n:,}" if n_shown == n else f"{n_shown:,} of {n:,}"


# --------------------------------------------------------------------------- projection
@dataclass
class Projection:
    """A fitted PCA: ``y = (x - mean) @ components.T``.

    Attributes:
        mean: ``[D]``; components: ``[C, D]`` (orthonormal rows);
        explained: ``[C]`` fraction of the data's variance along each component.
    """

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    def __call__(self, x) -> np.ndarray:
        """Project ``x [..., D]`` -> ``[..., C]``."""
        a = as_numpy(x)
        if a.shape[-1] != self.mean.shape[0]:
            raise ValueError(f"features of dimension {a.shape[-1]}, PCA fitted on {self.mean.size}")
        return (a - self.mean) @ self.components.T

    def label(self, i: int, what: str = "features") -> str:
        """Axis label of component ``i``: ``"PC 1 of <what> (63 % of variance)"``."""
        return f"PC {i + 1} of {what} ({100 * self.explained[i]:.0f} % of var.)"


def fit_pca(features, n_components: int = 2, max_rows: int = 20_000, seed: int = 0) -> Projection:
    """Principal components of ``features [N, D]`` (fitted on at most ``max_rows`` random rows)."""
    x = as_numpy(features)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"PCA needs an [N >= 2, D] array, got {x.shape}")
    x = x[subsample_indices(x.shape[0], max_rows, seed)]
    c = min(n_components, x.shape[1])
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    var = s**2
    total = var.sum() if var.sum() > 0 else 1.0
    comps = vt[:c]
    # a deterministic sign: the largest entry of each component is positive
    signs = np.sign(comps[np.arange(c), np.abs(comps).argmax(axis=1)])
    signs[signs == 0] = 1.0
    return Projection(mean=mean, components=comps * signs[:, None], explained=var[:c] / total)


# --------------------------------------------------------------------------- feature spaces
def plot_feature_space(
    features,
    *,
    weights=None,
    weight_label: str = "sensitivity",
    feature_name: str = "features",
    title: str | None = None,
    projection: Projection | None = None,
    max_points: int = 6000,
    seed: int = 0,
    figsize=(6.4, 5.0),
) -> Figure:
    """Features ``[N, D]`` in their first two principal components, one dot per Gaussian.

    With ``weights [N]`` (e.g. the colour sensitivity) the dots are coloured by ``log10`` of the
    weight, so one sees whether the important Gaussians sit in dense or sparse regions.
    """
    x = as_numpy(features)
    proj = projection or fit_pca(x, 2, seed=seed)
    idx = subsample_indices(x.shape[0], max_points, seed)
    p = proj(x[idx])
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    if weights is not None:
        w = as_numpy(weights)[idx]
        logw = np.log10(np.clip(w, np.min(w[w > 0]) if np.any(w > 0) else 1e-30, None))
        order = np.argsort(logw)  # important ones drawn last (on top)
        sc = ax.scatter(p[order, 0], p[order, 1], c=logw[order], s=4, cmap=CMAPS["sequential"])
        fig.colorbar(sc, ax=ax, label=f"log10 {weight_label}")
    else:
        ax.scatter(p[:, 0], p[:, 1], s=4, color=DATA_COLOR, alpha=0.5)
    ax.set_xlabel(proj.label(0, feature_name))
    ax.set_ylabel(proj.label(1, feature_name))
    shown = _shown(len(idx), x.shape[0])
    ax.set_title(title or f"{feature_name} of {shown} Gaussians, PCA view")
    return fig


def _scale_axes(ax, names=("s1 (shortest)", "s2", "s3 (longest)")) -> None:
    ax.set_xlabel(f"{names[0]}, rel.", labelpad=2)
    ax.set_ylabel(f"{names[1]}, rel.", labelpad=2)
    ax.set_zlabel(f"{names[2]}, rel.", labelpad=2)


def plot_scales_3d(
    scales,
    *,
    title: str | None = None,
    values=None,
    value_label: str = "",
    max_points: int = 5000,
    seed: int = 0,
    elev: float = 40.0,
    azim: float = 55.0,
    figsize=(6.0, 5.4),
) -> Figure:
    """Unit scale directions ``[N, 3]`` (axes sorted shortest to longest) as a 3D scatter.

    Points on the sphere near ``(0, 0, 1)`` are needles, near ``(0, 0.71, 0.71)`` flat discs,
    near ``(0.58, 0.58, 0.58)`` round blobs. ``values [N]`` colours the points.
    """
    s = np.sort(as_numpy(scales), axis=1)
    idx = subsample_indices(s.shape[0], max_points, seed)
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot(projection="3d")
    kw = dict(s=3, depthshade=False)
    if values is not None:
        sc = ax.scatter(*s[idx].T, c=as_numpy(values)[idx], cmap=CMAPS["sequential"], **kw)
        fig.colorbar(sc, ax=ax, label=value_label, shrink=0.7)
    else:
        ax.scatter(*s[idx].T, color=DATA_COLOR, alpha=0.4, **kw)
    _scale_axes(ax)
    ax.view_init(elev=elev, azim=azim)
    ax.set_title(title or f"Scale directions of {_shown(len(idx), s.shape[0])} Gaussians")
    return fig


# --------------------------------------------------------------------------- animations
def _history(history) -> np.ndarray:
    h = as_numpy(history)
    if h.ndim != 3:
        raise ValueError(f"history must be [frames, K, D], got {h.shape}")
    if h.shape[0] == 0:
        raise ValueError("empty centroid history: fit the quantizer with history_every > 0")
    return h


def _frame_steps(n_frames: int, steps) -> np.ndarray:
    if steps is None:
        return np.arange(n_frames)
    st = np.asarray(steps, dtype=np.int64)
    if st.shape != (n_frames,):
        raise ValueError(f"{st.size} step numbers for {n_frames} frames")
    return st


def animate_centroids_2d(
    features,
    history,
    *,
    steps=None,
    errors=None,
    projection: Projection | None = None,
    feature_name: str = "features",
    title: str = "k-means centroids moving through the feature space",
    max_points: int = 4000,
    seed: int = 0,
    interval: int = 250,
    figsize=(10.0, 4.4),
) -> FuncAnimation:
    """Animate a centroid history ``[F, K, D]`` over the features ``[N, D]`` in a PCA plane.

    Left: the features (grey) and the centroids of the frame (orange). Right (when ``errors``,
    the per-step batch error, is given): the error curve with the frame's step marked.
    ``steps [F]`` are the k-means steps of the frames (``VectorQuantizer.history_steps``).
    """
    x = as_numpy(features)
    h = _history(history)
    proj = projection or fit_pca(x, 2, seed=seed)
    st = _frame_steps(h.shape[0], steps)
    idx = subsample_indices(x.shape[0], max_points, seed)
    p = proj(x[idx])
    hp = proj(h)  # [F, K, 2]
    has_err = errors is not None and len(errors) > 0
    fig = Figure(figsize=figsize if has_err else (5.6, 4.6), layout="constrained")
    if has_err:
        ax, ax_err = fig.subplots(1, 2, width_ratios=[1.25, 1])
    else:
        ax, ax_err = fig.add_subplot(), None
    ax.scatter(p[:, 0], p[:, 1], s=3, color=GREY, alpha=0.35, label="Gaussians")
    lo = np.minimum(p.min(0), hp.reshape(-1, 2).min(0))
    hi = np.maximum(p.max(0), hp.reshape(-1, 2).max(0))
    pad = 0.05 * (hi - lo + 1e-12)
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    size = float(np.clip(600.0 / np.sqrt(h.shape[1]), 4, 40))
    cent = ax.scatter(
        hp[0, :, 0],
        hp[0, :, 1],
        s=size,
        color=CENTROID_COLOR,
        edgecolor="black",
        linewidth=0.3,
        label=f"{h.shape[1]} centroids",
    )
    ax.set_xlabel(proj.label(0, feature_name))
    ax.set_ylabel(proj.label(1, feature_name))
    ax.legend(loc="upper right", markerscale=1.5)
    head = ax.set_title("")
    marker = None
    if has_err:
        e = np.asarray(errors, dtype=np.float64)
        it = np.arange(1, e.size + 1)
        ax_err.plot(it, e, color=PALETTE[0], lw=1.2)
        _log_if_wide(ax_err, [e])
        ax_err.set_xlabel("k-means step")
        ax_err.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_err.set_ylabel("batch mean squared error (feature units²)")
        ax_err.set_title("quantisation error")
        (marker,) = ax_err.plot([], [], "o", color=CENTROID_COLOR, ms=8, mec="black")
    fig.suptitle(title)

    def update(i: int):
        cent.set_offsets(hp[i])
        head.set_text(f"step {st[i]} of {st[-1]}")
        if marker is not None:
            s = int(st[i])
            if s >= 1:
                marker.set_data([s], [e[min(s, e.size) - 1]])
            else:
                marker.set_data([], [])
            return cent, head, marker
        return cent, head

    update(0)
    return FuncAnimation(fig, update, frames=h.shape[0], interval=interval, blit=False)


def animate_centroids_3d(
    points,
    history,
    *,
    steps=None,
    title: str = "Shape centroids (scale directions) during k-means",
    max_points: int = 3000,
    seed: int = 0,
    interval: int = 250,
    rotate: float = 60.0,
    elev: float = 25.0,
    azim: float = 20.0,
    axis_names=("s1 (shortest)", "s2", "s3 (longest)"),
    figsize=(6.2, 5.6),
) -> FuncAnimation:
    """Animate centroids ``[F, K, 3]`` over points ``[N, 3]`` in 3D; the view turns by ``rotate``°.

    Made for unit scale directions (axes sorted shortest to longest, see :func:`plot_scales_3d`);
    any 3D coordinates work (pass ``axis_names`` with units).
    """
    pts = as_numpy(points)
    h = _history(history)
    if pts.shape[1] != 3 or h.shape[2] != 3:
        raise ValueError("3D animation needs [N, 3] points and [F, K, 3] centroids")
    st = _frame_steps(h.shape[0], steps)
    idx = subsample_indices(pts.shape[0], max_points, seed)
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot(projection="3d")
    ax.scatter(*pts[idx].T, s=2, color=GREY, alpha=0.3, depthshade=False, label="Gaussians")
    size = float(np.clip(400.0 / np.sqrt(h.shape[1]), 4, 30))
    cent = ax.scatter(
        *h[0].T,
        s=size,
        color=CENTROID_COLOR,
        edgecolor="black",
        linewidth=0.3,
        depthshade=False,
        label=f"{h.shape[1]} centroids",
    )
    allp = np.concatenate([pts[idx], h.reshape(-1, 3)])
    lo, hi = allp.min(0), allp.max(0)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_zlim(lo[2], hi[2])
    ax.set_xlabel(f"{axis_names[0]}, rel.", labelpad=2)
    ax.set_ylabel(f"{axis_names[1]}, rel.", labelpad=2)
    ax.set_zlabel(f"{axis_names[2]}, rel.", labelpad=2)
    ax.legend(loc="upper left")
    ax.view_init(elev=elev, azim=azim)
    head = ax.set_title("")
    fig.suptitle(title)
    n = h.shape[0]

    def update(i: int):
        cent._offsets3d = (h[i, :, 0], h[i, :, 1], h[i, :, 2])
        ax.view_init(elev=elev, azim=azim + rotate * i / max(n - 1, 1))
        head.set_text(f"step {st[i]} of {st[-1]}")
        return cent, head

    update(0)
    return FuncAnimation(fig, update, frames=n, interval=interval, blit=False)


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


# --------------------------------------------------------------------------- explorer
def plot_explorer_result(
    reference,
    quantised,
    *,
    psnr_db: float,
    info: Mapping[str, object] | None = None,
    error_gain: float = 10.0,
    title: str | None = None,
    figsize=(10.5, 3.9),
) -> Figure:
    """Reference render, render with quantised features, and their difference (x ``error_gain``).

    ``psnr_db`` is the PSNR of the quantised render against the reference; ``info`` (e.g.
    ``{"k": 256, "kept exact": "0.5 %", "table rows": 391}``) goes into the title.
    """
    ref = np.clip(as_numpy(reference), 0.0, 1.0)
    q = np.clip(as_numpy(quantised), 0.0, 1.0)
    if ref.shape != q.shape:
        raise ValueError(f"images of shapes {ref.shape} and {q.shape}")
    err = np.abs(ref - q).mean(axis=-1)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(1, 3)
    axes[0].imshow(ref)
    axes[0].set_title("uncompressed colours")
    axes[1].imshow(q)
    axes[1].set_title(f"quantised colours: {psnr_db:.2f} dB")
    im = axes[2].imshow(np.clip(err * error_gain, 0, 1), cmap=CMAPS["error"], vmin=0.0, vmax=1.0)
    axes[2].set_title(f"|difference| x {error_gain:g}")
    fig.colorbar(im, ax=axes[2], shrink=0.8, label=f"mean abs. error x {error_gain:g} (0-1 scale)")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
    head = title or "Colour VQ explorer"
    if info:
        head += ": " + ", ".join(f"{k} {v}" for k, v in info.items())
    fig.suptitle(head)
    return fig


def vq_explorer(
    compute: Callable[..., Figure],
    k_options: Sequence[int],
    keep_options: Sequence[float],
    *,
    k: int | None = None,
    keep: float | None = None,
    run_now: bool = False,
):
    """An ipywidgets explorer: a codebook-size dropdown, a keep-fraction slider and a figure.

    ``compute(k=..., keep_fraction=...)`` does the work (it is a plain function the notebook
    also calls directly, so headless runs never depend on the widget) and returns a Figure,
    which is shown in the widget's output area whenever a control changes. Nothing is computed
    when the widget is built unless ``run_now``. Returns the ``VBox``; its ``.controls`` dict
    holds the two controls and ``.output`` the output area.
    """
    import ipywidgets as widgets
    from IPython.display import display

    k_options = [int(v) for v in k_options]
    keep_options = [float(v) for v in keep_options]
    k_dd = widgets.Dropdown(
        options=k_options,
        value=k if k is not None else k_options[0],
        description="codebook k",
    )
    keep_sl = widgets.SelectionSlider(
        options=[(f"{100 * v:g} %", v) for v in keep_options],
        value=keep if keep is not None else keep_options[0],
        description="kept exact",
        continuous_update=False,
    )
    out = widgets.Output()

    def refresh(_change=None) -> None:
        fig = compute(k=k_dd.value, keep_fraction=keep_sl.value)
        out.clear_output(wait=True)
        with out:
            display(fig)

    k_dd.observe(refresh, names="value")
    keep_sl.observe(refresh, names="value")
    box = widgets.VBox([widgets.HBox([k_dd, keep_sl]), out])
    box.controls = {"k": k_dd, "keep_fraction": keep_sl}
    box.output = out
    box.refresh = refresh
    if run_now:
        refresh()
    return box
