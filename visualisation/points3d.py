"""Generic 3D views of points, Gaussians and voxels: interactive plotly and static matplotlib.

Every function takes plain arrays (NumPy or torch, any float/int dtype) and RETURNS a figure;
nothing is shown or saved here. Each view comes in two flavours with the same arguments:

* ``points3d`` / ``gaussians3d`` / ``voxels3d`` -> a ``plotly.graph_objects.Figure`` (rotate and
  zoom in Jupyter; plotly does not render on GitHub's notebook preview);
* ``points3d_static`` / ``gaussians3d_static`` / ``voxels3d_static`` -> a matplotlib ``Figure``
  for PNG export, reports and places that strip JavaScript;
* ``points3d_panels`` -> several clouds side by side (static or plotly), e.g. input vs decoded;
  ``voxels3d_panels`` -> several voxel sets side by side in one frame (e.g. one per octree depth).

``up`` says which data axis points up on screen: ``"z"`` (default: LiDAR, voxel grids,
NeRF-synthetic scenes), ``"y"`` (many meshes, e.g. the Stanford bunny) or ``"-y"`` (OpenCV
camera frames, COLMAP reconstructions). Static views draw at most ``max_points`` (default
20,000: matplotlib is slow beyond that), plotly views 30,000.

Colouring (pick at most one):

* ``values=[N]`` scalars -> a continuous colour map with a colour bar labelled ``value_label``
  (say the unit, e.g. ``"error (voxels)"``);
* ``rgb=[N, 3]`` colours, floats in [0, 1] or uint8 in [0, 255];
* ``categories=[N]`` labels (bool, int or str) -> one colour per category from the Okabe-Ito
  palette and a legend; ``category_names`` renames them (``{True: "kept", False: "pruned"}``).

Large clouds are sub-sampled at random (seeded) to ``max_points``; the figure says so in its
title ("showing 20,000 of 110,000 points (18.2 %)"), and the numbers are in
``fig.layout.meta["subsample"]`` (plotly) or ``fig.pcc_subsample`` (matplotlib). Axes have equal
aspect (one unit is as long on x, y and z) and are labelled ``"x (<units>)"``.

Used by notebooks 10 and 11 (point clouds, voxels, decoded blocks), 01/02 (Gaussians kept or
pruned) and 14 (clouds coloured by error).

Example::

    from visualisation.points3d import points3d, points3d_static
    fig = points3d(xyz, values=err, value_label="D1 error (voxels)", units="voxels")
    png = points3d_static(xyz, categories=keep, category_names={True: "kept", False: "pruned"})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from visualisation.style import CMAPS, PALETTE

__all__ = [
    "SubsampleInfo",
    "gaussians3d",
    "gaussians3d_static",
    "points3d",
    "points3d_panels",
    "points3d_static",
    "subsample",
    "voxel_faces",
    "voxels3d",
    "voxels3d_panels",
    "voxels3d_static",
]

DEFAULT_MAX_POINTS = 30_000  # plotly stays responsive in a browser up to a few 10^4 markers
DEFAULT_MAX_POINTS_STATIC = 20_000  # matplotlib's 3D scatter gets slow beyond this


# --------------------------------------------------------------------------------------------
# Data preparation (shared by both back-ends)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubsampleInfo:
    """How many points a view shows: ``shown`` of ``total`` (``fraction = shown / total``)."""

    shown: int
    total: int

    @property
    def fraction(self) -> float:
        return self.shown / self.total if self.total else 1.0

    @property
    def text(self) -> str:
        """``"all 1,234 points"`` or ``"showing 20,000 of 110,000 points (18.2 %)"``."""
        if self.shown == self.total:
            return f"all {self.total:,} points"
        return f"showing {self.shown:,} of {self.total:,} points ({100 * self.fraction:.1f} %)"

    def as_dict(self) -> dict:
        return {"shown": self.shown, "total": self.total, "fraction": self.fraction}


def _np(x, name: str) -> np.ndarray | None:
    """Array (NumPy or torch, on any device) -> NumPy; ``None`` passes through."""
    if x is None:
        return None
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name}: expected a numeric array, got dtype=object")
    return arr


def _rgb01(rgb: np.ndarray) -> np.ndarray:
    """Colours as floats in [0, 1]: integer arrays (or floats above 1) are read as 0..255."""
    integer = np.issubdtype(rgb.dtype, np.integer)
    out = rgb.astype(np.float64)
    if integer or out.max(initial=0.0) > 1.0:
        out = out / 255.0
    return np.clip(out, 0.0, 1.0)


def subsample(n: int, max_points: int | None, seed: int = 0) -> tuple[np.ndarray, SubsampleInfo]:
    """Indices of at most ``max_points`` of ``n`` points, drawn without replacement (seeded).

    Returns ``(idx [M], info)``; the indices are sorted, so the order of the input is kept.
    ``max_points=None`` (or ``>= n``) keeps everything.
    """
    if max_points is None or n <= max_points:
        return np.arange(n), SubsampleInfo(n, n)
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=int(max_points), replace=False))
    return idx, SubsampleInfo(int(max_points), n)


@dataclass
class _Cloud:
    """A cloud ready to draw: sub-sampled positions and one colouring."""

    xyz: np.ndarray  # [M, 3] float
    info: SubsampleInfo
    values: np.ndarray | None = None  # [M]
    rgb: np.ndarray | None = None  # [M, 3] floats in [0, 1]
    categories: np.ndarray | None = None  # [M]
    category_order: list = field(default_factory=list)  # all categories of the FULL cloud
    category_counts: dict = field(default_factory=dict)  # counts in the FULL cloud
    sizes: np.ndarray | None = None  # [M] relative marker sizes
    bounds: tuple[np.ndarray, np.ndarray] | None = None  # (lo [3], hi [3]) of the full cloud


def _prepare(
    points,
    values=None,
    rgb=None,
    categories=None,
    sizes=None,
    max_points: int | None = DEFAULT_MAX_POINTS,
    seed: int = 0,
) -> _Cloud:
    xyz = _np(points, "points")
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise ValueError(f"points: expected shape [N, 3], got {list(xyz.shape)}")
    n = xyz.shape[0]
    given = [
        k
        for k, v in (("values", values), ("rgb", rgb), ("categories", categories))
        if v is not None
    ]
    if len(given) > 1:
        raise ValueError(f"colour by one of values / rgb / categories, got {given}")
    values, rgb, categories, sizes = (
        _np(values, "values"),
        _np(rgb, "rgb"),
        _np(categories, "categories"),
        _np(sizes, "sizes"),
    )
    for name, arr, shape in (
        ("values", values, (n,)),
        ("rgb", rgb, (n, 3)),
        ("categories", categories, (n,)),
        ("sizes", sizes, (n,)),
    ):
        if arr is not None and arr.shape != shape:
            raise ValueError(f"{name}: expected shape {list(shape)}, got {list(arr.shape)}")
    xyz = xyz.astype(np.float64, copy=False)
    finite = np.isfinite(xyz).all(axis=1)
    bounds = (xyz[finite].min(0), xyz[finite].max(0)) if finite.any() else None
    order, counts = [], {}
    if categories is not None:
        order_arr, count_arr = np.unique(categories, return_counts=True)
        order = order_arr.tolist()
        counts = dict(zip(order, count_arr.tolist(), strict=True))
    idx, info = subsample(n, max_points, seed)
    if rgb is not None:
        rgb = _rgb01(rgb)
    return _Cloud(
        xyz=xyz[idx],
        info=info,
        values=None if values is None else values.astype(np.float64)[idx],
        rgb=None if rgb is None else rgb[idx],
        categories=None if categories is None else categories[idx],
        category_order=order,
        category_counts=counts,
        sizes=None if sizes is None else sizes.astype(np.float64)[idx],
        bounds=bounds,
    )


def _category_label(cat, names) -> str:
    if names is None:
        return str(cat)
    if isinstance(names, Mapping):
        return str(names.get(cat, cat))
    if isinstance(cat, (int, np.integer)) and 0 <= int(cat) < len(names):
        return str(names[int(cat)])
    return str(cat)


def _category_color(i: int, cat, colors) -> str:
    if colors is None:
        return PALETTE[i % len(PALETTE)]
    if isinstance(colors, Mapping):
        return colors.get(cat, PALETTE[i % len(PALETTE)])
    return colors[i % len(colors)]


def _axis_titles(units: str | None, axis_labels: Sequence[str]) -> list[str]:
    return [f"{a} ({units})" if units else a for a in axis_labels]


def _full_title(title: str | None, info: SubsampleInfo | None, show_count: bool) -> str:
    parts = [title] if title else []
    if show_count and info is not None:
        parts.append(info.text)
    return " — ".join(parts) if len(parts) == 2 else (parts[0] if parts else "")


_UP = {  # up axis -> (columns drawn as x, y, z; sign of the drawn z); all keep right-handedness
    "z": ((0, 1, 2), 1.0),
    "y": ((2, 0, 1), 1.0),
    "-y": ((0, 2, 1), -1.0),
}


def _check_up(up: str) -> None:
    if up not in _UP:
        raise ValueError(f"up must be one of {sorted(_UP)}, got {up!r}")


def _up_xyz(xyz: np.ndarray, up: str) -> np.ndarray:
    """Positions ``[..., 3]`` in the drawing frame of matplotlib (whose z axis is always up)."""
    cols, sign = _UP[up]
    out = xyz[..., list(cols)].copy()
    out[..., 2] *= sign
    return out


def _up_labels(axis_labels: Sequence[str], up: str) -> list[str]:
    cols, sign = _UP[up]
    labels = [axis_labels[c] for c in cols]
    if sign < 0:
        labels[2] = f"\u2212{labels[2]}"  # minus sign: the drawn axis points along -y
    return labels


def _up_bounds(bounds, up: str):
    if bounds is None:
        return None
    lo, hi = _up_xyz(np.asarray(bounds[0]), up), _up_xyz(np.asarray(bounds[1]), up)
    return np.minimum(lo, hi), np.maximum(lo, hi)


def _style_3d_axis(ax) -> None:
    """Smaller tick labels closer to the axis (3D tick labels otherwise collide); the tick
    count per axis is set by :func:`_set_equal_3d` from the axis length."""
    ax.tick_params(labelsize=8, pad=0)


# --------------------------------------------------------------------------------------------
# plotly
# --------------------------------------------------------------------------------------------


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
# --------------------------------------------------------------------------------------------


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


def points3d_panels(
    clouds: Sequence,
    *,
    titles: Sequence[str] | None = None,
    values: Sequence | None = None,
    rgb: Sequence | None = None,
    categories: Sequence | None = None,
    category_names: Mapping | Sequence[str] | None = None,
    category_colors: Mapping | Sequence[str] | None = None,
    value_label: str | None = None,
    suptitle: str | None = None,
    units: str | Sequence[str] | None = "a.u.",
    axis_labels: Sequence[str] = ("x", "y", "z"),
    max_points: int | None = DEFAULT_MAX_POINTS_STATIC,
    seed: int = 0,
    marker_size: float | Sequence[float] = 1.5,
    cmap: str = CMAPS["sequential"],
    clim: tuple[float, float] | None = None,
    shared_clim: bool = True,
    up: str | Sequence[str] = "z",
    elev: float = 20.0,
    azim: float = -60.0,
    ncols: int | None = None,
    panel_size: tuple[float, float] = (4.4, 4.6),
    backend: str = "matplotlib",
):
    """Several clouds side by side (e.g. one voxelisation per octree depth, input vs decoded).

    ``clouds`` is a list of ``[N_i, 3]`` arrays; ``values`` / ``rgb`` / ``categories`` (optional)
    are lists with one array per cloud. ``max_points`` and ``marker_size`` apply per panel
    (``marker_size`` may be a list). With ``shared_clim`` (default) all panels share one colour
    range, so equal colours mean equal values. Each panel title gets its sub-sampling note.
    ``up`` and ``units`` may be one value for all panels or a list (one per panel; matplotlib
    only). ``rgb`` entries may be None (that panel is drawn in one colour).

    ``backend="matplotlib"`` returns a ``Figure`` (``fig.pcc_subsample`` is a list, one dict per
    panel); ``backend="plotly"`` returns a plotly Figure with one 3D scene per panel.
    """
    k = len(clouds)
    if k == 0:
        raise ValueError("points3d_panels: no clouds")
    titles = list(titles) if titles is not None else [f"cloud {i}" for i in range(k)]
    sizes = list(marker_size) if isinstance(marker_size, Sequence) else [marker_size] * k
    for name, seq in (("titles", titles), ("values", values), ("rgb", rgb), ("marker_size", sizes)):
        if seq is not None and len(seq) != k:
            raise ValueError(f"{name}: expected {k} entries, got {len(seq)}")
    prepared = [
        _prepare(
            clouds[i],
            None if values is None else values[i],
            None if rgb is None else rgb[i],
            None if categories is None else categories[i],
            None,
            max_points,
            seed,
        )
        for i in range(k)
    ]
    if values is not None and clim is None and shared_clim:
        lo = min(float(np.nanmin(c.values)) for c in prepared if c.values.size)
        hi = max(float(np.nanmax(c.values)) for c in prepared if c.values.size)
        clim = (lo, hi)
    ncols = ncols or min(k, 4)
    nrows = -(-k // ncols)
    ups = [up] * k if isinstance(up, str) else list(up)
    unit_list = [units] * k if units is None or isinstance(units, str) else list(units)
    if len(ups) != k or len(unit_list) != k:
        raise ValueError(f"up / units: expected {k} entries each")
    if backend == "plotly":
        up, units = ups[0], unit_list[0]
        return _panels_plotly(
            prepared, titles, sizes, ncols, nrows, value_label, category_names,
            category_colors, cmap, clim, suptitle, units, axis_labels, up,
        )  # fmt: skip
    if backend != "matplotlib":
        raise ValueError(f"backend must be 'matplotlib' or 'plotly', got {backend!r}")
    import matplotlib.pyplot as plt

    fig = plt.figure(
        figsize=(panel_size[0] * ncols + (0.8 if values is not None else 0), panel_size[1] * nrows)
    )
    mappable = None
    for i, cloud in enumerate(prepared):
        ax = fig.add_subplot(nrows, ncols, i + 1, projection="3d")
        m = _mpl_draw(
            ax,
            cloud,
            value_label=value_label,
            category_names=category_names,
            category_colors=category_colors,
            cmap=cmap,
            clim=clim,
            marker_size=sizes[i],
            opacity=1.0,
            units=unit_list[i],
            axis_labels=axis_labels,
            colorbar=not shared_clim,
            legend=True,  # counts differ from panel to panel
            up=ups[i],
        )
        mappable = m or mappable
        ax.view_init(elev=elev, azim=azim)
        ax.set_title(f"{titles[i]}\n{cloud.info.text}", fontsize=10)
    fig.subplots_adjust(wspace=0.3, hspace=0.3)  # room for 3D axis labels between panels
    if mappable is not None and shared_clim:
        cb = fig.colorbar(mappable, ax=fig.axes, shrink=0.6, pad=0.04)
        cb.set_label(value_label or "value")
    if suptitle:
        fig.suptitle(suptitle, fontsize=12, y=1.0 + 0.04 / nrows)
    fig.pcc_subsample = [c.info.as_dict() for c in prepared]
    return fig


def _panels_plotly(
    prepared, titles, sizes, ncols, nrows, value_label, category_names, category_colors,
    cmap, clim, suptitle, units, axis_labels, up,
):  # fmt: skip
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        specs=[[{"type": "scene"}] * ncols for _ in range(nrows)],
        subplot_titles=[f"{t}<br>{c.info.text}" for t, c in zip(titles, prepared, strict=True)],
        horizontal_spacing=0.02,
        vertical_spacing=0.06,
    )
    for i, cloud in enumerate(prepared):
        for tr in _plotly_traces(
            cloud,
            value_label=value_label,
            category_names=category_names,
            category_colors=category_colors,
            cmap=cmap,
            clim=clim,
            marker_size=sizes[i],
            opacity=1.0,
            name=titles[i],
            show_colorbar=i == 0,
            showlegend=i == 0,
        ):
            fig.add_trace(tr, row=i // ncols + 1, col=i % ncols + 1)
    scene = _plotly_scene(units, axis_labels, up)
    for i in range(len(prepared)):
        key = "scene" if i == 0 else f"scene{i + 1}"
        fig.layout[key].update(scene)
    fig.update_layout(
        title={"text": suptitle or ""},
        height=420 * nrows,
        width=min(1400, 380 * ncols),
        margin={"l": 0, "r": 0, "t": 80, "b": 0},
        meta={"subsample": [c.info.as_dict() for c in prepared]},
    )
    return fig


# --------------------------------------------------------------------------------------------
# Gaussians: centres with marker size from their scale
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Voxels: cubes (few) or square markers (many)
# --------------------------------------------------------------------------------------------

_FACE_DIRS = np.array(
    [[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]], dtype=np.int64
)
# corners (unit cube offsets) of the face pointing along each direction, counter-clockwise
_FACE_CORNERS = np.array(
    [
        [[0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 1, 0]],
        [[1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 0, 1]],
        [[0, 0, 0], [1, 0, 0], [1, 0, 1], [0, 0, 1]],
        [[0, 1, 0], [0, 1, 1], [1, 1, 1], [1, 1, 0]],
        [[0, 0, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0]],
        [[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]],
    ],
    dtype=np.float64,
)


def voxel_faces(coords) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exposed faces of a set of unit voxels (faces shared by two occupied voxels are dropped).

    Args:
        coords: ``[N, 3]`` integer voxel coordinates (duplicates allowed).
    Returns:
        ``(quads [F, 4, 3] float corners in voxel units, voxel [F] index into the unique coords,
        direction [F] in 0..5 = -x, +x, -y, +y, -z, +z)``.
    """
    c = np.unique(_np(coords, "coords").astype(np.int64).reshape(-1, 3), axis=0)
    if c.size == 0:
        return np.zeros((0, 4, 3)), np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo = c.min(0) - 1
    dims = c.max(0) - lo + 2
    key = lambda a: ((a[:, 0] - lo[0]) * dims[1] + (a[:, 1] - lo[1])) * dims[2] + (a[:, 2] - lo[2])  # noqa: E731
    occupied = np.sort(key(c))
    quads, owner, direction = [], [], []
    for d in range(6):
        nb = key(c + _FACE_DIRS[d])
        pos = np.searchsorted(occupied, nb).clip(max=len(occupied) - 1)
        exposed = occupied[pos] != nb
        idx = np.nonzero(exposed)[0]
        quads.append(c[idx, None, :].astype(np.float64) + _FACE_CORNERS[d][None])
        owner.append(idx)
        direction.append(np.full(len(idx), d))
    return np.concatenate(quads), np.concatenate(owner), np.concatenate(direction)


