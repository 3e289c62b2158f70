"""Sensitivity (c3dgs calc_importance) and pruning masks."""

from __future__ import annotations

import math

import torch

from pcc.c3dgs.prune import default_density_radius, density_prune_mask, sensitivity_prune_mask
from pcc.c3dgs.sensitivity import compute_sensitivity
from pcc.gaussians.model import SH_C0, GaussianModel
from pcc.gaussians.render import render
from pcc.io.cameras import make_camera


def _scene(log_scales, means) -> GaussianModel:
    n = len(means)
    sh = torch.zeros(n, 4, 3)
    sh[:, 0] = 0.5
    sh[:, 1:] = 0.1
    return GaussianModel(
        means=torch.tensor(means, dtype=torch.float32),
        log_scales=torch.tensor(log_scales, dtype=torch.float32)[:, None].repeat(1, 3),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
        opacity_logits=torch.zeros(n),
        sh=sh,
    )


CAM = make_camera((0.0, -5.0, 0.0), (0.0, 0.0, 0.0), 48, 48, fov_x_deg=50.0)


def test_unseen_gaussian_has_zero_sensitivity_and_coverage_increases_it():
    # 0: small, visible; 1: behind the camera; 2: larger, visible (no overlap with 0)
    model = _scene(
        [math.log(0.05), math.log(0.1), math.log(0.15)],
        [[-0.8, 0.0, 0.0], [0.0, -10.0, 0.0], [0.8, 0.0, 0.0]],
    )
    sens = compute_sensitivity(model, [CAM], progress=False)
    assert sens.color.shape == (3, 12) and sens.shape.shape == (3, 6)
    assert float(sens.color[1].abs().max()) == 0.0
    assert float(sens.shape[1].abs().max()) == 0.0
    ci = sens.color_importance
    assert 0 < ci[0] < ci[2]
    assert sens.shape_importance[0] > 0 and sens.shape_importance[2] > 0
    keep = sensitivity_prune_mask(ci, 0.0)
    assert keep.tolist() == [True, False, True]
    assert sensitivity_prune_mask(ci, -1.0).all()


def test_dc_sensitivity_is_c0_times_mean_blend_weight():
    model = _scene([math.log(0.2), math.log(0.3)], [[0.0, 0.0, 0.0], [0.1, 1.0, 0.05]])
    sens = compute_sensitivity(model, [CAM, CAM], progress=False)
    for i in range(2):
        colors = torch.zeros(2, 3)
        colors[i] = 1.0
        weight = render(model, CAM, colors=colors).image[..., 0].sum() / (48 * 48)
        # the DC coefficient of channel c is feature 0*3 + c
        assert torch.allclose(sens.color[i, :3], SH_C0 * weight.expand(3), rtol=1e-4)


def test_sensitivity_grows_monotonically_with_screen_size():
    values = []
    for s in (0.03, 0.06, 0.12, 0.24):
        model = _scene([math.log(s)], [[0.0, 0.0, 0.0]])
        values.append(float(compute_sensitivity(model, [CAM], progress=False).color_importance[0]))
    assert all(b > a for a, b in zip(values, values[1:], strict=False))


def test_density_pruning_removes_the_dense_clump_only():
    g = torch.Generator().manual_seed(0)
    spread = torch.rand(400, 3, generator=g) * 10.0
    clump = 5.0 + 0.05 * torch.randn(60, 3, generator=g)
    means = torch.cat([spread, clump])
    res = density_prune_mask(means, radius=0.5)
    assert res.radius == 0.5
    assert res.counts.shape == (460,)
    assert not res.keep[400:].any()  # every clump member is pruned
    assert res.keep[:400].float().mean() > 0.95
    assert res.threshold >= 3.0
    assert default_density_radius(means) > 0
