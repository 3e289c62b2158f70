"""The six entropy models: contract, bit-exact round trips, estimate vs real bits, errors."""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F
from conftest import wake_refinement

from pcc.codec.entropy import ENTROPY_MODELS, build_entropy_model, entropy_model_class
from pcc.codec.entropy.base import EntropyOutput
from pcc.codec.entropy.context import MaskedConv3d, raster_mask, raster_mask_reference
from pcc.errors import BitstreamError

CHANNELS = 8


def learned_looking_latent(batch: int = 2, channels: int = CHANNELS, size: int = 4, seed: int = 0):
    """Spatially correlated latent with per-channel scales from tiny to large -> [B, C, S, S, S]."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(batch, channels, size + 2, size + 2, size + 2, generator=g)
    smooth = F.avg_pool3d(noise, 3, stride=1) * 2.5  # [B, C, S, S, S], correlated neighbours
    scales = torch.logspace(-1.5, 1.0, channels).view(1, -1, 1, 1, 1)
    offsets = torch.linspace(-2, 2, channels).view(1, -1, 1, 1, 1)
    return smooth * scales + offsets


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {n: wake_refinement(build_entropy_model(n, CHANNELS)).eval() for n in ENTROPY_MODELS}


def test_registry_names_and_errors():
    assert ENTROPY_MODELS == ("gaussian", "hyperprior", "channel", "context", "attention", "hybrid")
    for name in ENTROPY_MODELS:
        assert entropy_model_class(name).name == name
    with pytest.raises(ValueError, match="unknown entropy model"):
        build_entropy_model("cabac", 8)
    with pytest.raises(ValueError, match="unknown option"):
        build_entropy_model("context", 8, kernal=3)
    model = build_entropy_model("hybrid", 8, slices=2, kernel=3, hyper_channels=4)
    assert model.sizes == [4, 4] and model.hyper_channels == 4


@pytest.mark.parametrize("name", ENTROPY_MODELS)
@pytest.mark.parametrize("batch", [1, 3])
def test_compress_decompress_is_bit_exact_and_matches_eval_forward(models, name, batch):
    model = models[name]
    y = learned_looking_latent(batch=batch, seed=batch)
    y[0, -1, 0, 0, 0] = 900.0  # an outlier far beyond any table: escape path
    data = model.compress(y)
    shape = tuple(y.shape[1:]) if batch == 1 else tuple(y.shape)
    y_hat = model.decompress(data, shape)
    assert y_hat.shape == y.shape and y_hat.dtype == torch.float32
    with torch.no_grad():
        out = model(y)
    assert torch.equal(y_hat, out.y_hat)  # decoder == encoder-side reconstruction, bit for bit
    assert y_hat[0, -1, 0, 0, 0] >= 899.0
    assert (y_hat - y).abs().max() <= 0.5 + 1e-5  # quantisation error of a rounding


@pytest.mark.parametrize("name", ENTROPY_MODELS)
def test_estimated_bits_match_real_bits(models, name):
    model = models[name]
    y = learned_looking_latent(batch=4, seed=7)
    real = 8 * len(model.compress(y))
    estimate = model.estimate_bits(y)
    assert abs(real - estimate) <= 0.01 * estimate + 64


@pytest.mark.parametrize("name", ENTROPY_MODELS)
def test_training_forward_contract(name):
    torch.manual_seed(1)
    model = build_entropy_model(name, CHANNELS).train()
    y = learned_looking_latent(batch=2).requires_grad_()
    out = model(y)
    assert isinstance(out, EntropyOutput)
    assert out.y_hat.shape == y.shape
    # y_hat is straight-through rounded on a grid around a predicted mean (the hyperprior's
    # anchor for the context models), never the noisy latent itself
    assert not torch.allclose(out.y_hat, y)
    for p in out.likelihoods.values():
        assert torch.all(p > 0) and torch.all(p <= 1)
    assert set(out.likelihoods) == ({"y"} if name == "gaussian" else {"y", "z"})
    (out.bits() + out.y_hat.square().sum()).backward()
    assert y.grad is not None and y.grad.abs().sum() > 0
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert set(missing) <= {n for n, _ in model.named_parameters() if n.endswith("quantiles")}
    aux = model.aux_loss()
    assert torch.isfinite(aux) and (name == "gaussian") == (float(aux.detach()) == 0.0)
    assert len(model.aux_parameters()) == (0 if name == "gaussian" else 1)
    assert len(model.aux_parameters()) + len(model.main_parameters()) == len(
        list(model.parameters())
    )


@pytest.mark.parametrize("name", ENTROPY_MODELS)
def test_decoder_from_a_weights_only_checkpoint(models, name):
    """A separate decoder instance loaded with torch.load(weights_only=True) decodes bit-exactly."""
    encoder = models[name]
    buffer = io.BytesIO()
    torch.save(encoder.state_dict(), buffer)
    buffer.seek(0)
    decoder = build_entropy_model(name, CHANNELS)
    decoder.load_state_dict(torch.load(buffer, weights_only=True))
    decoder.eval()
    decoder.update(force=True)
    y = learned_looking_latent(batch=2, seed=3)
    data = encoder.compress(y)
    assert torch.equal(decoder.decompress(data, tuple(y.shape)), encoder.decompress(data, y.shape))


@pytest.mark.parametrize("name", ENTROPY_MODELS)
def test_corrupt_truncated_and_foreign_streams_raise(models, name):
    model = models[name]
    y = learned_looking_latent(batch=2, seed=4)
    data = model.compress(y)
    with pytest.raises(BitstreamError):
        model.decompress(data[: len(data) // 2], y.shape)
    flipped = bytearray(data)
    flipped[-1] ^= 0x01
    with pytest.raises(BitstreamError):
        model.decompress(bytes(flipped), y.shape)
    with pytest.raises(BitstreamError):
        model.decompress(b"", y.shape)
    other = models["gaussian" if name != "gaussian" else "hyperprior"]
    with pytest.raises(BitstreamError, match="model code"):
        other.decompress(data, y.shape)
    with pytest.raises(ValueError):
        model.decompress(data, (CHANNELS + 1, 4, 4, 4))
    with pytest.raises(ValueError):
        model.compress(y[:, :3])


def test_wrong_shape_is_detected_as_leftover_data(models):
    model = models["hyperprior"]
    y = learned_looking_latent(batch=4, seed=5)
    data = model.compress(y)
    with pytest.raises(BitstreamError):
        model.decompress(data, (1, CHANNELS, 4, 4, 4))  # fewer latents than written
    with pytest.raises(BitstreamError):
        model.decompress(data, (16, CHANNELS, 4, 4, 4))  # more: reads past the end


def test_latents_other_than_4_cubed(models):
    """Any spatial size works (odd sizes too): z is ceil(D/2) and h_s output is cropped."""
    for name in ("hyperprior", "context", "hybrid"):
        model = models[name]
        y = torch.randn(1, CHANNELS, 3, 5, 2) * 3
        assert torch.equal(model.decompress(model.compress(y), (CHANNELS, 3, 5, 2)), model(y).y_hat)


@pytest.mark.parametrize("name", ["context", "attention", "hybrid"])
def test_serial_parameters_equal_parallel_training_parameters(models, name):
    model = models[name]
    y_hat = torch.round(learned_looking_latent(batch=2, seed=6))
    with torch.no_grad():
        side = model.side_information(y_hat)
        mean_p, scale_p = model.conditional_parameters(y_hat, side)
        mean_s, scale_s = model.serial_parameters(y_hat, side)
    assert torch.allclose(mean_p, mean_s, atol=1e-5)
    assert torch.allclose(scale_p, scale_s, atol=1e-5)


def test_windowed_attention_equals_dense_masked_reference(models):
    model = models["attention"]
    y_hat = torch.round(learned_looking_latent(batch=2, size=5, seed=8))
    with torch.no_grad():
        side = model.side_information(y_hat)
        windowed = model.conditional_parameters(y_hat, side)
        dense = model.dense_parameters(y_hat, side)
    assert torch.allclose(windowed[0], dense[0], atol=1e-5)
    assert torch.allclose(windowed[1], dense[1], atol=1e-5)


@pytest.mark.parametrize("kernel", [1, 3, 5, 7])
def test_raster_masks_match_loop_reference(kernel):
    for kind in ("A", "B"):
        mask = raster_mask(kernel, kind)
        assert torch.equal(mask, raster_mask_reference(kernel, kind))
        centre = kernel // 2
        assert mask[centre, centre, centre] == (1.0 if kind == "B" else 0.0)
        assert int(mask.sum()) == (kernel**3 - 1) // 2 + (kind == "B")


@pytest.mark.parametrize("kind", ["A", "B"])
def test_masked_conv_output_ignores_later_inputs(kind):
    torch.manual_seed(2)
    conv = MaskedConv3d(3, 4, 5, kind)
    x = torch.randn(1, 3, 4, 4, 4)
    base = conv(x)
    d, h, w = 1, 2, 1
    x2 = x.clone()
    x2[:, :, d, h, w] += 5.0
    changed = (conv(x2) - base).abs().amax(dim=(0, 1)) > 1e-6  # [D, H, W]
    order = torch.arange(64).view(4, 4, 4)
    p = order[d, h, w]
    limit = p if kind == "A" else p - 1  # A: outputs <= p unchanged; B: outputs < p unchanged
    assert not changed[order <= limit].any()
    assert changed[order > p].any()
    assert changed[d, h, w] == (kind == "B")


def test_gaussian_prior_learns_a_known_entropy():
    """Fitting the factorised Gaussian to N(2, 3^2) data approaches its discrete entropy."""
    torch.manual_seed(3)
    model = build_entropy_model("gaussian", 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        y = 2 + 3 * torch.randn(8, 2, 4, 4, 4)
        opt.zero_grad()
        out = model(y)
        (out.bits() / y.numel()).backward()
        opt.step()
    model.eval()
    y = 2 + 3 * torch.randn(64, 2, 4, 4, 4)
    bits_per_element = (8 * len(model.compress(y)) - 40) / y.numel()
    # differential entropy of N(0, 3^2) in bits; the integer quantisation adds ~1/(24 sigma^2)
    expected = 0.5 * torch.log2(torch.tensor(2 * torch.pi * torch.e * 9.0)).item()
    assert abs(bits_per_element - expected) < 0.05
    assert torch.allclose(model.mean, torch.full((2,), 2.0), atol=0.2)


def test_non_finite_latents_are_refused(models):
    y = learned_looking_latent(batch=1)
    y[0, 0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        models["hyperprior"].compress(y)
    with pytest.raises(ValueError, match="NaN"):
        models["context"].estimate_bits(y)


def _correlated_latents(n: int, g: torch.Generator) -> torch.Tensor:
    """Smooth (spatially correlated) latents [n, 8, 4, 4, 4] with channel scales 0.3 .. 3."""
    noise = torch.randn(n, CHANNELS, 6, 6, 6, generator=g)
    scales = torch.logspace(-0.5, 0.5, CHANNELS).view(1, -1, 1, 1, 1)
    return F.avg_pool3d(noise, 3, stride=1) * 6.0 * scales


@pytest.mark.slow
def test_spatial_context_beats_the_hyperprior_on_correlated_latents():
    """After the same short training, real bits: context < hyperprior (the context is used)."""
    bits = {}
    held_out = _correlated_latents(128, torch.Generator().manual_seed(9))
    for name in ("hyperprior", "context"):
        torch.manual_seed(0)
        model = build_entropy_model(name, CHANNELS)
        opt = torch.optim.Adam(model.main_parameters(), lr=3e-3)
        aux = torch.optim.Adam(model.aux_parameters(), lr=1e-2)
        g = torch.Generator().manual_seed(1)
        for _ in range(150):
            y = _correlated_latents(16, g)
            loss = model(y).bits() / y.numel()
            opt.zero_grad()
            aux.zero_grad()
            (loss + model.aux_loss()).backward()
            opt.step()
            aux.step()
        model.eval()
        data = model.compress(held_out)
        assert torch.equal(model.decompress(data, tuple(held_out.shape)), model(held_out).y_hat)
        bits[name] = 8 * len(data) / held_out.numel()
    assert bits["context"] < 0.9 * bits["hyperprior"], bits


@pytest.mark.parametrize("name", ["context", "attention", "hybrid"])
def test_a_fresh_context_model_is_its_hyperprior(name):
    """The refinement starts at zero: with the hyperprior's weights, a context model rounds
    around the same anchors (identical y_hat, so identical distortion) and codes every residual
    under the same Gaussian (identical likelihoods and, up to float summation order, bits). Only
    what the context learns changes the rate, so its savings are at equal distortion."""
    torch.manual_seed(3)
    hyper = build_entropy_model("hyperprior", CHANNELS).eval()
    model = build_entropy_model(name, CHANNELS)
    missing, unexpected = model.load_state_dict(hyper.state_dict(), strict=False)
    assert not unexpected and missing  # only the context's own layers are new
    model.eval()
    y = learned_looking_latent(batch=3, seed=12)
    with torch.no_grad():
        ref, out = hyper(y), model(y)
    assert torch.equal(out.y_hat, ref.y_hat)
    assert torch.equal(out.likelihoods["z"], ref.likelihoods["z"])
    assert torch.allclose(out.likelihoods["y"], ref.likelihoods["y"], rtol=1e-6, atol=0)
    assert model.estimate_bits(y) == pytest.approx(hyper.estimate_bits(y), rel=1e-9)
    assert torch.equal(model.decompress(model.compress(y), tuple(y.shape)), ref.y_hat)


def test_hybrid_group_mask_matches_a_loop_reference():
    """Output group k sees every input channel strictly before the centre (raster order) and,
    at the centre, only the input channels of the slices before k."""
    from pcc.codec.entropy.hybrid import group_mask

    sizes, kernel = [3, 2, 2], 3
    channels, c = sum(sizes), kernel // 2
    slice_of = [k for k, size in enumerate(sizes) for _ in range(size)]
    reference = torch.zeros(2 * channels, channels, kernel, kernel, kernel)
    for out in range(2 * channels):
        for inp in range(channels):
            for i in range(kernel):
                for j in range(kernel):
                    for m in range(kernel):
                        before = (i, j, m) < (c, c, c)
                        centre = (i, j, m) == (c, c, c)
                        earlier_slice = slice_of[inp] < slice_of[out // 2]
                        if before or (centre and earlier_slice):
                            reference[out, inp, i, j, m] = 1.0
    assert torch.equal(group_mask(kernel, sizes), reference)
