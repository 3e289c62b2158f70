"""The analytic still-life scene: its primitives, materials, textures and shading.

A potted flower on a round checkered table with an apple, a glossy ring, a small crate and a
marble (see :mod:`pcc.data.synthetic` for why the scene looks like this).
Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import math

import numpy as np

from pcc.data.sdf import Group, Primitive, normalize, rot_x, rot_y, rot_z

__all__ = ["StillLife", "MATERIALS"]

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
    def _build(self) -> list[Group]:
        P = Primitive
        pot = self.pot_centre
        fc = self.flower_centre
        table = Group(
            np.array([0.0, 0.0, -0.025]),
            1.26,
            [P("cylinder", "table", np.array([0.0, 0.0, -0.025]), (1.25, 0.025))],
        )
        pot_group = Group(
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
            R = rot_z(az) @ rot_y(tilt)
            leaves.append(
                P("ellipsoid", "leaf", base + 0.13 * (R @ [1.0, 0, 0]), ((0.14, 0.045, 0.01),), R)
            )
        stem_group = Group(
            np.array([-0.2, 0.12, 0.6]),
            0.42,
            [
                P("capsule", "stem", np.zeros(3), (stem_base, stem_mid, 0.016)),
                P("capsule", "stem", np.zeros(3), (stem_mid, fc - [0, 0, 0.03], 0.014)),
                *leaves,
            ],
        )
        head_tilt = rot_x(0.25) @ rot_y(-0.2)  # the flower looks slightly sideways
        petals = []
        n_petals = 9
        for k in range(n_petals):
            az = 2.0 * math.pi * k / n_petals
            R = head_tilt @ rot_z(az) @ rot_y(-0.28)
            petals.append(
                P("ellipsoid", "petal", fc + R @ [0.12, 0.0, 0.0], ((0.13, 0.05, 0.012),), R)
            )
        head_group = Group(
            fc.copy(),
            0.29,
            [P("ellipsoid", "centre", fc.copy(), ((0.065, 0.065, 0.04),), head_tilt), *petals],
        )
        ac = self.apple_centre
        apple_group = Group(
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
        small_group = Group(
            np.zeros(3),
            1.1,
            [
                P("torus", "ring", ring_c, (0.15, 0.05)),
                P("round_box", "crate", crate_c, ((0.12, 0.12, 0.12), 0.02), rot_z(0.5)),
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
            bound = normalize(p - group.centre.astype(p.dtype)) - group.radius
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
        return g / np.maximum(normalize(g), 1e-12)[:, None]

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
            d = normalize(p[sel] - self.flower_centre)
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
        half /= np.maximum(normalize(half), 1e-12)[:, None]
        ks = np.array([m[1] for m in MATERIALS], dtype=p.dtype)[mat]
        shin = np.array([m[2] for m in MATERIALS], dtype=p.dtype)[mat]
        spec = ks * np.clip(np.einsum("ij,ij->i", n, half), 0.0, 1.0) ** shin * vis * (ndl > 0)
        return np.clip(colour + spec[:, None], 0.0, 1.0)
