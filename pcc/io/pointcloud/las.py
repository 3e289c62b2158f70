"""ASPRS LAS 1.0-1.4 point clouds (uncompressed; ``.laz`` is refused with a clear error).

Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.pointcloud.cloud import PointCloud

__all__ = ["read_las"]

_LAS_RGB_OFFSET = {2: 20, 3: 28, 5: 28, 7: 30, 8: 30, 10: 30}  # byte offset of R, G, B (uint16)


def read_las(path: Path) -> PointCloud:
    """Uncompressed ASPRS LAS 1.0-1.4: integer X, Y, Z records scaled by the header's
    ``scale`` and ``offset``; RGB (16-bit, reduced to 8) for point formats that carry it."""
    data = path.read_bytes()
    if len(data) < 227 or data[:4] != b"LASF":
        raise FormatError(path, "not a LAS file (no 'LASF' signature or header too short)")
    version = (data[24], data[25])
    point_offset = int(np.frombuffer(data, "<u4", 1, 96)[0])
    point_format = data[104] & 0x3F  # bits 6-7 flag LAZ compression
    if data[104] & 0xC0:
        raise FormatError(path, "LAS point data is LAZ-compressed; not supported")
    record_len = int(np.frombuffer(data, "<u2", 1, 105)[0])
    n = int(np.frombuffer(data, "<u4", 1, 107)[0])
    if version >= (1, 4) and n == 0 and len(data) >= 255:
        n = int(np.frombuffer(data, "<u8", 1, 247)[0])
    scale = np.frombuffer(data, "<f8", 3, 131)
    offset = np.frombuffer(data, "<f8", 3, 155)
    if record_len < 12:
        raise FormatError(path, f"LAS point record length {record_len} < 12")
    if point_offset + n * record_len > len(data):
        raise FormatError(
            path, f"truncated LAS: {n} points of {record_len} B need {n * record_len} B"
        )
    raw = np.frombuffer(data, np.uint8, n * record_len, point_offset).reshape(n, record_len)
    xyz = np.ascontiguousarray(raw[:, :12]).view("<i4").reshape(n, 3)
    points = xyz * scale + offset
    colors = None
    rgb_at = _LAS_RGB_OFFSET.get(point_format)
    if rgb_at is not None and record_len >= rgb_at + 6:
        rgb = np.ascontiguousarray(raw[:, rgb_at : rgb_at + 6]).view("<u2").reshape(n, 3)
        # LAS stores 16-bit colour; files written from 8-bit data keep values <= 255
        colors = (rgb >> 8 if rgb.size and rgb.max() > 255 else rgb).astype(np.uint8)
    return PointCloud(points, colors, notes={"las_version": f"{version[0]}.{version[1]}",
                                             "las_point_format": int(point_format)})  # fmt: skip
