"""Whole point clouds through the learned codec: container, bit-exact decoding, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pcc.codec.model import BlockCodec
from pcc.codec.pipeline import (
    bits_per_point,
    compress_point_cloud,
    decompress_point_cloud,
    encode_point_cloud,
    encoder_reconstruction,
    read_header,
)
from pcc.errors import BitstreamError, FormatError
from pcc.pointcloud import container
from pcc.pointcloud.shapes import shape_at

TINY = {"block_size": 32, "filters": [4, 8, 8], "latent_channels": 8}


@pytest.fixture(scope="module")
def model(tiny_hyperprior):
    return tiny_hyperprior


@pytest.fixture(scope="module")
def cloud():
    return shape_at(3, 0, bits=6)  # [N, 3] int32 in [0, 64), about a thousand points


def test_whole_cloud_round_trip_is_bit_exact(model, cloud):
    encoded = encode_point_cloud(cloud, model)
    decoded = decompress_point_cloud(encoded.data, model)
    expected = encoder_reconstruction(encoded, model)
    assert decoded.dtype == np.int32 and decoded.shape[1] == 3
    assert np.array_equal(decoded, expected)  # decoder == encoder's reconstruction
    # top-k: every block decodes exactly its point count, so the totals agree
    assert len(decoded) == len(cloud)
    header, streams = read_header(encoded.data)
    assert header["n_blocks"] == len(encoded.blocks) and header["mode"] == "topk"
    assert header["bits"] == 6 and sum(encoded.side) == len(cloud)
    assert "blocks_per_stream" not in header and "quant_step" not in header  # compact header
    assert len(streams) == 3  # block octree, counts, one latent stream for all blocks
    real_latent_bits = 8 * len(streams[2])
    assert abs(real_latent_bits - encoded.estimated_bits) <= 0.01 * encoded.estimated_bits + 64


def test_stage_functions_report_where_the_bytes_go(model, cloud):
    """encode_point_cloud is its stages: the stream sizes it reports are the container's
    streams, they add up to the file, and calling the stages by hand gives the same streams."""
    from pcc.codec.pipeline import block_stage, latent_stage, quantise_stage, side_stage

    encoded = encode_point_cloud(cloud, model, mode="rd", blocks_per_stream=2, quant_step=2.0)
    _, streams = read_header(encoded.data)
    sizes = encoded.stream_bytes
    assert sizes["block_octree"] == len(streams[0]) and sizes["side_info"] == len(streams[1])
    assert sizes["latents"] == sum(len(s) for s in streams[2:]) > 0
    assert sum(sizes.values()) == len(encoded.data) and 0 < sizes["container"] < 400
    coords, position = quantise_stage(np.asarray(cloud), 2.0)
    assert position["quant_step"] == 2.0 and len(coords) < len(cloud)
    blocks, bits, octree = block_stage(coords, model.block_size, None)
    assert octree == streams[0] and len(blocks) == len(encoded.blocks)
    latents, _, y_hat = latent_stage(model, blocks, 16, 2)
    assert latents == streams[2:] and torch.equal(y_hat, encoded.y_hat)
    side, side_bytes = side_stage(model, blocks, y_hat, "rd", 16)
    assert side == encoded.side and side_bytes == streams[1]


def test_per_block_streams_and_batching_do_not_change_the_result(model, cloud):
    one = decompress_point_cloud(compress_point_cloud(cloud, model), model)
    data = compress_point_cloud(cloud, model, blocks_per_stream=2, encode_batch=3)
    _, streams = read_header(data)
    assert len(streams) > 3
    assert np.array_equal(decompress_point_cloud(data, model), one)


def test_rd_threshold_mode_round_trip(model):
    cloud = shape_at(4, 1, bits=6)
    encoded = encode_point_cloud(cloud, model, mode="rd")
    assert read_header(encoded.data)[0]["mode"] == "rd"
    assert all(0 <= s <= 255 for s in encoded.side)
    decoded = decompress_point_cloud(encoded.data, model)
    assert np.array_equal(decoded, encoder_reconstruction(encoded, model))


def test_block_origins_survive_large_coordinates(model):
    # two far-apart clusters in a 10-bit grid: the block octree must place them back
    rng = np.random.default_rng(0)
    a = rng.integers(0, 32, (200, 3))
    b = rng.integers(0, 32, (200, 3)) + np.array([960, 512, 64])
    cloud = np.unique(np.concatenate([a, b]), axis=0)
    decoded = decompress_point_cloud(compress_point_cloud(cloud, model, bits=10), model)
    assert len(decoded) == len(cloud)
    assert decoded[:, 0].min() < 32 and decoded[:, 0].max() >= 960
    assert set(map(tuple, decoded >> 5)) == set(map(tuple, cloud >> 5))


def test_header_extra_is_kept_but_cannot_override(model, cloud):
    data = compress_point_cloud(
        cloud, model, header_extra={"transform": {"scale": 2.0}, "bits": 99}
    )
    header, _ = read_header(data)
    assert header["transform"] == {"scale": 2.0} and header["bits"] == 6
    # optional keys the decoder reads cannot be smuggled in either
    extra = {"quant_step": 4.0, "origin": [1, 2, 3], "blocks_per_stream": 1}
    data = compress_point_cloud(cloud, model, header_extra=extra)
    header, _ = read_header(data)
    assert not set(extra) & set(header)
    assert np.array_equal(
        decompress_point_cloud(data, model),
        decompress_point_cloud(compress_point_cloud(cloud, model), model),
    )


def test_corrupt_and_truncated_streams_raise_clear_errors(model, cloud):
    data = compress_point_cloud(cloud, model)
    with pytest.raises(BitstreamError):
        decompress_point_cloud(data[:-7], model)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    with pytest.raises(BitstreamError):
        decompress_point_cloud(bytes(flipped), model)
    codec, header, streams = container.unpack(data)
    # a well-formed container whose latent stream is cut short
    short = container.pack(codec, header, [streams[0], streams[1], streams[2][:3]])
    with pytest.raises(BitstreamError):
        decompress_point_cloud(short, model)
    # counts that do not match the block count
    bad_counts = container.pack(codec, header, [streams[0], streams[1] + b"\x05", streams[2]])
    with pytest.raises(BitstreamError, match="point-count stream has"):
        decompress_point_cloud(bad_counts, model)
    too_wide = container.pack(codec, header, [streams[0], b"\x19" + streams[1][1:], streams[2]])
    with pytest.raises(BitstreamError, match="width"):
        decompress_point_cloud(too_wide, model)
    other = container.pack("octree", header, streams)
    with pytest.raises(BitstreamError, match="not 'neural'"):
        decompress_point_cloud(other, model)
    future = container.pack(codec, dict(header, version=99), streams)
    with pytest.raises(BitstreamError, match="version"):
        decompress_point_cloud(future, model)


def test_a_different_model_is_refused(model, cloud):
    data = compress_point_cloud(cloud, model)
    other = BlockCodec(TINY, entropy_model="hyperprior", latent_channels=4).eval()
    other.update(force=True)
    with pytest.raises(BitstreamError, match="different model architecture"):
        decompress_point_cloud(data, other)


def test_bad_inputs(model):
    with pytest.raises(ValueError, match="non-empty"):
        compress_point_cloud(np.zeros((0, 3), np.int32), model)
    with pytest.raises(ValueError, match="non-negative integers"):
        compress_point_cloud(np.array([[0.5, 1.0, 2.0]]), model)
    with pytest.raises(ValueError, match="mode"):
        compress_point_cloud(np.array([[1, 2, 3]]), model, mode="fast")
    with pytest.raises(FormatError, match="no such codec model"):
        compress_point_cloud(np.array([[1, 2, 3]]), "no-such-model")


def test_registry_lists_and_resolves_models(tmp_path, monkeypatch, capsys):
    import json

    from pcc.cli import main as cli_main
    from pcc.codec.checkpoint import save_checkpoint
    from pcc.codec.registry import list_models, load_model, resolve_model

    monkeypatch.setenv("PCC_CODEC_MODELS", str(tmp_path))
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "hyperprior-l0.5.pt", BlockCodec(TINY), {"lambda": 0.5, "steps": 9})
    save_checkpoint(
        tmp_path / "gaussian-l1.pt", BlockCodec(TINY, entropy_model="gaussian"), {"lambda": 1.0}
    )
    models = list_models()
    assert [m.name for m in models] == ["gaussian-l1", "hyperprior-l0.5"]
    info = models[1]
    assert (info.entropy_model, info.lmbda, info.block_size, info.steps) == (
        "hyperprior",
        0.5,
        32,
        9,
    )
    assert info.parameters == sum(p.numel() for p in BlockCodec(TINY).parameters())
    assert resolve_model("hyperprior-l0.5") == tmp_path / "hyperprior-l0.5.pt"
    assert resolve_model(tmp_path / "gaussian-l1.pt") == tmp_path / "gaussian-l1.pt"
    codec, meta = load_model("gaussian-l1")
    assert codec.architecture["entropy_model"] == "gaussian" and meta["lambda"] == 1.0
    # the name in the stream lets the decoder find the model by itself
    cloud = shape_at(3, 2, bits=6)
    data = compress_point_cloud(cloud, "hyperprior-l0.5")
    assert read_header(data)[0]["model"] == "hyperprior-l0.5"
    assert len(decompress_point_cloud(data)) == len(cloud)
    assert cli_main(["pc", "models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in listed["models"]] == ["gaussian-l1", "hyperprior-l0.5"]


def test_bundled_hyperprior_reconstructs_a_held_out_shape():
    """The bundled models were trained on procedural shapes of seeds 0..2 (training pool) and
    16000.. (validation) of :mod:`pcc.pointcloud.shapes`; seed 777 is never seen.
    ``hyperprior-l0.1`` with top-k decoding measured 53.16 dB D1 (peak 127, 7-bit grid) at
    0.355 bpp on it (the session-1 models: 47.6 dB at 0.385 bpp); an error of one voxel at every
    point would give 46.8 dB. The test asks for 52 dB below 0.4 bpp."""
    from pcc.codec.registry import list_models
    from pcc.metrics.pointcloud import d1_psnr

    if "hyperprior-l0.1" not in [m.name for m in list_models()]:
        pytest.skip("bundled model hyperprior-l0.1 not found in input_models/codec")
    cloud = shape_at(777, 0, bits=7)
    data = compress_point_cloud(cloud, "hyperprior-l0.1")
    decoded = decompress_point_cloud(data)
    assert len(decoded) == len(cloud)
    assert bits_per_point(data, len(cloud)) < 0.4
    assert d1_psnr(cloud, decoded, 127) > 52.0


def test_point_counts_pack_at_a_fixed_width():
    from pcc.codec.pipeline import pack_counts, unpack_counts

    rng = np.random.default_rng(0)
    for counts in ([0], [1, 2, 3], rng.integers(0, 32768, 455), [32768, 5], [0, 0, 0]):
        counts = np.asarray(counts)
        data = pack_counts(counts)
        width = int(counts.max()).bit_length()
        assert data[0] == width and len(data) == 1 + (len(counts) * width + 7) // 8
        assert np.array_equal(unpack_counts(data, len(counts)), counts)
    with pytest.raises(ValueError):
        pack_counts([-1])
    with pytest.raises(BitstreamError):
        unpack_counts(b"", 1)
    data = bytearray(pack_counts([1, 2, 3]))  # width 2: 6 bits and 2 bits of padding
    data[-1] |= 1
    with pytest.raises(BitstreamError, match="padding"):
        unpack_counts(bytes(data), 3)


def test_position_quantisation_round_trip(model):
    """quant_step > 1 codes a coarser cloud and scales it back onto the input grid; the decoder
    still reproduces the encoder's reconstruction exactly."""
    cloud = shape_at(5, 0, bits=7).astype(np.int64) + 3  # [N, 3] in [3, 131)
    encoded = encode_point_cloud(cloud, model, quant_step=2.0)
    decoded = decompress_point_cloud(encoded.data, model)
    assert np.array_equal(decoded, encoder_reconstruction(encoded, model))
    header, _ = read_header(encoded.data)
    origin = cloud.min(axis=0)
    assert header["quant_step"] == 2.0 and header["origin"] == [int(v) for v in origin]
    coarse = np.unique(np.floor((cloud - origin) / 2.0 + 0.5).astype(np.int64), axis=0)
    assert sum(encoded.side) == len(coarse) < len(cloud)
    # top-k keeps every coarse voxel count, so the decoded cloud has exactly as many points,
    # all on the even lattice around the origin (round(2 q) = 2 q)
    assert len(decoded) == len(coarse)
    assert np.all((decoded - origin) % 2 == 0)
    assert decoded.min() >= origin.min() - 1
    # a quantised stream is still smaller than the full-resolution one
    assert len(encoded.data) < len(compress_point_cloud(cloud, model))


