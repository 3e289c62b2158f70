"""The CPU 3DGS trainer: optimiser, density control, checkpoints, a short run, real data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from pcc.data.synthetic import make_dataset
from pcc.errors import FormatError
from pcc.gaussians.densify import DensifyStats, densify_and_prune, reset_opacity
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.optim import GaussianAdam, exponential_lr
from pcc.gaussians.train import (
    PARAM_NAMES,
    TrainConfig,
    carve_points,
    evaluate_psnr,
    initial_model,
    load_checkpoint,
    load_training_views,
    mask_keep,
    scene_extent,
    train,
    train_from_folder,
)
from pcc.io.inria_model import load_model


@pytest.fixture(scope="module")
def tiny_scene(tmp_path_factory):
    """A 48 px still life with 8 training and 2 test views."""
    out = tmp_path_factory.mktemp("tiny_still_life")
    make_dataset(out, n_train=8, n_test=2, size=48, supersample=2, n_points=1000, progress=False)
    return out


# --------------------------------------------------------------------------- optimiser
def _params(n: int, sh_rest: int = 15) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "means": torch.randn(n, 3, generator=g),
        "log_scales": torch.full((n, 3), math.log(0.01)),
        "quats": torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
        "opacity_logits": torch.zeros(n),
        "sh_dc": torch.zeros(n, 1, 3),
        "sh_rest": torch.zeros(n, sh_rest, 3),
    }


def _lrs() -> dict[str, float]:
    return dict.fromkeys(PARAM_NAMES, 0.01)


def test_adam_matches_the_textbook_update():
    """Kingma & Ba's update with bias correction, computed independently in float64."""
    params = _params(5)
    lr, (b1, b2), eps = 0.01, (0.9, 0.999), 1e-15
    ours = GaussianAdam(params, _lrs(), betas=(b1, b2), eps=eps)
    ref = {k: v.double().clone() for k, v in params.items()}
    m = {k: torch.zeros_like(v) for k, v in ref.items()}
    v2 = {k: torch.zeros_like(v) for k, v in ref.items()}
    for step in range(1, 5):
        for k in PARAM_NAMES:
            g = torch.sin(torch.arange(ref[k].numel(), dtype=torch.float64) * 0.7 + step)
            g = g.reshape(ref[k].shape)
            ours.params[k].grad = g.float()
            m[k] = b1 * m[k] + (1 - b1) * g
            v2[k] = b2 * v2[k] + (1 - b2) * g * g
            m_hat, v_hat = m[k] / (1 - b1**step), v2[k] / (1 - b2**step)
            ref[k] = ref[k] - lr * m_hat / (v_hat.sqrt() + eps)
        ours.step()
    for k in PARAM_NAMES:
        torch.testing.assert_close(ours.params[k].detach().double(), ref[k], rtol=1e-5, atol=1e-6)
    # a parameter without a gradient is left alone
    before = ours.params["means"].detach().clone()
    ours.zero_grad()
    ours.step()
    assert torch.equal(ours.params["means"], before)


def test_adam_append_keep_carry_moments():
    opt = GaussianAdam(_params(3), _lrs())
    for k in PARAM_NAMES:
        opt.params[k].grad = torch.ones_like(opt.params[k])
    opt.step()
    m_before = opt.exp_avg["means"].clone()
    opt.append({k: v[:2].clone() for k, v in _params(2).items()})
    assert len(opt) == 5
    assert torch.equal(opt.exp_avg["means"][:3], m_before)
    assert torch.count_nonzero(opt.exp_avg["means"][3:]) == 0
    opt.keep(torch.tensor([True, False, True, True, False]))
    assert len(opt) == 3 and all(p.requires_grad and p.is_leaf for p in opt.params.values())
    assert torch.equal(opt.exp_avg["means"][:2], m_before[[0, 2]])
    with pytest.raises(ValueError):
        opt.keep(torch.ones(2, dtype=torch.bool))


