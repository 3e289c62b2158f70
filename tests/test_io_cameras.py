"""Orbit cameras, robust scene framing, and the INRIA cameras.json / cfg_args formats."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pcc.errors import FormatError
from pcc.io.cameras import (
    Camera,
    make_camera,
    orbit_cameras,
    orbit_cameras_for_points,
    scene_bounds,
)
from pcc.io.inria_model import (
    format_cfg_args,
    read_cameras_json,
    read_cfg_args,
    write_cameras_json,
)


@pytest.mark.parametrize("up", [(0, 0, 1), (0, -1, 0), (1, 1, 0)])
def test_orbit_cameras_look_at_centre(up):
    center = np.array([1.0, -2.0, 0.5])
    cams = orbit_cameras(center, 3.0, 7, 64, 48, fov_x_deg=60, elevation_deg=30, up=up)
    assert len(cams) == 7
    assert len({c.name for c in cams}) == 7
    unit_up = np.asarray(up, float) / np.linalg.norm(up)
    for cam in cams:
        uv, z = cam.project(center[None])
        assert np.allclose(uv[0], [cam.cx, cam.cy]) and (cam.cx, cam.cy) == (32, 24)
        assert z[0] == pytest.approx(3.0)
        assert np.allclose(cam.R @ cam.R.T, np.eye(3)) and np.linalg.det(cam.R) == pytest.approx(1)
        offset = cam.center - center
        assert np.linalg.norm(offset) == pytest.approx(3.0)
        elevation = math.degrees(math.asin(offset @ unit_up / 3.0))
        assert elevation == pytest.approx(30.0)
        # The world's up direction points up in the image (negative v).
        uv_up, _ = cam.project((center + 0.1 * unit_up)[None])
        assert uv_up[0, 1] < cam.cy
        assert math.degrees(cam.fov_x) == pytest.approx(60.0)
    # Evenly spread in azimuth: consecutive centres are equally far apart.
    gaps = [np.linalg.norm(cams[i].center - cams[i - 1].center) for i in range(7)]
    assert np.allclose(gaps, gaps[0])


def test_orbit_rejects_bad_arguments():
    with pytest.raises(ValueError):
        orbit_cameras([0, 0, 0], 1.0, 0, 10, 10)
    with pytest.raises(ValueError):
        orbit_cameras([0, 0, 0], -1.0, 3, 10, 10)
    with pytest.raises(ValueError):
        orbit_cameras([0, 0, 0], 1.0, 3, 10, 10, up=(0, 0, 0))
    with pytest.raises(ValueError, match="fov"):
        orbit_cameras([0, 0, 0], 1.0, 3, 10, 10, fov_x_deg=180)


def test_orbit_for_points_frames_the_scene():
    rng = np.random.default_rng(0)
    pts = rng.uniform([-2, -1, 0], [4, 1, 0.5], size=(2000, 3))
    for w, h in [(80, 60), (40, 90)]:
        cams = orbit_cameras_for_points(pts, 6, w, h, elevation_deg=35)
        for cam in cams:
            uv, z = cam.project(pts)
            assert (z > 0).all()
            assert (uv[:, 0] >= 0).all() and (uv[:, 0] <= w).all()
            assert (uv[:, 1] >= 0).all() and (uv[:, 1] <= h).all()
            # and it fills a good part of the frame (not framed absurdly far away)
            assert np.ptp(uv[:, 0]) > 0.3 * w or np.ptp(uv[:, 1]) > 0.3 * h


def test_orbit_for_points_is_robust_to_outliers():
    rng = np.random.default_rng(1)
    pts = rng.uniform(-1, 1, size=(5000, 3))
    far = rng.normal(size=(20, 3)) * 1000.0  # 0.4 % far-away floaters
    clean = orbit_cameras_for_points(pts, 4, 64, 64)
    dirty = orbit_cameras_for_points(np.concatenate([pts, far, [[np.nan, 0, 0]]]), 4, 64, 64)
    d_clean = np.linalg.norm(clean[0].center)
    d_dirty = np.linalg.norm(dirty[0].center)
    assert d_dirty == pytest.approx(d_clean, rel=0.1)  # the floaters do not push it away
    # without percentiles the floaters would set the framing
    naive = orbit_cameras_for_points(np.concatenate([pts, far]), 4, 64, 64, percentile=0.0)
    assert np.linalg.norm(naive[0].center) > 50 * d_clean
    uv, _ = dirty[1].project(pts)
    inside = (uv >= 0).all(axis=1) & (uv <= 64).all(axis=1)
    assert inside.mean() > 0.99


def test_scene_bounds_percentiles():
    pts = np.concatenate([np.zeros((98, 3)), [[100.0, 0, 0], [-100.0, 0, 0]]])
    lo, hi = scene_bounds(pts, percentile=2.0)
    assert np.allclose(lo, 0) and np.allclose(hi, 0)
    with pytest.raises(ValueError):
        scene_bounds(np.full((3, 3), np.nan))


# --------------------------------------------------------------------------- cameras.json
def test_cameras_json_round_trip_and_inria_semantics(tmp_path):
    cams = orbit_cameras([0, 0, 1], 4.0, 3, 64, 48)
    off = make_camera([1, 2, 3], [0, 0, 0], 50, 40, name="off")
    off.cx, off.cy, off.fy = 20.0, 22.5, off.fx * 1.1
    cams.append(off)
    path = tmp_path / "cameras.json"
    write_cameras_json(path, cams)
    entries = json.loads(path.read_text())
    assert set(entries[0]) == {
        "id",
        "img_name",
        "width",
        "height",
        "position",
        "rotation",
        "fx",
        "fy",
    }
    # position is the camera centre; rotation is the camera-to-world rotation.
    assert np.allclose(entries[1]["position"], cams[1].center)
    assert np.allclose(np.array(entries[1]["rotation"]) @ cams[1].R, np.eye(3))
    assert entries[3]["cx"] == 20.0
    back = read_cameras_json(path)
    for a, b in zip(cams, back):
        assert isinstance(b, Camera) and b.name == a.name and b.image is None
        assert (a.width, a.height) == (b.width, b.height)
        assert np.allclose([a.fx, a.fy, a.cx, a.cy], [b.fx, b.fy, b.cx, b.cy])
        assert np.allclose(a.R, b.R) and np.allclose(a.t, b.t)


def test_cameras_json_errors(tmp_path):
    p = tmp_path / "cameras.json"
    with pytest.raises(FormatError, match="not found"):
        read_cameras_json(p)
    p.write_text("{not json")
    with pytest.raises(FormatError, match="JSON"):
        read_cameras_json(p)
    p.write_text('[{"id": 0, "width": 4}]')
    with pytest.raises(FormatError, match="camera 0"):
        read_cameras_json(p)


def test_cfg_args_round_trip_without_eval(tmp_path):
    cfg = {"sh_degree": 3, "source_path": "/data/x", "resolution": -1, "eval": True}
    text = format_cfg_args(cfg)
    assert text.startswith("Namespace(") and "sh_degree=3" in text
    p = tmp_path / "cfg_args"
    p.write_text(text)
    assert read_cfg_args(p) == cfg
    p.write_text("Namespace(x=__import__('os').getcwd())")
    with pytest.raises(FormatError, match="cfg_args"):
        read_cfg_args(p)
