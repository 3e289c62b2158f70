"""Uniform random samples on a triangle mesh's surface (area-weighted).

A triangle is drawn with probability proportional to its area, then a point uniformly inside it with
the square-root trick ``p = (1 - sqrt(r1)) a + sqrt(r1) (1 - r2) b + sqrt(r1) r2 c`` (Osada et al.
2002, "Shape distributions", eq. 1). This is how ModelNet / ShapeNet meshes become training clouds
(GEOv2 ``ds_mesh_to_pc.py``; PCGCv2 ``generate_dataset.py``). Taught in
``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_mesh_surface", "sample_mesh_poisson_disk", "triangle_areas"]


def triangle_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Areas of the triangles.  vertices ``[V, 3]``, faces ``[F, 3]`` -> ``[F]`` float64."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def _checked_mesh(vertices, faces) -> tuple[np.ndarray, np.ndarray]:
    """``vertices [V, 3]`` float64 and ``faces [F, 3]`` int64, or ValueError naming the problem."""
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be [V, 3], got {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must be [F, 3], got {faces.shape}")
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError("face indices out of range")
    return vertices, faces


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
    vertices, faces = _checked_mesh(vertices, faces)
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


def sample_mesh_poisson_disk(
    vertices: np.ndarray, faces: np.ndarray, n_points: int, *, seed: int = 0, init_factor: int = 5
) -> np.ndarray:
    """``n_points`` samples on the surface, no two closer than about the same distance.

    open3d's ``TriangleMesh.sample_points_poisson_disk`` (Yuksel 2015, "Sample elimination for
    generating Poisson disk sample sets"): ``init_factor x n_points`` uniform samples are thinned
    to ``n_points`` by removing the most crowded ones, so the samples cover the surface evenly,
    without the clumps and holes of :func:`sample_mesh_surface`. pcc has no own version; it
    takes seconds for tens of thousands of points (``python -m pcc.bench open3d``).
    open3d's generator is global: it is seeded with ``seed`` before sampling.

    Args:
        vertices: ``[V, 3]``; faces: ``[F, 3]`` vertex indices.
    Returns:
        ``[n_points, 3]`` float64.
    """
    from pcc._open3d import import_open3d

    vertices, faces = _checked_mesh(vertices, faces)
    if not triangle_areas(vertices, faces).sum() > 0:
        raise ValueError("the mesh has zero surface area")
    if int(n_points) <= 0:
        raise ValueError(f"number of samples must be positive, got {n_points}")
    o3d = import_open3d()
    mesh = o3d.geometry.TriangleMesh(
        o3d.utility.Vector3dVector(vertices), o3d.utility.Vector3iVector(faces.astype(np.int32))
    )
    o3d.utility.random.seed(int(seed))
    cloud = mesh.sample_points_poisson_disk(int(n_points), init_factor=int(init_factor))
    return np.asarray(cloud.points, dtype=np.float64)
