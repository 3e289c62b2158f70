"""Triangle meshes from OFF and PLY files (the inputs of surface sampling).

``read_mesh`` returns float64 vertices and int64 triangles; polygons with more than three corners
are fan-triangulated ``(v0, v_i, v_{i+1})``. The OFF reader accepts the ModelNet header quirk where
the counts follow ``OFF`` on the same line (``OFF1046 900 0``) and ``#`` comments.
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.off import read_off
from pcc.io.ply import read_ply
from pcc.io.polygons import fan_triangulate

__all__ = ["read_mesh", "read_off", "fan_triangulate"]


def read_mesh(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a mesh: ``(vertices [V, 3] float64, faces [F, 3] int64)`` from ``.off`` or ``.ply``.

    Raises:
        FormatError: unknown extension, truncated file, face indices out of range, no vertices.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "file not found")
    suffix = path.suffix.lower()
    if suffix == ".off":
        vertices, faces = read_off(path)
    elif suffix == ".ply":
        vertices, faces = _read_ply_mesh(path)
    else:
        raise FormatError(path, f"unknown mesh extension {suffix!r} (known: .off, .ply)")
    if len(vertices) == 0:
        raise FormatError(path, "the mesh has zero vertices")
    if not np.isfinite(vertices).all():
        n_bad = int((~np.isfinite(vertices).all(axis=1)).sum())
        raise FormatError(path, f"{n_bad} vertices have NaN/inf coordinates")
    return vertices, faces


def _read_ply_mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    elements = read_ply(path)
    vertex = elements.get("vertex")
    if vertex is None or not all(c in vertex for c in "xyz"):
        raise FormatError(path, "PLY mesh has no vertex x y z")
    vertices = np.stack([vertex[c].astype(np.float64) for c in "xyz"], axis=1)
    face = elements.get("face", {})
    key = next((k for k in ("vertex_indices", "vertex_index") if k in face), None)
    if key is None:
        raise FormatError(path, "PLY has no face element with vertex_indices (not a mesh)")
    faces = fan_triangulate(face[key])
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise FormatError(path, f"PLY face index out of range 0..{len(vertices) - 1}")
    return vertices, faces
