"""The trainer's options for real captures on a CPU: time budget, coarse to fine, background
sphere, image width cap."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
import torch

from pcc.data.synthetic import make_dataset
from pcc.gaussians import train_loop
from pcc.gaussians.train import (
    TrainConfig,
    ViewPyramid,
    downscale_view,
    initial_model,
    load_training_views,
    scene_extent,
    shell_points,
    train,
)
from pcc.io.cameras import make_camera
from pcc.io.datasets import load_initial_points


@pytest.fixture(scope="module")
def tiny_scene(tmp_path_factory):
    """A 48 px still life with 8 training and 2 test views."""
    out = tmp_path_factory.mktemp("tiny_still_life_budget")
    make_dataset(out, n_train=8, n_test=2, size=48, supersample=2, n_points=600, progress=False)
    return out


class FakeClock:
    """``time.perf_counter`` that advances ``dt`` per call (``process_time`` is the real one)."""

    def __init__(self, dt: float) -> None:
        self.now, self.dt = 0.0, dt

    def perf_counter(self) -> float:
        self.now += self.dt
        return self.now

    @staticmethod
    def process_time() -> float:
        import time

        return time.process_time()


def test_time_budget_runs_the_whole_schedule_on_progress(tiny_scene, monkeypatch):
    """Under a budget the schedule follows the used fraction of it: with a clock that moves a
    fixed amount per call the run takes a predictable number of steps, ends exactly at the
    schedule's end, and densifies / resets / raises the SH degree on schedule steps."""
    clock = FakeClock(0.1)
    monkeypatch.setattr(
        train_loop,
        "time",
        types.SimpleNamespace(
            **{"perf_counter": clock.perf_counter, "process_time": clock.process_time}
        ),
    )
    views, test = load_training_views(tiny_scene)
    points = load_initial_points(tiny_scene)
    cfg = TrainConfig(iterations=200, minutes=0.25, test_every=50, densify_until=150)
    result = train(views, cfg, test_cameras=test, init_points=points, progress=False)
    assert result.finished and result.test_psnr is not None and result.train_psnr is not None
    # 15 s of budget; the clock moves 0.1 s per call, a few calls per step
    assert 10 < result.iteration < 100
    steps = [h["schedule_step"] for h in result.history if "schedule_step" in h]
    assert steps == sorted(steps) and steps[-1] == 200
    assert result.seconds <= 15.0 + 1.0
    tests = [h for h in result.history if "test_psnr" in h]
    assert len(tests) == 4  # schedule steps 50, 100, 150, 200
    assert any("densify" in h for h in result.history)
    assert result.history[-1]["sh"] == 3  # degree raised every 7 schedule steps


def test_time_budget_stops_on_a_real_clock(tiny_scene):
    views, _ = load_training_views(tiny_scene)
    cfg = TrainConfig(iterations=100_000, minutes=3.0 / 60, test_every=0)
    result = train(views, cfg, init_points=load_initial_points(tiny_scene), progress=False)
    assert result.finished and result.iteration < 100_000
    assert result.seconds < 3.0 + 2.0  # one step past the budget at most (each is ~10 ms)


def test_cpu_time_budget(tiny_scene):
    """``budget_clock="cpu"`` counts this process's CPU time (load-independent measurements)."""
    views, _ = load_training_views(tiny_scene)
    cfg = TrainConfig(iterations=100_000, minutes=2.0 / 60, budget_clock="cpu", test_every=0)
    result = train(views, cfg, init_points=load_initial_points(tiny_scene), progress=False)
    assert result.finished and result.iteration < 100_000
    assert 1.0 < result.cpu_seconds < 2.0 + 2.0


def test_budget_and_schedule_are_validated():
    with pytest.raises(ValueError):
        TrainConfig(budget_clock="sundial").resolved()
    with pytest.raises(ValueError):
        TrainConfig(minutes=0).resolved()
    with pytest.raises(ValueError):
        TrainConfig(upscale_at=(0.5, 0.2)).resolved()
    with pytest.raises(ValueError):
        TrainConfig(upscale_at=(1.0,)).resolved()
    cfg = TrainConfig(upscale_at=(0.15, 0.35)).resolved()
    assert [cfg.level_at(p) for p in (0.0, 0.149, 0.15, 0.3, 0.35, 0.99)] == [2, 2, 1, 1, 0, 0]
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again.upscale_at == (0.15, 0.35) and again.minutes is None


