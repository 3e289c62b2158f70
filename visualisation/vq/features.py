"""Feature spaces: a PCA projection fitted once (:func:`fit_pca`), features coloured by sensitivity, scale directions in 3D.

Part of :mod:`visualisation.vq` (import the public names from there)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from visualisation.arrays import as_numpy
from visualisation.style import CMAPS
from visualisation.vq._common import (
    DATA_COLOR,
    _shown,
    subsample_indices,
)


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
