"""Interactive (plotly) 3D scatter of a point cloud: :func:`points3d`.

Part of :mod:`visualisation.points3d` (import the public names from there)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from visualisation.points3d._common import (
    DEFAULT_MAX_POINTS,
    _axis_titles,
    _category_color,
    _category_label,
    _check_up,
    _Cloud,
    _full_title,
    _prepare,
)
from visualisation.style import CMAPS, PALETTE


def _go():
    try:
        import plotly.graph_objects as go
    except ImportError as exc:  # pragma: no cover - plotly is a dependency; keep the hint anyway
        raise ImportError(
            "plotly is needed for interactive 3D views: pip install plotly "
            "(or use the *_static matplotlib functions)"
        ) from exc
    return go


def _plotly_cmap(cmap: str) -> str:
    return {"cividis": "Cividis", "viridis": "Viridis", "magma": "Magma", "RdBu_r": "RdBu_r"}.get(
        cmap, cmap
    )


def _plotly_traces(
    cloud: _Cloud,
    *,
    value_label,
    category_names,
    category_colors,
    cmap,
    clim,
    marker_size,
    opacity,
    name,
    show_colorbar=True,
    legendgroup_prefix="",
    showlegend=True,
    marker_symbol="circle",
):
    go = _go()
    x, y, z = cloud.xyz.T
    size = marker_size
    if cloud.sizes is not None:
        s = cloud.sizes
        size = marker_size * s / max(float(np.median(s[s > 0])) if (s > 0).any() else 1.0, 1e-12)
        size = np.clip(size, 0.5, 6 * marker_size)
    traces = []
    if cloud.categories is not None:
        for i, cat in enumerate(cloud.category_order):
            sel = cloud.categories == cat
            label = _category_label(cat, category_names)
            traces.append(
                go.Scatter3d(
                    x=x[sel],
                    y=y[sel],
                    z=z[sel],
                    mode="markers",
                    name=f"{label} ({cloud.category_counts[cat]:,})",
                    legendgroup=f"{legendgroup_prefix}{label}",
                    showlegend=showlegend,
                    marker={
                        "size": size if np.isscalar(size) else size[sel],
                        "color": _category_color(i, cat, category_colors),
                        "opacity": opacity,
                        "symbol": marker_symbol,
                        "line": {"width": 0},
                    },
                )
            )
        return traces
    marker = {"size": size, "opacity": opacity, "symbol": marker_symbol, "line": {"width": 0}}
    if cloud.values is not None:
        lo, hi = clim if clim is not None else (np.nanmin(cloud.values), np.nanmax(cloud.values))
        marker.update(
            color=cloud.values,
            colorscale=_plotly_cmap(cmap),
            cmin=float(lo),
            cmax=float(hi),
            showscale=show_colorbar,
            colorbar={"title": {"text": value_label or "value"}, "thickness": 15},
        )
    elif cloud.rgb is not None:
        rgb255 = np.round(cloud.rgb * 255).astype(int)
        marker["color"] = [f"rgb({r},{g},{b})" for r, g, b in rgb255]
    else:
        marker["color"] = PALETTE[0]
    traces.append(
        go.Scatter3d(
            x=x, y=y, z=z, mode="markers", name=name or "points", marker=marker, showlegend=False
        )
    )
    return traces


_PLOTLY_UP = {"z": (0, 0, 1), "y": (0, 1, 0), "-y": (0, -1, 0)}


def _plotly_scene(units, axis_labels, up="z"):
    _check_up(up)
    tx, ty, tz = _axis_titles(units, axis_labels)
    ux, uy, uz = _PLOTLY_UP[up]
    eye = {"z": (1.4, -1.4, 0.9), "y": (1.4, 0.9, 1.4), "-y": (-0.6, -1.2, -1.8)}[up]
    return {
        "xaxis": {"title": {"text": tx}},
        "yaxis": {"title": {"text": ty}},
        "zaxis": {"title": {"text": tz}},
        "aspectmode": "data",  # equal aspect: one unit as long on every axis
        "camera": {
            "up": {"x": ux, "y": uy, "z": uz},
            "eye": {"x": eye[0], "y": eye[1], "z": eye[2]},
        },
    }


def points3d(
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
    max_points: int | None = DEFAULT_MAX_POINTS,
    seed: int = 0,
    marker_size: float = 2.0,
    sizes=None,
    cmap: str = CMAPS["sequential"],
    clim: tuple[float, float] | None = None,
    opacity: float = 1.0,
    show_count: bool = True,
    up: str = "z",
    width: int | None = 700,
    height: int | None = 560,
    _symbol: str = "circle",
):
    """Interactive 3D scatter (plotly ``go.Scatter3d``) of a point cloud.

    Args:
        points: ``[N, 3]`` positions (NumPy or torch).
        values: ``[N]`` scalars -> colour map ``cmap`` with a colour bar titled ``value_label``.
        rgb: ``[N, 3]`` colours (floats in [0, 1] or integers in [0, 255]).
        categories: ``[N]`` labels (bool / int / str) -> one trace per category, with a legend
            entry "name (count)" counted on the FULL cloud (before sub-sampling).
        category_names: rename categories, a mapping ``{label: name}`` or a list indexed by int
            labels. ``category_colors``: mapping or list of colours (default: Okabe-Ito palette).
        value_label: colour-bar title, with its unit (e.g. ``"D1 error (voxels)"``).
        title: what the figure shows; the sub-sampling note is appended when ``show_count``.
        units: the unit of the coordinates, shown on the axes as ``"x (units)"``.
        max_points: draw at most this many points (random, seeded by ``seed``); ``None`` = all.
        marker_size: marker size in pixels; ``sizes [N]`` scales it per point (relative to the
            median size, clipped to [0.5, 6 x marker_size]).
        clim: ``(min, max)`` of the colour map (default: the range of the drawn values).
        opacity: marker opacity in (0, 1].
        up: which data axis points up on screen: ``"z"`` (LiDAR, voxel grids), ``"y"`` (most
            meshes, e.g. the Stanford bunny) or ``"-y"`` (OpenCV camera frames, depth sensors).

    Returns:
        ``plotly.graph_objects.Figure`` with equal axis aspect; ``fig.layout.meta["subsample"]``
        holds ``{"shown", "total", "fraction"}``.
    """
    cloud = _prepare(points, values, rgb, categories, sizes, max_points, seed)
    go = _go()
    traces = _plotly_traces(
        cloud,
        value_label=value_label,
        category_names=category_names,
        category_colors=category_colors,
        cmap=cmap,
        clim=clim,
        marker_size=marker_size,
        opacity=opacity,
        name=title,
        marker_symbol=_symbol,
    )
    fig = go.Figure(data=traces)
    fig.update_layout(
        title={"text": _full_title(title, cloud.info, show_count), "font": {"size": 14}},
        scene=_plotly_scene(units, axis_labels, up),
        legend={"itemsizing": "constant", "font": {"size": 12}},
        font={"size": 12},
        margin={"l": 0, "r": 0, "t": 50, "b": 0},
        width=width,
        height=height,
        meta={"subsample": cloud.info.as_dict()},
    )
    return fig


# --------------------------------------------------------------------------------------------
# matplotlib
