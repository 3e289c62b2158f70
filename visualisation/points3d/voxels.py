"""Voxels as shaded cubes (few) or square markers (many): :func:`voxel_faces`, :func:`voxels3d_static`.

Part of :mod:`visualisation.points3d` (import the public names from there)."""

from __future__ import annotations

import numpy as np

from visualisation.points3d._common import (
    DEFAULT_MAX_POINTS_STATIC,
    SubsampleInfo,
    _axis_titles,
    _category_color,
    _category_label,
    _check_up,
    _np,
    _rgb01,
    _style_3d_axis,
    _up_bounds,
    _up_labels,
    _up_xyz,
)
from visualisation.points3d.static import _set_equal_3d, points3d_static
from visualisation.style import CMAPS, PALETTE

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
