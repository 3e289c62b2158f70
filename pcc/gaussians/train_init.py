"""Where 3DGS training starts: the scene extent and the initial Gaussians.

* :func:`scene_extent`: INRIA's ``getNerfppNorm`` radius, the unit of the position learning rate
  and of the densification size rules;
* :func:`initial_model` by ``TrainConfig.init``: the dataset's points (COLMAP ``points3D``, a NeRF
  folder's ``points3d.ply``), random points in the cube ``[-1.3, 1.3]^3`` (INRIA's NeRF-synthetic
  fallback) or random points that the images' alpha masks carve out (:func:`carve_points`);
  isotropic scales from the 3 nearest neighbours, opacity 0.1, SH DC from the point colour;
* for captures without masks, points on a sphere around the scene (:func:`shell_points`), coloured
  from the photos: sparse SfM points cover the object but not the walls, floor and sky behind
  it, and densification alone takes most of a short run to grow Gaussians out there.

Taught in ``notebooks/00_a_3dgs_scene.ipynb`` (through :mod:`pcc.gaussians.train`).
"""

from __future__ import annotations

import numpy as np
import torch

from pcc.gaussians.model import GaussianModel
from pcc.gaussians.train_config import TrainConfig
from pcc.io.cameras import Camera

__all__ = ["scene_extent", "mask_keep", "carve_points", "shell_points", "initial_model"]


def scene_extent(cameras: list[Camera]) -> float:
    """INRIA's ``getNerfppNorm`` radius: 1.1 x the largest camera-centre distance from their mean."""
    centres = np.stack([c.center for c in cameras])  # [V, 3]
    dist = np.linalg.norm(centres - centres.mean(axis=0), axis=1)
    radius = 1.1 * float(dist.max())
    return radius if radius > 0 else 1.0


