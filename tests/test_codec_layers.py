"""Layers, transforms, focal loss and thresholds of the learned block codec."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pcc.codec.layers import (
    GDN,
    AnalysisInceptionBlock,
    NonNegativeParametrizer,
    SeparableInception,
    SimplifiedGDN,
    lower_bound,
    make_activation,
)
from pcc.codec.loss import estimated_bits, focal_loss, rate_distortion_loss
from pcc.codec.threshold import (
    EMPTY_INDEX,
    rd_optimal_threshold,
    threshold_occupancy,
    threshold_value,
    topk_occupancy,
)
from pcc.codec.transforms import AnalysisTransform, SynthesisTransform


def _random_gdn_params(layer, channels, seed=0):
    g = torch.Generator().manual_seed(seed)
    beta = 0.5 + torch.rand(channels, generator=g)
    gamma = 0.2 * torch.rand(channels, channels, generator=g)
    with torch.no_grad():
        layer.beta.copy_(layer.beta_param.init(beta))
        layer.gamma.copy_(layer.gamma_param.init(gamma))
    return beta, gamma


def test_gdn_matches_the_formula_elementwise():
    c = 5
    layer = GDN(c)
    beta, gamma = _random_gdn_params(layer, c)
    x = torch.randn(2, c, 3, 4, 5)
    # y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)
    norm = torch.sqrt(beta.view(1, c, 1, 1, 1) + torch.einsum("ij,bjdhw->bidhw", gamma, x * x))
    torch.testing.assert_close(layer(x), x / norm, rtol=1e-5, atol=1e-6)
    inverse = GDN(c, inverse=True)
    _random_gdn_params(inverse, c)
    torch.testing.assert_close(inverse(x), x * norm, rtol=1e-5, atol=1e-6)


def test_simplified_gdn_matches_the_cenic_formula():
    c = 4
    layer = SimplifiedGDN(c)
    beta, gamma = _random_gdn_params(layer, c, seed=1)
    x = torch.randn(3, c, 2, 3, 4)
    # y_i = x_i / (beta_i + sum_j gamma_ij |x_j|): no square, no square root
    norm = beta.view(1, c, 1, 1, 1) + torch.einsum("ij,bjdhw->bidhw", gamma, x.abs())
    torch.testing.assert_close(layer(x), x / norm, rtol=1e-5, atol=1e-6)
    inverse = SimplifiedGDN(c, inverse=True)
    _random_gdn_params(inverse, c, seed=1)
    torch.testing.assert_close(inverse(x), x * norm, rtol=1e-5, atol=1e-6)


def test_gdn_parameters_stay_non_negative_under_optimisation():
    layer = GDN(3)
    opt = torch.optim.SGD(layer.parameters(), lr=10.0)
    x = torch.randn(4, 3, 2, 2, 2)
    for _ in range(5):  # a loss that pushes beta and gamma towards -infinity
        opt.zero_grad()
        (layer.beta_param(layer.beta).sum() + layer.gamma_param(layer.gamma).sum()).backward()
        opt.step()
    assert layer.beta_param(layer.beta).min() >= 1e-6 - 1e-9
    assert layer.gamma_param(layer.gamma).min() >= -1e-9
    assert torch.isfinite(layer(x)).all()


def test_lower_bound_passes_gradients_only_upwards():
    x = torch.tensor([-1.0, 2.0], requires_grad=True)
    lower_bound(x, 0.5).sum().backward()  # d/dx of a sum pushes down at the bound: blocked
    assert x.grad.tolist() == [0.0, 1.0]
    x.grad = None
    (-lower_bound(x, 0.5)).sum().backward()  # pushing upwards passes through
    assert x.grad.tolist() == [-1.0, -1.0]
    p = NonNegativeParametrizer(minimum=0.1)
    assert float(p(p.init(torch.tensor(0.3)))) == pytest.approx(0.3, rel=1e-5)


def test_make_activation_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown activation"):
        make_activation("tanh", 4)


def test_separable_inception_is_1_plus_2d_and_local():
    block = SeparableInception(8, 8)
    kernels = sorted(
        tuple(m.kernel_size) for m in block.modules() if isinstance(m, torch.nn.Conv3d)
    )
    assert kernels == sorted(
        [(1, 1, 1), (1, 1, 1), (1, 1, 3), (3, 3, 1), (3, 1, 1), (1, 3, 3), (1, 3, 1), (3, 1, 3)]
    )
    full = 8 * 8 * 27
    assert sum(p.numel() for p in block.parameters()) < full  # lighter than one full 3^3 conv
    # receptive field: a voxel influences at most its 3x3x3 neighbourhood
    x = torch.zeros(1, 8, 9, 9, 9)
    base = block(x)
    x[0, :, 4, 4, 4] = 1.0
    changed = (block(x) - base).abs().sum(1)[0] > 0
    idx = torch.nonzero(changed)
    assert len(idx) > 1
    assert idx.min() >= 3 and idx.max() <= 5
    with pytest.raises(ValueError, match="divisible by 4"):
        SeparableInception(8, 6)


def test_inception_block_halves_resolution():
    out = AnalysisInceptionBlock(4, 8)(torch.randn(2, 4, 8, 8, 8))
    assert out.shape == (2, 8, 4, 4, 4)


@pytest.mark.parametrize("activation", ["relu", "gdn", "cgdn"])
@pytest.mark.parametrize("inception", [True, False])
def test_transforms_shapes_and_gradients(activation, inception):
    g_a = AnalysisTransform((4, 8, 8), 6, activation, inception)
    g_s = SynthesisTransform((4, 8, 8), 6, activation)
    x = (torch.rand(2, 1, 32, 32, 32) < 0.05).float()
    y = g_a(x)
    assert y.shape == (2, 6, 4, 4, 4)  # 32^3 -> 4^3 after three stride-2 stages
    logits = g_s(y)
    assert logits.shape == (2, 1, 32, 32, 32)
    logits.sum().backward()
    grads = [p.grad for p in g_a.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    with pytest.raises(ValueError, match="divisible by 8"):
        g_a(torch.zeros(1, 1, 12, 12, 12))


def test_focal_loss_matches_the_geov2_formula():
    logits = torch.tensor([[-3.0, 0.0, 2.0, 9.0]])
    target = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    alpha, gamma = 0.75, 2.0
    p = torch.sigmoid(logits).clamp(1e-3, 0.999)
    expected = -(
        target * alpha * (1 - p) ** gamma * torch.log(p)
        + (1 - target) * (1 - alpha) * p**gamma * torch.log(1 - p)
    ).sum()
    torch.testing.assert_close(
        focal_loss(logits, target, alpha, gamma), expected, rtol=1e-4, atol=0
    )
    # a confident correct prediction costs (almost) nothing, a confident wrong one a lot
    good = focal_loss(torch.tensor([8.0]), torch.tensor([1.0]))
    bad = focal_loss(torch.tensor([-8.0]), torch.tensor([1.0]))
    assert good < 1e-5 < 1.0 < bad


def test_rate_distortion_loss_units():
    logits = torch.zeros(1, 1, 8, 8, 8)
    target = torch.zeros(1, 1, 8, 8, 8)
    target[0, 0, :2, :2, :2] = 1  # 8 occupied voxels
    likelihoods = {"y": torch.full((1, 4, 1, 1, 1), 0.5), "z": torch.full((1, 2, 1, 1, 1), 0.25)}
    assert float(estimated_bits(likelihoods)) == pytest.approx(4 * 1 + 2 * 2)
    terms = rate_distortion_loss(logits, target, likelihoods, lmbda=2.0)
    assert terms.occupied == 8
    assert float(terms.bits_per_occupied) == pytest.approx(8 / 8)
    fl = float(focal_loss(logits, target)) / 8
    assert float(terms.loss) == pytest.approx(fl + 2.0 * 1.0, rel=1e-6)


def test_topk_picks_the_largest_and_breaks_ties_by_index():
    logits = torch.tensor([0.5, 2.0, 2.0, -1.0, 2.0, 0.0, 1.0, 3.0]).view(2, 2, 2)
    mask = topk_occupancy(logits, 3).view(-1).tolist()
    # 3.0 at index 7, then two of the tie 2.0 at indices 1, 2, 4: the lowest indices win
    assert mask == [False, True, True, False, False, False, False, True]
    assert topk_occupancy(logits, 0).sum() == 0
    assert topk_occupancy(logits, 8).all()
    with pytest.raises(ValueError):
        topk_occupancy(logits, 9)


def test_threshold_occupancy_and_values():
    logits = torch.tensor([-5.0, -0.1, 0.1, 5.0]).view(1, 2, 2)
    assert threshold_value(0) == 0.0 and threshold_value(255) == 1.0
    assert threshold_occupancy(logits, 128).view(-1).tolist() == [False, False, True, True]
    assert threshold_occupancy(logits, 0).all()
    assert not threshold_occupancy(logits, EMPTY_INDEX).any()


def test_rd_optimal_threshold_recovers_a_separable_block():
    rng = np.random.default_rng(0)
    size = 8
    occupied = rng.random((size,) * 3) < 0.1
    # probabilities: occupied voxels in (0.7, 0.9), empty ones in (0.05, 0.3)
    p = np.where(
        occupied, rng.uniform(0.7, 0.9, occupied.shape), rng.uniform(0.05, 0.3, occupied.shape)
    )
    logits = torch.from_numpy(np.log(p / (1 - p)))
    points = np.argwhere(occupied)
    index = rd_optimal_threshold(logits, points)
    assert 0.3 <= threshold_value(index) < 0.7
    assert np.array_equal(threshold_occupancy(logits, index).numpy(), occupied)
    assert rd_optimal_threshold(logits, np.zeros((0, 3))) == EMPTY_INDEX


def test_rd_threshold_guard_gives_empty_block_when_nothing_beats_the_centroid():
    # one point; the only voxels with high probability are far away
    logits = torch.full((8, 8, 8), -10.0)
    logits[7, 7, 7] = 10.0
    index = rd_optimal_threshold(logits, np.array([[0, 0, 0]]))
    # single point at the centroid has error 0 < any reconstruction: the block decodes empty
    assert index == EMPTY_INDEX
    assert math.isclose(threshold_value(index), 1.0)
