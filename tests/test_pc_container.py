"""The shared point-cloud container: round trip, validation, CRC, forged lengths, fuzzing."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

from pcc.errors import BitstreamError
from pcc.pointcloud.container import FORMAT_VERSION, MAGIC, pack, read_container, unpack


def _reseal(body: bytes) -> bytes:
    """Recompute the CRC of a (deliberately malformed) container body."""
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def test_round_trip_preserves_everything(tmp_path):
    header = {"bits": 10, "points": 458477, "transform": {"scale": 2.5, "offset": [0.1, -2, 3]}}
    streams = [b"", b"\x00\x01\x02", bytes(range(256)) * 10]
    data = pack("octree", header, streams)
    assert data[:4] == MAGIC
    codec, header2, streams2 = unpack(data)
    assert codec == "octree" and header2 == header and streams2 == streams
    path = tmp_path / "x.pcc"
    path.write_bytes(data)
    assert read_container(path) == ("octree", header, streams)


def test_no_streams_and_unicode_header():
    data = pack("neural-v1", {"note": "bunny \u00e9\u4e2d"}, [])
    assert unpack(data) == ("neural-v1", {"note": "bunny \u00e9\u4e2d"}, [])


def test_pack_rejects_bad_arguments():
    with pytest.raises(ValueError, match="codec id"):
        pack("Octree!", {}, [])
    with pytest.raises(ValueError, match="codec id"):
        pack("", {}, [])
    with pytest.raises(TypeError):
        pack("octree", [1, 2], [])
    with pytest.raises(ValueError):
        pack("octree", {"x": float("nan")}, [])


def test_bad_magic_version_and_sizes_name_the_file():
    data = pack("octree", {"a": 1}, [b"abc"])
    with pytest.raises(BitstreamError, match="magic") as info:
        unpack(b"XXXX" + data[4:], path="cloud.pcc")
    assert str(info.value).startswith("cloud.pcc:")
    with pytest.raises(BitstreamError, match="version 7"):
        unpack(_reseal(data[:4] + struct.pack("<H", 7) + data[6:-4]))
    with pytest.raises(BitstreamError, match="only 3 bytes"):
        unpack(data[:3])
    with pytest.raises(BitstreamError, match="truncated"):
        unpack(data[:-1])
    with pytest.raises(BitstreamError, match="trailing"):
        unpack(data + b"\x00")
    with pytest.raises(BitstreamError, match="CRC"):
        unpack(data[:-5] + bytes([data[-5] ^ 1]) + data[-4:])
    assert FORMAT_VERSION == 1


def _body(payload: bytes) -> bytes:
    return MAGIC + struct.pack("<HQ", FORMAT_VERSION, len(payload)) + payload


def test_forged_lengths_behind_a_valid_crc_raise_cleanly():
    header = json.dumps({"a": 1}).encode()
    good = b"\x06octree" + struct.pack("<I", len(header)) + header
    cases = {
        "codec id": b"\xff" + b"octree",
        "JSON header": b"\x06octree" + struct.pack("<I", 1 << 31) + header,
        "streams": good + struct.pack("<I", 1 << 30),
        "stream 0": good + struct.pack("<IQ", 1, 1 << 62) + b"xx",
        "unparsed": good + struct.pack("<I", 0) + b"junk",
        "not valid JSON": b"\x06octree" + struct.pack("<I", 3) + b"{x}" + struct.pack("<I", 0),
        "not a JSON object": b"\x06octree" + struct.pack("<I", 3) + b"[1]" + struct.pack("<I", 0),
        "malformed": b"\x03A B" + struct.pack("<I", 2) + b"{}" + struct.pack("<I", 0),
    }
    for message, payload in cases.items():
        with pytest.raises(BitstreamError, match=message):
            unpack(_reseal(_body(payload)))


def test_fuzz_random_mutations_and_truncations_always_raise():
    data = pack("octree", {"bits": 10, "points": 12}, [bytes(range(200)), b"\x01" * 50])
    rng = np.random.default_rng(0)
    for trial in range(500):
        mutated = bytearray(data)
        kind = trial % 4
        if kind == 0:
            mutated = mutated[: rng.integers(0, len(mutated))]
        elif kind == 1:
            mutated[rng.integers(0, len(mutated))] ^= 1 << int(rng.integers(0, 8))
        elif kind == 2:
            for _ in range(rng.integers(2, 10)):
                mutated[rng.integers(0, len(mutated))] = int(rng.integers(0, 256))
            if mutated == bytearray(data):
                continue
        else:
            pos = int(rng.integers(0, len(mutated)))
            mutated[pos:pos] = bytes(rng.integers(0, 256, int(rng.integers(1, 5))).tolist())
        with pytest.raises(BitstreamError):
            unpack(bytes(mutated))


def test_random_garbage_raises():
    rng = np.random.default_rng(1)
    for n in (0, 1, 17, 100, 5000):
        with pytest.raises(BitstreamError):
            unpack(rng.integers(0, 256, n).astype(np.uint8).tobytes())
