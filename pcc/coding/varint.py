"""LEB128 varints: unsigned integers in 7-bit groups, least significant first, the high bit of a
byte set when another byte follows (as in DWARF, protobuf and WebAssembly).

``write_varints(values)`` is the one encoder; :func:`read_varints` the one decoder, which checks
every byte against the end of the data and rejects a varint longer than 64 bits.
"""

from __future__ import annotations

import numpy as np

from pcc.errors import BitstreamError

__all__ = ["write_varints", "read_varints"]


def write_varints(values: np.ndarray) -> bytes:
    """LEB128 bytes of non-negative integers ``[n]``."""
    out = bytearray()
    for v in np.asarray(values).ravel().tolist():
        if v < 0:
            raise ValueError(f"varints are unsigned, got {v}")
        while True:
            byte = v & 0x7F
            v >>= 7
            if v:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                break
    return bytes(out)


def read_varints(
    data: bytes, count: int, pos: int = 0, *, what: str = "varint data"
) -> tuple[np.ndarray, int]:
    """Decode ``count`` varints from ``data`` at ``pos``: ``(values int64 [count], end offset)``.

    ``what`` names the stream in the :class:`BitstreamError` raised on truncated or corrupt data.
    """
    if count > len(data) - pos:  # every varint takes at least one byte
        raise BitstreamError(None, f"truncated {what}: {count} varints in {len(data) - pos} bytes")
    vals = np.zeros(count, dtype=np.int64)
    for i in range(count):
        v = shift = 0
        while True:
            if pos >= len(data):
                raise BitstreamError(None, f"truncated {what}")
            b = data[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift > 63:
                raise BitstreamError(None, f"corrupt varint in {what}")
        vals[i] = v
    return vals, pos
