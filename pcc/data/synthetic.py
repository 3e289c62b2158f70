"""An analytic still-life scene, ray-traced on the CPU into a NeRF-synthetic dataset.

The scene is a potted flower on a round checkered table with an apple, a glossy ring, a small
crate and a marble. It has structure at several scales: a checkerboard and fine stripes on the
table, curved surfaces (apple, ring, pot, marble), thin parts (stem, leaves, petals), saturated
colours (red apple, magenta petals, yellow centre, blue band) next to subtle ones (cream table,
lavender crate), soft shadows and view-dependent Blinn-Phong highlights, so a 3DGS model needs
its SH bands to reproduce it.

Every object is a signed distance function (SDF); pixels are traced by sphere tracing (Hart,
"Sphere tracing: a geometric method for the antialiased ray tracing of implicit surfaces", The
Visual Computer 1996), vectorised over all rays with numpy. Each pixel averages ``s x s``
sub-pixel rays (anti-aliasing); the alpha channel is the covered fraction, as in Blender's
NeRF-synthetic renders (Mildenhall et al., "NeRF", ECCV 2020). The dataset is written in that
layout (``transforms_{train,test}.json`` + RGBA PNGs) plus a ``points3d.ply`` of sparse surface
points seen by the training views, the way an SfM run would give them. Everything is
deterministic for a seed.

Cameras are :class:`pcc.io.cameras.Camera` (OpenCV frame); pixel ``(i, j)`` covers the continuous
image area ``[j, j+1] x [i, i+1]``, its centre at ``(j + 0.5, i + 0.5)``, as in Blender.

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pcc.io.atomic import write_bytes_atomic, write_text_atomic
from pcc.io.cameras import Camera, make_camera
from pcc.progress import progress_bar

__all__ = [
    "StillLife",
    "dataset_cameras",
    "make_dataset",
    "render_view",
    "trace_pixels",
    "trace_rays",
    "camera_rays",
]

GENERATOR_VERSION = 1


# --------------------------------------------------------------------------- SDF primitives
def _norm(v: np.ndarray) -> np.ndarray:
    """Row norms of ``v [M, k]`` -> ``[M]``."""
    return np.sqrt(np.einsum("ij,ij->i", v, v))


def _sd_sphere(q: np.ndarray, r: float) -> np.ndarray:
    return _norm(q) - r


def _sd_ellipsoid(q: np.ndarray, radii: tuple[float, float, float]) -> np.ndarray:
    """A distance bound to an axis-aligned ellipsoid (exact on the surface, close near it)."""
    r = np.asarray(radii, dtype=q.dtype)
    k0 = _norm(q / r)
    k1 = np.maximum(_norm(q / (r * r)), 1e-12)
    return k0 * (k0 - 1.0) / k1


def _sd_capsule(q: np.ndarray, a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Distance to the segment ``a-b`` minus ``r``."""
    ba = b - a
    pa = q - a
    h = np.clip(pa @ ba / float(ba @ ba), 0.0, 1.0)
    return _norm(pa - h[:, None] * ba) - r


def _sd_torus(q: np.ndarray, major: float, minor: float) -> np.ndarray:
    """A ring around the local z axis."""
    radial = np.sqrt(q[:, 0] ** 2 + q[:, 1] ** 2) - major
    return np.sqrt(radial**2 + q[:, 2] ** 2) - minor


def _sd_cylinder(q: np.ndarray, radius: float, half_height: float) -> np.ndarray:
    """A capped cylinder around the local z axis, centred at the origin (exact)."""
    dx = np.sqrt(q[:, 0] ** 2 + q[:, 1] ** 2) - radius
    dz = np.abs(q[:, 2]) - half_height
    outside = np.sqrt(np.maximum(dx, 0.0) ** 2 + np.maximum(dz, 0.0) ** 2)
    return outside + np.minimum(np.maximum(dx, dz), 0.0)


def _sd_round_box(q: np.ndarray, half: tuple[float, float, float], rounding: float) -> np.ndarray:
    d = np.abs(q) - (np.asarray(half, dtype=q.dtype) - rounding)
    outside = _norm(np.maximum(d, 0.0))
    return outside + np.minimum(d.max(axis=1), 0.0) - rounding


