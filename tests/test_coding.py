"""The shared coding primitives: Morton interleaving, LEB128 varints, word <-> byte conversion."""

from __future__ import annotations

import numpy as np
import pytest

from pcc.coding import (
    bytes_to_words,
    morton_decode,
    morton_encode,
    morton_encode_reference,
    read_varints,
    words_to_bytes,
    write_varints,
)
from pcc.errors import BitstreamError


def test_morton_matches_reference_in_both_bit_orders():
    rng = np.random.default_rng(0)
    coords = rng.integers(0, 1 << 21, (300, 3))
    codes = morton_encode(coords)
    np.testing.assert_array_equal(codes, morton_encode_reference(coords))
    np.testing.assert_array_equal(morton_decode(codes), coords)
    # x in the least significant bit of each triple (c3dgs's order) = reversed columns
    lsb_first = np.zeros(len(coords), dtype=np.uint64)
    for b in range(21):
        for axis in range(3):
            bit = (coords[:, axis].astype(np.uint64) >> np.uint64(b)) & np.uint64(1)
            lsb_first |= bit << np.uint64(3 * b + axis)
    np.testing.assert_array_equal(morton_encode(coords[:, ::-1]), lsb_first)
    np.testing.assert_array_equal(morton_decode(lsb_first)[:, ::-1], coords)


@pytest.mark.parametrize(
    "values",
    [[0], [127], [128], [300, 0, 1, 2**14, 2**35 + 5], [2**63 - 1], list(range(1000))],
)
def test_varints_round_trip_and_known_bytes(values):
    data = write_varints(np.array(values, dtype=np.uint64))
    back, end = read_varints(data + b"tail", len(values))
    assert back.tolist() == values and end == len(data)


def test_varint_bytes_are_leb128():
    assert write_varints(np.array([0, 1, 127, 128, 300])) == bytes([0, 1, 127, 0x80, 1, 0xAC, 2])
    assert write_varints(np.zeros(0, np.int64)) == b""
    with pytest.raises(ValueError, match="unsigned"):
        write_varints(np.array([-1]))


def test_varint_errors_name_the_stream():
    with pytest.raises(BitstreamError, match="truncated histogram"):
        read_varints(bytes([0x80, 0x80]), 1, what="histogram")
    with pytest.raises(BitstreamError, match="truncated histogram: 5 varints in 2 bytes"):
        read_varints(bytes([1, 2]), 5, what="histogram")
    with pytest.raises(BitstreamError, match="corrupt varint"):
        read_varints(bytes([0xFF] * 12), 1)


def test_words_keep_each_containers_byte_order():
    words = np.array([0x01020304, 0xA0B0C000, 0], dtype=np.uint32)
    little = words_to_bytes(words)
    assert little == bytes([4, 3, 2, 1, 0, 0xC0, 0xB0, 0xA0, 0, 0, 0, 0])
    big = words_to_bytes(words, ">", strip=True)
    assert big == bytes([1, 2, 3, 4, 0xA0, 0xB0, 0xC0])  # trailing zero bytes dropped
    np.testing.assert_array_equal(bytes_to_words(little), words)
    np.testing.assert_array_equal(bytes_to_words(big, ">", pad=True), words[:2])
    np.testing.assert_array_equal(bytes_to_words(b"", ">", pad=True), [0])
    assert bytes_to_words(little).flags.writeable
    with pytest.raises(BitstreamError, match="range payload length 5 is not a multiple of 4"):
        bytes_to_words(b"12345", what="range payload")
    with pytest.raises(ValueError, match="byteorder"):
        words_to_bytes(words, "=")


def test_ans_stream_helpers_use_the_shared_conversion():
    """The octree/LiDAR ANS helpers still write little-endian words (old files decode)."""
    from pcc.pointcloud import entropy_coding

    bits = np.random.default_rng(1).integers(0, 2, 500)
    p1 = np.full(500, 0.3)
    data = entropy_coding.encode_bits(bits, p1)
    assert entropy_coding.bytes_to_words(data).astype("<u4").tobytes() == data
    decoder = entropy_coding.BitDecoder(data)
    np.testing.assert_array_equal(decoder.decode(p1), bits)
    decoder.finish()


def test_framing_round_trips_and_refuses_forged_lengths():
    from pcc.coding.framing import ByteReader, append_crc32, check_crc32, pack_streams, read_streams

    streams = [b"", b"abc", bytes(range(200))]
    for count_fmt, length_fmt in (("<I", "<Q"), ("<B", "<I")):
        data = append_crc32(b"HEAD" + pack_streams(streams, count_fmt, length_fmt))
        body = check_crc32(data, "x.bin")
        reader = ByteReader(body, "x.bin", pos=4)
        assert read_streams(reader, count_fmt, length_fmt) == streams and reader.remaining == 0
    with pytest.raises(BitstreamError, match="x.bin: container CRC32 mismatch"):
        check_crc32(data[:-1] + bytes([data[-1] ^ 1]), "x.bin")
    forged = pack_streams([b"abc"]).replace(b"\x03" + bytes(7), b"\xff" * 8)  # length 2^64-1
    with pytest.raises(BitstreamError, match="stream 0 declares 18446744073709551615 bytes"):
        read_streams(ByteReader(forged, "f"))
    too_many = (10**6).to_bytes(4, "little") + bytes(16)
    with pytest.raises(BitstreamError, match="1000000 streams, too many"):
        read_streams(ByteReader(too_many, "f"))
