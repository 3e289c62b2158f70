"""Which cameras to use for a 3DGS scene, and its background: the one place that decides.

A scene is a model (an INRIA model directory or a ``.ply``) and maybe a dataset. Cameras come
from, in this order (:func:`camera_source`):

1. ``data_dir`` when given (a NeRF-synthetic or COLMAP dataset: cameras with target images);
2. the dataset the model directory's ``cfg_args`` names (``source_path``,
   :func:`dataset_from_cfg_args`), unless the caller opts out;
3. the model directory's ``cameras.json`` (cameras without images);
4. orbit cameras around the Gaussians (:func:`orbit_train_test`, or the caller's own orbit).

:func:`load_views` loads one split of a dataset or ``cameras.json`` source (``cameras.json``:
every 8th view is ``"test"``, the others ``"train"``, INRIA's ``--eval`` rule), downscaled to a
maximum width with the exact area filter (:func:`pcc.io.images.downscale_cameras`). The scene's
background is white when its ``cfg_args`` says ``white_background=True``
(:func:`background_from_cfg_args`). Used by ``pcc gs compress`` / ``eval`` / ``render`` and the
c3dgs pipeline (:func:`pcc.c3dgs.pipeline.scene_cameras`, which renders targets for camera
sources without images). Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.cameras import Camera, orbit_cameras, orbit_cameras_for_points, scene_bounds
from pcc.io.datasets import detect_dataset, load_dataset
from pcc.io.images import downscale_cameras
from pcc.io.inria_model import read_cameras_json, read_cfg_args

__all__ = [
    "CameraSource",
    "camera_source",
    "load_views",
    "orbit_train_test",
    "dataset_from_cfg_args",
    "background_from_cfg_args",
    "TEST_EVERY",
]

TEST_EVERY = 8  # every 8th view of a cameras.json is a test view (INRIA's --eval rule)


@dataclass(frozen=True)
class CameraSource:
    """Where a scene's cameras come from: ``kind`` is ``"dataset"``, ``"cameras.json"`` or
    ``"orbit"``; ``path`` the dataset folder or the ``cameras.json`` (None for orbit);
    ``from_cfg_args`` whether the dataset was found through the model's ``cfg_args``."""

    kind: str
    path: Path | None = None
    from_cfg_args: bool = False


def _cfg_args_path(input_path: str | os.PathLike) -> Path | None:
    p = Path(input_path)
    cfg = p / "cfg_args"
    return cfg if p.is_dir() and cfg.is_file() else None


def dataset_from_cfg_args(model_dir: str | os.PathLike) -> Path | None:
    """The dataset an INRIA model directory was trained on, if its ``cfg_args`` names one that exists.

    ``source_path`` is tried as written (absolute, or relative to the working directory), then
    relative to the model directory and to its parent. Returns None when there is no
    ``cfg_args``, no ``source_path`` or no readable dataset there.
    """
    cfg_path = _cfg_args_path(model_dir)
    if cfg_path is None:
        return None
    try:
        source = read_cfg_args(cfg_path).get("source_path")
    except FormatError:
        return None
    if not isinstance(source, str) or not source:
        return None
    model_dir = Path(model_dir)
    for candidate in (Path(source), model_dir / source, model_dir.parent / source):
        if candidate.is_dir():
            try:
                detect_dataset(candidate)
            except (FormatError, ValueError, OSError):
                continue
            return candidate
    return None


def background_from_cfg_args(
    input_path: str | os.PathLike, white: bool | None = None
) -> tuple[float, float, float]:
    """The scene's background colour: white if ``white`` (or, when None, if the model directory's
    ``cfg_args`` says ``white_background=True``), else black. An unreadable ``cfg_args`` is a
    :class:`~pcc.errors.FormatError` naming it."""
    if white is None:
        cfg_path = _cfg_args_path(input_path)
        white = cfg_path is not None and bool(read_cfg_args(cfg_path).get("white_background"))
    return (1.0, 1.0, 1.0) if white else (0.0, 0.0, 0.0)


def camera_source(
    input_path: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    *,
    use_cfg_args: bool = True,
) -> CameraSource:
    """The first of: ``data_dir``, the dataset named by ``cfg_args`` (if ``use_cfg_args``), the
    model directory's ``cameras.json``, orbit cameras (see the module docstring)."""
    if data_dir is not None:
        return CameraSource("dataset", Path(data_dir))
    if use_cfg_args:
        named = dataset_from_cfg_args(input_path)
        if named is not None:
            return CameraSource("dataset", named, from_cfg_args=True)
    cams_json = Path(input_path) / "cameras.json"
    if Path(input_path).is_dir() and cams_json.is_file():
        return CameraSource("cameras.json", cams_json)
    return CameraSource("orbit")


def load_views(
    source: CameraSource,
    split: str,
    *,
    background=(0.0, 0.0, 0.0),
    max_width: int | None = None,
    scale: float = 1.0,
    max_images: int | None = None,
) -> list[Camera]:
    """One split of a dataset or ``cameras.json`` source.

    ``split``: a dataset split (``"train"``, ``"test"``, ``"all"``, ...:
    :func:`pcc.io.datasets.load_dataset`, images composited on ``background``); for
    ``cameras.json`` ``"test"`` (every :data:`TEST_EVERY`-th view), ``"train"`` (the others, or
    all views if that leaves none) or ``"all"``. ``scale`` multiplies the resolution first,
    ``max_width`` then caps it; ``max_images`` keeps the first views.
    """
    if source.kind == "dataset":
        cams = load_dataset(source.path, split, background, scale, max_images=max_images)
    elif source.kind == "cameras.json":
        cams = read_cameras_json(source.path)
        if split == "test":
            cams = cams[::TEST_EVERY]
        elif split == "train":
            cams = [c for i, c in enumerate(cams) if i % TEST_EVERY] or cams
        elif split != "all":
            raise ValueError(f"cameras.json has splits train, test and all, not {split!r}")
        if scale != 1.0:
            cams = [c.scaled(scale) for c in cams]
        cams = cams[:max_images]
    else:
        raise ValueError(f"no views to load from a {source.kind!r} camera source")
    return cams if max_width is None else downscale_cameras(cams, max_width)


def orbit_train_test(
    points: np.ndarray, n_train: int, n_test: int, width: int, height: int
) -> tuple[list[Camera], list[Camera]]:
    """Orbit cameras framing ``points [N, 3]`` for a scene without cameras.

    Training views on two rings (15 and 40 degrees of elevation, half each), test views on a
    ring in between (27.5 degrees) rotated by half a step, so no test view coincides with a
    training view.
    """
    train = orbit_cameras_for_points(points, n_train // 2, width, height, elevation_deg=15.0)
    train += orbit_cameras_for_points(
        points, n_train - len(train), width, height, elevation_deg=40.0
    )
    test = orbit_cameras_for_points(points, n_test, width, height, elevation_deg=27.5)
    lo, hi = scene_bounds(points)
    center = (lo + hi) / 2.0
    dist = float(((test[0].center - center) ** 2).sum() ** 0.5)
    test = orbit_cameras(
        center,
        dist,
        n_test,
        width,
        height,
        elevation_deg=27.5,
        start_azimuth_deg=180.0 / n_test,
    )
    for i, c in enumerate(test):
        c.name = f"orbit_test_{i:03d}"
    return train, test
