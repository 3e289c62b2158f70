"""Voxel sets side by side (:func:`voxels3d_panels`) and the interactive :func:`voxels3d`.

Part of :mod:`visualisation.points3d` (import the public names from there)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from visualisation.points3d._common import (
    DEFAULT_MAX_POINTS,
    DEFAULT_MAX_POINTS_STATIC,
    SubsampleInfo,
    _category_color,
    _category_label,
    _np,
)
from visualisation.points3d.interactive import (
    _go,
    _plotly_cmap,
    _plotly_scene,
    points3d,
)
from visualisation.points3d.voxels import (
    _face_shade,
    _voxel_color_arrays,
    _voxel_setup,
    voxel_faces,
    voxels3d_static,
)
from visualisation.style import CMAPS


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
