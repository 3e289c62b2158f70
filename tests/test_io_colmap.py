"""COLMAP sparse models: binary and text round trips, projection consistency, splits, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from pcc.errors import FormatError
from pcc.io.cameras import orbit_cameras
from pcc.io.colmap import (
    ColmapCamera,
    ColmapImage,
    ColmapModel,
    ColmapPoints,
    qvec_to_rotmat,
    read_colmap_model,
    read_colmap_scene,
    rotmat_to_qvec,
    write_colmap_model,
)
from pcc.io.datasets import detect_dataset, load_dataset, load_initial_points

N_IMAGES = 10


def make_model(seed: int = 0, model_b: str = "SIMPLE_PINHOLE") -> ColmapModel:
    """Two cameras, ten posed images (names not in id order) and 40 points observed in them."""
    rng = np.random.default_rng(seed)
    params_b = {"SIMPLE_PINHOLE": [30.0, 19.0, 13.0], "SIMPLE_RADIAL": [30.0, 19.0, 13.0, 0.01]}
    cams = {
        1: ColmapCamera(1, "PINHOLE", 48, 32, np.array([40.0, 42.0, 23.5, 15.25])),
        2: ColmapCamera(2, model_b, 40, 26, np.array(params_b[model_b])),
    }
    poses = orbit_cameras([0.0, 0.0, 0.0], 5.0, N_IMAGES, 48, 32, elevation_deg=15)
    points = rng.uniform(-1, 1, size=(40, 3))
    images, tracks = {}, [[] for _ in range(len(points))]
    order = rng.permutation(N_IMAGES)
    for k, pose in enumerate(poses):
        image_id = int(order[k]) + 1
        cam = cams[1 + k % 2]
        p = cam.params
        fx, fy, cx, cy = (
            (p[0], p[1], p[2], p[3]) if cam.model == "PINHOLE" else (p[0], p[0], p[1], p[2])
        )
        X = points @ pose.R.T + pose.t
        xy = np.stack([fx * X[:, 0] / X[:, 2] + cx, fy * X[:, 1] / X[:, 2] + cy], axis=1)
        seen = np.nonzero((xy >= 0).all(1) & (xy[:, 0] < cam.width) & (xy[:, 1] < cam.height))[0]
        ids = seen + 100
        xys = np.concatenate([xy[seen], [[1.5, 2.5]]])  # plus one unmatched keypoint
        pids = np.concatenate([ids, [-1]])
        for j, pt in enumerate(seen):
            tracks[pt].append((image_id, j))
        images[image_id] = ColmapImage(
            image_id,
            rotmat_to_qvec(pose.R),
            pose.t.copy(),
            cam.id,
            f"img_{k:02d}.png",
            xys,
            pids.astype(np.int64),
        )
    pts = ColmapPoints(
        np.arange(len(points), dtype=np.int64) + 100,
        points,
        rng.integers(0, 256, size=(len(points), 3)).astype(np.uint8),
        rng.uniform(0, 2, len(points)),
        [np.array(t, dtype=np.int64).reshape(-1, 2) for t in tracks],
    )
    return ColmapModel(cams, images, pts)


def assert_models_equal(a: ColmapModel, b: ColmapModel) -> None:
    assert a.cameras.keys() == b.cameras.keys()
    for k, c in a.cameras.items():
        d = b.cameras[k]
        assert (c.model, c.width, c.height) == (d.model, d.width, d.height)
        assert np.array_equal(c.params, d.params)
    assert a.images.keys() == b.images.keys()
    for k, im in a.images.items():
        jm = b.images[k]
        assert (im.name, im.camera_id) == (jm.name, jm.camera_id)
        assert np.array_equal(im.qvec, jm.qvec) and np.array_equal(im.tvec, jm.tvec)
        assert np.array_equal(im.xys, jm.xys) and np.array_equal(im.point3d_ids, jm.point3d_ids)
    assert np.array_equal(a.points.ids, b.points.ids)
    assert np.array_equal(a.points.xyz, b.points.xyz)
    assert np.array_equal(a.points.rgb, b.points.rgb)
    assert np.array_equal(a.points.errors, b.points.errors)
    for s, t in zip(a.points.tracks, b.points.tracks):
        assert np.array_equal(s, t)


@pytest.mark.parametrize("binary", [True, False])
def test_round_trip(tmp_path, binary):
    model = make_model()
    write_colmap_model(tmp_path / "sparse" / "0", model, binary=binary)
    ext = "bin" if binary else "txt"
    assert (tmp_path / "sparse" / "0" / f"points3D.{ext}").is_file()
    assert_models_equal(model, read_colmap_model(tmp_path / "sparse" / "0"))


def test_binary_and_text_agree(tmp_path):
    model = make_model(seed=3)
    write_colmap_model(tmp_path / "b", model, binary=True)
    write_colmap_model(tmp_path / "t", model, binary=False)
    assert_models_equal(read_colmap_model(tmp_path / "b"), read_colmap_model(tmp_path / "t"))


@pytest.mark.parametrize("binary", [True, False])
def test_points_project_to_their_observations(tmp_path, binary):
    model = make_model(seed=1)
    write_colmap_model(tmp_path / "sparse" / "0", model, binary=binary)
    scene = read_colmap_scene(tmp_path, "all", load_images=False)
    assert [c.name for c in scene.cameras] == [f"img_{k:02d}.png" for k in range(N_IMAGES)]
    by_name = {im.name: im for im in model.images.values()}
    xyz = dict(zip(model.points.ids.tolist(), scene.points))
    checked = 0
    for cam in scene.cameras:
        im = by_name[cam.name]
        for xy, pid in zip(im.xys, im.point3d_ids):
            if pid < 0:
                continue
            uv, z = cam.project(xyz[int(pid)][None])
            assert z[0] > 0 and np.allclose(uv[0], xy, atol=1e-9)
            checked += 1
    assert checked > 50
    # Principal points are honoured, not replaced by the image centre.
    assert (scene.cameras[0].cx, scene.cameras[0].cy) == (23.5, 15.25)
    assert (scene.cameras[1].fx, scene.cameras[1].cx) == (30.0, 19.0)
    assert scene.colors.dtype == np.float32 and scene.colors.max() <= 1.0
    assert np.allclose(scene.colors * 255, model.points.rgb)


def test_splits_every_eighth_by_name(tmp_path):
    write_colmap_model(tmp_path / "sparse" / "0", make_model())
    names = lambda s: [c.name for c in read_colmap_scene(tmp_path, s, load_images=False).cameras]  # noqa: E731
    assert names("test") == ["img_00.png", "img_08.png"]
    assert names("train") == [f"img_{k:02d}.png" for k in range(N_IMAGES) if k % 8]
    with pytest.raises(ValueError, match="split"):
        names("val")


def test_images_loaded_and_resized(tmp_path):
    write_colmap_model(tmp_path / "sparse" / "0", make_model())
    (tmp_path / "images").mkdir()
    rng = np.random.default_rng(0)
    model = read_colmap_model(tmp_path / "sparse" / "0")
    for im in model.images.values():
        cam = model.cameras[im.camera_id]
        pixels = rng.integers(0, 256, size=(cam.height, cam.width, 3)).astype(np.uint8)
        Image.fromarray(pixels).save(tmp_path / "images" / im.name)
    assert detect_dataset(tmp_path) == "colmap"
    cams = load_dataset(tmp_path, "test", scale=0.5)
    assert [c.name for c in cams] == ["img_00.png", "img_08.png"]
    assert cams[0].image.shape == (16, 24, 3) and cams[0].cx == pytest.approx(23.5 / 2)
    raw = np.asarray(Image.open(tmp_path / "images" / "img_00.png"), dtype=np.float64) / 255
    assert np.allclose(cams[0].image.numpy(), raw.reshape(16, 2, 24, 2, 3).mean((1, 3)), atol=1e-6)
    xyz, rgb = load_initial_points(tmp_path)
    assert xyz.shape == (40, 3) and rgb.shape == (40, 3)
    (tmp_path / "images" / "img_08.png").unlink()
    with pytest.raises(FormatError, match="img_08.png: image file not found"):
        load_dataset(tmp_path, "test")


def test_simple_radial_warns_and_other_models_are_rejected(tmp_path):
    write_colmap_model(tmp_path / "a" / "sparse" / "0", make_model(model_b="SIMPLE_RADIAL"))
    with pytest.warns(UserWarning, match="SIMPLE_RADIAL.*distortion is ignored"):
        cams = read_colmap_scene(tmp_path / "a", "all", load_images=False).cameras
    assert cams[1].fx == 30.0 and cams[1].cx == 19.0
    model = make_model()
    model.cameras[2] = ColmapCamera(2, "OPENCV", 40, 26, np.array([30, 30, 19, 13, 0.1, 0, 0, 0.0]))
    write_colmap_model(tmp_path / "b" / "sparse" / "0", model, binary=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FormatError, match="OPENCV model; only SIMPLE_PINHOLE, PINHOLE"):
            read_colmap_scene(tmp_path / "b", "all", load_images=False)


def test_corrupt_inputs(tmp_path):
    sparse = tmp_path / "sparse" / "0"
    with pytest.raises(FormatError, match="no COLMAP model"):
        read_colmap_scene(tmp_path)
    write_colmap_model(sparse, make_model())
    data = (sparse / "images.bin").read_bytes()
    (sparse / "images.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="images.bin: truncated"):
        read_colmap_model(sparse)
    (sparse / "images.bin").write_bytes(data)
    (sparse / "cameras.bin").write_bytes(b"\xff" * 8)
    with pytest.raises(FormatError, match="cameras.bin: declares"):
        read_colmap_model(sparse)

    txt = tmp_path / "txt"
    write_colmap_model(txt, make_model(), binary=False)
    (txt / "cameras.txt").write_text("1 PINHOLE 10 10 5 5 5\n")
    with pytest.raises(FormatError, match="PINHOLE takes 4 parameters, got 3"):
        read_colmap_model(txt)
    (txt / "cameras.txt").write_text("1 PINHOLE 10 10 5 5 5 5\n")
    with pytest.raises(FormatError, match="missing camera 2"):
        read_colmap_model(txt)


def test_quaternion_conversions():
    rng = np.random.default_rng(0)
    for q in rng.normal(size=(20, 4)):
        q = q / np.linalg.norm(q) * np.sign(q[0])
        R = qvec_to_rotmat(q)
        assert np.allclose(R @ R.T, np.eye(3)) and np.linalg.det(R) == pytest.approx(1.0)
        assert np.allclose(rotmat_to_qvec(R), q)
    # 180-degree rotations (w = 0) are where naive formulas break.
    for R in (np.diag([1.0, -1, -1]), np.diag([-1.0, 1, -1]), np.diag([-1.0, -1, 1])):
        assert np.allclose(qvec_to_rotmat(rotmat_to_qvec(R)), R)


def test_hand_packed_binary_layout(tmp_path):
    """Bytes packed by hand from the documented layout (independent of our writer)."""
    import struct

    d = tmp_path / "sparse" / "0"
    d.mkdir(parents=True)
    cams = (
        struct.pack("<Q", 1)
        + struct.pack("<iiQQ", 7, 1, 64, 48)
        + struct.pack("<4d", 50, 51, 31, 23)
    )
    q = rotmat_to_qvec(np.diag([1.0, -1.0, -1.0]))  # 180 degrees about x
    img = struct.pack("<Q", 1) + struct.pack("<i4d3di", 3, *q, 0.5, -0.25, 4.0, 7)
    img += b"frame.jpg\0" + struct.pack("<Q", 2)
    img += struct.pack("<ddq", 10.5, 20.25, 42) + struct.pack("<ddq", 1.0, 2.0, -1)
    pts = struct.pack("<Q", 1) + struct.pack("<Q3d3Bd", 42, 0.1, 0.2, 0.3, 255, 128, 0, 0.75)
    pts += struct.pack("<Q", 1) + struct.pack("<ii", 3, 0)
    (d / "cameras.bin").write_bytes(cams)
    (d / "images.bin").write_bytes(img)
    (d / "points3D.bin").write_bytes(pts)
    m = read_colmap_model(d)
    assert m.cameras[7].model == "PINHOLE" and (m.cameras[7].width, m.cameras[7].height) == (64, 48)
    im = m.images[3]
    assert im.name == "frame.jpg" and im.camera_id == 7
    assert np.allclose(qvec_to_rotmat(im.qvec), np.diag([1.0, -1.0, -1.0]))
    assert np.array_equal(im.xys, [[10.5, 20.25], [1.0, 2.0]])
    assert im.point3d_ids.tolist() == [42, -1]
    assert m.points.ids.tolist() == [42] and m.points.rgb.tolist() == [[255, 128, 0]]
    assert m.points.tracks[0].tolist() == [[3, 0]] and m.points.errors[0] == 0.75
    (cam,) = read_colmap_scene(tmp_path, "all", load_images=False).cameras
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (50, 51, 31, 23)
    assert np.allclose(cam.t, [0.5, -0.25, 4.0])


def test_hand_written_text_model(tmp_path):
    """Text files in COLMAP's documented format, including an image without observations."""
    d = tmp_path / "sparse" / "0"
    d.mkdir(parents=True)
    (d / "cameras.txt").write_text(
        "# Camera list with one line of data per camera:\n"
        "# Number of cameras: 2\n"
        "1 SIMPLE_PINHOLE 3072 2304 2559.81 1536 1152\n"
        "2 PINHOLE 3072 2304 2560.56 2560.56 1536 1152\n"
    )
    (d / "images.txt").write_text(
        "# Image list with two lines of data per image:\n"
        "1 0.851773 0.0165051 0.503764 -0.142941 -0.737434 1.02973 3.74354 1 P1180141.JPG\n"
        "2362.39 248.498 -1 1784.7 268.254 5\n"
        "2 1 0 0 0 0 0 1 2 my image.JPG\n"
        "\n"
    )
    (d / "points3D.txt").write_text("5 1.5 -0.5 7.25 12 34 56 0.5 1 1\n")
    m = read_colmap_model(d)
    assert m.cameras[1].model == "SIMPLE_PINHOLE" and m.cameras[1].params.tolist() == [
        2559.81,
        1536,
        1152,
    ]
    assert m.images[1].point3d_ids.tolist() == [-1, 5]
    assert m.images[2].name == "my image.JPG" and len(m.images[2].xys) == 0
    assert m.points.xyz.tolist() == [[1.5, -0.5, 7.25]] and m.points.tracks[0].tolist() == [[1, 1]]
    names = [c.name for c in read_colmap_scene(tmp_path, "all", load_images=False).cameras]
    assert names == ["P1180141.JPG", "my image.JPG"]
