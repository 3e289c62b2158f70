"""Fewer quantisation levels per field and grid positions (.pcc3dgs version 2)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from pcc.c3dgs import storage_pcc
from pcc.c3dgs.compressed_model import IndexedGaussians, PositionGrid, finalize
from pcc.c3dgs.presets import ConfigError, apply_overrides, get_preset, quantization_bits
from pcc.c3dgs.quantize import QMIN, affine_qparams, fake_quantize, qmax, quantize_tensor
from pcc.c3dgs.storage_pcc import decode, encode
from pcc.errors import BitstreamError
from pcc.io.cameras import make_camera


def _indexed(n=400, m_c=30, m_g=20, seed=0) -> IndexedGaussians:
    g = torch.Generator().manual_seed(seed)
    return IndexedGaussians(
        means=torch.randn(n, 3, generator=g),
        opacity_logits=torch.randn(n, generator=g),
        log_magnitude=torch.randn(n, generator=g) - 3,
        color_table=0.3 * torch.randn(m_c, 16, 3, generator=g),
        color_indices=torch.randint(0, m_c, (n,), generator=g),
        scale_table=torch.rand(m_g, 3, generator=g),
        rotation_table=torch.randn(m_g, 4, generator=g),
        shape_indices=torch.randint(0, m_g, (n,), generator=g),
    )


@pytest.mark.parametrize("bits", [1, 4, 5, 8])
def test_codes_use_exactly_2_to_the_bits_levels(bits):
    x = torch.linspace(-2.0, 3.0, 1000)
    codes, qp = quantize_tensor(x, bits)
    assert int(codes.min()) == QMIN and int(codes.max()) == qmax(bits)
    assert len(torch.unique(codes)) == 2**bits
    # the error is at most half a step of the coarser grid
    err = ((codes.to(torch.float32) - qp.zero_point) * qp.scale - x).abs().max()
    assert float(err) <= 0.5 * 5.0 / (2**bits - 1) * 1.0001
    # fake quantisation (training) gives the same values as quantise + dequantise (storage)
    fq = fake_quantize(x, qp, bits)
    assert torch.allclose(fq, (codes.to(torch.float32) - qp.zero_point) * qp.scale, atol=1e-6)
    with pytest.raises(ValueError):
        qmax(9)


def test_fake_quantize_clamps_to_the_bits_range_with_zero_gradient_outside():
    qp = affine_qparams(0.0, 1.0, bits=4)
    x = torch.tensor([-0.5, 0.5, 1.5], requires_grad=True)
    y = fake_quantize(x, qp, bits=4)
    assert y.detach().tolist() == pytest.approx([0.0, 0.5, 1.0], abs=0.04)
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


def test_fewer_bits_make_smaller_files_that_round_trip():
    ind = _indexed()
    full = finalize(ind)
    low = finalize(ind, bits={"opacity": 4, "log_magnitude": 5, "color_rest": 4})
    assert len(torch.unique(low.opacity)) <= 16
    assert len(encode(low)) < len(encode(full))
    assert decode(encode(low)).equal(low)
    # the 8-bit fields are untouched
    assert torch.equal(low.color_dc, full.color_dc) and torch.equal(low.rotation, full.rotation)


@pytest.mark.parametrize("sort", [True, False], ids=["morton", "unsorted"])
@pytest.mark.parametrize("bits", [1, 12, 21])
def test_grid_positions_round_trip_bit_exactly_as_version_2(sort, bits):
    ind = _indexed()
    q = finalize(ind, sort_morton=sort, position_bits=bits)
    assert q.position_grid is not None and q.means.dtype == torch.float32
    data = encode(q)
    assert data[5] == 2  # version 2 when positions are on a grid
    back = decode(data)
    assert back.equal(q) and back.position_grid == q.position_grid
    # positions are within half a grid step of the originals
    order_free_err = (q.means.double().sort(0).values - ind.means.double().sort(0).values).abs()
    assert float(order_free_err.max()) <= 0.5 * q.position_grid.step * 1.0001 + 1e-6


def test_grid_positions_are_smaller_than_fp16_at_12_bits():
    ind = _indexed(n=3000, m_c=50, m_g=40)
    fp16 = encode(finalize(ind))
    grid = encode(finalize(ind, position_bits=12))
    assert len(grid) < len(fp16)


def test_fp16_models_still_write_version_1_and_version_1_decodes():
    q = finalize(_indexed())
    data = encode(q)
    assert data[5] == 1 and q.position_grid is None
    assert decode(data).equal(q)


def test_position_grid_fits_and_maps_exactly():
    means = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, -1.0], [0.5, 0.25, 0.0]])
    grid = PositionGrid.fit(means, 8)
    coords = grid.coords(means)
    assert int(coords.min()) == 0 and int(coords.max()) == 255
    assert torch.equal(grid.coords(grid.positions(coords)), coords)
    with pytest.raises(ValueError):
        PositionGrid((0.0, 0.0, 0.0), 1.0, 22)


def _with_grid_header(data: bytes, step: float, bits: int) -> bytes:
    """``data`` (a version 2 file) with its grid step and bits replaced and a fresh CRC."""
    import zlib

    pos = storage_pcc._HEADER.size + 6 * storage_pcc._QP.size
    ox, oy, oz, _, _ = storage_pcc._GRID.unpack_from(data, pos)
    body = bytearray(data[:-4])
    body[pos : pos + storage_pcc._GRID.size] = storage_pcc._GRID.pack(ox, oy, oz, step, bits)
    return bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)))


@pytest.mark.parametrize(
    "step, bits, message",
    [
        (0.0, 12, "position grid"),
        (float("nan"), 12, "position grid"),
        (0.1, 40, "position grid"),
        (0.1, 3, "outside the position grid"),
    ],
)
def test_bad_grid_headers_are_bitstream_errors(step, bits, message):
    data = encode(finalize(_indexed(), position_bits=12))
    with pytest.raises(BitstreamError, match=message):
        decode(_with_grid_header(data, step, bits), "bad.pcc3dgs")


def test_grid_flag_in_a_version_1_file_is_rejected():
    import zlib

    data = bytearray(encode(finalize(_indexed(), position_bits=12))[:-4])
    data[5] = 1
    data = bytes(data) + struct.pack("<I", zlib.crc32(bytes(data)))
    with pytest.raises(BitstreamError, match="version 1"):
        decode(data, "bad.pcc3dgs")


def test_presets_bits_and_validation():
    paper = get_preset("paper")
    assert set(quantization_bits(paper).values()) == {8} and paper.position_bits is None
    cfg = apply_overrides(get_preset("default"), {"bits_opacity": "4", "position_bits": "none"})
    assert quantization_bits(cfg)["opacity"] == 4 and cfg.position_bits is None
    for bad in ({"bits_opacity": 0}, {"bits_color_rest": 9}, {"position_bits": 22}):
        with pytest.raises(ConfigError):
            apply_overrides(get_preset("default"), bad)


def test_morton_sorted_grid_positions_are_coded_as_gaps():
    q = finalize(_indexed(n=2000), position_bits=10)
    stream = storage_pcc.encode_grid_positions(q.position_grid.coords(q.means).numpy())
    assert stream[0] == storage_pcc.POS_MORTON_GAPS
    coords = storage_pcc.decode_grid_positions(stream, len(q), 10)
    assert np.array_equal(coords, q.position_grid.coords(q.means).numpy())


def test_finetuning_simulates_the_stored_levels():
    from pcc.c3dgs.finetune import FinetuneConfig, QuantAwareModel

    ind = _indexed()
    qa = QuantAwareModel(ind, FinetuneConfig(iterations=1), {"opacity": 3, "color_rest": 4})
    with torch.no_grad():
        dense = qa.dense()
    opacity = torch.sigmoid(dense.opacity_logits)
    assert len(torch.unique(opacity.round(decimals=5))) <= 8
    assert len(torch.unique(dense.sh[:, 1:])) <= 16
    assert len(torch.unique(dense.sh[:, :1])) > 16  # DC keeps 8 bits


def test_pipeline_stores_the_preset_levels_and_grid():
    from conftest import random_scene

    from pcc.c3dgs.pipeline import compress

    model = random_scene(120, seed=2)
    cams = [make_camera((0.0, -4.0, 1.0), (0.0, 0.0, 0.0), 32, 24)]
    from pcc.c3dgs.pipeline import with_rendered_targets

    cams = with_rendered_targets(model, cams)
    cfg = apply_overrides(
        get_preset("tiny"),
        {"bits_opacity": 4, "bits_log_magnitude": 5, "position_bits": 11, "finetune.iterations": 2},
    )
    q = compress(model, cams, cfg, progress=False).quantized
    assert int(q.opacity.max()) <= qmax(4) and int(q.log_magnitude.max()) <= qmax(5)
    assert q.position_grid is not None and q.position_grid.bits == 11
    assert decode(encode(q)).equal(q)