def test_position_learning_rate_schedule():
    assert exponential_lr(0, 1.6e-4, 1.6e-6, 1000) == pytest.approx(1.6e-4)
    assert exponential_lr(500, 1.6e-4, 1.6e-6, 1000) == pytest.approx(1.6e-5)
    assert exponential_lr(1000, 1.6e-4, 1.6e-6, 1000) == pytest.approx(1.6e-6)
    assert exponential_lr(5000, 1.6e-4, 1.6e-6, 1000) == pytest.approx(1.6e-6)


def test_schedule_scaled_from_inria():
    cfg = TrainConfig(iterations=30000).resolved()
    assert (cfg.densify_from, cfg.densify_until, cfg.densify_interval) == (500, 15000, 100)
    assert cfg.sh_increase_interval == 1000 and cfg.opacity_reset_interval == 6000
    short = TrainConfig(iterations=3000).resolved()
    assert (short.densify_from, short.densify_until, short.densify_interval) == (50, 1500, 25)
    assert short.sh_increase_interval == 100 and short.opacity_reset_interval == 600
    tiny = TrainConfig(iterations=150).resolved()
    assert tiny.opacity_reset_interval > tiny.iterations  # too short to recover from a reset


# --------------------------------------------------------------------------- density control
def _density_case() -> tuple[GaussianAdam, DensifyStats]:
    """Five Gaussians: 0 small+high grad, 1 large+high grad, 2 low grad, 3 transparent,
    4 huge in world space."""
    p = _params(5)
    p["log_scales"][1] = math.log(0.2)  # > percent_dense * extent = 0.05
    p["log_scales"][4] = math.log(1.0)  # > 0.1 * extent = 0.5
    p["opacity_logits"][3] = -8.0  # sigmoid < 0.005
    p["sh_dc"][:, 0, 0] = torch.arange(5, dtype=torch.float32)  # tag rows by colour
    opt = GaussianAdam(p, _lrs())
    stats = DensifyStats.zeros(5)
    grad_px = torch.zeros(5, 2)
    grad_px[0, 0] = grad_px[1, 0] = 1e-3  # NDC: * W/2 = 0.05 >> 0.0002
    grad_px[2, 0] = 1e-7
    stats.update(grad_px, torch.tensor([3, 3, 3, 3, 0]), width=100, height=100)
    return opt, stats


def test_stats_use_ndc_gradients_of_visible_gaussians():
    _, stats = _density_case()
    assert stats.mean_grad()[0] == pytest.approx(1e-3 * 50)
    assert stats.denom.tolist() == [1, 1, 1, 1, 0]
    assert stats.max_radii.tolist() == [3, 3, 3, 3, 0]


def test_clone_split_prune_counts():
    opt, stats = _density_case()
    before_means = opt.params["means"].detach().clone()
    counts = densify_and_prune(opt, stats, extent=5.0, prune_huge=True)
    assert counts == {"cloned": 1, "split": 1, "pruned": 2, "before": 5, "after": 5}
    tags = opt.params["sh_dc"][:, 0, 0].tolist()
    # kept: original 0 and 2, the clone of 0, two halves of 1 (3 and 4 pruned)
    assert sorted(tags) == [0.0, 0.0, 1.0, 1.0, 2.0]
    clone_rows = [i for i, t in enumerate(tags) if t == 0.0]
    assert torch.equal(opt.params["means"][clone_rows[0]], opt.params["means"][clone_rows[1]])
    halves = [i for i, t in enumerate(tags) if t == 1.0]
    for i in halves:
        assert opt.params["log_scales"][i, 0].exp().item() == pytest.approx(0.2 / 1.6)
        assert not torch.equal(opt.params["means"][i], before_means[1])  # sampled around it
        assert (opt.params["means"][i] - before_means[1]).norm() < 4 * 0.2 * math.sqrt(3)
    assert torch.count_nonzero(opt.exp_avg["means"]) == 0  # new rows start with zero moments


def test_huge_gaussians_survive_before_first_reset():
    opt, stats = _density_case()
    counts = densify_and_prune(opt, stats, extent=5.0, prune_huge=False)
    assert counts["pruned"] == 1  # only the transparent one


