"""Signed distance functions of the still life's primitives, and primitives grouped for culling.

Sphere tracing (Hart, The Visual Computer 1996) needs a distance bound at every point; these are
the exact or bounding SDFs of Inigo Quilez's catalogue for spheres, ellipsoids (bound), capsules,
tori, capped cylinders and rounded boxes, each in its own local frame.
Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Primitive", "Group", "normalize", "rot_x", "rot_y", "rot_z"]


def normalize(v: np.ndarray) -> np.ndarray:
    """Row norms of ``v [M, k]`` -> ``[M]``."""
    return np.sqrt(np.einsum("ij,ij->i", v, v))


def sd_sphere(q: np.ndarray, r: float) -> np.ndarray:
    return normalize(q) - r


def sd_ellipsoid(q: np.ndarray, radii: tuple[float, float, float]) -> np.ndarray:
    """A distance bound to an axis-aligned ellipsoid (exact on the surface, close near it)."""
    r = np.asarray(radii, dtype=q.dtype)
    k0 = normalize(q / r)
    k1 = np.maximum(normalize(q / (r * r)), 1e-12)
    return k0 * (k0 - 1.0) / k1


def sd_capsule(q: np.ndarray, a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Distance to the segment ``a-b`` minus ``r``."""
    ba = b - a
    pa = q - a
    h = np.clip(pa @ ba / float(ba @ ba), 0.0, 1.0)
    return normalize(pa - h[:, None] * ba) - r


def sd_torus(q: np.ndarray, major: float, minor: float) -> np.ndarray:
    """A ring around the local z axis."""
    radial = np.sqrt(q[:, 0] ** 2 + q[:, 1] ** 2) - major
    return np.sqrt(radial**2 + q[:, 2] ** 2) - minor


def sd_cylinder(q: np.ndarray, radius: float, half_height: float) -> np.ndarray:
    """A capped cylinder around the local z axis, centred at the origin (exact)."""
    dx = np.sqrt(q[:, 0] ** 2 + q[:, 1] ** 2) - radius
    dz = np.abs(q[:, 2]) - half_height
    outside = np.sqrt(np.maximum(dx, 0.0) ** 2 + np.maximum(dz, 0.0) ** 2)
    return outside + np.minimum(np.maximum(dx, dz), 0.0)


def sd_round_box(q: np.ndarray, half: tuple[float, float, float], rounding: float) -> np.ndarray:
    d = np.abs(q) - (np.asarray(half, dtype=q.dtype) - rounding)
    outside = normalize(np.maximum(d, 0.0))
    return outside + np.minimum(d.max(axis=1), 0.0) - rounding


def rot_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rot_y(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_x(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


@dataclass
class Primitive:
    """One SDF shape in its own frame: ``local = R^T (p - centre)`` with ``R`` local-to-world."""

    kind: str  # sphere | ellipsoid | capsule | torus | cylinder | round_box
    material: str
    centre: np.ndarray  # [3]
    params: tuple
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))  # [3, 3] local-to-world

    def sdf(self, p: np.ndarray) -> np.ndarray:
        """Signed distance (or a lower bound of it) at world points ``p [M, 3]`` -> ``[M]``."""
        q = (p - self.centre.astype(p.dtype)) @ self.rotation.astype(p.dtype)
        if self.kind == "sphere":
            return sd_sphere(q, *self.params)
        if self.kind == "ellipsoid":
            return sd_ellipsoid(q, self.params[0])
        if self.kind == "capsule":
            a, b, r = self.params
            return sd_capsule(q, np.asarray(a, q.dtype), np.asarray(b, q.dtype), r)
        if self.kind == "torus":
            return sd_torus(q, *self.params)
        if self.kind == "cylinder":
            return sd_cylinder(q, *self.params)
        if self.kind == "round_box":
            return sd_round_box(q, *self.params)
        raise ValueError(f"unknown primitive kind {self.kind!r}")


@dataclass
class Group:
    """Primitives inside one bounding sphere; outside it the sphere distance is a valid bound."""

    centre: np.ndarray  # [3]
    radius: float
    members: list[Primitive]
