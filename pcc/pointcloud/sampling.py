"""Uniform random samples on a triangle mesh's surface (area-weighted).

A triangle is drawn with probability proportional to its area, then a point uniformly inside it with
the square-root trick ``p = (1 - sqrt(r1)) a + sqrt(r1) (1 - r2) b + sqrt(r1) r2 c`` (Osada et al.
2002, "Shape distributions", eq. 1). This is how ModelNet / ShapeNet meshes become training clouds
(GEOv2 ``ds_mesh_to_pc.py``; PCGCv2 ``generate_dataset.py``). Taught in
``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_mesh_surface", "triangle_areas"]


def triangle_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Areas of the triangles.  vertices ``[V, 3]``, faces ``[F, 3]`` -> ``[F]`` float64."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def sample_mesh_surface(
    vertices: np.ndarray,
    faces: np.ndarray,
    n_points: int | None = None,
    *,
    density: float | None = None,
    seed: int = 0,
    chunk: int = 2_000_000,
) -> np.ndarray:
    """Sample points uniformly on the surface of a triangle mesh.

    Args:
        vertices: ``[V, 3]``.
        faces: ``[F, 3]`` vertex indices.
        n_points: how many samples; or
        density: samples per unit of area (``n = round(density * total area)``).
        seed: the result is a deterministic function of the mesh, the count and the seed.
        chunk: samples drawn per batch (bounds memory for tens of millions of samples).
    Returns:
        ``[N, 3]`` float64.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be [V, 3], got {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must be [F, 3], got {faces.shape}")
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError("face indices out of range")
    if (n_points is None) == (density is None):
        raise ValueError("give exactly one of n_points and density")
    areas = triangle_areas(vertices, faces)
    total = float(areas.sum())
    if not total > 0:
        raise ValueError("the mesh has zero surface area")
    if density is not None:
        n_points = int(round(float(density) * total))
    n_points = int(n_points)
    if n_points <= 0:
        raise ValueError(f"number of samples must be positive, got {n_points}")
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(areas)
    cdf /= cdf[-1]
    out = np.empty((n_points, 3), dtype=np.float64)
    for start in range(0, n_points, chunk):
        m = min(chunk, n_points - start)
        tri = np.searchsorted(cdf, rng.random(m), side="right")
        tri = np.minimum(tri, len(faces) - 1)
        r1 = np.sqrt(rng.random(m))[:, None]
        r2 = rng.random(m)[:, None]
        f = faces[tri]
        a, b, c = vertices[f[:, 0]], vertices[f[:, 1]], vertices[f[:, 2]]
        out[start : start + m] = (1.0 - r1) * a + r1 * (1.0 - r2) * b + r1 * r2 * c
    return out