def test_max_gaussians_caps_growth():
    opt, stats = _density_case()
    counts = densify_and_prune(opt, stats, extent=5.0, max_gaussians=6)
    assert counts["cloned"] + counts["split"] == 1
    assert counts["after"] == 6 - counts["pruned"]
    opt, stats = _density_case()
    counts = densify_and_prune(opt, stats, extent=5.0, max_gaussians=5)
    assert counts["cloned"] == counts["split"] == 0


def test_opacity_reset():
    opt = GaussianAdam(_params(4), _lrs())
    opt.params["opacity_logits"].grad = torch.ones(4)
    opt.step()
    with torch.no_grad():
        opt.params["opacity_logits"][:] = torch.tensor([-6.0, 0.0, 2.0, 5.0])
    reset_opacity(opt)
    op = torch.sigmoid(opt.params["opacity_logits"].detach())
    assert float(op.max()) == pytest.approx(0.01, rel=1e-5)
    assert float(op[0]) == pytest.approx(torch.sigmoid(torch.tensor(-6.0)).item())
    assert torch.count_nonzero(opt.exp_avg["opacity_logits"]) == 0


# --------------------------------------------------------------------------- training
def test_initial_model_from_points_and_random():
    xyz = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0]], dtype=np.float64)
    rgb = np.full((4, 3), 0.25, dtype=np.float32)
    model, how = initial_model((xyz, rgb), TrainConfig())
    assert len(model) == 3 and "points" in how  # the duplicate is dropped
    assert model.sh.shape == (3, 16, 3)
    assert torch.allclose(model.opacities, torch.full((3,), 0.1))
    rand, how = initial_model(None, TrainConfig(n_random_points=50))
    assert len(rand) == 50 and rand.means.abs().max() <= 1.3 and "random" in how
    with pytest.raises(ValueError):
        initial_model(None, TrainConfig(init="points"))
    with pytest.raises(ValueError):
        initial_model(None, TrainConfig(init="carve"))  # no cameras with masks


def test_mask_carving_keeps_the_object_and_drops_empty_space(tiny_scene):
    from pcc.data.synthetic import StillLife, trace_pixels

    train_views, _ = load_training_views(tiny_scene)
    pts = trace_pixels(StillLife(), train_views[0])
    surface = pts[np.isfinite(pts[..., 0])]
    keep, colour = mask_keep(train_views, surface)
    assert keep.mean() > 0.9  # silhouettes are anti-aliased: a few edge points may go
    sky = surface + np.array([0.0, 0.0, 1.2])  # floating above the table, seen as background
    assert mask_keep(train_views, sky)[0].mean() < 0.05
    xyz, rgb = carve_points(train_views, 500, seed=0)
    assert xyz.shape == (500, 3) and rgb.shape == (500, 3)
    assert mask_keep(train_views, xyz)[0].all()
    model, how = initial_model(None, TrainConfig(n_random_points=500), train_views)
    assert "carved" in how and len(model) == 500


def test_short_training_raises_psnr(tiny_scene, tmp_path):
    train_views, test_views = load_training_views(tiny_scene)
    assert len(train_views) == 8 and len(test_views) == 2
    cfg = TrainConfig(iterations=100, densify_until=80, test_every=0)
    from pcc.io.datasets import load_initial_points

    points = load_initial_points(tiny_scene)
    init, _ = initial_model(points, cfg)
    before = np.mean(evaluate_psnr(init, train_views))
    out = tmp_path / "model"
    result = train(
        train_views, cfg, test_cameras=test_views, init_points=points, model_dir=out, progress=False
    )
    assert result.train_psnr > before + 4.0
    assert result.test_psnr > before + 3.0
    losses = [h["loss"] for h in result.history]
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])
    # INRIA layout, loadable, identical to the returned model
    assert (out / "point_cloud" / "iteration_100" / "point_cloud.ply").is_file()
    assert (out / "cameras.json").is_file() and (out / "cfg_args").is_file()
    loaded = load_model(out)
    assert torch.equal(loaded.means, result.model.means)
    assert torch.equal(loaded.sh, result.model.sh)
    assert loaded.sh_degree == 3
    densified = [h for h in result.history if "densify" in h]
    assert densified and any(h["densify"]["cloned"] + h["densify"]["split"] > 0 for h in densified)


