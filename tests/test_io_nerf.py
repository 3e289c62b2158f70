"""NeRF-synthetic reader/writer on the real lego subset and on written round trips."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from pcc.errors import FormatError
from pcc.io.cameras import orbit_cameras
from pcc.io.datasets import detect_dataset, load_dataset, load_initial_points
from pcc.io.nerf import area_weights, read_nerf_synthetic, resize_area, write_nerf_synthetic

LEGO = "image_sets/nerf_synthetic_lego_subset"


def test_lego_subset_cameras_look_at_the_origin(shared_data):
    cams = read_nerf_synthetic(shared_data / LEGO, "train_subset", load_images=False)
    assert [c.name for c in cams] == [f"r_{i}" for i in range(0, 96, 8)]
    angle = 0.6911112070083618
    for cam in cams:
        assert (cam.width, cam.height) == (800, 800)
        assert cam.fx == pytest.approx(400 / math.tan(angle / 2)) and cam.fy == cam.fx
        assert (cam.cx, cam.cy) == (400.0, 400.0)
        # NeRF-synthetic cameras sit on a sphere of radius ~4.03 looking at the origin: in the
        # OpenCV frame the origin is in front (z > 0) at the principal point.
        uv, z = cam.project(np.zeros((1, 3)))
        assert np.allclose(uv[0], [400, 400], atol=1e-3)
        assert z[0] == pytest.approx(4.0311, abs=1e-3)
        # Blender's +z is up in the world: it must point up in the image.
        uv_up, _ = cam.project(np.array([[0.0, 0.0, 0.5]]))
        assert uv_up[0, 1] < 400


def test_lego_first_frame_pose_matches_the_json(shared_data):
    meta = json.loads((shared_data / LEGO / "transforms_train_subset.json").read_text())
    c2w = np.array(meta["frames"][0]["transform_matrix"])
    cam = read_nerf_synthetic(shared_data / LEGO, "train_subset", max_images=1, load_images=False)[
        0
    ]
    assert np.allclose(cam.center, c2w[:3, 3])
    # OpenCV forward (+z) is Blender's -z column; OpenCV down (+y) is Blender's -y column.
    assert np.allclose(cam.R[2], -c2w[:3, 2]) and np.allclose(cam.R[1], -c2w[:3, 1])
    assert np.allclose(cam.R[0], c2w[:3, 0])


def test_lego_images_composited_and_area_downscaled(shared_data):
    folder = shared_data / LEGO
    raw = np.asarray(Image.open(folder / "train" / "r_8.png"), dtype=np.float64) / 255.0
    assert raw.shape == (800, 800, 4)
    rgb, a = raw[..., :3], raw[..., 3:]
    white = rgb * a + (1 - a)
    black = rgb * a
    (full,) = read_nerf_synthetic(folder, "train_subset", max_images=2)[1:]
    assert full.name == "r_8"
    assert np.allclose(full.image.numpy(), white, atol=1e-6)
    assert np.allclose(full.alpha.numpy(), a[..., 0], atol=1e-6)
    (half,) = read_nerf_synthetic(folder, "train_subset", (0, 0, 0), 0.25, max_images=2)[1:]
    assert (half.width, half.height) == (200, 200)
    assert half.fx == pytest.approx(full.fx / 4) and half.cx == 100.0
    blocks = black.reshape(200, 4, 200, 4, 3).mean(axis=(1, 3))  # exact area filter
    assert half.image.dtype == torch.float32
    assert np.allclose(half.image.numpy(), blocks, atol=1e-5)
    assert 0.05 < float(half.alpha.mean()) < 0.6  # the object covers part of the frame


def test_missing_images_error_or_skip(shared_data):
    folder = shared_data / LEGO
    with pytest.raises(FormatError, match=r"frame 1: image .*r_1\.png does not exist"):
        read_nerf_synthetic(folder, "train", load_images=False)
    cams = read_nerf_synthetic(folder, "train", skip_missing=True, load_images=False)
    assert len(cams) == 12
    with pytest.raises(FormatError, match="available: transforms_train.json"):
        read_nerf_synthetic(folder, "test")


def test_dataset_detection_on_lego(shared_data, tmp_path):
    folder = shared_data / LEGO
    assert detect_dataset(folder) == "nerf"
    cams = load_dataset(folder, "train_subset", scale=0.05, max_images=3)
    assert len(cams) == 3 and cams[0].image.shape == (40, 40, 3)
    assert load_initial_points(folder) is None
    with pytest.raises(FormatError, match="not a dataset"):
        detect_dataset(tmp_path)


def _images(cams, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(c.height, c.width, 3, generator=g) for c in cams]


def test_write_read_round_trip_rgb(tmp_path):
    cams = orbit_cameras([0.0, 0.0, 0.5], 3.0, 4, 24, 16, fov_x_deg=55)
    images = _images(cams)
    write_nerf_synthetic(tmp_path, "train", cams, images)
    meta = json.loads((tmp_path / "transforms_train.json").read_text())
    assert meta["camera_angle_x"] == pytest.approx(math.radians(55))
    assert meta["frames"][0]["file_path"] == "./train/orbit_000"
    back = read_nerf_synthetic(tmp_path, "train")
    assert [c.name for c in back] == [c.name for c in cams]
    for a, b, img in zip(cams, back, images):
        assert np.allclose(a.R, b.R, atol=1e-12) and np.allclose(a.t, b.t, atol=1e-12)
        assert (a.fx, a.fy, a.cx, a.cy) == pytest.approx((b.fx, b.fy, b.cx, b.cy))
        assert b.alpha is None
        assert (b.image - img).abs().max() <= 0.5 / 255 + 1e-6  # 8-bit quantisation only


def test_write_read_round_trip_rgba_and_custom_intrinsics(tmp_path):
    cams = orbit_cameras([0.0, 0.0, 0.0], 2.0, 3, 20, 12)
    cams[1].cx, cams[1].fy = 7.25, cams[1].fx * 1.2  # per-frame intrinsics now differ
    images = _images(cams, seed=1)
    g = torch.Generator().manual_seed(2)
    alphas = [torch.rand(c.height, c.width, generator=g) for c in cams]
    write_nerf_synthetic(tmp_path, "test", cams, images, alphas)
    meta = json.loads((tmp_path / "transforms_test.json").read_text())
    assert "fl_x" not in meta and meta["frames"][1]["cx"] == 7.25
    bg = (0.2, 0.4, 0.6)
    back = read_nerf_synthetic(tmp_path, "test", background=bg)
    for a, b, img, al in zip(cams, back, images, alphas):
        assert (a.fx, a.fy, a.cx, a.cy) == pytest.approx((b.fx, b.fy, b.cx, b.cy))
        assert (b.alpha - al).abs().max() <= 0.5 / 255 + 1e-6
        expected = img * al[..., None] + torch.tensor(bg) * (1 - al[..., None])
        assert (b.image - expected).abs().max() < 1.5 / 255


def test_write_premultiplied(tmp_path):
    cams = orbit_cameras([0.0, 0.0, 0.0], 2.0, 1, 8, 8)
    straight = torch.full((8, 8, 3), 0.8)
    alpha = torch.full((8, 8), 0.5)
    write_nerf_synthetic(tmp_path, "train", cams, [straight * 0.5], [alpha], premultiplied=True)
    (back,) = read_nerf_synthetic(tmp_path, "train", background=(0, 0, 0))
    assert torch.allclose(back.image, torch.full((8, 8, 3), 0.4), atol=1 / 255)


def test_ngp_style_keys_are_honoured(tmp_path):
    (tmp_path / "imgs").mkdir()
    Image.fromarray(np.zeros((10, 16, 3), np.uint8)).save(tmp_path / "imgs" / "a.png")
    meta = {
        "camera_angle_x": 1.0,
        "fl_x": 20.0,
        "fl_y": 22.0,
        "cx": 7.0,
        "cy": 4.5,
        "w": 16,
        "h": 10,
        "frames": [{"file_path": "imgs/a.png", "transform_matrix": np.eye(4).tolist()}],
    }
    (tmp_path / "transforms_train.json").write_text(json.dumps(meta))
    (cam,) = read_nerf_synthetic(tmp_path)
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (20.0, 22.0, 7.0, 4.5)
    meta["w"] = 32
    (tmp_path / "transforms_train.json").write_text(json.dumps(meta))
    with pytest.raises(FormatError, match="declares 32x10"):
        read_nerf_synthetic(tmp_path)


def test_malformed_json_and_frames(tmp_path):
    p = tmp_path / "transforms_train.json"
    p.write_text("[1, 2")
    with pytest.raises(FormatError, match="JSON"):
        read_nerf_synthetic(tmp_path)
    p.write_text(json.dumps({"camera_angle_x": 1.0, "frames": []}))
    with pytest.raises(FormatError, match="empty"):
        read_nerf_synthetic(tmp_path)
    (tmp_path / "a.png").write_bytes(b"not a png")
    frame = {"file_path": "a", "transform_matrix": np.eye(4).tolist()}
    p.write_text(json.dumps({"camera_angle_x": 1.0, "frames": [frame]}))
    with pytest.raises(FormatError, match="cannot decode"):
        read_nerf_synthetic(tmp_path)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "a.png")
    frame["transform_matrix"] = [[1, 0, 0], [0, 1, 0]]
    p.write_text(json.dumps({"camera_angle_x": 1.0, "frames": [frame]}))
    with pytest.raises(FormatError, match="4x4"):
        read_nerf_synthetic(tmp_path)
    frame["transform_matrix"] = np.eye(4).tolist()
    for meta, message in [
        ({"camera_angle_x": "wide"}, "malformed intrinsics"),
        ({}, "neither camera_angle_x nor fl_x"),
        ({"fl_x": -3.0}, "positive"),
        ({"camera_angle_x": 1.0, "frames": [{"file_path": 3}]}, "no file_path string"),
    ]:
        p.write_text(json.dumps({"frames": [frame], **meta}))
        with pytest.raises(FormatError, match=message):
            read_nerf_synthetic(tmp_path)


def test_resize_area_fractional_factor():
    img = np.arange(36, dtype=np.float32).reshape(6, 6)
    out = resize_area(img, 4, 4)  # 1.5 x 1.5 input pixels per output pixel
    # The top-left output pixel covers rows/cols [0, 1.5): weights 1 and 0.5 per axis.
    w = np.array([1.0, 0.5]) / 1.5
    assert out[0, 0] == pytest.approx(float(w @ img[:2, :2] @ w), abs=1e-4)
    assert out.mean() == pytest.approx(img.mean(), abs=1e-4)
    # The integer-factor fast path equals the general weighted path.
    wy, wx = area_weights(6, 3), area_weights(6, 2)
    assert np.allclose(resize_area(img, 2, 3), wy @ img @ wx.T, atol=1e-5)
    rgb = np.stack([img, img * 2, -img], axis=2)
    assert np.allclose(resize_area(rgb, 2, 3)[..., 1], 2 * (wy @ img @ wx.T), atol=1e-4)


def test_load_dataset_all_splits(tmp_path):
    cams = orbit_cameras([0.0, 0.0, 0.0], 2.0, 5, 8, 6)
    write_nerf_synthetic(tmp_path, "train", cams[:3], _images(cams[:3]))
    write_nerf_synthetic(tmp_path, "test", cams[3:], _images(cams[3:]))
    assert [c.name for c in load_dataset(tmp_path, "all")] == [c.name for c in cams]
    assert len(load_dataset(tmp_path, "all", max_images=4)) == 4
    assert len(load_dataset(tmp_path, "test")) == 2


def test_initial_points_from_points3d_ply(tmp_path):
    from plyfile import PlyData, PlyElement

    cams = orbit_cameras([0.0, 0.0, 0.0], 2.0, 1, 8, 6)
    write_nerf_synthetic(tmp_path, "train", cams, _images(cams))
    for color_type, values, expected in [("u1", 255, 1.0), ("f4", 0.5, 0.5)]:
        v = np.zeros(
            3,
            dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")]
            + [(c, color_type) for c in ("red", "green", "blue")],
        )
        v["x"], v["red"] = [1, 2, 3], values
        PlyData([PlyElement.describe(v, "vertex")]).write(str(tmp_path / "points3d.ply"))
        xyz, rgb = load_initial_points(tmp_path)
        assert xyz[:, 0].tolist() == [1, 2, 3] and np.allclose(rgb[:, 0], expected)
        assert np.allclose(rgb[:, 1], 0)
