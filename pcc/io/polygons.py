"""Polygon faces to triangles, shared by the OFF and PLY mesh readers.

Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fan_triangulate"]


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
