"""The range-coded stream coders of :mod:`pcc.coding` (categorical, first-use indices, buckets).

They moved out of ``pcc.c3dgs.storage_pcc``; ``.pcc3dgs`` files must keep decoding, so besides round
trips the bytes are pinned: the SHA-256 prefixes below were produced by the code before the move
(``storage_pcc._encode_adaptive`` etc. on the same inputs).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from pcc.coding.buckets import MANTISSA_ROWS, bit_lengths, decode_buckets, encode_buckets
from pcc.coding.categorical import (
    MODE_ADAPTIVE,
    MODE_REPEAT,
    adaptive_blocks,
    decode_adaptive,
    decode_static,
    decode_symbols,
    encode_adaptive,
    encode_static,
    encode_symbols,
    from_repeat,
    to_repeat,
)
from pcc.coding.first_use import (
    decode_first_use_indices,
    encode_first_use_indices,
    is_first_use_order,
)
from pcc.errors import BitstreamError


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _inputs():
    """The inputs the golden hashes were made from (seeded, in this order)."""
    rng = np.random.default_rng(7)
    skew = rng.geometric(0.3, size=300).clip(1, 16) - 1
    runs = np.repeat(rng.integers(0, 8, size=30), rng.integers(1, 12, size=30))
    flat = np.arange(64) % 5
    idx, nxt = [], 0
    for _ in range(500):
        if rng.random() < 0.15 or nxt == 0:
            idx.append(nxt)
            nxt += 1
        elif rng.random() < 0.5 and idx:
            idx.append(idx[-1])
        else:
            idx.append(int(rng.integers(0, nxt)))
    vals_u = np.cumsum(rng.integers(0, 1 << 20, size=200)).astype(np.int64)
    vals_s = rng.integers(-(1 << 40), 1 << 40, size=200).astype(np.int64)
    return {
        "skew": (skew, 16),
        "runs": (runs, 8),
        "flat": (flat, 5),
        "one": (np.array([3]), 4),
        "empty": (np.zeros(0, np.int64), 3),
        "indices": (np.array(idx), nxt),
        "gaps": np.diff(vals_u, prepend=0),
        "signed": vals_s,
    }


# name: (encode_symbols mode, sha of encode_symbols, sha of adaptive payload, sha of static payload)
GOLDEN_SYMBOLS = {
    "skew": (0, "6b1cdb5ac9eb1c34", "8800249282a8736e", "52c23a7b7203efa3"),
    "runs": (2, "d4bafed7fcd69394", "42562754518aa704", "1abe4885f34454c8"),
    "flat": (0, "911e65c530078366", "3d0eb467ed671729", "1d448c1c44e9a856"),
    "one": (0, "f76892ea8eca6a4a", "e4767380eb5e2fc0", "85e98c876085eb81"),
    "empty": (0, "6e340b9cffb37a98", "e3b0c44298fc1c14", "709e80c88487a241"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_SYMBOLS))
def test_symbol_coders_write_the_bytes_of_the_old_code(name):
    symbols, alphabet = _inputs()[name]
    mode, whole, adaptive, static = GOLDEN_SYMBOLS[name]
    data = encode_symbols(symbols, alphabet)
    assert (data[0], _sha(data)) == (mode, whole)
    assert _sha(encode_adaptive(symbols, alphabet)) == adaptive
    assert _sha(encode_static(symbols, alphabet)) == static
    assert decode_symbols(data, symbols.size, alphabet).tolist() == symbols.tolist()


def test_the_runs_pin_the_exact_bytes():
    symbols, alphabet = _inputs()["runs"]
    assert encode_symbols(symbols, alphabet).hex() == (
        "0261c84f5578bc53397ea985fb8e1d2eeef6c73c2981c5c6a224bb6911942801cf27528b24"
    )


def test_first_use_and_bucket_coders_write_the_bytes_of_the_old_code():
    inputs = _inputs()
    idx, rows = inputs["indices"]
    assert rows == 66 and is_first_use_order(idx)
    data = encode_first_use_indices(idx, rows)
    assert (len(data), _sha(data)) == (256, "ff0ef36ac2a17f28")
    assert decode_first_use_indices(data, idx.size, rows).tolist() == idx.tolist()
    gaps = encode_buckets(inputs["gaps"], signed=False)
    signed = encode_buckets(inputs["signed"], signed=True)
    assert (len(gaps), _sha(gaps)) == (538, "2fd7c344a430b2dc")
    assert (len(signed), _sha(signed)) == (1064, "0eed8363cd57fb9c")


@pytest.mark.parametrize("alphabet", [2, 7, 256, 1000])
def test_every_mode_round_trips(alphabet):
    rng = np.random.default_rng(alphabet)
    for n in (0, 1, 31, 32, 33, 5000):
        symbols = rng.integers(0, alphabet, size=n)
        for enc, dec in ((encode_adaptive, decode_adaptive), (encode_static, decode_static)):
            assert dec(enc(symbols, alphabet), n, alphabet).tolist() == symbols.tolist()
        assert decode_symbols(encode_symbols(symbols, alphabet), n, alphabet).tolist() == (
            symbols.tolist()
        )


def test_the_smallest_model_wins_and_runs_choose_the_repeat_model():
    runs = np.repeat(np.arange(40) % 7, 20)
    data = encode_symbols(runs, 7)
    assert data[0] == MODE_REPEAT
    assert len(data) == 1 + len(encode_adaptive(to_repeat(runs, 7), 8))
    assert len(data) < 1 + len(encode_adaptive(runs, 7))
    noise = np.random.default_rng(0).integers(0, 7, size=2000)
    assert encode_symbols(noise, 7)[0] == MODE_ADAPTIVE


def test_repeat_transform_is_its_own_inverse_and_rejects_a_leading_repeat():
    s = np.array([3, 3, 3, 1, 1, 0, 3, 3])
    r = to_repeat(s, 4)
    assert r.tolist() == [3, 4, 4, 1, 4, 0, 3, 4]
    assert from_repeat(r, 4).tolist() == s.tolist()
    with pytest.raises(BitstreamError, match="repeat symbol at the start"):
        from_repeat(np.array([4, 1]), 4)


def test_adaptive_blocks_double_up_to_2048():
    sizes = [b - a for a, b in adaptive_blocks(10_000)]
    assert sizes[:7] == [32, 64, 128, 256, 512, 1024, 2048] and set(sizes[7:-1]) == {2048}
    assert sum(sizes) == 10_000 and adaptive_blocks(0) == []


def test_bad_symbol_streams_are_bitstream_errors():
    with pytest.raises(ValueError):
        encode_symbols(np.array([0, 5]), 5)
    with pytest.raises(ValueError, match="alphabet of 1"):
        encode_symbols(np.array([0, 0]), 1)
    assert encode_symbols(np.zeros(0, np.int64), 1) == bytes([MODE_ADAPTIVE])  # empty: fine
    with pytest.raises(BitstreamError, match="empty symbol stream"):
        decode_symbols(b"", 3, 4)
    with pytest.raises(BitstreamError, match="unknown model mode"):
        decode_symbols(bytes([9, 0, 0, 0, 0]), 1, 4)
    good = encode_static(np.array([0, 1, 1]), 2)
    with pytest.raises(BitstreamError, match="expected 4"):
        decode_static(good, 4, 2)
    with pytest.raises(BitstreamError, match="multiple of 4"):
        decode_adaptive(b"\x01\x02\x03", 2, 4)


def _first_use_reference(indices: np.ndarray) -> bool:
    seen: list[int] = []
    for v in indices.tolist():
        if v not in seen:
            if v != len(seen):
                return False
            seen.append(v)
    return True


def test_first_use_order_matches_a_plain_loop():
    rng = np.random.default_rng(1)
    for _ in range(300):
        idx = rng.integers(0, 5, size=int(rng.integers(0, 12)))
        assert is_first_use_order(idx) == _first_use_reference(idx), idx


def test_first_use_indices_round_trip_with_more_rows_than_the_recency_list():
    rng = np.random.default_rng(2)
    idx, nxt = [], 0
    for _ in range(6000):
        if nxt == 0 or rng.random() < 0.1:
            idx.append(nxt)
            nxt += 1
        else:
            idx.append(int(rng.integers(0, nxt)))
    idx = np.array(idx)
    data = encode_first_use_indices(idx, nxt)
    assert decode_first_use_indices(data, idx.size, nxt).tolist() == idx.tolist()
    # the decoder checks that every declared row is used
    with pytest.raises(BitstreamError, match="table rows"):
        decode_first_use_indices(encode_first_use_indices(idx[:50], nxt), 50, nxt)


def test_bit_lengths_are_exact_near_powers_of_two():
    powers = np.array([1 << k for k in range(62)], dtype=np.int64)
    values = np.concatenate([[0], powers - 1, powers, powers + 1])
    values = values[values >= 0]
    assert bit_lengths(values).tolist() == [int(v).bit_length() for v in values.tolist()]


@pytest.mark.parametrize("signed", [False, True])
def test_buckets_round_trip_including_chunked_decoding(signed):
    rng = np.random.default_rng(3)
    n = MANTISSA_ROWS + 777
    mags = rng.integers(0, 1 << 40, size=n) >> rng.integers(0, 40, size=n)
    values = mags * np.where(rng.random(n) < 0.5, -1, 1) if signed else mags
    values[:3] = [0, 1, 0]
    data = b"xy" + encode_buckets(values, signed)
    decoded, end = decode_buckets(data, 2, n, signed)
    assert end == len(data) and decoded.tolist() == values.tolist()


def test_truncated_buckets_name_the_stream():
    data = encode_buckets(np.arange(1, 100), signed=False)
    with pytest.raises(BitstreamError, match="truncated grid stream"):
        decode_buckets(data[:-3], 0, 99, False, what="grid stream")
    with pytest.raises(BitstreamError, match="truncated position stream"):
        decode_buckets(data[:5], 0, 99, False)
