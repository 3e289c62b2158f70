"""Integers of any size as a range-coded *bucket* (their bit length) plus raw bits.

An integer ``v`` is split into ``b = bit_length(|v|)`` (0 for zero), coded with
:func:`pcc.coding.categorical.encode_symbols` over 64 buckets, and the ``b - 1`` bits below the
leading one (MSB first), sent raw; signed values also send one sign bit before them (for
``v != 0``). This is Elias-gamma coding with a learned model for the length: good for gaps between
sorted Morton codes and for coordinate deltas, whose sizes cluster but whose low bits are noise.

Layout: ``u32 coded length | u32 raw length | coded buckets | packed bits`` (little-endian).
Used by the position streams of ``.pcc3dgs`` (:mod:`pcc.c3dgs.storage_positions`).
Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import struct

import numpy as np

from pcc.coding.categorical import decode_symbols, encode_symbols
from pcc.errors import BitstreamError

__all__ = ["encode_buckets", "decode_buckets", "bit_lengths", "MANTISSA_ROWS"]

_SIZES = struct.Struct("<II")
#: Rows per chunk when decoding the raw bits (bounds the ``[rows, width]`` temporaries).
MANTISSA_ROWS = 1 << 16


def bit_lengths(mags: np.ndarray) -> np.ndarray:
    """``bit_length`` of every non-negative int64 ``[n]`` (0 for 0), exactly.  # [n] int64"""
    b = np.zeros_like(mags)
    nz = mags > 0
    b[nz] = np.floor(np.log2(mags[nz].astype(np.float64))).astype(np.int64) + 1
    # float log2 can be off by one near powers of two for big values: fix exactly
    b[nz] += (mags[nz] >> b[nz]) > 0
    b[nz] -= (mags[nz] >> (b[nz] - 1)) == 0
    return b


def encode_buckets(values: np.ndarray, signed: bool) -> bytes:
    """int64 ``values`` ``[n]`` (non-negative unless ``signed``) as buckets + raw bits."""
    mags = np.abs(values)
    b = bit_lengths(mags)
    width = int(b.max()) if b.size else 0
    extra = int(signed)
    lens = np.where(b > 0, b - 1 + extra, 0)  # raw bits per value
    starts = np.cumsum(lens) - lens
    bits = np.zeros(int(lens.sum()), dtype=np.uint8)
    if signed:
        sel = b > 0
        bits[starts[sel]] = (values[sel] < 0).astype(np.uint8)
    if width > 1:
        j = np.arange(width - 1)[None, :]  # bit j below the leading one, MSB first
        valid = j < (b - 1)[:, None]
        shift = np.clip((b - 2)[:, None] - j, 0, None)
        mant = (mags[:, None] >> shift) & 1
        pos = starts[:, None] + extra + j
        bits[pos[valid]] = mant[valid]
    coded = encode_symbols(b, 64)
    raw = np.packbits(bits).tobytes()
    return _SIZES.pack(len(coded), len(raw)) + coded + raw


def decode_buckets(
    data: bytes, pos: int, n: int, signed: bool, what: str = "position stream"
) -> tuple[np.ndarray, int]:
    """Inverse of :func:`encode_buckets` read from ``data`` at ``pos``: ``(values [n] int64,
    end offset)``; ``what`` names the stream in errors."""
    if pos + _SIZES.size > len(data):
        raise BitstreamError(None, f"truncated {what}")
    n_coded, n_raw = _SIZES.unpack_from(data, pos)
    pos += _SIZES.size
    if pos + n_coded + n_raw > len(data):
        raise BitstreamError(None, f"truncated {what}")
    b = decode_symbols(data[pos : pos + n_coded], n, 64)
    bits = np.unpackbits(np.frombuffer(data[pos + n_coded : pos + n_coded + n_raw], np.uint8))
    pos += n_coded + n_raw
    if b.size and b.max() > 62:
        raise BitstreamError(None, f"corrupt bucket in {what}")
    extra = int(signed)
    lens = np.where(b > 0, b - 1 + extra, 0)
    if int(lens.sum()) > bits.size:
        raise BitstreamError(None, f"raw bits of {what} are truncated")
    starts = np.cumsum(lens) - lens
    width = int(b.max()) if b.size else 0
    mag = np.where(b > 0, np.left_shift(1, np.clip(b - 1, 0, None)), 0).astype(np.int64)
    if width > 1:
        j = np.arange(width - 1)[None, :]
        for lo in range(0, b.size, MANTISSA_ROWS):  # bounded [rows, width] temporaries
            hi = lo + MANTISSA_ROWS
            bb, st = b[lo:hi], starts[lo:hi]
            valid = j < (bb - 1)[:, None]
            idx = np.where(valid, st[:, None] + extra + j, 0)
            mant = np.where(valid, bits[idx], 0).astype(np.int64)
            shift = np.clip((bb - 2)[:, None] - j, 0, None)
            mag[lo:hi] += (mant << shift).sum(1)
    if signed:
        sign = np.where(b > 0, bits[np.where(b > 0, starts, 0)], 0)
        mag = np.where(sign == 1, -mag, mag)
    return mag, pos