def _voxel_color_arrays(c_unique_idx, cloud_like, category_colors, cmap, clim):
    """Per-voxel RGBA (for cubes) from values / rgb / categories."""
    import matplotlib as mpl

    n = len(c_unique_idx)
    if cloud_like["values"] is not None:
        v = cloud_like["values"][c_unique_idx]
        lo, hi = clim if clim is not None else (np.nanmin(v), np.nanmax(v))
        norm = mpl.colors.Normalize(vmin=lo, vmax=hi)
        return mpl.colormaps[cmap](norm(v)), (lo, hi)
    if cloud_like["rgb"] is not None:
        rgb = cloud_like["rgb"][c_unique_idx]
        return np.concatenate([rgb, np.ones((n, 1))], axis=1), None
    if cloud_like["categories"] is not None:
        cats = cloud_like["categories"][c_unique_idx]
        out = np.zeros((n, 4))
        for i, cat in enumerate(cloud_like["order"]):
            out[cats == cat] = mpl.colors.to_rgba(_category_color(i, cat, category_colors))
        return out, None
    return np.tile(np.array(mpl.colors.to_rgba(PALETTE[0])), (n, 1)), None


def _voxel_setup(coords, voxel_size, origin, values, rgb, categories):
    c = _np(coords, "coords")
    if c.ndim != 2 or c.shape[1] != 3:
        raise ValueError(f"coords: expected shape [N, 3], got {list(c.shape)}")
    c = c.astype(np.int64)
    uniq, first = np.unique(c, axis=0, return_index=True)
    vals = None if values is None else _np(values, "values").astype(np.float64)[first]
    rgbs = None if rgb is None else _rgb01(_np(rgb, "rgb"))[first]
    cats, order = None, []
    if categories is not None:
        cats_all = _np(categories, "categories")
        order = np.unique(cats_all).tolist()
        cats = cats_all[first]
    origin = np.zeros(3) if origin is None else np.asarray(origin, dtype=np.float64).reshape(3)
    return uniq, {"values": vals, "rgb": rgbs, "categories": cats, "order": order}, origin


