"""The synthetic still-life dataset: determinism, camera round trip, geometry of the tracer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from pcc.data.synthetic import (
    StillLife,
    camera_rays,
    dataset_cameras,
    make_dataset,
    render_view,
    trace_pixels,
    trace_rays,
)
from pcc.io.nerf import read_nerf_synthetic

TINY = dict(n_train=3, n_test=2, size=40, supersample=1, n_points=64, progress=False)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("still_life")
    make_dataset(out, seed=3, **TINY)
    return out


def _all_bytes(folder) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_same_bytes(tiny_dataset, tmp_path):
    again = tmp_path / "again"
    make_dataset(again, seed=3, **TINY)
    a, b = _all_bytes(tiny_dataset), _all_bytes(again)
    assert sorted(a) == sorted(b)
    assert "transforms_train.json" in a and "points3d.ply" in a
    assert sum(k.endswith(".png") for k in a) == TINY["n_train"] + TINY["n_test"]
    for name in a:
        assert a[name] == b[name], name
    other = tmp_path / "other"
    make_dataset(other, seed=4, **TINY)
    assert _all_bytes(other)["transforms_train.json"] != a["transforms_train.json"]


def test_layout_and_alpha(tiny_dataset):
    meta = json.loads((tiny_dataset / "transforms_train.json").read_text())
    assert len(meta["frames"]) == TINY["n_train"]
    assert math.isclose(meta["camera_angle_x"], math.radians(42.0), rel_tol=1e-9)
    cams = read_nerf_synthetic(tiny_dataset, "test", background=(0.0, 0.0, 0.0))
    assert len(cams) == TINY["n_test"]
    for cam in cams:
        assert cam.alpha is not None and cam.image.shape == (40, 40, 3)
        covered = float(cam.alpha.mean())
        assert 0.15 < covered < 0.95  # the scene is framed: some object, some background
        # outside the object the composited image is the background exactly
        assert float(cam.image[cam.alpha == 0].abs().max()) == 0.0


def test_json_cameras_reproduce_the_images(tiny_dataset):
    """Re-rendering through the cameras read back from the JSON gives the stored PNGs."""
    scene = StillLife()
    for split in ("train", "test"):
        for cam in read_nerf_synthetic(tiny_dataset, split, background=(0.0, 0.0, 0.0)):
            rgb, alpha = render_view(scene, cam, supersample=1)
            stored_alpha = cam.alpha.numpy()
            assert np.abs(alpha - stored_alpha).max() <= 0.5 / 255 + 1e-6
            premult = rgb * alpha[..., None]
            # 8-bit storage of the unpremultiplied colour: one quantisation step at most
            assert np.abs(premult - cam.image.numpy()).max() <= 1.0 / 255 + 1e-5


def test_known_points_project_to_their_pixels(tiny_dataset):
    """Surface points traced through pixel centres land on those pixels under the JSON camera;
    the projected apple centre shows the apple's red wherever it is visible."""
    scene = StillLife()
    cams = read_nerf_synthetic(tiny_dataset, "train", background=(1.0, 1.0, 1.0))
    red_hits = 0
    for cam in cams:
        pts = trace_pixels(scene, cam)  # [H, W, 3]
        ok = np.isfinite(pts[..., 0])
        assert ok.mean() > 0.2
        ii, jj = np.nonzero(ok)
        uv, depth = cam.project(pts[ok])
        assert np.all(depth > 0)
        np.testing.assert_allclose(uv[:, 0], jj + 0.5, atol=2e-3)
        np.testing.assert_allclose(uv[:, 1], ii + 0.5, atol=2e-3)
        # a known 3D point: the front of the apple facing this camera
        c = scene.apple_centre
        towards = cam.center - c
        front = c + scene.apple_radius * towards / np.linalg.norm(towards)
        uv_front, _ = cam.project(front[None])
        u, v = uv_front[0]
        pix = cam.image[int(v), int(u)].numpy()
        red_hits += bool(pix[0] > 0.45 and pix[1] < 0.35 and pix[2] < 0.35)
    assert red_hits >= len(cams) - 1  # the pot may hide the apple from one view


