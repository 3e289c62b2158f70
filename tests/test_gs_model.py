"""GaussianModel: shapes are checked, activations are right, masking/concatenation keep Gaussians intact."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import normal_gaussians

from pcc.gaussians.model import (
    SH_C0,
    GaussianModel,
    build_covariance,
    quaternion_to_rotation,
    rgb_to_sh_dc,
    rotation_to_quaternion,
    sh_degree_from_coeffs,
)


def random_model(n: int, degree: int = 3, seed: int = 0) -> GaussianModel:
    return normal_gaussians(n, degree, seed)


def test_shapes_are_validated():
    m = random_model(5)
    with pytest.raises(ValueError, match="log_scales"):
        GaussianModel(m.means, m.log_scales[:4], m.quats, m.opacity_logits, m.sh)
    with pytest.raises(ValueError, match="sh"):
        GaussianModel(m.means, m.log_scales, m.quats, m.opacity_logits, m.sh[:, :5])


def test_sh_degree_from_coefficient_count():
    assert [sh_degree_from_coeffs(k) for k in (1, 4, 9, 16)] == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        sh_degree_from_coeffs(10)


def test_rotation_is_orthonormal_and_quaternion_sign_invariant():
    q = torch.randn(200, 4, dtype=torch.float64)
    R = quaternion_to_rotation(q)
    eye = torch.eye(3, dtype=torch.float64).expand(200, 3, 3)
    assert torch.allclose(R @ R.transpose(1, 2), eye, atol=1e-12)
    assert torch.allclose(torch.linalg.det(R), torch.ones(200, dtype=torch.float64))
    assert torch.allclose(quaternion_to_rotation(-3 * q), R, atol=1e-12)
    # 90 degrees about z maps x to y.
    half = math.sqrt(0.5)
    Rz = quaternion_to_rotation(torch.tensor([[half, 0, 0, half]], dtype=torch.float64))[0]
    assert torch.allclose(
        Rz @ torch.tensor([1.0, 0, 0], dtype=torch.float64),
        torch.tensor([0.0, 1, 0], dtype=torch.float64),
    )


def test_rotation_to_quaternion_inverts():
    q = torch.randn(500, 4, dtype=torch.float64)
    R = quaternion_to_rotation(q)
    q2 = rotation_to_quaternion(R)
    assert torch.allclose(quaternion_to_rotation(q2), R, atol=1e-10)
    assert (q2[:, 0] >= 0).all()


def test_covariance_matches_definition():
    m = random_model(50).to(dtype=torch.float64)
    cov = build_covariance(m.log_scales, m.quats)
    R = quaternion_to_rotation(m.quats)
    S = torch.diag_embed(torch.exp(m.log_scales))
    assert torch.allclose(cov, R @ S @ S @ R.transpose(1, 2), atol=1e-12)
    eig = torch.linalg.eigvalsh(cov)
    expected = torch.sort(torch.exp(2 * m.log_scales), dim=1).values
    assert torch.allclose(eig, expected, rtol=1e-8, atol=1e-14)


def test_activations():
    m = random_model(10)
    assert torch.allclose(m.opacities, torch.sigmoid(m.opacity_logits))
    assert torch.allclose(m.scales, torch.exp(m.log_scales))
    assert torch.allclose(m.rotations.norm(dim=1), torch.ones(10))
    assert torch.allclose(rgb_to_sh_dc(torch.tensor([0.5])), torch.tensor([0.0]))
    assert math.isclose(float(rgb_to_sh_dc(torch.tensor([1.0]))) * SH_C0 + 0.5, 1.0, rel_tol=1e-6)


def test_mask_concat_and_degree_change():
    a, b = random_model(6, degree=3, seed=1), random_model(4, degree=1, seed=2)
    both = GaussianModel.concat([a, b])
    assert len(both) == 10 and both.sh_degree == 3
    assert torch.equal(both.sh[6:, 4:], torch.zeros(4, 12, 3))
    keep = torch.tensor([True, False] * 5)
    sub = both.mask(keep)
    assert len(sub) == 5 and torch.equal(sub.means, both.means[keep])
    assert both.with_sh_degree(0).sh.shape == (10, 1, 3)
    with pytest.raises(ValueError):
        both.mask(torch.tensor([True, False]))
    assert len(GaussianModel.empty()) == 0


def test_clone_is_independent_and_to_changes_dtype():
    a = random_model(3)
    b = a.clone()
    b.means += 1
    assert not torch.equal(a.means, b.means)
    assert a.to(dtype=torch.float64).dtype == torch.float64


def test_from_points_renders_given_colours():
    pts = torch.rand(20, 3)
    rgb = torch.rand(20, 3)
    m = GaussianModel.from_points(pts, rgb, sh_degree=2, opacity=0.25)
    assert m.sh.shape == (20, 9, 3)
    assert torch.allclose(m.sh[:, 0] * SH_C0 + 0.5, rgb, atol=1e-6)
    assert torch.allclose(m.opacities, torch.full((20,), 0.25), atol=1e-6)
    assert (m.scales > 0).all()


def test_opacity_logit_inverts_the_activation_and_stays_finite():
    from pcc.gaussians.model import OPACITY_EPS, opacity_activation, opacity_logit

    x = torch.linspace(-8, 8, 101, dtype=torch.float64)  # [101]
    torch.testing.assert_close(opacity_logit(opacity_activation(x)), x, rtol=0, atol=1e-9)
    ends = opacity_logit(torch.tensor([0.0, 1.0]))  # clamped, not +-inf
    assert torch.isfinite(ends).all() and ends[0] < -13 and ends[1] > 13
    assert opacity_logit(0.1) == pytest.approx(math.log(0.1 / 0.9), rel=1e-12)
    assert opacity_logit(0.0) == pytest.approx(math.log(OPACITY_EPS), rel=1e-6)
    assert isinstance(opacity_logit(0.5), float)
