"""Learned occupancy coder: exact round trips, thread-count determinism, bad headers, checkpoints,
and the fast feature paths against their plain references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pcc.errors import BitstreamError, FormatError
from pcc.pointcloud import container
from pcc.pointcloud import occupancy_context as oc
from pcc.pointcloud.occupancy_codec import (
    CODEC_ID,
    decode_occupancy,
    encode_occupancy,
    model_digest,
)
from pcc.pointcloud.occupancy_model import (
    OccupancyMLP,
    OnlineMixer,
    QuantizedMLP,
    default_model_path,
    load_model,
    save_model,
)
from pcc.pointcloud.octree import build_octree, level_codes
from pcc.pointcloud.octree_context import neighbour_table
from pcc.pointcloud.shapes import shape_at


@pytest.fixture(scope="module")
def tiny():
    """An untrained (random) tiny model with a visible effect: biases pushed off zero."""
    torch.manual_seed(1)
    model = OccupancyMLP(hidden=8)
    with torch.no_grad():
        model.out.bias.fill_(-1.0)
    return model


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _set(a) -> set:
    return {tuple(int(v) for v in r) for r in np.asarray(a)}


@pytest.mark.parametrize(
    "cloud",
    [
        shape_at(0, 3, bits=6),
        np.array([[5, 7, 9]]),
        np.array([[0, 0, 0], [0, 0, 0], [1, 1, 1]]),  # duplicates merge
        np.random.default_rng(0).integers(-40, 40, size=(300, 3)),  # sparse, negative coords
    ],
    ids=["shape", "one-point", "duplicates", "random"],
)
def test_round_trip_is_exact(tiny, cloud):
    enc = encode_occupancy(cloud, model=tiny)
    out = decode_occupancy(enc.data, "x.occ", model=tiny)
    assert out.dtype == np.int32 and out.shape[1] == 3
    assert _set(out) == _set(cloud)
    assert enc.n_voxels == len(_set(cloud))
    # the per-level REAL bits add up to the stream
    assert sum(s.real_bits for s in enc.levels) + enc.padding_bits == enc.stream_bits
    assert container.unpack(enc.data)[0] == CODEC_ID


def test_stream_decodes_identically_with_one_and_two_threads(tiny, restore_threads):
    cloud = shape_at(1, 0, bits=5)
    torch.set_num_threads(2)
    enc = encode_occupancy(cloud, model=tiny)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        out = decode_occupancy(enc.data, model=tiny)
        assert _set(out) == _set(cloud), f"{threads} threads"


def test_quantised_logits_are_exact_and_close_to_the_float_model(restore_threads):
    torch.manual_seed(0)
    model = OccupancyMLP(hidden=32)
    q = QuantizedMLP(model)
    rng = np.random.default_rng(0)
    static = (rng.random((3000, oc.N_STATIC)) < 0.2).astype(np.uint8)
    dynamic = rng.integers(-64, 65, size=(3000, oc.N_DYNAMIC))
    torch.set_num_threads(1)
    one = q.logits(static, dynamic)
    torch.set_num_threads(2)
    two = q.logits(static, dynamic)
    np.testing.assert_array_equal(one, two)
    # every logit is an integer multiple of 2^-20 (the integer path was exact)
    assert np.all(one * 2.0**20 == np.round(one * 2.0**20))
    x = torch.from_numpy(np.concatenate([static, dynamic], axis=1).astype(np.float32))
    with torch.no_grad():
        ref = model(x).double().numpy()
    assert np.max(np.abs(one - ref)) < 0.02


def test_online_mixer_learns_to_trust_the_informative_input():
    rng = np.random.default_rng(0)
    mixer = OnlineMixer()
    for _ in range(200):
        bits = (rng.random(512) < 0.5).astype(np.uint8)
        dynamic = np.zeros((512, oc.N_DYNAMIC), np.int64)
        dynamic[:, 10] = np.where(bits == 1, 24, -24)  # the count model is right (logit +-3)
        z_net = rng.normal(0.0, 3.0, 512)  # the network is noise
        x = OnlineMixer.inputs(z_net, dynamic)
        ctx = OnlineMixer.contexts(1, dynamic)  # level bucket 1, count bucket 0
        p = mixer.probability(x, ctx)
        mixer.update(x, p, bits, ctx)
    assert np.all(ctx == OnlineMixer.N_COUNT)
    c = OnlineMixer.N_COUNT
    assert mixer.w[c, 1] > 4 * abs(mixer.w[c, 0])  # the counts won the weight
    np.testing.assert_array_equal(mixer.w[0], [2.0, 2.0, 0.0])  # other contexts untouched
    p_last = mixer.probability(x, ctx)
    assert np.mean(np.where(bits == 1, p_last, 1 - p_last)) > 0.9


def test_fast_features_match_their_references():
    cloud = shape_at(0, 2, bits=7)
    levels = build_octree(cloud, 7)
    codes = level_codes(levels, 7)
    rng = np.random.default_rng(0)
    for level in range(1, 7):
        shell = oc.shell_table(codes[level], level)
        parent_nbr = neighbour_table(codes[level - 1], level - 1)
        np.testing.assert_array_equal(
            oc.shell_from_parents(codes[level], parent_nbr, levels[level - 1]), shell
        )
        nbr = neighbour_table(codes[level], level)
        partial = levels[level].astype(np.int64) & rng.integers(0, 256, levels[level].size)
        occ = np.concatenate([partial, [0]])
        for group in (0, 1):
            for k in (0, 3, 7):
                np.testing.assert_array_equal(
                    oc.static_features(nbr, shell, occ, group, k, 6 - level),
                    oc.static_features_reference(nbr, shell, occ, group, k, 6 - level),
                )
    assert shell.any()  # the test saw real neighbours


def _forge(data: bytes, **changes) -> bytes:
    codec, header, streams = container.unpack(data)
    header.update(changes)
    return container.pack(codec, header, streams)


@pytest.mark.parametrize(
    "changes",
    [
        {"depth": 40},
        {"depth": "7"},
        {"voxels": 1 << 40},
        {"origin": [0, 0]},
        {"coder": "other"},
        {"model": "0123456789abcdef"},
    ],
    ids=["depth", "depth-type", "voxels", "origin", "coder", "model"],
)
def test_forged_header_raises_one_bitstream_error_naming_the_file(tiny, changes):
    enc = encode_occupancy(shape_at(0, 1, bits=5), model=tiny)
    with pytest.raises(BitstreamError, match="forged.occ"):
        decode_occupancy(_forge(enc.data, **changes), "forged.occ", model=tiny)


def test_corrupt_stream_and_wrong_codec_raise(tiny):
    enc = encode_occupancy(shape_at(0, 1, bits=6), model=tiny)
    codec, header, streams = container.unpack(enc.data)
    bad = container.pack(codec, header, [streams[0][: len(streams[0]) // 2]])
    with pytest.raises(BitstreamError, match="cut.occ"):
        decode_occupancy(bad, "cut.occ", model=tiny)
    with pytest.raises(BitstreamError, match="not 'occupancy'"):
        decode_occupancy(container.pack("octree", header, streams), "o.occ", model=tiny)
    with pytest.raises(BitstreamError, match="few.occ"):
        decode_occupancy(enc.data[:-3], "few.occ", model=tiny)


def test_checkpoint_round_trip_and_bad_files(tiny, tmp_path):
    path = tmp_path / "m.pt"
    save_model(tiny, path, {"note": "test"})
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "pcc-occupancy-mlp"
    loaded, meta = load_model(path)
    assert meta == {"note": "test"}
    assert model_digest(QuantizedMLP(loaded)) == model_digest(QuantizedMLP(tiny))
    enc = encode_occupancy(shape_at(0, 4, bits=5), model=path)
    assert _set(decode_occupancy(enc.data, model=tiny)) == _set(shape_at(0, 4, bits=5))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(FormatError, match="junk.pt"):
        load_model(junk)
    other = tmp_path / "other.pt"
    torch.save({"format": "something-else"}, other)
    with pytest.raises(FormatError, match="other.pt"):
        load_model(other)


def test_bundled_checkpoint_loads_small_and_codes():
    path = default_model_path()
    assert path.stat().st_size <= 2 * 1024 * 1024
    model, meta = load_model(path)
    assert meta["val_bits_per_symbol"] < meta["val_bits_per_symbol_count_model"]
    cloud = shape_at(2, 0, bits=6)
    enc = encode_occupancy(cloud)  # the bundled model is the default
    assert _set(decode_occupancy(enc.data)) == _set(cloud)
