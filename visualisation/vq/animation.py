"""Animations of the k-means codebook history (2D PCA plane and 3D).

Part of :mod:`visualisation.vq` (import the public names from there)."""

from __future__ import annotations

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from visualisation.arrays import as_numpy
from visualisation.style import PALETTE
from visualisation.vq._common import (
    CENTROID_COLOR,
    GREY,
    _log_if_wide,
    subsample_indices,
)
from visualisation.vq.features import (
    Projection,
    fit_pca,
)


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
