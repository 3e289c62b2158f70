"""constriction's coders produce and consume ``uint32`` word arrays; files hold bytes.

One pair of functions converts between them with the byte order stated, because the containers
of pcc differ and must keep decoding their existing files bit-exactly:

* ``pcc.pointcloud.entropy_coding`` (octree and LiDAR ANS streams): little-endian, every word kept;
* ``pcc.c3dgs.storage_pcc`` (range-coded ``.pcc3dgs`` streams): little-endian, every word kept;
* ``pcc.codec.coding`` (learned-codec range streams): big-endian with trailing zero bytes
  dropped (``strip=True``); the reader pads them back (``pad=True``).
"""

from __future__ import annotations

import numpy as np

from pcc.errors import BitstreamError

__all__ = ["words_to_bytes", "bytes_to_words"]


def words_to_bytes(words: np.ndarray, byteorder: str = "<", *, strip: bool = False) -> bytes:
    """uint32 words ``[W]`` -> bytes (``4 W``, fewer with ``strip``: trailing zero bytes dropped)."""
    if byteorder not in ("<", ">"):
        raise ValueError(f"byteorder must be '<' or '>', got {byteorder!r}")
    data = np.asarray(words, dtype=np.uint32).astype(byteorder + "u4").tobytes()
    return data.rstrip(b"\x00") if strip else data


def bytes_to_words(
    data: bytes, byteorder: str = "<", *, pad: bool = False, what: str = "ANS stream"
) -> np.ndarray:
    """Bytes -> uint32 words ``[W]`` (a fresh, writable array).

    Without ``pad`` the length must be a multiple of 4 (else :class:`BitstreamError` naming
    ``what``); with ``pad`` missing trailing zero bytes are restored and an empty payload gives
    one zero word (constriction's decoders need at least one).
    """
    if byteorder not in ("<", ">"):
        raise ValueError(f"byteorder must be '<' or '>', got {byteorder!r}")
    if pad:
        data = bytes(data) + b"\x00" * ((-len(data)) % 4)
        if not data:
            return np.zeros(1, dtype=np.uint32)
    elif len(data) % 4:
        raise BitstreamError(None, f"{what} length {len(data)} is not a multiple of 4 bytes")
    return np.frombuffer(data, dtype=byteorder + "u4").astype(np.uint32)
