"""The one place that chooses a scene's cameras and background (:mod:`pcc.io.scene_views`) and the
one camera downscaler (:func:`pcc.io.images.downscale_cameras`, exact area filter)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import random_scene

from pcc.errors import FormatError
from pcc.io.cameras import orbit_cameras_for_points
from pcc.io.images import area_weights, downscale_cameras, resize_area, scaled_view
from pcc.io.inria_model import write_model_dir
from pcc.io.nerf import write_nerf_synthetic
from pcc.io.scene_views import (
    CameraSource,
    background_from_cfg_args,
    camera_source,
    dataset_from_cfg_args,
    load_views,
    orbit_train_test,
)


def _cams(n: int, width: int = 24, height: int = 18, seed: int = 0):
    """Orbit cameras with seeded random target images."""
    pts = np.random.default_rng(seed).uniform(-1, 1, size=(50, 3))
    cams = orbit_cameras_for_points(pts, n, width, height)
    g = torch.Generator().manual_seed(seed)
    for c in cams:
        c.image = torch.rand(height, width, 3, generator=g)
    return cams


@pytest.fixture
def scene(tmp_path):
    """``data/`` (NeRF-synthetic, 3 train + 2 test views of 30x20) and model dirs: ``m``
    (cfg_args names ``data``, white background), ``mj`` (9 cameras.json views, black), ``bare``."""
    model = random_scene(n=20)
    cams = _cams(5, 30, 20)
    write_nerf_synthetic(tmp_path / "data", "train", cams[:3], None)
    write_nerf_synthetic(tmp_path / "data", "test", cams[3:], None)
    write_model_dir(tmp_path / "m", model, 7, cfg={"source_path": "data", "white_background": True})
    json_cams = orbit_cameras_for_points(model.means.numpy(), 9, 24, 18)
    write_model_dir(tmp_path / "mj", model, 7, cameras=json_cams, cfg={"source_path": "nowhere"})
    (tmp_path / "bare").mkdir()
    return tmp_path


def test_camera_source_order(scene, monkeypatch):
    monkeypatch.chdir(scene / "bare")  # relative source_path resolved next to the model dir
    assert camera_source(scene / "m", scene / "data") == CameraSource("dataset", scene / "data")
    assert camera_source(scene / "m") == CameraSource("dataset", scene / "data", True)
    assert dataset_from_cfg_args(scene / "m") == scene / "data"
    assert camera_source(scene / "m", use_cfg_args=False).kind == "orbit"
    assert camera_source(scene / "mj") == CameraSource(
        "cameras.json", scene / "mj" / "cameras.json"
    )
    assert dataset_from_cfg_args(scene / "mj") is None  # names a dataset that does not exist
    assert camera_source(scene / "bare").kind == "orbit"
    assert camera_source(scene / "m" / "cfg_args").kind == "orbit"  # a file is not a model dir


def test_dataset_views_are_downscaled_with_the_exact_area_filter(scene):
    source = camera_source(scene / "m")
    full = load_views(source, "train")
    small = load_views(source, "train", max_width=12)
    assert [c.name for c in small] == [c.name for c in full] and len(full) == 3
    for big, c in zip(full, small, strict=True):
        assert (c.width, c.height) == (12, 8) and c.fx == pytest.approx(big.fx * 12 / 30)
        want = resize_area(big.image.numpy(), 12, 8)  # 2.5 x 2.5 input pixels per output pixel
        assert np.allclose(c.image.numpy(), want, atol=1e-6)
    assert len(load_views(source, "test", max_images=1)) == 1
    assert load_views(source, "test", max_width=100)[0].width == 30  # never upscaled


def test_cameras_json_views_split_every_eighth_for_testing(scene):
    source = camera_source(scene / "mj")
    test, train = load_views(source, "test"), load_views(source, "train")
    assert len(test) == 2 and len(train) == 7 and len(load_views(source, "all")) == 9
    assert {c.name for c in test}.isdisjoint(c.name for c in train)
    assert all(c.image is None for c in test + train)
    assert load_views(source, "all", scale=0.5)[0].width == 12
    with pytest.raises(ValueError, match="splits"):
        load_views(source, "val")
    with pytest.raises(ValueError, match="orbit"):
        load_views(CameraSource("orbit"), "test")


def test_background_comes_from_cfg_args_unless_given(scene):
    assert background_from_cfg_args(scene / "m") == (1.0, 1.0, 1.0)
    assert background_from_cfg_args(scene / "m", white=False) == (0.0, 0.0, 0.0)
    assert background_from_cfg_args(scene / "mj") == (0.0, 0.0, 0.0)
    assert background_from_cfg_args(scene / "bare", white=True) == (1.0, 1.0, 1.0)
    (scene / "bare" / "cfg_args").write_text("import os")
    with pytest.raises(FormatError, match="cfg_args"):
        background_from_cfg_args(scene / "bare")


def test_orbit_train_and_test_views_never_coincide():
    pts = np.random.default_rng(0).uniform(-1, 1, size=(200, 3))
    train, test = orbit_train_test(pts, 7, 4, 40, 30)
    assert len(train) == 7 and len(test) == 4
    assert [c.name for c in test] == [f"orbit_test_{i:03d}" for i in range(4)]
    centers = np.array([c.center for c in train])
    for c in test:
        assert np.linalg.norm(centers - c.center, axis=1).min() > 1e-3
    elevations = {round(float(c.center[2]), 6) for c in train}
    assert len(elevations) == 2  # two rings


def test_scaled_view_keeps_the_image_mean_and_resizes_alpha():
    cam = _cams(1, 30, 20)[0]
    cam.alpha = torch.rand(20, 30, generator=torch.Generator().manual_seed(1))
    small = scaled_view(cam, 0.4)
    assert small.image.shape == (8, 12, 3) and small.alpha.shape == (8, 12)
    assert small.image.dtype == torch.float32
    assert float(small.image.mean()) == pytest.approx(float(cam.image.mean()), abs=1e-5)
    wy, wx = area_weights(20, 8), area_weights(30, 12)
    assert np.allclose(small.alpha.numpy(), wy @ cam.alpha.numpy() @ wx.T, atol=1e-6)
    narrow = _cams(2, 10, 8)
    assert all(a is b for a, b in zip(downscale_cameras(narrow, 10), narrow, strict=True))