_LIGHT = np.array([0.35, -0.55, 0.76])  # drawing frame (z up): light from above, front-left


def _face_shade(direction: np.ndarray, up: str) -> np.ndarray:
    """Brightness factor per face from its normal in the drawing frame (a fixed light)."""
    normals = _up_xyz(_FACE_DIRS[direction].astype(np.float64), up)
    return 0.55 + 0.45 * np.clip(normals @ (_LIGHT / np.linalg.norm(_LIGHT)), 0.0, 1.0)


def voxels3d_static(
    coords,
    *,
    voxel_size: float = 1.0,
    origin=None,
    values=None,
    rgb=None,
    categories=None,
    category_names=None,
    category_colors=None,
    value_label: str | None = None,
    title: str | None = None,
    units: str | None = "voxels",
    max_cubes: int = 6000,
    max_points: int | None = DEFAULT_MAX_POINTS_STATIC,
    seed: int = 0,
    cmap: str = CMAPS["sequential"],
    clim=None,
    edgecolor: str | None = "auto",
    up: str = "z",
    elev: float = 20.0,
    azim: float = -60.0,
    figsize: tuple[float, float] = (6.5, 5.5),
    ax=None,
    colorbar: bool = True,
    legend: bool = True,
    bounds=None,
):
    """Static voxel view: shaded cubes when there are at most ``max_cubes`` voxels, else squares.

    Args:
        coords: ``[N, 3]`` integer voxel coordinates; voxel ``c`` is the cube
            ``origin + [c, c + 1) * voxel_size`` (so one cube is ``voxel_size`` wide in ``units``).
        values / rgb / categories / category_names / category_colors / value_label / cmap /
            clim: colouring as in :func:`points3d` (duplicated voxels take their first entry).
        max_cubes: above this many voxels the view falls back to :func:`points3d_static` with
            square markers at the voxel centres (and its sub-sampling to ``max_points``).
        edgecolor: cube edge colour; ``"auto"`` draws thin dark edges when there are few cubes.
        up / elev / azim / figsize / ax: as in :func:`points3d_static`.
        colorbar / legend: draw them (off when composing panels that share one).
        bounds: ``(lo [3], hi [3])`` axis limits in ``units`` (default: the voxels' extent); pass
            the same bounds to several panels to compare them in one frame.
    Returns:
        matplotlib ``Figure``; ``fig.pcc_subsample`` as in :func:`points3d_static`.
    """
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    _check_up(up)
    uniq, colouring, origin = _voxel_setup(coords, voxel_size, origin, values, rgb, categories)
    centres = origin + (uniq + 0.5) * voxel_size
    if len(uniq) > max_cubes:
        fig = points3d_static(
            centres,
            values=colouring["values"],
            rgb=colouring["rgb"],
            categories=colouring["categories"],
            category_names=category_names,
            category_colors=category_colors,
            value_label=value_label,
            title=title,
            units=units,
            max_points=max_points,
            seed=seed,
            marker_size=1.5,
            cmap=cmap,
            clim=clim,
            up=up,
            elev=elev,
            azim=azim,
            figsize=figsize,
            ax=ax,
            colorbar=colorbar,
        )
        if bounds is not None:
            _set_equal_3d(fig.axes[0] if ax is None else ax, _up_bounds(bounds, up))
        return fig
    if ax is None:
        fig = plt.figure(figsize=figsize)
        ax = fig.add_subplot(projection="3d")
    else:
        fig = ax.figure
    quads, owner, direction = voxel_faces(uniq)
    rgba, vrange = _voxel_color_arrays(np.arange(len(uniq)), colouring, category_colors, cmap, clim)
    face_rgba = rgba[owner].copy()
    face_rgba[:, :3] *= _face_shade(direction, up)[:, None]
    if edgecolor == "auto":
        edgecolor = (0, 0, 0, 0.35) if len(uniq) <= 1500 else None
    coll = Poly3DCollection(
        _up_xyz(origin + quads * voxel_size, up),
        facecolors=face_rgba,
        edgecolors=edgecolor if edgecolor is not None else face_rgba,
        linewidths=0.3,
    )
    ax.add_collection3d(coll)
    if vrange is not None and colorbar:
        sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(*vrange))
        cb = plt.colorbar(sm, ax=ax, shrink=0.6, pad=0.18)
        cb.set_label(value_label or "value")
    if colouring["categories"] is not None and legend:
        from matplotlib.patches import Patch

        counts = {c: int((colouring["categories"] == c).sum()) for c in colouring["order"]}
        ax.legend(
            handles=[
                Patch(
                    color=_category_color(i, c, category_colors),
                    label=f"{_category_label(c, category_names)} ({counts[c]:,})",
                )
                for i, c in enumerate(colouring["order"])
            ],
            loc="upper left",
        )
    tx, ty, tz = _axis_titles(units, _up_labels(("x", "y", "z"), up))
    ax.set_xlabel(tx)
    ax.set_ylabel(ty)
    ax.set_zlabel(tz)
    _style_3d_axis(ax)
    if bounds is None and len(uniq):
        bounds = (origin + uniq.min(0) * voxel_size, origin + (uniq.max(0) + 1) * voxel_size)
    _set_equal_3d(ax, _up_bounds(bounds, up))
    ax.view_init(elev=elev, azim=azim)
    n = len(uniq)
    ax.set_title(f"{title} — {n:,} voxels" if title else f"{n:,} voxels", fontsize=11)
    fig.pcc_subsample = SubsampleInfo(n, n).as_dict()
    return fig