def _sample_views(
    cameras: list[Camera], xyz: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point of ``xyz [M, 3]``: ``(seen [M] view count, colour sum [M, 3], masked [M] bool)``
    where ``masked`` = some view with an alpha mask sees the point on a pixel with alpha < 0.5."""
    colour = np.zeros((len(xyz), 3))
    seen = np.zeros(len(xyz))
    masked = np.zeros(len(xyz), dtype=bool)
    for cam in cameras:
        uv, z = cam.project(xyz)
        j, i = np.floor(uv[:, 0]).astype(np.int64), np.floor(uv[:, 1]).astype(np.int64)
        inside = (z > 0) & (j >= 0) & (j < cam.width) & (i >= 0) & (i < cam.height)
        if cam.alpha is not None:
            a = np.zeros(len(xyz))
            a[inside] = cam.alpha.numpy()[i[inside], j[inside]]
            masked |= inside & (a < 0.5)
        if cam.image is not None:
            colour[inside] += cam.image.numpy()[i[inside], j[inside]]
            seen += inside
    return seen, colour, masked


def mask_keep(cameras: list[Camera], xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which points ``xyz [M, 3]`` survive carving by the cameras' alpha masks -> ``(keep [M]
    bool, mean colour [M, 3])``: a point is kept when it is seen by at least one view and no view
    sees it on a pixel with alpha < 0.5."""
    masks = [c for c in cameras if c.alpha is not None]
    seen, colour, masked = _sample_views(masks, xyz)
    keep = ~masked & (seen > 0)
    return keep, colour / np.maximum(seen, 1)[:, None]


def carve_points(
    cameras: list[Camera], n: int, cube: float = 1.3, seed: int = 0, max_batches: int = 40
) -> tuple[np.ndarray, np.ndarray]:
    """Random points in ``[-cube, cube]^3`` that every view's alpha mask sees as object.

    Space carving (Kutulakos & Seitz, "A theory of shape by space carving", IJCV 2000) with the
    masks NeRF-synthetic images carry: a candidate is rejected when it projects inside a view
    onto a pixel with alpha < 0.5. Survivors get the mean colour of the pixels they project to.
    INRIA starts such scenes from points in the whole cube; most of those lie in empty space and
    cost a CPU renderer dearly until they are pruned. Returns ``(xyz [M, 3], rgb [M, 3])``,
    ``M <= n`` (fewer if the masks leave little volume).
    """
    rng = np.random.default_rng(seed)
    kept_xyz, kept_rgb, total = [], [], 0
    for _ in range(max_batches):
        cand = rng.uniform(-cube, cube, size=(100_000, 3))
        sel, colour = mask_keep(cameras, cand)
        kept_xyz.append(cand[sel])
        kept_rgb.append(colour[sel])
        total += int(sel.sum())
        if total >= n:
            break
    xyz = np.concatenate(kept_xyz)[:n]
    rgb = np.concatenate(kept_rgb)[:n].astype(np.float32)
    return xyz, rgb


def shell_points(
    cameras: list[Camera], n: int, radius: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Points spread evenly on the sphere of ``radius`` around the camera centroid, kept where at
    least one view sees them and coloured by the mean of the pixels they project to.

    A background for real captures: the sparse SfM points sit on the object; everything behind
    it (walls, floor, sky) starts as these, which optimisation then moves and reshapes. The
    directions are a Fibonacci lattice (even coverage, no clumps) rotated by ``seed``.
    Returns ``(xyz [M, 3], rgb [M, 3])``, ``M <= n``.
    """
    if n <= 0:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.float32)
    k = np.arange(n) + 0.5
    z = 1.0 - 2.0 * k / n
    phi = np.pi * (1.0 + 5.0**0.5) * k + np.random.default_rng(seed).uniform(0, 2 * np.pi)
    r = np.sqrt(1.0 - z * z)
    dirs = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)  # [n, 3]
    centre = np.stack([c.center for c in cameras]).mean(axis=0)  # [3]
    xyz = centre + radius * dirs
    seen, colour, _ = _sample_views([c for c in cameras if c.image is not None], xyz)
    keep = seen > 0
    rgb = (colour[keep] / seen[keep, None]).astype(np.float32)
    return xyz[keep], rgb


def initial_model(
    points: tuple[np.ndarray, np.ndarray] | None,
    config: TrainConfig,
    cameras: list[Camera] | None = None,
    extent: float | None = None,
) -> tuple[GaussianModel, str]:
    """The starting Gaussians, by ``config.init``:

    * ``points``: at ``points = (xyz [N, 3], rgb [N, 3] in [0, 1])`` (COLMAP / points3d.ply);
    * ``carve``: at random points that the ``cameras``' alpha masks keep (:func:`carve_points`);
    * ``random``: at random points in the cube ``[-1.3, 1.3]^3`` with grey colours (INRIA);
    * ``auto``: ``points`` if given, else ``carve`` if every camera has a mask, else ``random``.

    With ``points`` and cameras without alpha masks, ``config.shell_points`` (auto: as many as
    ``n_random_points``) background points are added on a sphere of ``shell_radius x extent``
    (:func:`shell_points`; ``extent`` defaults to :func:`scene_extent` of the cameras).
    Returns ``(model, description)``.
    """
    if config.init not in ("auto", "points", "random", "carve"):
        raise ValueError(f"init must be auto, points, carve or random, got {config.init!r}")
    if config.init == "points" and points is None:
        raise ValueError("init='points' but the dataset has no initial points")
    masked = bool(cameras) and all(c.alpha is not None for c in cameras)
    if config.init == "carve" and not masked:
        raise ValueError("init='carve' needs training cameras with alpha masks")
    mode = config.init
    if mode == "auto":
        mode = "points" if points is not None else ("carve" if masked else "random")
    n = int(config.n_random_points)
    if mode == "carve":
        xyz_np, rgb_np = carve_points(cameras, n, config.random_cube, config.seed + 1)
        if len(xyz_np) < 16:
            mode = "random"
        else:
            xyz, rgb = torch.as_tensor(xyz_np), torch.as_tensor(rgb_np)
            how = f"{len(xyz_np)} random points carved by {len(cameras)} masks"
    if mode == "random":
        gen = torch.Generator().manual_seed(config.seed + 1)
        xyz = (torch.rand(n, 3, generator=gen, dtype=torch.float64) * 2 - 1) * config.random_cube
        rgb = 0.5 + 0.1 * (torch.rand(n, 3, generator=gen) - 0.5)
        how = f"{n} random points in [-{config.random_cube}, {config.random_cube}]^3"
    elif mode == "points":
        xyz = torch.as_tensor(np.asarray(points[0], dtype=np.float64))
        rgb = torch.as_tensor(np.asarray(points[1], dtype=np.float32))
        if xyz.ndim != 2 or xyz.shape[1] != 3 or rgb.shape != xyz.shape or xyz.shape[0] == 0:
            raise ValueError(f"initial points must be [N, 3] with N > 0, got {tuple(xyz.shape)}")
        how = f"{xyz.shape[0]} points from the dataset"
        n_shell = config.shell_points
        if n_shell is None:
            n_shell = 0 if masked or not cameras else n
        if n_shell > 0 and cameras:
            radius = config.shell_radius * (extent if extent else scene_extent(cameras))
            s_xyz, s_rgb = shell_points(cameras, int(n_shell), radius, config.seed + 2)
            xyz = torch.cat([xyz, torch.as_tensor(s_xyz, dtype=torch.float64)])
            rgb = torch.cat([rgb, torch.as_tensor(s_rgb, dtype=torch.float32)])
            how += f" + {len(s_xyz)} background points on a sphere of radius {radius:.3g}"
    # duplicate points would get zero-distance scales: drop exact duplicates
    _, idx = np.unique(xyz.numpy(), axis=0, return_index=True)
    order = np.sort(idx)
    xyz, rgb = xyz[order], rgb[order]
    model = GaussianModel.from_points(
        xyz.float(), rgb.float(), sh_degree=config.sh_degree, opacity=config.init_opacity
    )
    return model, how
