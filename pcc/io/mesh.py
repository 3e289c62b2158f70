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
from pcc.io.pointcloud import parse_floats

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


def fan_triangulate(polygons: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """Split polygons into triangles ``(v0, v_i, v_{i+1})``.  Returns ``[F, 3]`` int64.

    Polygons with fewer than three corners are dropped.
    """
    if isinstance(polygons, np.ndarray) and polygons.dtype != object and polygons.ndim == 2:
        k = polygons.shape[1]
        if k < 3:
            return np.zeros((0, 3), dtype=np.int64)
        polys = polygons.astype(np.int64)
        tris = [
            np.stack([polys[:, 0], polys[:, i], polys[:, i + 1]], axis=1) for i in range(1, k - 1)
        ]
        # interleave so that the triangles of one polygon stay together
        return np.stack(tris, axis=1).reshape(-1, 3)
    out = []
    for poly in polygons:
        poly = np.asarray(poly, dtype=np.int64)
        for i in range(1, len(poly) - 1):
            out.append((poly[0], poly[i], poly[i + 1]))
    return np.asarray(out, dtype=np.int64).reshape(-1, 3)


def read_off(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an OFF mesh. Returns ``(vertices [V, 3] float64, faces [F, 3] int64)``."""
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    fast = _read_off_fast(text)
    if fast is not None:
        return fast
    lines = []
    for ln in text.splitlines():
        ln = ln.split("#", 1)[0].strip()
        if ln:
            lines.append(ln)
    if not lines or not lines[0].upper().startswith(("OFF", "COFF", "NOFF", "CNOFF")):
        raise FormatError(path, "not an OFF file (first line does not start with 'OFF')")
    first = lines[0]
    magic_len = first.upper().index("OFF") + 3
    rest = first[magic_len:].split()
    row = 1
    if rest:  # ModelNet quirk: "OFF1046 900 0"
        counts = rest
    else:
        if len(lines) < 2:
            raise FormatError(path, "truncated OFF: no counts line")
        counts = lines[1].split()
        row = 2
    try:
        nv, nf = int(counts[0]), int(counts[1])
    except (IndexError, ValueError) as err:
        raise FormatError(path, f"bad OFF counts line {' '.join(counts)!r}") from err
    if nv < 0 or nf < 0:
        raise FormatError(path, f"negative OFF counts {nv} {nf}")
    if len(lines) < row + nv + nf:
        raise FormatError(
            path,
            f"truncated OFF: header announces {nv} vertices + {nf} faces, "
            f"file has {len(lines) - row} data lines",
        )
    vlines = lines[row : row + nv]
    try:
        tokens = [ln.split()[:3] for ln in vlines]
        vertices = np.array(tokens, dtype=np.float64).reshape(nv, 3)
    except ValueError as err:
        raise FormatError(path, "bad OFF vertex line (need 3 numbers)") from err
    flines = lines[row + nv : row + nv + nf]
    faces = _parse_off_faces(path, flines)
    if faces.size and (faces.min() < 0 or faces.max() >= nv):
        raise FormatError(path, f"OFF face index out of range 0..{nv - 1}")
    return vertices, faces


def _read_off_fast(text: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Plain ``OFF`` with 3 values per vertex and triangles only, no comments: vectorised.

    Returns None whenever the file is anything else; the line-by-line reader then handles it
    (and reports errors).
    """
    if "#" in text:
        return None
    head = text.lstrip()
    if not head.startswith("OFF") or head[3:4].isalpha():
        return None
    try:
        values = parse_floats(head[3:])
    except ValueError:
        return None
    if values.size < 3:
        return None
    nv, nf = int(values[0]), int(values[1])
    if nv <= 0 or nf < 0 or values[0] != nv or values[1] != nf:
        return None
    if values.size != 3 + 3 * nv + 4 * nf:
        return None
    vertices = values[3 : 3 + 3 * nv].reshape(nv, 3)
    faces = values[3 + 3 * nv :].reshape(nf, 4)
    if nf and (faces[:, 0] != 3).any():
        return None
    tris = faces[:, 1:]
    if nf and (tris.min() < 0 or tris.max() >= nv or (tris != np.round(tris)).any()):
        return None
    return vertices, tris.astype(np.int64)


def _parse_off_faces(path: Path, flines: list[str]) -> np.ndarray:
    if not flines:
        return np.zeros((0, 3), dtype=np.int64)
    try:
        rows = [ln.split() for ln in flines]
        # fast path: every face a triangle (possibly followed by colour values)
        if all(r[0] == "3" for r in rows):
            return np.array([r[1:4] for r in rows], dtype=np.int64).reshape(-1, 3)
        polys = []
        for r in rows:
            k = int(r[0])
            if len(r) < 1 + k:
                raise ValueError
            polys.append(np.array(r[1 : 1 + k], dtype=np.int64))
    except (ValueError, IndexError) as err:
        raise FormatError(path, "bad OFF face line") from err
    return fan_triangulate(polys)


def _read_ply_mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from pcc.io.pointcloud import read_ply_elements

    elements = read_ply_elements(path)
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