def voxels3d_panels(
    coords_list: Sequence,
    *,
    voxel_sizes: Sequence[float] | None = None,
    origins: Sequence | None = None,
    titles: Sequence[str] | None = None,
    values: Sequence | None = None,
    value_label: str | None = None,
    suptitle: str | None = None,
    units: str | None = "voxels",
    same_frame: bool = True,
    max_cubes: int = 6000,
    max_points: int | None = DEFAULT_MAX_POINTS_STATIC,
    cmap: str = CMAPS["sequential"],
    clim=None,
    up: str = "z",
    elev: float = 20.0,
    azim: float = -60.0,
    ncols: int | None = None,
    panel_size: tuple[float, float] = (4.2, 4.0),
):
    """Several voxel sets side by side (static), e.g. one cloud voxelised at depths 3, 5, 7.

    ``coords_list[i]`` ``[N_i, 3]`` integer coordinates are drawn as cubes of width
    ``voxel_sizes[i]`` at ``origins[i]`` (defaults 1 and 0): give each depth its own voxel size
    and all panels show the same object in the same physical frame (``same_frame=True`` also
    gives them identical axis limits). ``values`` (one ``[N_i]`` array per panel) share one colour
    range and one colour bar. Returns a matplotlib ``Figure`` (``fig.pcc_subsample``: a list).
    """
    import matplotlib.pyplot as plt

    k = len(coords_list)
    if k == 0:
        raise ValueError("voxels3d_panels: no voxel sets")
    voxel_sizes = list(voxel_sizes) if voxel_sizes is not None else [1.0] * k
    origins = list(origins) if origins is not None else [np.zeros(3)] * k
    titles = list(titles) if titles is not None else [f"set {i}" for i in range(k)]
    for name, seq in (("voxel_sizes", voxel_sizes), ("origins", origins), ("titles", titles)):
        if len(seq) != k:
            raise ValueError(f"{name}: expected {k} entries, got {len(seq)}")
    if values is not None and len(values) != k:
        raise ValueError(f"values: expected {k} entries, got {len(values)}")
    arrays = [_np(c, "coords").astype(np.int64) for c in coords_list]
    bounds = None
    if same_frame:
        los = [
            np.asarray(o, float) + a.min(0) * s
            for a, o, s in zip(arrays, origins, voxel_sizes, strict=True)
            if len(a)
        ]
        his = [
            np.asarray(o, float) + (a.max(0) + 1) * s
            for a, o, s in zip(arrays, origins, voxel_sizes, strict=True)
            if len(a)
        ]
        bounds = (np.min(los, axis=0), np.max(his, axis=0)) if los else None
    if values is not None and clim is None:
        vals = [_np(v, "values") for v in values]
        clim = (min(float(np.nanmin(v)) for v in vals), max(float(np.nanmax(v)) for v in vals))
    ncols = ncols or min(k, 4)
    nrows = -(-k // ncols)
    fig = plt.figure(
        figsize=(panel_size[0] * ncols + (0.8 if values is not None else 0), panel_size[1] * nrows)
    )
    infos = []
    for i in range(k):
        ax = fig.add_subplot(nrows, ncols, i + 1, projection="3d")
        voxels3d_static(
            arrays[i],
            voxel_size=voxel_sizes[i],
            origin=origins[i],
            values=None if values is None else values[i],
            value_label=value_label,
            title=None,
            units=units,
            max_cubes=max_cubes,
            max_points=max_points,
            cmap=cmap,
            clim=clim,
            up=up,
            elev=elev,
            azim=azim,
            ax=ax,
            colorbar=False,
            bounds=bounds,
        )
        n = len(np.unique(arrays[i], axis=0))
        note = (
            ""
            if n <= max_cubes or max_points is None or n <= max_points
            else (f", {max_points:,} drawn")
        )
        ax.set_title(f"{titles[i]}\n{n:,} voxels{note}", fontsize=10)
        infos.append(SubsampleInfo(min(n, max_points or n) if n > max_cubes else n, n).as_dict())
    if values is not None:
        sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(*clim))
        cb = fig.colorbar(sm, ax=fig.axes, shrink=0.6, pad=0.04)
        cb.set_label(value_label or "value")
    if suptitle:
        fig.suptitle(suptitle, fontsize=12, y=1.0 + 0.04 / nrows)
    fig.pcc_subsample = infos
    return fig


