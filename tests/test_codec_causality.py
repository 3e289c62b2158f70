"""Every entropy model is causal: the parameters of the elements decoded up to element i do not
depend on y_hat at i (with the side information z_hat fixed, as the decoder has it first).
The same check must catch intentionally leaky variants, so it cannot pass vacuously."""

from __future__ import annotations

import pytest
import torch
from conftest import wake_refinement
from torch import nn

from pcc.codec.entropy import ENTROPY_MODELS, build_entropy_model
from pcc.codec.entropy.context import raster_mask

CHANNELS = 4
SPATIAL = (3, 3, 3)


def _elements():
    """Perturbed elements (c, d, h, w): every position of the first and last channel, and every
    channel of the centre position."""
    out = [
        (c, d, h, w)
        for c in (0, CHANNELS - 1)
        for d in range(3)
        for h in range(3)
        for w in range(3)
    ]
    out += [(c, 1, 1, 1) for c in range(1, CHANNELS - 1)]
    return out


def causality_report(model, y_hat: torch.Tensor) -> tuple[int, bool]:
    """(number of parameters that changed although decoded no later than the perturbed element,
    whether any parameter changed at all) over all perturbations of ``_elements``."""
    with torch.no_grad():
        side = model.side_information(y_hat)
        steps = model.decoding_steps(tuple(y_hat.shape[1:]))  # [C, D, H, W]
        base = model.conditional_parameters(y_hat, side)
        violations, any_change = 0, False
        for element in _elements():
            perturbed = y_hat.clone()
            perturbed[(0, *element)] += 3.0
            new = model.conditional_parameters(perturbed, side)
            changed = torch.zeros(steps.shape, dtype=torch.bool)
            for a, b in zip(base, new, strict=True):
                changed |= ((a - b).abs() > 1e-6 * (1 + a.abs()))[0]
            must_not_change = steps <= steps[element]
            violations += int((changed & must_not_change).sum())
            any_change |= bool(changed.any())
    return violations, any_change


def _latent() -> torch.Tensor:
    g = torch.Generator().manual_seed(11)
    return torch.round(torch.randn(1, CHANNELS, *SPATIAL, generator=g) * 3)


@pytest.mark.parametrize("name", ENTROPY_MODELS)
def test_every_entropy_model_is_causal(name):
    torch.manual_seed(0)
    model = wake_refinement(build_entropy_model(name, CHANNELS)).eval()
    violations, any_change = causality_report(model, _latent())
    assert violations == 0
    # models with context really use it (the check is not vacuous for them)
    assert any_change == (name in ("channel", "context", "attention", "hybrid"))


def test_decoding_steps_follow_each_models_order():
    shape = (CHANNELS, *SPATIAL)
    steps = {n: build_entropy_model(n, CHANNELS).decoding_steps(shape) for n in ENTROPY_MODELS}
    assert steps["hyperprior"].unique().tolist() == [0]
    assert steps["channel"][:, 0, 0, 0].tolist() == [0, 1, 2, 3]  # one slice per step
    assert steps["context"][:, 2, 2, 2].tolist() == [26] * CHANNELS  # raster, all channels
    assert steps["hybrid"][1, 0, 0, 1].item() == 1 * 4 + 1  # raster position 1, slice 1


def _leak_context(model):
    model.context.mask.fill_(1.0)  # unmasked: the centre and later positions leak


def _leak_hybrid(model):
    model.context.mask.copy_(raster_mask(model.kernel, "B").expand_as(model.context.mask))


def _leak_attention(model):
    # let every position attend to itself as well
    model.offsets = torch.cat([model.offsets, torch.zeros(1, 3, dtype=torch.int64)])
    taps = model.offsets.shape[0]
    for block in model.blocks:
        heads = block.attention.heads
        block.attention.offset_bias = nn.Parameter(torch.zeros(taps, heads))
        kv = block.attention.offset_kv
        block.attention.offset_kv = nn.Parameter(torch.cat([kv, kv[:1]]))
    model._neighbour_cache.clear()


class _OwnValueLeak(nn.Module):
    """Wrap a model so that the mean also sees y_hat at the element itself (a plain leak)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def side_information(self, y):
        return self.inner.side_information(y)

    def decoding_steps(self, shape):
        return self.inner.decoding_steps(shape)

    def conditional_parameters(self, y_hat, side):
        mean, scale = self.inner.conditional_parameters(y_hat, side)
        return mean + 0.01 * y_hat, scale


@pytest.mark.parametrize(
    "name, leak",
    [("context", _leak_context), ("hybrid", _leak_hybrid), ("attention", _leak_attention)],
)
def test_the_check_catches_unmasked_variants(name, leak):
    torch.manual_seed(0)
    model = wake_refinement(build_entropy_model(name, CHANNELS)).eval()
    leak(model)
    violations, _ = causality_report(model, _latent())
    assert violations > 0


@pytest.mark.parametrize("name", ENTROPY_MODELS)
def test_the_check_catches_a_leak_of_the_element_itself(name):
    torch.manual_seed(0)
    model = _OwnValueLeak(wake_refinement(build_entropy_model(name, CHANNELS)).eval())
    violations, _ = causality_report(model, _latent())
    assert violations >= len(_elements())
