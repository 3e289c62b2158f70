"""Static (matplotlib) 3D scatter of a point cloud: :func:`points3d_static`.

Part of :mod:`visualisation.points3d` (import the public names from there)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from visualisation.points3d._common import (
    DEFAULT_MAX_POINTS_STATIC,
    _axis_titles,
    _category_color,
    _category_label,
    _check_up,
    _Cloud,
    _full_title,
    _prepare,
    _style_3d_axis,
    _up_bounds,
    _up_labels,
    _up_xyz,
)
from visualisation.style import CMAPS, PALETTE


def _set_equal_3d(ax, bounds) -> None:
    """Equal aspect for a 3D axis: limits = data bounds, box proportional to the ranges."""
    if bounds is None:
        return
    lo, hi = bounds
    rng = np.maximum(hi - lo, 1e-9)
    pad = 0.02 * rng.max()
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_zlim(lo[2] - pad, hi[2] + pad)
    # keep very flat clouds (a LiDAR sweep, a plane) readable: at least 15 % of the longest side
    box = np.maximum(rng + 2 * pad, 0.15 * (rng.max() + 2 * pad))
    ax.set_box_aspect(tuple(box))
    from matplotlib.ticker import MaxNLocator

    for axis, b in zip((ax.xaxis, ax.yaxis, ax.zaxis), box, strict=True):  # short axis: few ticks
        nbins = max(2, int(round(5 * b / box.max())))
        axis.set_major_locator(MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]))


def _mpl_draw(
    ax,
    cloud: _Cloud,
    *,
    value_label,
    category_names,
    category_colors,
    cmap,
    clim,
    marker_size,
    opacity,
    units,
    axis_labels,
    colorbar=True,
    legend=True,
    marker="o",
    up="z",
):
    """Scatter ``cloud`` on a 3D axis; returns the ScalarMappable (or None)."""
    import matplotlib.pyplot as plt

    _check_up(up)
    x, y, z = _up_xyz(cloud.xyz, up).T
    s = marker_size**2
    if cloud.sizes is not None:
        ref = float(np.median(cloud.sizes[cloud.sizes > 0])) if (cloud.sizes > 0).any() else 1.0
        s = np.clip(marker_size * cloud.sizes / max(ref, 1e-12), 0.5, 6 * marker_size) ** 2
    mappable = None
    kw = {"s": s, "alpha": opacity, "linewidths": 0, "depthshade": False, "marker": marker}
    if cloud.categories is not None:
        for i, cat in enumerate(cloud.category_order):
            sel = cloud.categories == cat
            label = _category_label(cat, category_names)
            kwi = dict(kw, s=s if np.isscalar(s) else s[sel])
            ax.scatter(
                x[sel],
                y[sel],
                z[sel],
                color=_category_color(i, cat, category_colors),
                label=f"{label} ({cloud.category_counts[cat]:,})",
                **kwi,
            )
        if legend:
            ax.legend(
                loc="upper left", fontsize=9, markerscale=max(1.0, 6 / max(marker_size, 1e-3))
            )
    elif cloud.values is not None:
        lo, hi = clim if clim is not None else (np.nanmin(cloud.values), np.nanmax(cloud.values))
        mappable = ax.scatter(x, y, z, c=cloud.values, cmap=cmap, vmin=lo, vmax=hi, **kw)
        if colorbar:
            cb = plt.colorbar(mappable, ax=ax, shrink=0.6, pad=0.18)
            cb.set_label(value_label or "value")
    elif cloud.rgb is not None:
        ax.scatter(x, y, z, c=cloud.rgb, **kw)
    else:
        ax.scatter(x, y, z, color=PALETTE[0], **kw)
    tx, ty, tz = _axis_titles(units, _up_labels(axis_labels, up))
    ax.set_xlabel(tx)
    ax.set_ylabel(ty)
    ax.set_zlabel(tz)
    _style_3d_axis(ax)
    _set_equal_3d(ax, _up_bounds(cloud.bounds, up))
    return mappable


def points3d_static(
    points,
    *,
    values=None,
    rgb=None,
    categories=None,
    category_names: Mapping | Sequence[str] | None = None,
    category_colors: Mapping | Sequence[str] | None = None,
    value_label: str | None = None,
    title: str | None = None,
    units: str | None = "a.u.",
    axis_labels: Sequence[str] = ("x", "y", "z"),
    max_points: int | None = DEFAULT_MAX_POINTS_STATIC,
    seed: int = 0,
    marker_size: float = 1.5,
    sizes=None,
    cmap: str = CMAPS["sequential"],
    clim: tuple[float, float] | None = None,
    opacity: float = 1.0,
    show_count: bool = True,
    up: str = "z",
    elev: float = 20.0,
    azim: float = -60.0,
    figsize: tuple[float, float] = (6.5, 5.5),
    ax=None,
    colorbar: bool = True,
):
    """Static 3D scatter (matplotlib) with the same arguments as :func:`points3d`.

    Extra arguments: ``elev`` / ``azim`` (camera angles in degrees), ``figsize`` (inches), and
    ``ax`` (draw into an existing ``projection="3d"`` axis instead of a new figure) and ``colorbar``
    (False when composing panels that share one colour bar).
    ``marker_size`` is the marker diameter in points.

    Returns:
        the matplotlib ``Figure`` (``fig.pcc_subsample`` holds the sub-sampling numbers).
    """
    import matplotlib.pyplot as plt

    cloud = _prepare(points, values, rgb, categories, sizes, max_points, seed)
    if ax is None:
        fig = plt.figure(figsize=figsize)
        ax = fig.add_subplot(projection="3d")
    else:
        fig = ax.figure
    _mpl_draw(
        ax,
        cloud,
        value_label=value_label,
        category_names=category_names,
        category_colors=category_colors,
        cmap=cmap,
        clim=clim,
        marker_size=marker_size,
        opacity=opacity,
        units=units,
        axis_labels=axis_labels,
        up=up,
        colorbar=colorbar,
    )
    ax.view_init(elev=elev, azim=azim)
    ax.set_title(_full_title(title, cloud.info, show_count), fontsize=11)
    fig.pcc_subsample = cloud.info.as_dict()
    return fig
