"""Load a training/evaluation dataset from a folder, whatever its kind.

Two kinds are recognised (the inputs of the INRIA 3DGS trainer, Kerbl et al. 2023):

* NeRF-synthetic / Blender: ``transforms_<split>.json`` + PNGs (:mod:`pcc.io.nerf`);
* COLMAP: ``sparse/0/{cameras,images,points3D}.{bin,txt}`` + ``images/`` (:mod:`pcc.io.colmap`).

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.cameras import Camera
from pcc.io.colmap import find_sparse_dir, read_colmap_model, read_colmap_scene
from pcc.io.nerf import read_nerf_synthetic
from pcc.io.ply import read_ply

__all__ = ["detect_dataset", "load_dataset", "load_initial_points"]


def detect_dataset(data_dir: str | os.PathLike) -> str:
    """``"nerf"`` or ``"colmap"``; raises :class:`FormatError` for anything else."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FormatError(data_dir, "dataset folder not found")
    if any(data_dir.glob("transforms_*.json")):
        return "nerf"
    if find_sparse_dir(data_dir) is not None:
        return "colmap"
    raise FormatError(
        data_dir,
        "not a dataset: expected transforms_<split>.json (NeRF-synthetic) or "
        "sparse/0/cameras.bin|txt (COLMAP)",
    )


def load_dataset(
    data_dir: str | os.PathLike,
    split: str = "test",
    background=(1.0, 1.0, 1.0),
    scale: float = 1.0,
    *,
    max_images: int | None = None,
    load_images: bool = True,
    skip_missing: bool = False,
) -> list[Camera]:
    """Cameras with ground-truth images (``camera.image [H, W, 3]``) of one split of a dataset.

    ``split`` is ``"train"``, ``"test"`` or ``"all"``. For NeRF-synthetic it selects
    ``transforms_<split>.json`` (any other name with such a file works too, e.g.
    ``"train_subset"``; ``"all"`` concatenates train, val and test files present). For COLMAP
    ``"test"`` is every 8th image by name (INRIA's ``--eval`` split). ``background`` is what RGBA
    images are composited on; ``scale`` down-scales images and intrinsics (area filtering).
    ``skip_missing`` (NeRF only) drops frames whose image file is missing.
    """
    data_dir = Path(data_dir)
    kind = detect_dataset(data_dir)
    if kind == "colmap":
        return read_colmap_scene(
            data_dir,
            split,
            scale=scale,
            background=background,
            load_images=load_images,
            max_images=max_images,
        ).cameras
    splits = [split]
    if split == "all":
        splits = [
            s for s in ("train", "val", "test") if (data_dir / f"transforms_{s}.json").is_file()
        ]
    cameras: list[Camera] = []
    for s in splits:
        cameras += read_nerf_synthetic(
            data_dir,
            s,
            background=background,
            scale=scale,
            max_images=None if max_images is None else max_images - len(cameras),
            skip_missing=skip_missing,
            load_images=load_images,
        )
        if max_images is not None and len(cameras) >= max_images:
            break
    return cameras


def load_initial_points(data_dir: str | os.PathLike) -> tuple[np.ndarray, np.ndarray] | None:
    """Initial points ``(xyz [N, 3] float64, rgb [N, 3] float32 in [0, 1])`` of a dataset, or None.

    COLMAP: the sparse points3D. NeRF-synthetic: ``points3d.ply`` when present (x y z and
    red green blue as INRIA writes it), else None (INRIA then starts from random points).
    """
    data_dir = Path(data_dir)
    kind = detect_dataset(data_dir)
    if kind == "colmap":
        pts = read_colmap_model(find_sparse_dir(data_dir)).points
        if len(pts.ids) == 0:
            return None
        return pts.xyz.copy(), pts.rgb.astype(np.float32) / 255.0
    ply = data_dir / "points3d.ply"
    if not ply.is_file():
        return None
    try:
        v = read_ply(ply, elements=["vertex"])["vertex"]
        xyz = np.stack([v["x"], v["y"], v["z"]], axis=1).astype(np.float64)
        raw = np.stack([v["red"], v["green"], v["blue"]], axis=1)
    except KeyError as err:
        raise FormatError(
            ply, f"cannot read initial points: no property or element {err}"
        ) from None
    # uchar colours are 0..255; float colours are taken as already in [0, 1]
    scale = 255.0 if np.issubdtype(raw.dtype, np.integer) else 1.0
    rgb = np.clip(raw.astype(np.float32) / scale, 0.0, 1.0)
    if len(xyz) == 0 or not np.isfinite(xyz).all():
        raise FormatError(ply, "initial points are empty or contain NaN/inf coordinates")
    return xyz, rgb