def _rot_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rot_y(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rot_x(angle: float) -> np.ndarray:
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
            return _sd_sphere(q, *self.params)
        if self.kind == "ellipsoid":
            return _sd_ellipsoid(q, self.params[0])
        if self.kind == "capsule":
            a, b, r = self.params
            return _sd_capsule(q, np.asarray(a, q.dtype), np.asarray(b, q.dtype), r)
        if self.kind == "torus":
            return _sd_torus(q, *self.params)
        if self.kind == "cylinder":
            return _sd_cylinder(q, *self.params)
        if self.kind == "round_box":
            return _sd_round_box(q, *self.params)
        raise ValueError(f"unknown primitive kind {self.kind!r}")


@dataclass
class _Group:
    """Primitives inside one bounding sphere; outside it the sphere distance is a valid bound."""

    centre: np.ndarray  # [3]
    radius: float
    members: list[Primitive]


# --------------------------------------------------------------------------- the scene
MATERIALS = (
    # name, Blinn-Phong specular strength, shininess
    ("table", 0.04, 12.0),
    ("pot", 0.08, 16.0),
    ("rim", 0.10, 20.0),
    ("soil", 0.0, 1.0),
    ("stem", 0.05, 10.0),
    ("leaf", 0.15, 24.0),
    ("petal", 0.05, 10.0),
    ("centre", 0.10, 20.0),
    ("apple", 0.55, 60.0),
    ("stalk", 0.0, 1.0),
    ("ring", 0.80, 30.0),
    ("crate", 0.10, 16.0),
    ("marble", 0.70, 90.0),
)
_MATERIAL_INDEX = {name: i for i, (name, _, _) in enumerate(MATERIALS)}


class StillLife:
    """The analytic still-life scene (z up, table top at ``z = 0``, everything within radius 1.6).

    ``sdf(points)`` is the scene's signed distance bound, ``material(points)`` the index (into
    :data:`MATERIALS`) of the nearest primitive, ``albedo(points, material)`` the textured colour.
    The key light comes from ``light_dir``; shading is Lambert + hemisphere ambient + Blinn-Phong.
    """

    bound_centre = np.array([0.0, 0.0, 0.3])
    bound_radius = 1.6
    light_dir = np.array([0.45, -0.35, 0.82]) / np.linalg.norm([0.45, -0.35, 0.82])
    flower_centre = np.array([-0.16, 0.12, 0.92])
    pot_centre = np.array([-0.2, 0.15, 0.0])
    apple_centre = np.array([0.42, -0.30, 0.18])
    apple_radius = 0.18

    def __init__(self) -> None:
        self.groups = self._build()

    # ------------------------------------------------------------------ geometry
    def _build(self) -> list[_Group]:
        P = Primitive
        pot = self.pot_centre
        fc = self.flower_centre
        table = _Group(
            np.array([0.0, 0.0, -0.025]),
            1.26,
            [P("cylinder", "table", np.array([0.0, 0.0, -0.025]), (1.25, 0.025))],
        )
        pot_group = _Group(
            pot + [0, 0, 0.17],
            0.32,
            [
                P("cylinder", "pot", pot + [0, 0, 0.16], (0.2, 0.16)),
                P("torus", "rim", pot + [0, 0, 0.32], (0.2, 0.025)),
            ],
        )
        stem_base = pot + [0.0, 0.0, 0.30]
        stem_mid = np.array([-0.22, 0.10, 0.62])
        leaves = []
        for h, az, tilt in ((0.45, 0.6, -0.5), (0.55, 3.6, -0.45)):  # height, azimuth, droop
            base = stem_base + (stem_mid - stem_base) * ((h - 0.30) / 0.32)
            R = _rot_z(az) @ _rot_y(tilt)
            leaves.append(
                P("ellipsoid", "leaf", base + 0.13 * (R @ [1.0, 0, 0]), ((0.14, 0.045, 0.01),), R)
            )
        stem_group = _Group(
            np.array([-0.2, 0.12, 0.6]),
            0.42,
            [
                P("capsule", "stem", np.zeros(3), (stem_base, stem_mid, 0.016)),
                P("capsule", "stem", np.zeros(3), (stem_mid, fc - [0, 0, 0.03], 0.014)),
                *leaves,
            ],
        )
        head_tilt = _rot_x(0.25) @ _rot_y(-0.2)  # the flower looks slightly sideways
        petals = []
        n_petals = 9
        for k in range(n_petals):
            az = 2.0 * math.pi * k / n_petals
            R = head_tilt @ _rot_z(az) @ _rot_y(-0.28)
            petals.append(
                P("ellipsoid", "petal", fc + R @ [0.12, 0.0, 0.0], ((0.13, 0.05, 0.012),), R)
            )
        head_group = _Group(
            fc.copy(),
            0.29,
            [P("ellipsoid", "centre", fc.copy(), ((0.065, 0.065, 0.04),), head_tilt), *petals],
        )
        ac = self.apple_centre
        apple_group = _Group(
            ac + [0, 0, 0.04],
            0.25,
            [
                P("sphere", "apple", ac.copy(), (self.apple_radius,)),
                P(
                    "capsule",
                    "stalk",
                    np.zeros(3),
                    (ac + [0, 0, 0.15], ac + [0.02, 0.03, 0.24], 0.008),
                ),
            ],
        )
        ring_c = np.array([0.45, 0.45, 0.05])
        crate_c = np.array([-0.58, -0.42, 0.12])
        marble_c = np.array([0.02, -0.68, 0.06])
        small_group = _Group(
            np.zeros(3),
            1.1,
            [
                P("torus", "ring", ring_c, (0.15, 0.05)),
                P("round_box", "crate", crate_c, ((0.12, 0.12, 0.12), 0.02), _rot_z(0.5)),
                P("sphere", "marble", marble_c, (0.06,)),
            ],
        )
        return [table, pot_group, stem_group, head_group, apple_group, small_group]

    @property
    def primitives(self) -> list[Primitive]:
        return [p for g in self.groups for p in g.members]

    def _distances(self, p: np.ndarray, exact: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per-point minimum distance and the index of the primitive that gives it."""
        best = np.full(p.shape[0], np.inf, dtype=p.dtype)
        which = np.full(p.shape[0], -1, dtype=np.int64)
        index = 0
        for group in self.groups:
            bound = _norm(p - group.centre.astype(p.dtype)) - group.radius
            near = np.flatnonzero(bound < 0.05) if not exact else np.arange(p.shape[0])
            if not exact:
                far = bound >= 0.05
                upd = far & (bound < best)
                best[upd] = bound[upd]
                which[upd] = -1
            for prim in group.members:
                if near.size:
                    d = prim.sdf(p[near])
                    upd = d < best[near]
                    best[near[upd]] = d[upd]
                    which[near[upd]] = index
                index += 1
        return best, which

    def sdf(self, p: np.ndarray) -> np.ndarray:
        """Scene distance bound at ``p [M, 3]`` -> ``[M]`` (groups far away use their bounds)."""
        return self._distances(p, exact=False)[0]

    def material(self, p: np.ndarray) -> np.ndarray:
        """Material index (into :data:`MATERIALS`) of the nearest primitive at ``p [M, 3]``."""
        which = self._distances(p, exact=True)[1]
        table = np.array([_MATERIAL_INDEX[prim.material] for prim in self.primitives])
        mat = table[which]
        # the pot's top cap is soil, not terracotta
        rel = p - self.pot_centre
        soil = (
            (mat == _MATERIAL_INDEX["pot"])
            & (rel[:, 2] > 0.315)
            & (np.hypot(rel[:, 0], rel[:, 1]) < 0.19)
        )
        mat[soil] = _MATERIAL_INDEX["soil"]
        return mat

    def normal(self, p: np.ndarray) -> np.ndarray:
        """Unit surface normals at ``p [M, 3]`` from a tetrahedral SDF gradient -> ``[M, 3]``."""
        h = 5e-4
        ks = np.array([[1, -1, -1], [-1, -1, 1], [-1, 1, -1], [1, 1, 1]], dtype=p.dtype)
        g = sum(k[None, :] * self._distances(p + h * k, exact=True)[0][:, None] for k in ks)
        return g / np.maximum(_norm(g), 1e-12)[:, None]

    # ------------------------------------------------------------------ textures
    def albedo(self, p: np.ndarray, mat: np.ndarray) -> np.ndarray:
        """Diffuse colour in [0, 1] at ``p [M, 3]`` with materials ``mat [M]`` -> ``[M, 3]``."""
        out = np.zeros_like(p)
        x, y, z = p[:, 0], p[:, 1], p[:, 2]

        def put(name: str, colour) -> None:
            sel = mat == _MATERIAL_INDEX[name]
            if np.any(sel):
                out[sel] = colour(sel) if callable(colour) else colour

        def table(sel):
            cx, cy = x[sel], y[sel]
            checker = (np.floor(cx / 0.25) + np.floor(cy / 0.25)) % 2
            light, dark = np.array([0.86, 0.80, 0.68]), np.array([0.66, 0.56, 0.45])
            c = np.where(checker[:, None] > 0, dark, light)
            grain = 1.0 + 0.04 * np.sin(2.0 * math.pi * (cx + 0.2 * np.sin(2.0 * cy)) / 0.125)
            c = c * grain[:, None]
            r = np.hypot(cx, cy)
            band = (r > 1.12) & (r < 1.18)
            c[band] = [0.55, 0.12, 0.10]
            return c

        def pot(sel):
            c = np.tile([0.74, 0.36, 0.20], (int(sel.sum()), 1))
            rel_z = z[sel] - self.pot_centre[2]
            band = (rel_z > 0.17) & (rel_z < 0.23)
            c[band] = [0.12, 0.25, 0.68]
            thin = (rel_z > 0.25) & (rel_z < 0.265)
            c[thin] = [0.95, 0.85, 0.30]
            return c

        def leaf(sel):
            t = np.clip((z[sel] - 0.42) / 0.25, 0.0, 1.0)[:, None]
            return (1 - t) * np.array([0.16, 0.42, 0.10]) + t * np.array([0.45, 0.72, 0.22])

        def petal(sel):
            d = _norm(p[sel] - self.flower_centre)
            t = np.clip((d - 0.06) / 0.18, 0.0, 1.0)[:, None]
            return (1 - t) * np.array([0.85, 0.10, 0.50]) + t * np.array([0.98, 0.75, 0.88])

        def apple(sel):
            rel = p[sel] - self.apple_centre
            az = np.arctan2(rel[:, 1], rel[:, 0])
            streak = 0.5 + 0.5 * np.sin(7.0 * az + 8.0 * rel[:, 2])
            w = (0.35 * streak * np.clip(0.8 - rel[:, 2] / self.apple_radius, 0, 1))[:, None]
            return (1 - w) * np.array([0.80, 0.05, 0.04]) + w * np.array([0.85, 0.62, 0.10])

        def crate(sel):
            rel_z = z[sel]
            stripe = (np.floor(rel_z / 0.06) % 2)[:, None]
            return np.where(stripe > 0, [0.62, 0.57, 0.80], [0.52, 0.47, 0.72])

        put("table", table)
        put("pot", pot)
        put("rim", [0.80, 0.45, 0.28])
        put("soil", [0.26, 0.17, 0.10])
        put("stem", [0.20, 0.50, 0.14])
        put("leaf", leaf)
        put("petal", petal)
        put("centre", [0.98, 0.78, 0.06])
        put("apple", apple)
        put("stalk", [0.35, 0.22, 0.08])
        put("ring", [0.05, 0.45, 0.55])
        put("crate", crate)
        put("marble", [0.90, 0.90, 0.84])
        return out

    # ------------------------------------------------------------------ lighting
    def soft_shadow(self, p: np.ndarray, steps: int = 40, k: float = 10.0) -> np.ndarray:
        """Visibility of the key light from ``p [M, 3]`` in [0, 1] (penumbra by closest miss)."""
        L = self.light_dir.astype(p.dtype)
        res = np.ones(p.shape[0], dtype=p.dtype)
        t = np.full(p.shape[0], 0.01, dtype=p.dtype)
        active = np.arange(p.shape[0])
        for _ in range(steps):
            if active.size == 0:
                break
            h = self.sdf(p[active] + t[active, None] * L)
            res[active] = np.minimum(res[active], k * h / t[active])
            t[active] += np.clip(h, 0.01, 0.25)
            keep = (h > 1e-4) & (t[active] < 2.5)
            active = active[keep]
        res = np.clip(res, 0.0, 1.0)
        return res * res * (3.0 - 2.0 * res)

    def shade(self, p: np.ndarray, view_dir: np.ndarray) -> np.ndarray:
        """Colour of surface points ``p [M, 3]`` seen along unit rays ``view_dir [M, 3]`` -> ``[M, 3]``."""
        mat = self.material(p)
        n = self.normal(p)
        # a ray grazing a thin shape can report a back-facing gradient: face the viewer
        flip = np.einsum("ij,ij->i", n, view_dir) > 0
        n[flip] = -n[flip]
        albedo = self.albedo(p, mat)
        L = self.light_dir.astype(p.dtype)
        ndl = np.clip(n @ L, 0.0, 1.0)
        vis = self.soft_shadow(p + 2e-3 * n)
        ambient = 0.32 + 0.12 * n[:, 2]
        colour = albedo * (ambient + 0.78 * ndl * vis)[:, None]
        half = L[None, :] - view_dir
        half /= np.maximum(_norm(half), 1e-12)[:, None]
        ks = np.array([m[1] for m in MATERIALS], dtype=p.dtype)[mat]
        shin = np.array([m[2] for m in MATERIALS], dtype=p.dtype)[mat]
        spec = ks * np.clip(np.einsum("ij,ij->i", n, half), 0.0, 1.0) ** shin * vis * (ndl > 0)
        return np.clip(colour + spec[:, None], 0.0, 1.0)


# --------------------------------------------------------------------------- ray tracing
def camera_rays(camera: Camera, supersample: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """World-space rays through ``supersample x supersample`` sub-pixel centres of every pixel.

    Returns ``(origin [3], dirs [H*s, W*s, 3])``; sub-pixel ``(a, b)`` of pixel ``(i, j)`` is row
    ``i*s + a``, column ``j*s + b`` and passes through image point ``(j + (b+0.5)/s, i + (a+0.5)/s)``.
    """
    s = int(supersample)
    u = (np.arange(camera.width * s) + 0.5) / s
    v = (np.arange(camera.height * s) + 0.5) / s
    uu, vv = np.meshgrid(u, v)
    d_cam = np.stack(
        [(uu - camera.cx) / camera.fx, (vv - camera.cy) / camera.fy, np.ones_like(uu)], axis=-1
    )
    d_world = d_cam @ camera.R  # R^T d for each row vector
    d_world /= np.linalg.norm(d_world, axis=-1, keepdims=True)
    return camera.center, d_world


def trace_rays(
    scene: StillLife,
    origin: np.ndarray,
    dirs: np.ndarray,
    max_steps: int = 200,
    eps: float = 3e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """Sphere-trace rays ``origin [3]`` + t ``dirs [M, 3]`` (unit) against the scene.

    Returns ``(t [M], hit [M] bool)``; ``t`` is the ray parameter of the first surface point.
    """
    dirs = dirs.astype(np.float32)
    o = (origin - scene.bound_centre).astype(np.float32)
    b = dirs @ o
    c = float(o @ o) - scene.bound_radius**2
    disc = b * b - c
    t_far = -b + np.sqrt(np.maximum(disc, 0.0))
    t = np.maximum(-b - np.sqrt(np.maximum(disc, 0.0)), 0.0)
    hit = np.zeros(dirs.shape[0], dtype=bool)
    active = np.flatnonzero(disc > 0)
    origin32 = origin.astype(np.float32)
    last = np.full(dirs.shape[0], np.inf, dtype=np.float32)
    for _ in range(max_steps):
        if active.size == 0:
            break
        p = origin32 + t[active, None] * dirs[active]
        d = scene.sdf(p)
        last[active] = d
        done = d < eps
        hit[active[done]] = True
        t[active] += np.where(done, 0.0, 0.92 * d)
        active = active[~done & (t[active] <= t_far[active])]
    # rays that ran out of steps while creeping along a surface count as hits
    hit[active[last[active] < 10 * eps]] = True
    return t, hit


def render_view(
    scene: StillLife, camera: Camera, supersample: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Ray-trace one view: ``(rgb [H, W, 3], alpha [H, W])`` float32 in [0, 1].

    ``rgb`` is the *unpremultiplied* colour of the covered sub-pixels (NeRF-synthetic PNGs store
    it that way; compose with ``rgb * alpha + bg * (1 - alpha)``).
    """
    s = int(supersample)
    origin, dirs = camera_rays(camera, s)
    flat = dirs.reshape(-1, 3).astype(np.float32)
    t, hit = trace_rays(scene, origin, flat)
    colour = np.zeros_like(flat)
    if hit.any():
        p = origin.astype(np.float32) + t[hit, None] * flat[hit]
        colour[hit] = scene.shade(p, flat[hit])
    H, W = camera.height, camera.width
    cov = hit.astype(np.float32).reshape(H, s, W, s).mean(axis=(1, 3))
    pre = (colour * hit[:, None]).reshape(H, s, W, s, 3).mean(axis=(1, 3))
    rgb = np.where(cov[..., None] > 0, pre / np.maximum(cov[..., None], 1e-12), 0.0)
    return rgb.astype(np.float32), cov.astype(np.float32)


def trace_pixels(scene: StillLife, camera: Camera) -> np.ndarray:
    """The world point seen at each pixel centre, NaN where the ray misses -> ``[H, W, 3]``."""
    origin, dirs = camera_rays(camera, 1)
    flat = dirs.reshape(-1, 3).astype(np.float32)
    t, hit = trace_rays(scene, origin, flat)
    pts = origin[None, :] + t[:, None].astype(np.float64) * flat
    pts[~hit] = np.nan
    return pts.reshape(camera.height, camera.width, 3)


# --------------------------------------------------------------------------- cameras
def dataset_cameras(
    n_train: int = 48,
    n_test: int = 12,
    size: int = 160,
    seed: int = 0,
    radius: float = 3.4,
    fov_deg: float = 42.0,
    elevation_deg: tuple[float, float] = (12.0, 68.0),
) -> tuple[list[Camera], list[Camera]]:
    """Training and test cameras on the upper hemisphere, all looking at the scene's centre.

    Training positions follow a golden-angle spiral in elevation/azimuth with a seeded jitter;
    test positions sit on a separate, interleaved spiral so no test view repeats a training view.
    """
    if n_train < 1 or n_test < 0 or size < 8:
        raise ValueError(
            f"need n_train >= 1, n_test >= 0, size >= 8; got {n_train}, {n_test}, {size}"
        )
    rng = np.random.default_rng(seed)
    target = np.array([0.0, 0.0, 0.28])
    lo, hi = (math.sin(math.radians(e)) for e in elevation_deg)
    golden = math.pi * (3.0 - math.sqrt(5.0))

    def ring(n: int, phase: float, prefix: str, start: int) -> list[Camera]:
        cams = []
        for k in range(n):
            frac = (k + 0.5) / n
            el = math.asin(lo + (hi - lo) * frac) + rng.uniform(-0.03, 0.03)
            az = phase + k * golden + rng.uniform(-0.1, 0.1)
            r = radius * (1.0 + rng.uniform(-0.05, 0.05))
            eye = target + r * np.array(
                [math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)]
            )
            cams.append(
                make_camera(eye, target, size, size, fov_deg, name=f"{prefix}_{start + k:03d}")
            )
        return cams

    train = ring(n_train, 0.0, "r", 0)
    test = ring(n_test, golden / 2.0 + 0.37, "r", 0)
    return train, test


# --------------------------------------------------------------------------- dataset
def sample_surface_points(
    scene: StillLife,
    cameras: list[Camera],
    n_points: int,
    seed: int = 0,
    noise: float = 0.004,
) -> tuple[np.ndarray, np.ndarray]:
    """Sparse coloured surface points as an SfM run would give: pixels of the given views traced
    to the surface, jittered by ``noise``. At most ``ceil(n_points / views)`` per view, from
    ``3x`` as many random pixels, so views showing little surface give fewer and the total can be
    a little below ``n_points``. Returns ``(xyz [m, 3] float32, rgb [m, 3] uint8)``, ``m <= n_points``."""
    rng = np.random.default_rng(seed + 7919)
    per_view = -(-n_points // max(len(cameras), 1))
    pts, cols = [], []
    for cam in cameras:
        origin, dirs = camera_rays(cam, 1)
        flat = dirs.reshape(-1, 3).astype(np.float32)
        pick = rng.choice(flat.shape[0], size=min(flat.shape[0], 3 * per_view), replace=False)
        t, hit = trace_rays(scene, origin, flat[pick])
        sel = np.flatnonzero(hit)[:per_view]
        p = origin.astype(np.float32) + t[sel, None] * flat[pick][sel]
        pts.append(p)
        cols.append(scene.shade(p, flat[pick][sel]))
    xyz = np.concatenate(pts)[:n_points]
    rgb = np.concatenate(cols)[:n_points]
    xyz = xyz + rng.normal(0.0, noise, size=xyz.shape).astype(np.float32)
    return xyz.astype(np.float32), np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)


def write_points3d_ply(path: str | Path, xyz: np.ndarray, rgb: np.ndarray) -> None:
    """Write ``xyz [N, 3]`` and ``rgb [N, 3]`` uint8 as the binary ``points3d.ply`` INRIA reads
    next to NeRF-synthetic transforms (x y z nx ny nz red green blue)."""
    n = xyz.shape[0]
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {n}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property float nx\nproperty float ny\nproperty float nz\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n"
    )
    rec = np.zeros(
        n,
        dtype=[(k, "<f4") for k in ("x", "y", "z", "nx", "ny", "nz")]
        + [(k, "u1") for k in ("red", "green", "blue")],
    )
    rec["x"], rec["y"], rec["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    rec["red"], rec["green"], rec["blue"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    write_bytes_atomic(path, header.encode("ascii") + rec.tobytes())


def make_dataset(
    out_dir: str | Path,
    *,
    n_train: int = 48,
    n_test: int = 12,
    size: int = 160,
    seed: int = 0,
    supersample: int = 2,
    n_points: int = 10_000,
    alpha: bool = True,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    progress: bool = True,
) -> dict:
    """Render the still life into a NeRF-synthetic folder and return a summary dict.

    Writes ``transforms_train.json``, ``transforms_test.json``, ``train/r_XXX.png``,
    ``test/r_XXX.png`` (RGBA, alpha = coverage), ``points3d.ply`` (up to ``n_points`` sparse surface
    points from the training views; 0 to skip) and ``pcc_dataset.json`` (the generator settings).
    With ``alpha=False`` the PNGs are RGB, composited on ``background``. Same arguments -> same
    bytes.
    """
    from pcc.io.nerf import write_nerf_synthetic

    out_dir = Path(out_dir)
    scene = StillLife()
    train, test = dataset_cameras(n_train, n_test, size, seed)
    views = [("train", c) for c in train] + [("test", c) for c in test]
    rendered: dict[str, tuple[list, list]] = {"train": ([], []), "test": ([], [])}
    for split, cam in progress_bar(views, desc="ray-tracing views", progress=progress):
        rgb, coverage = render_view(scene, cam, supersample)
        rendered[split][0].append(rgb)
        rendered[split][1].append(coverage)
    for split, cams in (("train", train), ("test", test)):
        imgs, alphas = rendered[split]
        if not alpha:
            bg = np.asarray(background, dtype=np.float32)
            imgs = [rgb * a[..., None] + bg * (1.0 - a[..., None]) for rgb, a in zip(imgs, alphas)]
            alphas = None
        write_nerf_synthetic(out_dir, split, cams, imgs, alphas)
    if n_points > 0:
        xyz, rgb = sample_surface_points(scene, train, n_points, seed)
        write_points3d_ply(out_dir / "points3d.ply", xyz, rgb)
    summary = {
        "generator": "pcc.data.synthetic.StillLife",
        "version": GENERATOR_VERSION,
        "n_train": n_train,
        "n_test": n_test,
        "size": size,
        "seed": seed,
        "supersample": supersample,
        "n_points": n_points,
        "alpha": alpha,
        "background": None if alpha else [float(b) for b in background],
        "mean_alpha": float(np.mean([a.mean() for a in rendered["train"][1]])),
    }
    write_text_atomic(out_dir / "pcc_dataset.json", json.dumps(summary, indent=2) + "\n")
    return summary
