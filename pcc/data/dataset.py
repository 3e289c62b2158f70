"""The still life written as a NeRF-synthetic dataset: cameras, RGBA views, sparse points.

``transforms_{train,test}.json`` + PNGs, a ``points3d.ply`` of surface points seen by the
training views (what an SfM run would give) and ``pcc_dataset.json`` with the settings.
Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from pcc.data.raytrace import camera_rays, render_view, trace_rays
from pcc.data.still_life import StillLife
from pcc.io.atomic import write_text_atomic
from pcc.io.cameras import Camera, make_camera
from pcc.io.ply import write_ply
from pcc.progress import progress_bar

__all__ = [
    "GENERATOR_VERSION",
    "dataset_cameras",
    "sample_surface_points",
    "write_points3d_ply",
    "make_dataset",
]

GENERATOR_VERSION = 1


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
    xyz = np.asarray(xyz, dtype=np.float32)  # [N, 3]
    rgb = np.asarray(rgb, dtype=np.uint8)  # [N, 3]
    normals = np.zeros_like(xyz)  # [N, 3]; INRIA's file carries zero normals
    columns = {c: xyz[:, i] for i, c in enumerate("xyz")}
    columns |= {c: normals[:, i] for i, c in enumerate(("nx", "ny", "nz"))}
    columns |= {c: rgb[:, i] for i, c in enumerate(("red", "green", "blue"))}
    write_ply(path, {"vertex": columns})


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
