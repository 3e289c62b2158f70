"""Training and test views of a dataset folder, split the way the INRIA 3DGS trainer splits them.

* NeRF-synthetic: ``transforms_<train_split>.json`` for training and ``transforms_<test_split>.json``
  for testing; when the test file is absent (or ``test_split`` is None) every ``holdout``-th
  training view (``index % holdout == 0``, INRIA's ``llffhold``) is held out instead;
* COLMAP: every 8th image by sorted name is a test view (INRIA's ``--eval`` split,
  :func:`pcc.io.colmap.read_colmap_scene`).

Images are read and down-scaled here (``resolution`` = target width of the first image, or a
``scale`` factor; exact area filtering), so the trainer (:mod:`pcc.gaussians.train`) only sees
cameras with ``image [H, W, 3]``. Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pcc.io.cameras import Camera
from pcc.io.datasets import detect_dataset, load_dataset

__all__ = ["load_training_views"]


def load_training_views(
    data_dir: str | os.PathLike,
    *,
    background=(1.0, 1.0, 1.0),
    resolution: int | None = None,
    scale: float | None = None,
    train_split: str = "train",
    test_split: str | None = "test",
    holdout: int = 8,
    max_width: int | None = None,
) -> tuple[list[Camera], list[Camera]]:
    """``(train, test)`` cameras with images of a NeRF-synthetic or COLMAP folder.

    ``resolution`` (target image width in pixels, of the first training image; the others are
    scaled by the same factor) or ``scale`` down-scales the images. Without either,
    ``max_width`` down-scales images wider than that to that width (INRIA does the same above
    1600 px) and leaves smaller ones alone.
    """
    data_dir = Path(data_dir)
    kind = detect_dataset(data_dir)
    if resolution is not None and resolution < 1:
        raise ValueError(f"resolution must be >= 1 pixel, got {resolution}")
    if resolution is not None or (scale is None and max_width is not None):
        probe = load_dataset(
            data_dir, train_split, background, 1.0, max_images=1, load_images=False
        )
        if resolution is None and probe[0].width > max_width:
            resolution = max_width
        if resolution is not None:
            scale = resolution / probe[0].width
    scale = 1.0 if scale is None else float(scale)
    if kind == "colmap":
        train = load_dataset(data_dir, "train", background, scale)
        test = load_dataset(data_dir, "test", background, scale)
        return train, test
    views = load_dataset(data_dir, train_split, background, scale)
    if test_split is not None and (data_dir / f"transforms_{test_split}.json").is_file():
        return views, load_dataset(data_dir, test_split, background, scale)
    if holdout <= 1 or len(views) < 2:
        return views, []
    test = [v for i, v in enumerate(views) if i % holdout == 0]
    train = [v for i, v in enumerate(views) if i % holdout != 0]
    return train, test
