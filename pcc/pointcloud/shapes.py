"""Procedural training shapes: spheres, tori, boxes, cylinders, superquadrics and their unions.

Each shape is a triangle mesh built from a parametric surface, randomly rotated (uniform on SO(3)),
scaled and translated; 2-4 primitives may be combined (the union of their *surfaces*: inner parts
of overlapping primitives are kept, like a CAD model assembled from parts). The mesh is
surface-sampled and voxelised into a ``2^bits`` grid. ``shape_at(seed, i, bits)`` is a pure
function of ``(seed, i)``, so :class:`ShapeStream` is an unlimited, reproducible training stream
that needs no data set on disk. Superquadrics: Barr 1981, "Superquadrics and angle-preserving
transformations". Taught in ``notebooks/11_learned_codec.ipynb``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pcc.pointcloud.sampling import sample_mesh_surface, triangle_areas
from pcc.pointcloud.voxelize import unique_coords

__all__ = [
    "PRIMITIVES",
    "parametric_mesh",
    "superquadric_mesh",
    "sphere_mesh",
    "torus_mesh",
    "box_mesh",
    "cylinder_mesh",
    "random_rotation",
    "random_primitive",
    "random_shape_mesh",
    "random_shape",
    "shape_at",
    "ShapeStream",
]

PRIMITIVES = ("sphere", "torus", "box", "cylinder", "superquadric")


def parametric_mesh(
    fn,
    nu: int,
    nv: int,
    u_range: tuple[float, float],
    v_range: tuple[float, float],
    *,
    wrap_u: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Triangulate a parametric surface ``fn(u, v) -> [..., 3]`` on an ``nu x nv`` grid.

    ``wrap_u`` joins the last u column to the first (closed in u). Returns
    ``(vertices [V, 3], faces [F, 3])``.
    """
    us = np.linspace(*u_range, nu, endpoint=not wrap_u)
    vs = np.linspace(*v_range, nv)
    uu, vv = np.meshgrid(us, vs, indexing="ij")
    vertices = fn(uu, vv).reshape(-1, 3)
    iu = np.arange(nu if wrap_u else nu - 1)
    iv = np.arange(nv - 1)
    a_u, a_v = np.meshgrid(iu, iv, indexing="ij")
    b_u = (a_u + 1) % nu
    i00 = a_u * nv + a_v
    i10 = b_u * nv + a_v
    i01 = a_u * nv + a_v + 1
    i11 = b_u * nv + a_v + 1
    faces = np.concatenate(
        [np.stack([i00, i10, i11], -1).reshape(-1, 3), np.stack([i00, i11, i01], -1).reshape(-1, 3)]
    )
    return vertices, faces.astype(np.int64)


def _signed_pow(x: np.ndarray, e: float) -> np.ndarray:
    return np.sign(x) * np.abs(x) ** e


def superquadric_mesh(
    radii=(1.0, 1.0, 1.0), e1: float = 1.0, e2: float = 1.0, n: int = 48
) -> tuple[np.ndarray, np.ndarray]:
    """Superellipsoid ``x = a1 c(v)^e1 c(u)^e2, y = a2 c(v)^e1 s(u)^e2, z = a3 s(v)^e1``
    (signed powers; ``e1 = e2 = 1`` is an ellipsoid, small exponents approach a box)."""
    a1, a2, a3 = radii

    def fn(u, v):
        cv, sv = _signed_pow(np.cos(v), e1), _signed_pow(np.sin(v), e1)
        return np.stack(
            [a1 * cv * _signed_pow(np.cos(u), e2), a2 * cv * _signed_pow(np.sin(u), e2), a3 * sv],
            axis=-1,
        )

    return parametric_mesh(fn, 2 * n, n, (0, 2 * np.pi), (-np.pi / 2, np.pi / 2), wrap_u=True)