def test_sphere_tracing_hits_the_analytic_sphere():
    """Distance to the apple along rays through its centre is |eye - c| - r."""
    scene = StillLife()
    train, _ = dataset_cameras(6, 0, 32, seed=1)
    checked = 0
    for cam in train:
        c = scene.apple_centre
        d = c - cam.center
        dist = np.linalg.norm(d)
        t, hit = trace_rays(scene, cam.center, (d / dist)[None])
        if hit[0] and abs(t[0] - (dist - scene.apple_radius)) < 0.05:  # not hidden by the pot
            assert abs(t[0] - (dist - scene.apple_radius)) < 2e-3
            checked += 1
        # and a ray pointing at the sky misses everything
        t, hit = trace_rays(scene, cam.center, np.array([[0.0, 0.0, 1.0]]))
        assert not hit[0]
    assert checked >= 4


def test_test_views_are_not_training_views():
    train, test = dataset_cameras(48, 12, 64, seed=0)
    tc = np.stack([c.center for c in train])
    for cam in test:
        assert np.linalg.norm(tc - cam.center, axis=1).min() > 0.1
    names = [c.name for c in train + test]
    assert len(set(c.name for c in train)) == 48 and len(set(c.name for c in test)) == 12
    assert all(n.startswith("r_") for n in names)


def test_camera_rays_pass_through_pixel_centres():
    train, _ = dataset_cameras(1, 0, 16, seed=0)
    cam = train[0]
    origin, dirs = camera_rays(cam, 1)  # [H, W, 3]
    pts = origin + 2.0 * dirs.reshape(-1, 3)
    uv, _ = cam.project(pts)
    jj, ii = np.meshgrid(np.arange(16), np.arange(16))
    np.testing.assert_allclose(uv[:, 0], jj.ravel() + 0.5, atol=1e-6)
    np.testing.assert_allclose(uv[:, 1], ii.ravel() + 0.5, atol=1e-6)
    # supersampled rays: 4 sub-pixel rays per pixel at +-0.25 around its centre
    _, sub = camera_rays(cam, 2)
    assert sub.shape == (32, 32, 3)
    uv2, _ = cam.project(origin + sub.reshape(-1, 3))
    np.testing.assert_allclose(uv2[:2, 0], [0.25, 0.75], atol=1e-6)


def test_points3d_are_on_visible_surfaces(tiny_dataset):
    from pcc.io.datasets import load_initial_points

    xyz, rgb = load_initial_points(tiny_dataset)
    assert xyz.shape == (TINY["n_points"], 3) and rgb.shape == (TINY["n_points"], 3)
    d = np.abs(StillLife().sdf(xyz.astype(np.float32)))
    assert np.median(d) < 0.01  # jittered by 4 mm, so near but not exactly on the surface
    assert torch.as_tensor(rgb).max() <= 1.0


def test_bad_arguments():
    with pytest.raises(ValueError):
        dataset_cameras(0, 1, 32)


def test_cli_make_dataset(tmp_path, capsys):
    from pcc.cli import main

    out = tmp_path / "cli"
    code = main(
        ["gs", "make-dataset", str(out), "--n-train", "2", "--n-test", "1", "--size", "24"]
        + ["--supersample", "1", "--n-points", "10", "--no-progress", "--json"]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["n_train"] == 2 and summary["size"] == 24
    assert len(read_nerf_synthetic(out, "train")) == 2
    rgb_only = tmp_path / "rgb"
    code = main(
        ["gs", "make-dataset", str(rgb_only), "--n-train", "2", "--n-test", "1", "--size", "24"]
        + ["--supersample", "1", "--n-points", "0", "--no-alpha", "--background", "0", "0", "1"]
        + ["--no-progress"]
    )
    assert code == 0 and not (rgb_only / "points3d.ply").exists()
    with_alpha = read_nerf_synthetic(out, "train", background=(0.0, 0.0, 1.0))[0]
    cam = read_nerf_synthetic(rgb_only, "train", background=(1.0, 0.0, 0.0))[0]
    assert cam.alpha is None  # RGB files: the reader's background no longer matters
    assert torch.allclose(cam.image, with_alpha.image, atol=1.0 / 255 + 1e-6)
