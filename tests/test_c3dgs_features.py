"""Colour/shape features, covariance <-> rotation + scale, fake quantisation, Morton codes."""

from __future__ import annotations

import pytest
import torch
from conftest import normal_gaussians

from pcc.c3dgs.compressed_model import (
    _compact,
    fp16_morton_codes,
    half_to_ordered,
    morton_decode_keys,
    ordered_to_half,
)
from pcc.c3dgs.features import (
    color_features,
    color_features_to_sh,
    covariance_to_rotation_scale,
    full_covariance,
    join_scale,
    normalized_covariance,
    shape_features,
    split_scale,
)
from pcc.c3dgs.quantize import (
    FakeQuantizer,
    affine_qparams,
    dequantize,
    fake_half,
    fake_quantize,
    quantize,
    quantize_tensor,
)
from pcc.gaussians.model import GaussianModel, build_covariance


def _random_model(n=40, deg=3, seed=0) -> GaussianModel:
    return normal_gaussians(n, deg, seed)


def test_color_features_round_trip():
    m = _random_model()
    f = color_features(m)
    assert f.shape == (40, 48)
    assert torch.equal(color_features_to_sh(f, 3), m.sh)


def test_scale_split_join_round_trip():
    m = _random_model()
    d, mag = split_scale(m.log_scales)
    assert torch.allclose(d.norm(dim=1), torch.ones(40))
    assert torch.allclose(join_scale(d, mag), m.log_scales, atol=1e-5)


def test_normalized_covariance_has_unit_trace_and_matches_full_covariance():
    m = _random_model()
    sigma_n, log_mag = shape_features(m)
    assert torch.allclose(sigma_n[:, [0, 3, 5]].sum(1), torch.ones(40), atol=1e-5)
    full = full_covariance(sigma_n) * torch.exp(2 * log_mag)[:, None, None]
    assert torch.allclose(full, build_covariance(m.log_scales, m.quats), rtol=1e-4, atol=1e-9)


def test_covariance_to_rotation_scale_rebuilds_the_covariance():
    m = _random_model()
    sigma_n, _ = shape_features(m)
    quats, scales = covariance_to_rotation_scale(sigma_n)
    assert torch.allclose(scales.norm(dim=1), torch.ones(40), atol=1e-4)
    assert torch.all(quats[:, 0] >= 0)
    rebuilt = normalized_covariance(scales, quats)
    assert torch.allclose(rebuilt, sigma_n, atol=1e-5)


def test_affine_quantisation_error_is_at_most_half_a_step():
    x = torch.linspace(-3.7, 1.2, 1000)
    q, qp = quantize_tensor(x)
    assert q.dtype == torch.int8 and int(q.min()) == -128 and int(q.max()) == 127
    assert float((dequantize(q, qp) - x).abs().max()) <= qp.scale / 2 + 1e-6
    # all-negative ranges are not widened to include zero
    q2, qp2 = quantize_tensor(torch.tensor([-9.0, -2.0]))
    assert qp2.scale == pytest.approx(7.0 / 255, rel=1e-6)


def test_fake_quantisation_passes_gradients_inside_and_blocks_outside():
    qp = affine_qparams(0.0, 1.0)
    x = torch.tensor([-0.5, 0.1, 0.5, 0.9, 1.5], requires_grad=True)
    y = fake_quantize(x, qp)
    y.backward(torch.ones_like(y))
    assert torch.equal(x.grad, torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0]))
    assert torch.allclose(y[1:4], dequantize(quantize(x[1:4].detach(), qp), qp), atol=1e-7)
    y = y.detach()
    assert float(y[0]) == pytest.approx(0.0, abs=qp.scale) and float(y[4]) == pytest.approx(1.0)


def test_fake_quantizer_observer_tracks_a_moving_average():
    fq = FakeQuantizer(averaging_constant=0.5)
    fq(torch.tensor([0.0, 1.0]))
    fq(torch.tensor([0.0, 3.0]))
    assert fq.lo == 0.0 and fq.hi == pytest.approx(2.0)


def test_fake_half_rounds_forward_and_is_identity_backward():
    x = torch.tensor([1.0001, 2.0003], requires_grad=True)
    y = fake_half(x)
    y.sum().backward()
    assert torch.equal(y, x.detach().half().float())
    assert torch.equal(x.grad, torch.ones(2))


def test_fp16_keys_and_morton_codes_are_bijective_and_ordered():
    bits = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16)
    h = bits.view(torch.float16)
    keys = half_to_ordered(h)
    assert torch.equal(torch.sort(keys).values, torch.arange(65536))
    assert torch.equal(ordered_to_half(keys).view(torch.int16), bits)
    finite = torch.isfinite(h)
    order = torch.argsort(keys[finite])
    assert torch.all(h[finite][order][1:].float() >= h[finite][order][:-1].float())
    pts = torch.randn(100, 3).half()
    codes = fp16_morton_codes(pts)
    assert torch.equal(morton_decode_keys(codes), half_to_ordered(pts))


def test_compaction_renumbers_rows_in_first_use_order():
    idx = torch.tensor([5, 2, 5, 7, 2])
    rows, new = _compact(idx, 9)
    assert torch.equal(rows, torch.tensor([5, 2, 7]))
    assert torch.equal(new, torch.tensor([0, 1, 0, 2, 1]))


def test_our_adam_matches_torch_adam():
    from pcc.c3dgs.finetune import Adam

    g = torch.Generator().manual_seed(0)
    target = torch.randn(5, 3, generator=g)
    a = torch.randn(5, 3, generator=g, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    ours = Adam([{"params": [a], "lr": 0.01}], eps=1e-8)
    ref = torch.optim.Adam([b], lr=0.01, eps=1e-8)
    for _ in range(5):
        for p, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            ((p - target) ** 2 * torch.arange(1.0, 4.0)).sum().backward()
            opt.step()
    assert torch.allclose(a, b, atol=1e-6)