def test_checkpoint_resumes_to_the_same_state(tiny_scene, tmp_path):
    cfg = TrainConfig(
        iterations=30,
        densify_from=4,
        densify_interval=5,
        densify_until=28,
        opacity_reset_interval=12,
        sh_increase_interval=5,
        test_every=0,
        checkpoint_every=15,
    )
    straight = train_from_folder(tiny_scene, tmp_path / "a", cfg, progress=False)
    train_views, test_views = load_training_views(tiny_scene)
    from pcc.io.datasets import load_initial_points

    points = load_initial_points(tiny_scene)
    half = train(
        train_views, cfg, init_points=points, model_dir=tmp_path / "b", stop_at=15, progress=False
    )
    assert half.iteration == 15
    ckpt = tmp_path / "b" / "checkpoints" / "chkpnt15.pth"
    state = load_checkpoint(ckpt)
    assert state["iteration"] == 15
    resumed = train(
        train_views, None, init_points=points, model_dir=tmp_path / "c", resume=ckpt, progress=False
    )
    assert resumed.iteration == 30
    for k, v in straight.model.tensors().items():
        assert torch.equal(v, getattr(resumed.model, k)), k
    assert [h["n"] for h in straight.history] == [h["n"] for h in resumed.history]


def test_bad_checkpoint_is_a_format_error(tmp_path):
    bad = tmp_path / "x.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(FormatError):
        load_checkpoint(bad)
    torch.save({"hello": 1}, bad)
    with pytest.raises(FormatError):
        load_checkpoint(bad)


def test_scene_extent_is_nerfpp_radius():
    from pcc.io.cameras import make_camera

    cams = [make_camera([x, 0, 0], [0, 0, 1], 8, 8) for x in (-2.0, 2.0)]
    assert scene_extent(cams) == pytest.approx(2.2)


def test_empty_model_cannot_train():
    with pytest.raises(ValueError):
        train([], TrainConfig())
    assert GaussianModel.empty().sh_degree == 3


# --------------------------------------------------------------------------- real data
@pytest.mark.slow
def test_lego_subset_loss_falls_and_psnr_rises(shared_data, tmp_path):
    lego = shared_data / "image_sets" / "nerf_synthetic_lego_subset"
    if not (lego / "transforms_train_subset.json").is_file():
        pytest.skip("lego subset not present")
    train_views, test_views = load_training_views(
        lego, resolution=64, train_split="train_subset", test_split=None, holdout=8
    )
    assert len(train_views) == 10 and len(test_views) == 2
    cfg = TrainConfig(iterations=200, n_random_points=4000, test_every=0)
    init, _ = initial_model(None, cfg)
    before_train = np.mean(evaluate_psnr(init, train_views))
    before_test = np.mean(evaluate_psnr(init, test_views))
    result = train(train_views, cfg, test_cameras=test_views, progress=False)
    losses = [h["loss"] for h in result.history]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert result.train_psnr > before_train + 3.0
    assert result.test_psnr > before_test + 1.0


def test_cli_train_and_resume(tiny_scene, tmp_path, capsys):
    from pcc.cli import main

    out = tmp_path / "cli_model"
    args = ["gs", "train", str(tiny_scene), "--out", str(out), "--iterations", "12"]
    args += ["--checkpoint-every", "6", "--test-every", "6", "--no-progress", "--json"]
    assert main(args + ["--threads", "1"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["iteration"] == 12 and summary["test_psnr"] > 0
    assert (out / "point_cloud" / "iteration_12" / "point_cloud.ply").is_file()
    log = json.loads((out / "training_log.json").read_text())
    assert log["n_gaussians"] == summary["n_gaussians"] and log["sh_degree"] == 3
    resumed = tmp_path / "resumed"
    ckpt = out / "checkpoints" / "chkpnt6.pth"
    args = ["gs", "train", str(tiny_scene), "--out", str(resumed), "--resume", str(ckpt)]
    assert main(args + ["--no-progress", "--json"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["n_gaussians"] == summary["n_gaussians"]
    assert load_model(resumed).means.equal(load_model(out).means)
