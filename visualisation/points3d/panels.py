"""Several point clouds side by side (static or plotly): :func:`points3d_panels`.

Part of :mod:`visualisation.points3d` (import the public names from there)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from visualisation.points3d._common import (
    DEFAULT_MAX_POINTS_STATIC,
    _prepare,
)
from visualisation.points3d.interactive import (
    _plotly_scene,
    _plotly_traces,
)
from visualisation.points3d.static import _mpl_draw
from visualisation.style import CMAPS


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
