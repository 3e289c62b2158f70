"""Point clouds in PLY files, through the one PLY parser and writer (:mod:`pcc.io.ply`).

Reading takes the ``vertex`` element's ``x y z``, colours (``red green blue``, ``r g b`` or
``diffuse_*``; float colours in [0, 1] are scaled to 0..255) and ``nx ny nz``; a mesh PLY yields
its vertices. Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.ply import ply_bytes, read_ply
from pcc.io.pointcloud.cloud import PointCloud

__all__ = ["read_ply_cloud", "ply_cloud_bytes"]


def read_ply_cloud(path: Path) -> PointCloud:
    """The ``vertex`` element of a PLY file as a :class:`PointCloud`."""
    elements = read_ply(path)  # every element, so a truncated face list is still an error
    vertex = elements.get("vertex")
    if vertex is None:
        raise FormatError(path, "PLY has no 'vertex' element")
    missing = [c for c in "xyz" if c not in vertex]
    if missing:
        raise FormatError(path, f"PLY vertex element lacks properties {missing}")
    points = np.stack([vertex[c].astype(np.float64) for c in "xyz"], axis=1)
    colors = None
    for names in (
        ("red", "green", "blue"),
        ("r", "g", "b"),
        ("diffuse_red", "diffuse_green", "diffuse_blue"),
    ):
        if all(n in vertex for n in names):
            cols = np.stack([vertex[n] for n in names], axis=1)
            if cols.dtype.kind == "f" and cols.size and cols.max() <= 1.0:
                cols = cols * 255.0
            colors = np.clip(np.round(cols), 0, 255).astype(np.uint8)
            break
    normals = None
    if all(n in vertex for n in ("nx", "ny", "nz")):
        normals = np.stack([vertex[n] for n in ("nx", "ny", "nz")], axis=1).astype(np.float32)
    return PointCloud(points, colors, normals)


def ply_cloud_bytes(pc: PointCloud, coords: np.ndarray, ascii: bool) -> bytes:
    """A PLY file of ``pc`` with positions ``coords [N, 3]`` already in the type to write."""
    columns = {c: coords[:, i] for i, c in enumerate("xyz")}
    if pc.normals is not None:
        columns.update({c: pc.normals[:, i] for i, c in enumerate(("nx", "ny", "nz"))})
    if pc.colors is not None:
        columns.update({c: pc.colors[:, i] for i, c in enumerate(("red", "green", "blue"))})
    fmt = "ascii" if ascii else "binary_little_endian"
    return ply_bytes({"vertex": columns}, format=fmt, comments=["written by pcc"])
