"""OFF meshes (Princeton Object File Format, the files of ModelNet).

Accepts the ModelNet header quirk where the counts follow ``OFF`` on the same line
(``OFF1046 900 0``), ``#`` comments and polygons of any size (fan-triangulated).
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.polygons import fan_triangulate
from pcc.io.text import parse_floats

__all__ = ["read_off"]


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
    except (IndexError, ValueError, OverflowError) as err:
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
    except (ValueError, OverflowError) as err:
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
    if values.size < 3 or not (np.abs(values[:2]) < 2**40).all():  # NaN, inf, absurd counts
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
    except (ValueError, IndexError, OverflowError) as err:
        raise FormatError(path, "bad OFF face line") from err
    return fan_triangulate(polys)