def voxels3d(
    coords,
    *,
    voxel_size: float = 1.0,
    origin=None,
    values=None,
    rgb=None,
    categories=None,
    category_names=None,
    category_colors=None,
    value_label: str | None = None,
    title: str | None = None,
    units: str | None = "voxels",
    max_cubes: int = 4000,
    max_points: int | None = DEFAULT_MAX_POINTS,
    seed: int = 0,
    cmap: str = CMAPS["sequential"],
    clim=None,
    opacity: float = 1.0,
    up: str = "z",
    width: int | None = 700,
    height: int | None = 560,
):
    """Interactive voxel view (plotly): cubes (``go.Mesh3d``) up to ``max_cubes`` voxels, else
    square markers at the voxel centres (``points3d`` with sub-sampling to ``max_points``).

    Same arguments as :func:`voxels3d_static`; returns a ``plotly.graph_objects.Figure`` with
    equal aspect and ``fig.layout.meta["subsample"]``.
    """
    go = _go()
    uniq, colouring, origin = _voxel_setup(coords, voxel_size, origin, values, rgb, categories)
    centres = origin + (uniq + 0.5) * voxel_size
    if len(uniq) > max_cubes:
        return points3d(
            centres,
            values=colouring["values"],
            rgb=colouring["rgb"],
            categories=colouring["categories"],
            category_names=category_names,
            category_colors=category_colors,
            value_label=value_label,
            title=title,
            units=units,
            max_points=max_points,
            seed=seed,
            marker_size=3.0,
            cmap=cmap,
            clim=clim,
            opacity=opacity,
            up=up,
            width=width,
            height=height,
            _symbol="square",
        )
    quads, owner, direction = voxel_faces(uniq)
    rgba, vrange = _voxel_color_arrays(np.arange(len(uniq)), colouring, category_colors, cmap, clim)
    verts = (origin + quads * voxel_size).reshape(-1, 3)  # [4F, 3]
    base = np.arange(len(quads)) * 4
    tri_i = np.concatenate([base, base])
    tri_j = np.concatenate([base + 1, base + 2])
    tri_k = np.concatenate([base + 2, base + 3])
    face_rgba = rgba[owner].copy()
    face_rgba[:, :3] *= _face_shade(direction, up)[:, None]
    face_rgba = np.concatenate([face_rgba, face_rgba])
    colors = [f"rgb({int(r * 255)},{int(g * 255)},{int(b * 255)})" for r, g, b, _ in face_rgba]
    traces = [
        go.Mesh3d(
            x=verts[:, 0],
            y=verts[:, 1],
            z=verts[:, 2],
            i=tri_i,
            j=tri_j,
            k=tri_k,
            facecolor=colors,
            flatshading=True,
            opacity=opacity,
            name="voxels",
            showlegend=False,
            hoverinfo="skip",
        )
    ]
    if vrange is not None:  # an invisible marker trace carries the colour bar
        traces.append(
            go.Scatter3d(
                x=[centres[0, 0]],
                y=[centres[0, 1]],
                z=[centres[0, 2]],
                mode="markers",
                showlegend=False,
                marker={
                    "size": 0.1,
                    "color": [vrange[0]],
                    "cmin": vrange[0],
                    "cmax": vrange[1],
                    "colorscale": _plotly_cmap(cmap),
                    "showscale": True,
                    "colorbar": {"title": {"text": value_label or "value"}},
                },
            )
        )
    if colouring["categories"] is not None:  # legend entries, one per category
        for i, cat in enumerate(colouring["order"]):
            n_cat = int((colouring["categories"] == cat).sum())
            traces.append(
                go.Scatter3d(
                    x=[None],
                    y=[None],
                    z=[None],
                    mode="markers",
                    name=f"{_category_label(cat, category_names)} ({n_cat:,})",
                    marker={
                        "size": 8,
                        "symbol": "square",
                        "color": _category_color(i, cat, category_colors),
                    },
                )
            )
    fig = go.Figure(data=traces)
    title_text = f"{title} — {len(uniq):,} voxels" if title else f"{len(uniq):,} voxels"
    fig.update_layout(
        title={"text": title_text, "font": {"size": 14}},
        scene=_plotly_scene(units, ("x", "y", "z"), up),
        font={"size": 12},
        margin={"l": 0, "r": 0, "t": 50, "b": 0},
        width=width,
        height=height,
        meta={"subsample": SubsampleInfo(len(uniq), len(uniq)).as_dict()},
    )
    return fig
