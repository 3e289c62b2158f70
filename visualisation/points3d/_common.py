"""Shared pieces of the 3D views: array checks, sub-sampling, colouring labels, the up axis.

Part of :mod:`visualisation.points3d` (import the public names from there)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from visualisation.arrays import SubsampleInfo, subsample
from visualisation.style import PALETTE

DEFAULT_MAX_POINTS = 30_000  # plotly stays responsive in a browser up to a few 10^4 markers
DEFAULT_MAX_POINTS_STATIC = 20_000  # matplotlib's 3D scatter gets slow beyond this


# --------------------------------------------------------------------------------------------
# Data preparation (shared by both back-ends)
# --------------------------------------------------------------------------------------------


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
