"""A synthetic spinning-LiDAR sweep: rays from a sensor ring hitting a procedural street scene.

Real sweeps (KITTI, nuScenes in ``../shared/data``) cannot ship with pcc; this stand-in has the
structure that makes LiDAR hard to compress: points lie on a few rings whose spacing grows with
distance, most of space is empty, and the density falls with range. The scene: a ground plane
``z = -sensor_height``, two building facades along the street, parked cars (boxes) and poles
(vertical cylinders), placed from ``seed``. The sensor has ``n_beams`` lasers at elevations
evenly spread over ``elevation_deg`` (an HDL-64-like -24.9..+2 degrees by default) and fires
``n_azimuth`` times per turn; each ray keeps its first hit within ``max_range`` metres, with
Gaussian range noise. Taught in ``notebooks/10_point_clouds_and_octrees.ipynb`` (the fallback when
the real sweeps are absent).
"""

from __future__ import annotations

import numpy as np

__all__ = ["synthetic_lidar_sweep"]


def _ray_boxes(d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """First-hit distance of rays from the origin along unit ``d [R, 3]`` with boxes ``[B, 3]``
    (slab method); ``inf`` where a ray misses. Returns ``[R]``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d[:, None, :]  # [R, 1, 3]
        t1 = lo[None] * inv  # [R, B, 3]
        t2 = hi[None] * inv
    t_near = np.nanmax(np.minimum(t1, t2), axis=2)
    t_far = np.nanmin(np.maximum(t1, t2), axis=2)
    hit = (t_near <= t_far) & (t_far > 0) & (t_near > 0)
    return np.where(hit, t_near, np.inf).min(axis=1)


def _ray_poles(d: np.ndarray, centres: np.ndarray, radius: float, z_range) -> np.ndarray:
    """First-hit distance with vertical cylinders (axis through ``centres [P, 2]``); ``[R]``."""
    dx, dy = d[:, None, 0], d[:, None, 1]
    cx, cy = centres[None, :, 0], centres[None, :, 1]
    a = dx**2 + dy**2
    b = -2 * (dx * cx + dy * cy)
    c = cx**2 + cy**2 - radius**2
    disc = b**2 - 4 * a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (-b - np.sqrt(disc)) / (2 * a)
    z = t * d[:, None, 2]
    ok = (disc >= 0) & (t > 0) & (z >= z_range[0]) & (z <= z_range[1])
    return np.where(ok, t, np.inf).min(axis=1)


def synthetic_lidar_sweep(
    seed: int = 0,
    *,
    n_beams: int = 64,
    n_azimuth: int = 1024,
    elevation_deg: tuple[float, float] = (-24.9, 2.0),
    sensor_height: float = 1.73,
    max_range: float = 80.0,
    range_noise: float = 0.02,
    n_cars: int = 14,
    n_poles: int = 10,
    drop_fraction: float = 0.0,
    return_beams: bool = False,
):
    """One 360-degree sweep of a procedural street, in metres (sensor at the origin, z up).

    Returns ``[N, 3]`` float64, ``N <= n_beams * n_azimuth`` (rays that hit nothing within
    ``max_range`` return no point), in firing order: beam by beam (lowest elevation first), each
    beam in increasing azimuth from 0. ``drop_fraction`` removes that share of the returns at
    random (lost echoes). With ``return_beams`` also returns the beam index ``[N]`` of each
    point (for checking ring estimates, :mod:`pcc.pointcloud.lidar_calib`). Deterministic for a
    given ``seed``.
    """
    rng = np.random.default_rng(seed)
    elev = np.deg2rad(np.linspace(elevation_deg[0], elevation_deg[1], n_beams))
    azim = np.linspace(0.0, 2 * np.pi, n_azimuth, endpoint=False)
    el, az = np.meshgrid(elev, azim, indexing="ij")
    d = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1).reshape(-1, 3)

    ground = -sensor_height
    # ground plane
    with np.errstate(divide="ignore"):
        t_ground = np.where(d[:, 2] < 0, ground / d[:, 2], np.inf)
    # facades: long boxes on both sides of the street (the street runs along x)
    half_street = rng.uniform(9.0, 14.0)
    lo = [[-60.0, half_street, ground], [-60.0, -half_street - 4.0, ground]]
    hi = [[60.0, half_street + 4.0, ground + 12.0], [60.0, -half_street, ground + 10.0]]
    # parked cars along both kerbs
    for _ in range(n_cars):
        side = rng.choice([-1.0, 1.0])
        x = rng.uniform(-45.0, 45.0)
        if abs(x) < 4.0:
            x += 8.0 * np.sign(x or 1.0)
        y = side * (half_street - rng.uniform(1.5, 3.0))
        length, width, height = rng.uniform(3.8, 4.8), rng.uniform(1.6, 1.9), rng.uniform(1.4, 1.7)
        lo.append([x - length / 2, y - width / 2, ground])
        hi.append([x + length / 2, y + width / 2, ground + height])
    t_boxes = _ray_boxes(d, np.asarray(lo), np.asarray(hi))
    # poles on the pavements
    px = rng.uniform(-50.0, 50.0, n_poles)
    py = rng.choice([-1.0, 1.0], n_poles) * (half_street - 0.5)
    t_poles = _ray_poles(d, np.stack([px, py], 1), 0.15, (ground, ground + 6.0))

    t = np.minimum(np.minimum(t_ground, t_boxes), t_poles)
    keep = t < max_range
    t = t[keep] + rng.normal(0.0, range_noise, int(keep.sum()))
    points = d[keep] * t[:, None]
    beams = np.repeat(np.arange(n_beams), n_azimuth)[keep]
    if drop_fraction > 0:
        kept = rng.random(len(points)) >= drop_fraction
        points, beams = points[kept], beams[kept]
    return (points, beams) if return_beams else points
