"""Read or write a point cloud, choosing the format from the file extension.

Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.atomic import write_bytes_atomic
from pcc.io.off import read_off
from pcc.io.pointcloud.cloud import PointCloud, check_cloud
from pcc.io.pointcloud.las import LAS_EXTENSIONS, read_las
from pcc.io.pointcloud.lidar_bin import bin_bytes, read_bin
from pcc.io.pointcloud.pcd import pcd_bytes, read_pcd
from pcc.io.pointcloud.ply import ply_cloud_bytes, read_ply_cloud
from pcc.io.pointcloud.xyz import read_xyz, xyz_bytes

__all__ = ["read_point_cloud", "write_point_cloud", "POINT_CLOUD_EXTENSIONS"]

POINT_CLOUD_EXTENSIONS = (".ply", ".pcd", ".bin", ".xyz", ".txt", ".pts", ".off", ".las", ".laz")
_WRITE_DTYPES = {"float32": "f4", "float64": "f8", "int32": "i4"}


def read_point_cloud(
    path: str | os.PathLike,
    *,
    drop_nan: bool | None = None,
    bin_fields: int | None = None,
) -> PointCloud:
    """Read a point cloud, choosing the format from the extension.

    Args:
        path: ``.ply`` (ascii / binary little or big endian; a mesh PLY yields its vertices),
            ``.pcd`` (ascii / binary / binary_compressed), ``.bin`` (raw float32 records, KITTI
            ``x y z reflectance`` or nuScenes ``x y z intensity ring``), ``.xyz`` / ``.txt`` /
            ``.pts`` (``x y z [r g b]`` text), ``.off`` (the mesh vertices), ``.las`` /
            ``.laz`` (ASPRS LAS, uncompressed or LAZ, via laspy).
        drop_nan: drop points with a non-finite coordinate (their count goes to
            ``notes["dropped_nan"]``) instead of raising. The default (None) drops them for PCD,
            where NaN is PCL's "no measurement" marker of organised clouds, and raises elsewhere.
        bin_fields: float32 values per ``.bin`` record; None infers it
            (:func:`pcc.io.pointcloud.lidar_bin.infer_bin_fields`).

    Raises:
        FormatError: unknown extension, truncated or corrupt file, NaN coordinates, zero points.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "file not found")
    suffix = path.suffix.lower()
    if suffix == ".ply":
        pc = read_ply_cloud(path)
    elif suffix == ".pcd":
        pc = read_pcd(path)
        drop_nan = True if drop_nan is None else drop_nan
    elif suffix == ".bin":
        pc = read_bin(path, bin_fields, path.name.lower())
    elif suffix in (".xyz", ".txt", ".pts"):
        pc = read_xyz(path)
    elif suffix in LAS_EXTENSIONS:
        pc = read_las(path)
    elif suffix == ".off":
        vertices, _ = read_off(path)
        pc = PointCloud(vertices)
    else:
        raise FormatError(
            path,
            f"unknown point-cloud extension {suffix!r} (known: {', '.join(POINT_CLOUD_EXTENSIONS)})",
        )
    return check_cloud(path, pc, bool(drop_nan))


def write_point_cloud(
    path: str | os.PathLike,
    pc: PointCloud,
    *,
    ascii: bool = False,
    dtype: str = "float32",
) -> None:
    """Write ``pc`` atomically; the format follows the extension (``.ply .pcd .xyz .txt .bin``).

    Args:
        ascii: text PLY / PCD instead of binary little endian.
        dtype: coordinate type, ``float32``, ``float64`` or ``int32`` (voxelised clouds; values
            are rounded). ``.bin`` is always KITTI's float32 ``x y z 0`` and ``.xyz`` is text.
    """
    path = Path(path)
    if dtype not in _WRITE_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_WRITE_DTYPES)}, got {dtype!r}")
    code = _WRITE_DTYPES[dtype]
    suffix = path.suffix.lower()
    if suffix == ".ply":
        payload = ply_cloud_bytes(pc, _coords_as(pc.points, code), ascii)
    elif suffix == ".pcd":
        payload = pcd_bytes(pc, _coords_as(pc.points, code), ascii)
    elif suffix in (".xyz", ".txt", ".pts"):
        text = np.round(pc.points).astype(np.int64) if dtype == "int32" else pc.points
        payload = xyz_bytes(pc, text)
    elif suffix == ".bin":
        payload = bin_bytes(pc)
    else:
        raise FormatError(path, f"cannot write extension {suffix!r} (use .ply .pcd .xyz .bin)")
    write_bytes_atomic(path, payload)


def _coords_as(points: np.ndarray, code: str) -> np.ndarray:
    """Positions ``[N, 3]`` in the little-endian type ``code`` (integers rounded)."""
    if code == "i4":
        return np.round(points).astype("<i4")
    return points.astype("<" + code)
