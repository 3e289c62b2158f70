"""The versioned container shared by every point-cloud codec in pcc.

Layout (all integers little-endian)::

    offset  size  field
    0       4     magic  b"PCCF"
    4       2     format version (u16, currently 1)
    6       8     payload length P (u64)
    14      P     payload:
                    u8   codec id length L, then L bytes of ASCII codec id ("octree", "neural", ...)
                    u32  header length H, then H bytes of UTF-8 JSON (an object)
                    u32  number of streams S
                    S x (u64 length n, then n bytes)
    14 + P  4     CRC32 (zlib) of bytes 0 .. 14 + P

The JSON header carries what a decoder needs besides the streams (bit depth, point counts,
quantisation, the transform back to the original coordinates, ...). The CRC detects corruption
before any decoder looks at a stream; every declared length is checked against the bytes that are
really there, so a malformed file raises :class:`pcc.errors.BitstreamError` with one message and
never makes the reader allocate or loop on a forged length.
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct

from pcc.coding.framing import ByteReader, append_crc32, check_crc32, pack_streams, read_streams
from pcc.errors import BitstreamError

MAGIC = b"PCCF"
FORMAT_VERSION = 1
_FIXED = struct.Struct("<4sHQ")  # magic, version, payload length
_CODEC_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def pack(codec: str, header: dict, streams: list[bytes]) -> bytes:
    """Serialise a codec id, a JSON-able header and a list of byte streams into one container."""
    if not isinstance(codec, str) or not _CODEC_RE.match(codec):
        raise ValueError(f"codec id must match {_CODEC_RE.pattern}, got {codec!r}")
    if not isinstance(header, dict):
        raise TypeError(f"header must be a dict, got {type(header).__name__}")
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False)
    header_bytes = header_bytes.encode("utf-8")
    payload = b"".join(
        [
            struct.pack("<B", len(codec)),
            codec.encode("ascii"),
            struct.pack("<I", len(header_bytes)),
            header_bytes,
            pack_streams(streams, "<I", "<Q"),
        ]
    )
    return append_crc32(_FIXED.pack(MAGIC, FORMAT_VERSION, len(payload)) + payload)


def _no_constant(name: str):
    """``NaN``/``Infinity`` are not JSON (``pack`` never writes them): refuse them at once."""
    raise ValueError(f"non-finite number {name} in the header")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # e.g. 1e999
        raise ValueError(f"number {text} in the header overflows")
    return value


def unpack(data: bytes, path: str | os.PathLike | None = None) -> tuple[str, dict, list[bytes]]:
    """Parse a container made by :func:`pack`: returns ``(codec, header, streams)``.

    Raises :class:`BitstreamError` (naming ``path`` when given) on a wrong magic, an unknown
    version, a truncated or over-long file, a CRC mismatch or any malformed field.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"container data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < _FIXED.size + 4:
        raise BitstreamError(path, f"not a pcc container: only {len(data)} bytes")
    magic, version, payload_len = _FIXED.unpack_from(data, 0)
    if magic != MAGIC:
        raise BitstreamError(path, f"not a pcc container: magic {magic!r} != {MAGIC!r}")
    if version != FORMAT_VERSION:
        raise BitstreamError(
            path, f"unsupported container version {version} (this pcc reads {FORMAT_VERSION})"
        )
    expected = _FIXED.size + payload_len + 4
    if payload_len > len(data) or expected != len(data):
        raise BitstreamError(
            path,
            f"container is truncated or has trailing bytes: header says {expected} bytes, "
            f"file has {len(data)}",
        )
    body = check_crc32(data, path)
    reader = ByteReader(body, path, _FIXED.size)
    codec_len = reader.unpack("<B", "codec id length")
    try:
        codec = reader.take(codec_len, "codec id").decode("ascii")
    except UnicodeDecodeError as err:
        raise BitstreamError(path, "container codec id is not ASCII") from err
    if not _CODEC_RE.match(codec):
        raise BitstreamError(path, f"container codec id {codec!r} is malformed")
    header_len = reader.unpack("<I", "header length")
    header_bytes = reader.take(header_len, "JSON header")
    try:
        header = json.loads(
            header_bytes.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite_float
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise BitstreamError(path, f"container header is not valid JSON ({err})") from err
    if not isinstance(header, dict):
        raise BitstreamError(path, "container header is not a JSON object")
    streams = read_streams(reader, "<I", "<Q")
    if reader.remaining:
        raise BitstreamError(path, f"container has {reader.remaining} unparsed bytes")
    return codec, header, streams


def read_container(path: str | os.PathLike) -> tuple[str, dict, list[bytes]]:
    """Read and :func:`unpack` a container file."""
    with open(path, "rb") as fh:
        data = fh.read()
    return unpack(data, path)