def test_position_quantisation_rejects_bad_steps_and_headers(model, cloud):
    for step in (0.5, 0.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="quant_step"):
            compress_point_cloud(cloud, model, quant_step=step)
    encoded = encode_point_cloud(cloud, model, quant_step=2.0)
    _, header, streams = container.unpack(encoded.data)
    del header["origin"]
    broken = container.pack("neural", header, streams)
    with pytest.raises(BitstreamError, match="origin"):
        decompress_point_cloud(broken, model)
    header["origin"], header["quant_step"] = [0, 0, 0], "two"
    with pytest.raises(BitstreamError, match="quant_step"):
        decompress_point_cloud(container.pack("neural", header, streams), model)


@pytest.mark.parametrize("name", ["context", "attention", "hybrid"])
def test_bundled_context_models_save_bits_at_equal_distortion(name):
    """The bundled spatial-context models were trained on top of ``hyperprior-l0.1`` with
    everything but their context layers frozen, and quantise around its mean: on a shape none
    of them saw they decode the very same cloud (equal distortion, bit for bit) from a smaller
    file: measured 1509 / 1411 / 1400 bytes for context / attention / hybrid against 1768 for
    the hyperprior (-15 %, -20 %, -21 %). The test asks for 5 %."""
    from pcc.codec.registry import list_models

    names = [m.name for m in list_models()]
    if "hyperprior-l0.1" not in names or f"{name}-l0.1" not in names:
        pytest.skip(f"bundled models hyperprior-l0.1 / {name}-l0.1 not found")
    cloud = shape_at(777, 0, bits=7)
    reference = compress_point_cloud(cloud, "hyperprior-l0.1")
    data = compress_point_cloud(cloud, f"{name}-l0.1")
    assert np.array_equal(decompress_point_cloud(data), decompress_point_cloud(reference))
    assert len(data) < 0.95 * len(reference), (len(data), len(reference))
