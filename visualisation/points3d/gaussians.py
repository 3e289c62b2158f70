"""Gaussian centres drawn as points sized by their scale: :func:`gaussians3d` (+ static).

Part of :mod:`visualisation.points3d` (import the public names from there)."""

from __future__ import annotations

import numpy as np

from visualisation.points3d._common import (
    _np,
)
from visualisation.points3d.interactive import (
    points3d,
)
from visualisation.points3d.static import points3d_static


def _gaussian_sizes(scales) -> np.ndarray | None:
    if scales is None:
        return None
    s = _np(scales, "scales").astype(np.float64)
    if s.ndim == 2:  # [N, 3] per-axis scales (activated) -> geometric mean radius
        s = np.exp(np.log(np.maximum(s, 1e-12)).mean(axis=1))
    return s


def gaussians3d(means, *, scales=None, opacities=None, **kwargs):
    """Interactive view of Gaussian centres (plotly), marker size proportional to each scale.

    Args:
        means: ``[N, 3]`` centres (world units; pass ``units=`` to label the axes).
        scales: ``[N, 3]`` ACTIVATED scales (``exp`` of the stored log-scales) or ``[N]`` radii;
            the marker size follows their geometric mean. ``None``: equal sizes.
        opacities: ``[N]`` activated opacities; used as the colour when no other colouring
            (``values`` / ``rgb`` / ``categories``) is given, labelled "opacity".
        **kwargs: everything :func:`points3d` takes (``categories=keep_mask`` with
            ``category_names={True: "kept", False: "pruned"}``, ``values=sensitivity``, ...).
    """
    kwargs = _gaussian_kwargs(scales, opacities, kwargs)
    return points3d(means, **kwargs)


def gaussians3d_static(means, *, scales=None, opacities=None, **kwargs):
    """Static twin of :func:`gaussians3d` (matplotlib Figure); same arguments."""
    kwargs = _gaussian_kwargs(scales, opacities, kwargs)
    return points3d_static(means, **kwargs)


def _gaussian_kwargs(scales, opacities, kwargs: dict) -> dict:
    kwargs = dict(kwargs)
    if scales is not None:
        kwargs["sizes"] = _gaussian_sizes(scales)
    colouring = any(kwargs.get(k) is not None for k in ("values", "rgb", "categories"))
    if opacities is not None and not colouring:
        kwargs["values"] = _np(opacities, "opacities").reshape(-1)
        kwargs.setdefault("value_label", "opacity")
        kwargs.setdefault("clim", (0.0, 1.0))
    kwargs.setdefault("units", "scene units")
    return kwargs
