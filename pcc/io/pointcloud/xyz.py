"""XYZ text point clouds (``.xyz``, ``.txt``, ``.pts``): ``x y z [r g b ...]`` per line.

Lines starting with ``#`` or ``//`` are comments; commas count as spaces. Columns 4-6 become
colours when they are integers in 0..255.
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.pointcloud.cloud import PointCloud
from pcc.io.text import format_table

__all__ = ["read_xyz", "xyz_bytes"]


def read_xyz(path: Path) -> PointCloud:
    text = path.read_text(encoding="utf-8", errors="replace")
    rows = [ln.replace(",", " ").split() for ln in text.splitlines()]
    rows = [r for r in rows if r and not r[0].startswith(("#", "//"))]
    if not rows:
        raise FormatError(path, "the file holds zero (valid) points")
    width = len(rows[0])
    if width < 3:
        raise FormatError(path, f"XYZ line has {width} columns, need at least x y z")
    bad = next((i for i, r in enumerate(rows) if len(r) != width), None)
    if bad is not None:
        raise FormatError(
            path, f"XYZ data line {bad + 1} has {len(rows[bad])} columns, not {width}"
        )
    try:
        values = np.array(rows, dtype=np.float64)
    except ValueError as err:
        raise FormatError(path, "non-numeric value in XYZ text") from err
    colors = None
    if width >= 6:
        rgb = values[:, 3:6]
        finite = np.isfinite(rgb).all()
        if finite and (rgb == np.round(rgb)).all() and rgb.min() >= 0 and rgb.max() <= 255:
            colors = rgb.astype(np.uint8)
    return PointCloud(values[:, :3], colors)


def xyz_bytes(pc: PointCloud, coords: np.ndarray) -> bytes:
    """``x y z [r g b]`` text; ``coords [N, 3]`` are the positions as they should be printed."""
    cols = [coords]
    if pc.colors is not None:
        cols.append(pc.colors.astype(np.int64))
    return format_table(cols).encode()
