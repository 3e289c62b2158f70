"""The position stream of ``.pcc3dgs``: exact fp16 or grid positions as Morton gaps or deltas.

* fp16 positions (version 1): mapped to order-preserving 16-bit keys
  (:func:`~pcc.c3dgs.compressed_model.half_to_ordered`) whose bits are interleaved to 48-bit
  Morton codes (:func:`~pcc.c3dgs.compressed_model.fp16_morton_codes`);
* grid positions (version 2: :class:`~pcc.c3dgs.compressed_model.PositionGrid`): the integer
  grid coordinates, as Morton codes (:func:`pcc.coding.morton.morton_encode`).

Either way, if the codes are non-decreasing (the order
:func:`~pcc.c3dgs.compressed_model.finalize` leaves) they are sent as gaps (mode
:data:`POS_MORTON_GAPS`; about ``log2 N`` bits per point less than coding each point alone),
else each axis's integer keys as signed differences (:data:`POS_AXIS_DELTAS`); the integers are
bucket-coded (:mod:`pcc.coding.buckets`). Stream: ``u8 mode | one (gaps) or three (x, y, z
deltas) bucket blocks``. Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import numpy as np
import torch

from pcc.c3dgs.compressed_model import (
    fp16_morton_codes,
    half_to_ordered,
    morton_decode_keys,
    ordered_to_half,
)
from pcc.coding.buckets import decode_buckets, encode_buckets
from pcc.coding.morton import morton_decode, morton_encode
from pcc.errors import BitstreamError

__all__ = [
    "POS_AXIS_DELTAS",
    "POS_MORTON_GAPS",
    "encode_positions",
    "decode_positions",
    "encode_grid_positions",
    "decode_grid_positions",
]

POS_AXIS_DELTAS, POS_MORTON_GAPS = 0, 1


def _encode(codes: np.ndarray, keys: np.ndarray) -> bytes:
    """Codes ``[N]`` as gaps when sorted, else the integer keys ``[N, 3]`` as axis deltas."""
    if codes.size == 0 or np.all(np.diff(codes) >= 0):
        gaps = np.diff(codes, prepend=np.int64(0))
        return bytes([POS_MORTON_GAPS]) + encode_buckets(gaps, signed=False)
    deltas = np.diff(keys, axis=0, prepend=np.zeros((1, 3), dtype=np.int64))
    return bytes([POS_AXIS_DELTAS]) + b"".join(encode_buckets(deltas[:, a], True) for a in range(3))


def _decode(data: bytes, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Inverse of :func:`_encode`: ``(codes [n], None)`` or ``(None, keys [n, 3])``."""
    if not data:
        raise BitstreamError(None, "empty position stream")
    mode, pos = data[0], 1
    codes = keys = None
    if mode == POS_MORTON_GAPS:
        gaps, pos = decode_buckets(data, pos, n, signed=False)
        codes = np.cumsum(gaps)
    elif mode == POS_AXIS_DELTAS:
        keys = np.zeros((n, 3), dtype=np.int64)
        for axis in range(3):
            deltas, pos = decode_buckets(data, pos, n, signed=True)
            keys[:, axis] = np.cumsum(deltas)
    else:
        raise BitstreamError(None, f"unknown position mode {mode}")
    if pos != len(data):
        raise BitstreamError(None, "trailing bytes in the position stream")
    return codes, keys


def encode_positions(means: np.ndarray) -> bytes:
    """fp16 ``[N, 3]`` positions, exactly (see the module doc)."""
    m16 = torch.from_numpy(np.ascontiguousarray(means, dtype=np.float16))
    codes = fp16_morton_codes(m16).numpy()  # [N] int64 < 2^48
    return _encode(codes, half_to_ordered(m16).numpy())


def decode_positions(data: bytes, n: int) -> np.ndarray:
    """Inverse of :func:`encode_positions`.  # [n, 3] float16"""
    codes, keys = _decode(data, n)
    if codes is not None:
        if codes.size and (codes.min() < 0 or codes.max() >= 2**48):
            raise BitstreamError(None, "decoded Morton codes out of range")
        keys = morton_decode_keys(torch.from_numpy(codes)).numpy()
    if keys.size and (keys.min() < 0 or keys.max() > 0xFFFF):
        raise BitstreamError(None, "decoded positions out of the fp16 range")
    return ordered_to_half(torch.from_numpy(keys)).numpy()


def encode_grid_positions(coords: np.ndarray) -> bytes:
    """Integer grid coordinates ``[N, 3]`` (a :class:`PositionGrid`'s), exactly."""
    coords = np.asarray(coords, dtype=np.int64).reshape(-1, 3)
    return _encode(morton_encode(coords).astype(np.int64), coords)


def decode_grid_positions(data: bytes, n: int, bits: int) -> np.ndarray:
    """Inverse of :func:`encode_grid_positions`; coordinates checked against ``[0, 2^bits)``.
    # [n, 3] int64"""
    codes, coords = _decode(data, n)
    if codes is not None:
        if codes.size and (codes.min() < 0 or codes.max() >= 2 ** (3 * bits)):
            raise BitstreamError(None, "decoded Morton codes outside the position grid")
        coords = morton_decode(codes.astype(np.uint64))
    if coords.size and (coords.min() < 0 or coords.max() >= 1 << bits):
        raise BitstreamError(None, "decoded positions outside the position grid")
    return coords