def sphere_mesh(radius: float = 1.0, n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """A UV sphere of the given radius."""
    return superquadric_mesh((radius, radius, radius), 1.0, 1.0, n)


def torus_mesh(
    major: float = 1.0, minor: float = 0.3, n: int = 48
) -> tuple[np.ndarray, np.ndarray]:
    """A torus around the z axis."""

    def fn(u, v):
        r = major + minor * np.cos(v)
        return np.stack([r * np.cos(u), r * np.sin(u), minor * np.sin(v)], axis=-1)

    verts, faces = parametric_mesh(fn, 2 * n, n + 1, (0, 2 * np.pi), (0, 2 * np.pi), wrap_u=True)
    return verts, faces


def box_mesh(half=(1.0, 1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """An axis-aligned box ``[-hx, hx] x [-hy, hy] x [-hz, hz]`` (12 triangles)."""
    h = np.asarray(half, dtype=np.float64)
    corners = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], float) * h
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [(q[0], q[1], q[2]) for q in quads] + [(q[0], q[2], q[3]) for q in quads]
    return corners, np.asarray(faces, dtype=np.int64)


def cylinder_mesh(
    radius: float = 1.0, half_height: float = 1.0, n: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """A closed cylinder along z (side + two caps)."""

    def side(u, v):
        return np.stack([radius * np.cos(u), radius * np.sin(u), v], axis=-1)

    sv, sf = parametric_mesh(side, n, 2, (0, 2 * np.pi), (-half_height, half_height), wrap_u=True)
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([radius * np.cos(ang), radius * np.sin(ang), np.zeros(n)], axis=1)
    verts, faces = [sv], [sf]
    base = len(sv)
    for z in (-half_height, half_height):
        cap = np.vstack([[0.0, 0.0, z], ring + [0.0, 0.0, z]])
        idx = np.arange(n)
        tri = np.stack([np.zeros(n, int), 1 + idx, 1 + (idx + 1) % n], axis=1) + base
        verts.append(cap)
        faces.append(tri)
        base += len(cap)
    return np.vstack(verts), np.vstack(faces).astype(np.int64)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation matrix uniform on SO(3) (from a random unit quaternion).  ``[3, 3]``."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def random_primitive(rng: np.random.Generator, kind: str | None = None):
    """One primitive of random kind and proportions, in a unit-ish frame (before placement).

    Returns ``(kind, vertices [V, 3], faces [F, 3])``.
    """
    kind = kind or PRIMITIVES[int(rng.integers(len(PRIMITIVES)))]
    if kind == "sphere":
        v, f = sphere_mesh(1.0)
    elif kind == "torus":
        v, f = torus_mesh(1.0, float(rng.uniform(0.15, 0.5)))
    elif kind == "box":
        v, f = box_mesh(rng.uniform(0.3, 1.0, size=3))
    elif kind == "cylinder":
        v, f = cylinder_mesh(float(rng.uniform(0.3, 1.0)), float(rng.uniform(0.3, 1.0)))
    elif kind == "superquadric":
        v, f = superquadric_mesh(
            rng.uniform(0.4, 1.0, size=3),
            float(rng.uniform(0.2, 2.0)),
            float(rng.uniform(0.2, 2.0)),
        )
    else:
        raise ValueError(f"unknown primitive {kind!r}; known: {PRIMITIVES}")
    return kind, v, f


def random_shape_mesh(
    rng: np.random.Generator, max_parts: int = 4
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """1 primitive (probability 1/2) or a union of 2..``max_parts``, each randomly rotated, scaled
    and offset. Returns ``(vertices [V, 3], faces [F, 3], kinds)``."""
    n_parts = 1 if rng.random() < 0.5 else int(rng.integers(2, max_parts + 1))
    verts, faces, kinds, base = [], [], [], 0
    for _ in range(n_parts):
        kind, v, f = random_primitive(rng)
        v = (v * rng.uniform(0.4, 1.0)) @ random_rotation(rng).T
        if n_parts > 1:
            v = v + rng.uniform(-0.8, 0.8, size=3)
        verts.append(v)
        faces.append(f + base)
        kinds.append(kind)
        base += len(v)
    return np.vstack(verts), np.vstack(faces), kinds


def random_shape(
    rng: np.random.Generator,
    bits: int = 6,
    *,
    samples_per_area: float = 10.0,
    fill: tuple[float, float] = (0.5, 0.95),
) -> np.ndarray:
    """A random shape voxelised into the ``2^bits`` cube.

    The shape's longest side spans a random fraction ``fill`` of the grid, at a random position
    inside it; its surface is sampled at ``samples_per_area`` per voxel^2 (10 leaves no holes at
    voxel scale), rounded and deduplicated. Returns ``[M, 3]`` int32 in ``[0, 2^bits)``.
    """
    verts, faces, _ = random_shape_mesh(rng)
    top = (1 << bits) - 1
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    size = float(rng.uniform(*fill)) * top
    scale = size / float((hi - lo).max())
    extent = (hi - lo) * scale
    origin = rng.uniform(0, np.maximum(top - extent, 0))
    placed = (verts - lo) * scale + origin
    area = float(triangle_areas(placed, faces).sum())
    n = max(64, int(round(samples_per_area * area)))
    seed = int(rng.integers(2**63 - 1))
    samples = sample_mesh_surface(placed, faces, n, seed=seed)
    q = np.clip(np.floor(samples + 0.5), 0, top).astype(np.int64)
    return unique_coords(q)


def shape_at(seed: int, index: int, bits: int = 6, **kwargs) -> np.ndarray:
    """Shape number ``index`` of the stream with ``seed``: a pure function of its arguments."""
    return random_shape(np.random.default_rng([int(seed), int(index)]), bits, **kwargs)


class ShapeStream:
    """An unlimited deterministic stream of procedural voxel shapes.

    ``ShapeStream(seed, bits)[i]`` is :func:`shape_at` ``(seed, i, bits)``; iterating yields
    shapes ``start, start + step, ...`` forever (``step`` lets data-loader workers split it).
    """

    def __init__(self, seed: int = 0, bits: int = 6, *, start: int = 0, step: int = 1, **kwargs):
        self.seed, self.bits, self.start, self.step = int(seed), int(bits), int(start), int(step)
        self.kwargs = kwargs

    def __getitem__(self, index: int) -> np.ndarray:
        return shape_at(self.seed, index, self.bits, **self.kwargs)  # [M, 3] int32

    def __iter__(self) -> Iterator[np.ndarray]:
        i = self.start
        while True:
            yield self[i]
            i += self.step
