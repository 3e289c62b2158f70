"""A small CPU trainer for 3D Gaussian Splatting (Kerbl et al., SIGGRAPH 2023).

What it does, following the reference trainer (``train.py`` + ``scene/gaussian_model.py``), one
module per job:

* :mod:`pcc.gaussians.train_config`: every setting (:class:`TrainConfig`) with INRIA's schedule
  scaled to short runs, a wall-time budget (``minutes``) and a coarse-to-fine resolution schedule
  (``upscale_at``);
* :mod:`pcc.gaussians.train_init`: the starting Gaussians, from a point cloud (COLMAP
  ``points3D``, a NeRF folder's ``points3d.ply``), from random points in the cube
  ``[-1.3, 1.3]^3`` (INRIA's NeRF-synthetic fallback) or, when there are no points but the images
  have alpha masks, from random points of that cube that the masks carve out; for real captures
  without masks a sphere of background points coloured from the photos;
* :mod:`pcc.gaussians.train_loop`: Adam (eps 1e-15) with INRIA's learning rates (means
  ``1.6e-4 * extent`` decaying log-linearly to ``1.6e-6 * extent``, SH DC 0.0025, higher bands
  0.0025/20, opacity 0.05, scaling 0.005, rotation 0.001; ``extent`` is 1.1 x the largest distance
  of a camera centre from their mean); one random training view per step (a shuffled stack),
  loss ``L = (1 - 0.2) L1 + 0.2 (1 - SSIM)`` (:mod:`pcc.gaussians.quality`); the active SH degree
  grows step by step; adaptive density control (:mod:`pcc.gaussians.densify`) with opacity
  resets; a tqdm bar, test PSNR every ``test_every`` steps, the INRIA model directory as output;
* :mod:`pcc.gaussians.train_state`: parameters by name and checkpoints that resume bit-exactly;
* :mod:`pcc.gaussians.train_views`: the training views at several resolutions;
* :mod:`pcc.io.training_views`: reading a dataset folder and splitting it into train and test
  views (INRIA's every-8th-image split);
* :func:`train_from_folder` (here): all of the above from a folder, as ``pcc gs train`` runs it.

Every name is importable from here (``from pcc.gaussians.train import TrainConfig, train``).
Taught in ``notebooks/00_a_3dgs_scene.ipynb`` (a short run) and used to make the bundled
scene (``input_models/README.md``).
"""

from __future__ import annotations

import os
import time

from pcc.gaussians.train_config import MIN_RESET_INTERVAL, TrainConfig, TrainResult
from pcc.gaussians.train_init import (
    carve_points,
    initial_model,
    mask_keep,
    scene_extent,
    shell_points,
)
from pcc.gaussians.train_loop import evaluate_psnr, train
from pcc.gaussians.train_state import CHECKPOINT_FORMAT, PARAM_NAMES, load_checkpoint
from pcc.gaussians.train_views import ViewPyramid, downscale_view
from pcc.io.training_views import load_training_views

__all__ = [
    "TrainConfig",
    "TrainResult",
    "train",
    "train_from_folder",
    "load_training_views",
    "evaluate_psnr",
    "scene_extent",
    "initial_model",
    "carve_points",
    "shell_points",
    "mask_keep",
    "load_checkpoint",
    "PARAM_NAMES",
    "CHECKPOINT_FORMAT",
    "MIN_RESET_INTERVAL",
    "ViewPyramid",
    "downscale_view",
]


def train_from_folder(
    data_dir: str | os.PathLike,
    model_dir: str | os.PathLike | None,
    config: TrainConfig | None = None,
    *,
    resolution: int | None = None,
    scale: float | None = None,
    train_split: str = "train",
    test_split: str | None = "test",
    holdout: int = 8,
    max_width: int | None = None,
    resume: str | os.PathLike | None = None,
    progress: bool = True,
) -> TrainResult:
    """Load a dataset folder (:func:`load_training_views`), its initial points, and :func:`train`.

    Under a time budget (``config.minutes``) the loading time counts against it.
    """
    from pcc.io.datasets import load_initial_points

    t0, c0 = time.perf_counter(), time.process_time()
    if config is None and resume is not None:
        config = TrainConfig.from_dict(load_checkpoint(resume)["config"])
    config = config or TrainConfig()
    train_views, test_views = load_training_views(
        data_dir,
        background=config.background,
        resolution=resolution,
        scale=scale,
        train_split=train_split,
        test_split=test_split,
        holdout=holdout,
        max_width=max_width,
    )
    points = load_initial_points(data_dir) if config.init != "random" else None
    cpu_clock = config.budget_clock == "cpu"
    spent = time.process_time() - c0 if cpu_clock else time.perf_counter() - t0
    return train(
        train_views,
        config,
        test_cameras=test_views,
        init_points=points,
        model_dir=model_dir,
        resume=resume,
        progress=progress,
        source_path=str(data_dir),
        time_spent=0.0 if resume is not None else spent,
    )
