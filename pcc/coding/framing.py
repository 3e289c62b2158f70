"""Container framing: bounds-checked reads, length-prefixed streams and a CRC-32 trailer.

Every binary container of pcc is a fixed header, some length-prefixed byte streams and a CRC-32
(zlib) of everything before it. The widths differ per format and stay what each format has always
written (:mod:`pcc.pointcloud.container`: u32 stream count, u64 lengths; ``.pcc3dgs``: u8 count,
u32 lengths), so they are parameters here (``struct`` codes, little-endian). Reading checks every
declared length against the bytes really there before taking them, so a forged length raises one
:class:`~pcc.errors.BitstreamError` instead of allocating or looping.
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence

from pcc.errors import BitstreamError

__all__ = ["ByteReader", "pack_streams", "read_streams", "append_crc32", "check_crc32"]


class ByteReader:
    """Sequential reads from ``data`` that never run past its end.

    ``path`` names the file in errors; ``what`` in each call names the field.
    """

    def __init__(self, data: bytes, path: str | os.PathLike | None = None, pos: int = 0):
        self.data, self.pos, self.path = data, pos, path

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or n > self.remaining:
            raise BitstreamError(
                self.path, f"container {what} declares {n} bytes but only {self.remaining} remain"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> int:
        """One value of ``struct`` format ``fmt`` (e.g. ``"<I"``)."""
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]


def pack_streams(streams: Sequence[bytes], count_fmt: str = "<I", length_fmt: str = "<Q") -> bytes:
    """``count`` then ``(length, bytes)`` per stream, in the given ``struct`` widths."""
    parts = [struct.pack(count_fmt, len(streams))]
    for stream in streams:
        stream = bytes(stream)
        parts += [struct.pack(length_fmt, len(stream)), stream]
    return b"".join(parts)


def read_streams(reader: ByteReader, count_fmt: str = "<I", length_fmt: str = "<Q") -> list[bytes]:
    """Inverse of :func:`pack_streams`, reading from ``reader``; the count is checked against
    the bytes left (every stream needs at least its length field) before any list is made."""
    n_streams = reader.unpack(count_fmt, "stream count")
    if n_streams > reader.remaining // struct.calcsize(length_fmt):
        raise BitstreamError(
            reader.path, f"container declares {n_streams} streams, too many for its size"
        )
    streams = []
    for i in range(n_streams):
        n = reader.unpack(length_fmt, f"stream {i} length")
        streams.append(reader.take(n, f"stream {i}"))
    return streams


def append_crc32(body: bytes) -> bytes:
    """``body`` followed by its CRC-32 (zlib), little-endian u32."""
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def check_crc32(data: bytes, path: str | os.PathLike | None = None) -> bytes:
    """The body of ``data`` (all but the last 4 bytes) after checking its CRC-32 trailer."""
    if len(data) < 4:
        raise BitstreamError(path, f"only {len(data)} bytes: no CRC32")
    body, (crc,) = data[:-4], struct.unpack("<I", data[-4:])
    if zlib.crc32(body) & 0xFFFFFFFF != crc:
        raise BitstreamError(path, "container CRC32 mismatch: the file is corrupt")
    return body
