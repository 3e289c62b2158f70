"""pcc.codec.anatomy: the file breakdown adds up, the rate split equals the coder's estimate and
is close to the real stream, and the measured causality matches each model's decoding order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import wake_refinement

from pcc.codec import anatomy
from pcc.codec.entropy import ENTROPY_MODELS, build_entropy_model
from pcc.codec.model import BlockCodec
from pcc.codec.pipeline import block_batch, encode_point_cloud
from pcc.errors import BitstreamError
from pcc.pointcloud.blocks import partition_blocks

CHANNELS = 8
SPATIAL = (3, 3, 3)


def _latent(seed: int = 3, batch: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, CHANNELS, *SPATIAL, generator=g) * 2.5


def _model(name: str):
    torch.manual_seed(0)
    return wake_refinement(build_entropy_model(name, CHANNELS, hyper_channels=4)).eval()


def _model_any(name: str):
    torch.manual_seed(0)
    options = {} if name == "gaussian" else {"hyper_channels": 4}
    return wake_refinement(build_entropy_model(name, CHANNELS, **options)).eval()


@pytest.mark.parametrize("name", ENTROPY_MODELS)
def test_rate_breakdown_equals_the_estimate_and_is_close_to_the_real_stream(name):
    model = _model_any(name)
    y = _latent()
    parts = anatomy.rate_breakdown(model, y)
    assert parts.total_bits == pytest.approx(model.estimate_bits(y), rel=1e-12)
    assert parts.header_bits == 40
    assert (parts.z_bits > 0) == (name != "gaussian")
    real = 8 * len(model.compress(y))
    assert abs(real - parts.total_bits) <= 0.01 * parts.total_bits + 64
    per_element = anatomy.element_bits(model, y)
    assert per_element["y"].shape == y.shape
    assert ("z" in per_element) == (name != "gaussian")
    # the float likelihoods differ from the integer tables only by the snapping of scales and
    # means (and by escapes in the far tails, which a unit-scale latent does not reach)
    small = y / 2.5
    float_total = sum(float(v.sum()) for v in anatomy.element_bits(model, small).values())
    table = anatomy.rate_breakdown(model, small)
    assert float_total == pytest.approx(table.z_bits + table.y_bits, rel=0.05)


def test_container_breakdown_adds_up_to_the_file():
    rng = np.random.default_rng(0)
    coords = np.unique(rng.integers(0, 64, size=(3000, 3)), axis=0)
    codec = BlockCodec(filters=[4, 8, 8], latent_channels=8).eval()
    codec.update(force=True)
    data = encode_point_cloud(coords, codec).data
    parts = anatomy.container_breakdown(data)
    assert parts["total"] == len(data)
    assert sum(v for k, v in parts.items() if k != "total") == len(data)
    assert parts["block_octree"] == 1  # 8 blocks of 32^3 in a 64^3 grid: one octree byte
    assert parts["latents"] > 5 and parts["header"] > 50 and parts["framing"] > 14
    with pytest.raises(BitstreamError):
        anatomy.container_breakdown(data[:-3])


def test_decoded_before_follows_the_decoding_order():
    shape = (CHANNELS, *SPATIAL)
    element = (5, 1, 1, 1)  # channel 5 (slice 2 of 4), raster position 13
    assert not anatomy.decoded_before(_model("hyperprior"), shape, element).any()
    ctx = anatomy.decoded_before(_model("context"), shape, element)
    assert int(ctx.sum()) == 13 * CHANNELS  # every channel of the 13 earlier positions
    chan = anatomy.decoded_before(_model("channel"), shape, element)
    assert chan[:4].all() and not chan[4:].any()  # slices 0-1 everywhere, nothing else
    hyb = anatomy.decoded_before(_model("hybrid"), shape, element)
    assert int(hyb.sum()) == 13 * CHANNELS + 4  # plus the earlier slices at the position
    with pytest.raises(ValueError, match="outside"):
        anatomy.decoded_before(_model("context"), shape, (0, 3, 0, 0))


@pytest.mark.parametrize("name", ENTROPY_MODELS)
def test_causal_view_finds_no_leak_and_real_dependencies(name):
    model = _model_any(name)
    y_hat = model(_latent()).y_hat
    view = anatomy.causal_view(model, y_hat, (5, 2, 2, 2))  # last position
    assert view.leaks == 0
    assert view.labels[(5, 2, 2, 2)] == anatomy.TARGET
    assert view.by_position().shape == (CHANNELS, 27)
    if name in ("gaussian", "hyperprior"):
        assert view.used == 0 and view.decoded == 0
    else:
        assert 0 < view.used <= view.decoded


def test_causal_view_reports_a_leak_of_an_unmasked_context():
    model = _model("context")
    model.context.mask.fill_(1.0)  # the convolution now sees the centre and later positions
    y_hat = model(_latent()).y_hat
    view = anatomy.causal_view(model, y_hat, (0, 1, 1, 1))
    assert view.leaks > 0
    assert view.labels[(0, 1, 1, 1)] == anatomy.LEAK  # it even reads itself


def test_the_window_limits_what_the_context_reads():
    torch.manual_seed(0)
    model = wake_refinement(build_entropy_model("context", 4, kernel=3)).eval()
    y = torch.randn(2, 4, 4, 4, 4) * 2
    y_hat = model(y).y_hat
    view = anatomy.causal_view(model, y_hat, (0, 2, 2, 2))  # raster position 42 of 64
    assert view.decoded == 42 * 4
    assert view.used == 13 * 4  # the 13 type-A taps of a 3^3 kernel, all inside the grid
    corner = anatomy.causal_view(model, y_hat, (0, 3, 3, 3))  # the last position
    assert corner.decoded == 63 * 4 and corner.used == 7 * 4  # taps with offsets <= 0 only
    reads = anatomy.positions_read(model, y_hat)
    assert reads.shape == (4, 4, 4)
    assert reads[0, 0, 0] == 0 and reads.max() == 13


def test_block_batch_is_the_occupancy_of_each_block():
    coords = np.array([[0, 0, 0], [33, 1, 2], [40, 40, 40]])
    blocks = partition_blocks(coords, 5)
    x = block_batch(blocks, 32)
    assert x.shape == (len(blocks), 1, 32, 32, 32) and x.dtype == torch.float32
    assert float(x.sum()) == 3.0
