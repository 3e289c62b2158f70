"""Sphere tracing of the still life: camera rays, anti-aliased pixels, RGBA views.

Pixel ``(i, j)`` covers the image area ``[j, j+1] x [i, i+1]``; each pixel averages ``s x s``
sub-pixel rays and its alpha is the covered fraction, as in Blender's NeRF-synthetic renders.
Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import numpy as np

from pcc.data.still_life import StillLife
from pcc.io.cameras import Camera

__all__ = ["camera_rays", "trace_rays", "render_view", "trace_pixels"]


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