def test_view_pyramid_halves_size_and_keeps_the_mean(tiny_scene):
    views, _ = load_training_views(tiny_scene)
    pyr = ViewPyramid(views)
    full, half, quarter = pyr.view(0, 0), pyr.view(0, 1), pyr.view(0, 2)
    assert full is views[0] and pyr.view(0, 1) is half  # built once
    assert (half.width, half.height, quarter.width) == (24, 24, 12)
    assert half.fx == pytest.approx(full.fx / 2) and half.cx == pytest.approx(full.cx / 2)
    assert half.image.shape == (24, 24, 3) and half.alpha.shape == (24, 24)
    assert float(half.image.mean()) == pytest.approx(float(full.image.mean()), abs=1e-5)
    # 2x2 block means
    assert torch.allclose(half.image[0, 0], full.image[:2, :2].mean(dim=(0, 1)), atol=1e-6)
    assert downscale_view(full, 0) is full


def test_coarse_to_fine_trains_small_first(tiny_scene):
    views, test = load_training_views(tiny_scene)
    cfg = TrainConfig(iterations=40, upscale_at=(0.25, 0.5), test_every=0)
    result = train(views, cfg, init_points=load_initial_points(tiny_scene), progress=False)
    widths = {h["iteration"]: h["width"] for h in result.history if "width" in h}
    assert widths[10] == 12 and widths[20] == 24 and widths[30] == 48 and widths[40] == 48
    assert result.finished and np.isfinite(result.train_psnr)


def _ring_cameras(n: int = 8, size: int = 32, colour=(0.2, 0.4, 0.6)) -> list:
    cams = []
    for k in range(n):
        a = 2 * np.pi * k / n
        cam = make_camera([3 * np.cos(a), 3 * np.sin(a), 0.5], [0, 0, 0], size, size, fov_x_deg=60)
        cam.image = torch.tensor(colour, dtype=torch.float32).expand(size, size, 3).clone()
        cams.append(cam)
    return cams


def test_shell_points_surround_the_scene_and_take_the_photo_colour():
    cams = _ring_cameras()
    radius = 2.0 * scene_extent(cams)
    xyz, rgb = shell_points(cams, 2000, radius, seed=0)
    centre = np.stack([c.center for c in cams]).mean(axis=0)
    assert 100 < len(xyz) <= 2000  # only directions some view sees
    assert np.allclose(np.linalg.norm(xyz - centre, axis=1), radius)
    assert np.allclose(rgb, [0.2, 0.4, 0.6], atol=1e-6)
    # every kept point projects inside at least one view
    inside = np.zeros(len(xyz), dtype=bool)
    for cam in cams:
        uv, z = cam.project(xyz)
        inside |= (z > 0) & (uv >= 0).all(1) & (uv < 32).all(1)
    assert inside.all()


def test_background_sphere_only_without_masks():
    cams = _ring_cameras()
    pts = (np.random.default_rng(0).normal(size=(50, 3)) * 0.2, np.full((50, 3), 0.5))
    cfg = TrainConfig(n_random_points=500)
    model, how = initial_model(pts, cfg, cams)
    assert len(model) > 50 + 100 and "sphere" in how
    none, how = initial_model(pts, TrainConfig(shell_points=0), cams)
    assert len(none) == 50 and "sphere" not in how
    for cam in cams:
        cam.alpha = torch.ones(32, 32)
    masked, how = initial_model(pts, cfg, cams)
    assert len(masked) == 50  # masks say the background is empty


def test_max_width_caps_only_wider_images(tiny_scene):
    small, _ = load_training_views(tiny_scene, max_width=24)
    assert small[0].width == 24 and small[0].image.shape == (24, 24, 3)
    same, _ = load_training_views(tiny_scene, max_width=400)
    assert same[0].width == 48
    explicit, _ = load_training_views(tiny_scene, resolution=32, max_width=24)
    assert explicit[0].width == 32


def test_cli_time_budget_and_bad_schedule(tiny_scene, tmp_path, capsys):
    from pcc.cli import main

    out = tmp_path / "timed"
    args = ["gs", "train", str(tiny_scene), "--out", str(out), "--minutes", "0.05"]
    assert main(args + ["--threads", "1", "--no-progress", "--json", "--test-every", "0"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    log = json.loads((out / "training_log.json").read_text())
    assert log["finished"] and log["config"]["minutes"] == 0.05
    assert log["config"]["upscale_at"] == [0.15, 0.35]  # a timed run's default
    assert summary["command_seconds"] < 3.0 + 3.0
    with pytest.raises(SystemExit):
        main(
            [
                "gs",
                "train",
                str(tiny_scene),
                "--out",
                str(tmp_path / "x"),
                "--upscale-at",
                "0.5,0.2",
            ]
        )
