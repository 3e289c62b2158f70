"""Our own entropy-coded container for a quantised c3dgs model (``.pcc3dgs``), using constriction.

It stores exactly the :class:`~pcc.c3dgs.compressed_model.QuantizedGaussians` that the npz stores
(so both decode to the same model), but replaces DEFLATE by range coding
(``constriction.stream.queue``) with models chosen per stream:

* every int8 stream (per-Gaussian opacity and log-magnitude, table columns grouped by SH band or
  column) is coded with either an *adaptive* categorical model (counts start at 1/2 and are updated
  after every block of symbols; nothing is transmitted) or a *static* one (the histogram is sent as
  LEB128 varints); the encoder keeps the smaller, a mode byte tells the decoder which;
* index streams use the first-use order that :func:`~pcc.c3dgs.compressed_model.finalize` gives
  the table rows: a row's first occurrence is coded as an escape symbol (its number is implied),
  an index used by one of the last 32 distinct rows as its rank in that recency list, anything
  else as the row among those already seen; adaptive counts;
* fp16 positions: mapped to order-preserving 16-bit keys whose bits are interleaved to 48-bit
  Morton codes; sorted codes are sent as gaps (a bucket ``bit_length(gap)`` with an adaptive
  model plus the raw bits below the leading one); unsorted input falls back to per-axis deltas;
* grid positions (version 2, flag 4: :class:`~pcc.c3dgs.compressed_model.PositionGrid`): the
  integer grid coordinates, as Morton-code gaps (:func:`pcc.coding.morton.morton_encode`) the
  same way, or per-axis deltas when unsorted.

Layout (little endian)::

    "PCCGS" | u8 version | u32 N | u8 sh_degree | u32 M_c | u32 M_g | u8 flags
    6 x (f32 scale, i32 zero_point)           # QUANTIZED_FIELDS order
    [3 x f32 origin, f32 step, u8 bits]       # only with flag 4 (position grid, version 2)
    u8 n_streams, n_streams x (u32 length, bytes)
    u32 CRC-32 of everything above

Version 1 files (fp16 positions; what the encoder still writes for fp16 models, byte for byte)
and version 2 files (grid positions) are both decoded. Any truncation or corruption is reported as :class:`~pcc.errors.BitstreamError`. Taught in
``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import math
import os
import struct
import zlib

import constriction
import numpy as np
import torch

from pcc.c3dgs.compressed_model import (
    QUANTIZED_FIELDS,
    PositionGrid,
    QuantizedGaussians,
    fp16_morton_codes,
    half_to_ordered,
    morton_decode_keys,
    ordered_to_half,
)
from pcc.c3dgs.quantize import QParams
from pcc.coding import bytes_to_words, read_varints, write_varints
from pcc.coding.morton import MAX_BITS, morton_decode, morton_encode
from pcc.errors import BitstreamError
from pcc.io.atomic import write_bytes_atomic

MAGIC = b"PCCGS"
VERSION = 2  # the newest version written; VERSIONS are read
VERSIONS = (1, 2)
SUFFIX = ".pcc3dgs"
_HEADER = struct.Struct("<5sBIBIIB")
_QP = struct.Struct("<fi")
_GRID = struct.Struct("<3ffB")
FLAG_COLOR_FIRST_USE = 1
FLAG_SHAPE_FIRST_USE = 2
FLAG_POSITION_GRID = 4  # version 2
MODE_ADAPTIVE, MODE_STATIC, MODE_REPEAT = 0, 1, 2
PRIOR = 0.5


def _queue():
    return constriction.stream.queue


def _categorical(counts: np.ndarray):
    probs = counts.astype(np.float64)
    return constriction.stream.model.Categorical(probs / probs.sum(), perfect=False)


def _blocks(n: int) -> list[tuple[int, int]]:
    """Block boundaries of the adaptive coders: 32, 64, ..., 2048, 2048, ... symbols."""
    out, start, size = [], 0, 32
    while start < n:
        out.append((start, min(n, start + size)))
        start += size
        size = min(2 * size, 2048)
    return out


# --------------------------------------------------------------------------- varints
def _write_varints(values: np.ndarray) -> bytes:
    return write_varints(values)


def _read_varints(data: bytes, count: int, pos: int) -> tuple[np.ndarray, int]:
    return read_varints(data, count, pos, what="histogram in a static-model stream")


def _words(data: bytes) -> np.ndarray:
    return bytes_to_words(data, "<", what="range-coder payload")


# --------------------------------------------------------------------------- categorical streams
def _encode_adaptive(symbols: np.ndarray, alphabet: int) -> bytes:
    enc = _queue().RangeEncoder()
    counts = np.full(alphabet, PRIOR)
    for a, b in _blocks(symbols.size):
        block = symbols[a:b]
        enc.encode(block.astype(np.int32), _categorical(counts))
        counts += np.bincount(block, minlength=alphabet)
    return enc.get_compressed().tobytes()


def _decode_adaptive(data: bytes, n: int, alphabet: int) -> np.ndarray:
    dec = _queue().RangeDecoder(_words(data))
    counts = np.full(alphabet, PRIOR)
    out = np.empty(n, dtype=np.int64)
    for a, b in _blocks(n):
        block = np.asarray(dec.decode(_categorical(counts), b - a), dtype=np.int64)
        out[a:b] = block
        counts += np.bincount(block, minlength=alphabet)
    return out


def _encode_static(symbols: np.ndarray, alphabet: int) -> bytes:
    hist = np.bincount(symbols, minlength=alphabet)
    enc = _queue().RangeEncoder()
    if symbols.size:
        enc.encode(symbols.astype(np.int32), _categorical(hist))
    return _write_varints(hist) + enc.get_compressed().tobytes()


def _decode_static(data: bytes, n: int, alphabet: int) -> np.ndarray:
    hist, pos = _read_varints(data, alphabet, 0)
    if int(hist.sum()) != n:
        raise BitstreamError(
            None, f"static histogram counts {int(hist.sum())} symbols, expected {n}"
        )
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    dec = _queue().RangeDecoder(_words(data[pos:]))
    return np.asarray(dec.decode(_categorical(hist), n), dtype=np.int64)


def _to_repeat(symbols: np.ndarray, alphabet: int) -> np.ndarray:
    """Replace every symbol equal to its predecessor by the extra symbol ``alphabet``."""
    prev = np.concatenate([[-1], symbols[:-1]])
    return np.where(symbols == prev, alphabet, symbols)


def _from_repeat(symbols: np.ndarray, alphabet: int) -> np.ndarray:
    out = symbols.copy()
    rep = np.nonzero(out == alphabet)[0]
    if rep.size and rep[0] == 0:
        raise BitstreamError(None, "a repeat symbol at the start of a stream")
    # a repeat copies the last non-repeat value before it
    last = np.maximum.accumulate(np.where(out != alphabet, np.arange(out.size), 0))
    return out[last]


def encode_symbols(symbols: np.ndarray, alphabet: int) -> bytes:
    """Code integers in ``[0, alphabet)``; the smallest of three models wins.

    Modes: adaptive counts; a static histogram; adaptive counts over the symbols with "same as
    the previous symbol" replaced by an extra symbol (runs of equal values, frequent among
    Morton-sorted neighbours). Returns ``mode byte + payload``; :func:`decode_symbols` needs ``n``
    and ``alphabet``.
    """
    symbols = np.asarray(symbols, dtype=np.int64).ravel()
    if symbols.size and (symbols.min() < 0 or symbols.max() >= alphabet):
        raise ValueError(f"symbols outside [0, {alphabet})")
    candidates = [
        bytes([MODE_ADAPTIVE]) + _encode_adaptive(symbols, alphabet),
        bytes([MODE_STATIC]) + _encode_static(symbols, alphabet),
        bytes([MODE_REPEAT]) + _encode_adaptive(_to_repeat(symbols, alphabet), alphabet + 1),
    ]
    return min(candidates, key=len)


def decode_symbols(data: bytes, n: int, alphabet: int) -> np.ndarray:
    """Inverse of :func:`encode_symbols`.  # [n] int64"""
    if not data:
        raise BitstreamError(None, "empty symbol stream")
    mode, payload = data[0], data[1:]
    if mode == MODE_ADAPTIVE:
        out = _decode_adaptive(payload, n, alphabet)
    elif mode == MODE_STATIC:
        out = _decode_static(payload, n, alphabet)
    elif mode == MODE_REPEAT:
        out = _from_repeat(_decode_adaptive(payload, n, alphabet + 1), alphabet)
    else:
        raise BitstreamError(None, f"unknown model mode {mode}")
    if out.size and (out.min() < 0 or out.max() >= alphabet):
        raise BitstreamError(None, "decoded symbols outside the alphabet")
    return out


# --------------------------------------------------------------------------- index streams
def is_first_use_order(indices: np.ndarray) -> bool:
    """True when every row's first occurrence comes right after all lower rows' first ones."""
    if indices.size == 0:
        return True
    running_max = np.maximum.accumulate(indices)
    new = np.concatenate([[True], running_max[1:] > running_max[:-1]])
    return (
        bool(indices[0] == 0)
        and bool(np.all(np.diff(running_max[new]) == 1))
        and bool(np.all(indices[~new] <= running_max[~new]))
    )


RECENCY = 32  # distinct indices remembered by the index coder


def _index_counts(rows: int) -> np.ndarray:
    counts = np.zeros(RECENCY + rows + 1)
    counts[:RECENCY] = 1.0  # recency ranks
    counts[RECENCY + rows] = 1.0  # escape (a new row)
    return counts


def _update_index_counts(counts: np.ndarray, symbols: np.ndarray, rows: int) -> None:
    """Add this block's symbols; a newly introduced row starts with a count of 1/2."""
    counts += np.bincount(symbols, minlength=counts.size)[: counts.size]
    n_new = int((symbols == RECENCY + rows).sum())
    if n_new:
        seen = int((counts[RECENCY : RECENCY + rows] > 0).sum())  # rows introduced before
        counts[RECENCY + seen : RECENCY + seen + n_new] += 0.5


def encode_first_use_indices(indices: np.ndarray, rows: int) -> bytes:
    """Indices in first-use order with a recency list and adaptive counts.

    Each index becomes one symbol: its rank ``r < 32`` in the list of the 32 most recently used
    distinct indices (Morton-sorted neighbours often share codebook rows; rank 0 is "same as the
    previous Gaussian"); else ``32 + rows`` (escape) for a row's first occurrence (its number is
    implied: the next unused row); else ``32 + row``. Counts are updated after every block; a
    row's plain symbol gets count 1/2 when the row is introduced, so unseen rows cost nothing.
    """
    idx = np.asarray(indices, dtype=np.int64)
    symbols = np.empty(idx.size, dtype=np.int64)
    recent: list[int] = []
    next_row = 0
    for i, v in enumerate(idx.tolist()):
        if v in recent:
            r = recent.index(v)
            symbols[i] = r
            del recent[r]
        elif v == next_row:
            symbols[i] = RECENCY + rows
            next_row += 1
        else:
            symbols[i] = RECENCY + v
        recent.insert(0, v)
        if len(recent) > RECENCY:
            recent.pop()
    enc = _queue().RangeEncoder()
    counts = _index_counts(rows)
    for a, b in _blocks(idx.size):
        enc.encode(symbols[a:b].astype(np.int32), _categorical(counts))
        _update_index_counts(counts, symbols[a:b], rows)
    return enc.get_compressed().tobytes()


def decode_first_use_indices(data: bytes, n: int, rows: int) -> np.ndarray:
    """Inverse of :func:`encode_first_use_indices`.  # [n] int64"""
    dec = _queue().RangeDecoder(_words(data))
    counts = _index_counts(rows)
    out = np.empty(n, dtype=np.int64)
    recent: list[int] = []
    next_row = 0
    for a, b in _blocks(n):
        symbols = np.asarray(dec.decode(_categorical(counts), b - a), dtype=np.int64)
        for i, s in enumerate(symbols.tolist()):
            if s < RECENCY:
                if s >= len(recent):
                    raise BitstreamError(None, "index stream refers past its recency list")
                v = recent.pop(s)
            elif s == RECENCY + rows:
                if next_row >= rows:
                    raise BitstreamError(None, "index stream introduces more rows than exist")
                v = next_row
                next_row += 1
            else:
                v = s - RECENCY
                if v >= next_row:
                    raise BitstreamError(None, "index stream refers to a row before its first use")
            out[a + i] = v
            recent.insert(0, v)
            if len(recent) > RECENCY:
                recent.pop()
        _update_index_counts(counts, symbols, rows)
    if n and next_row != rows:
        raise BitstreamError(None, f"index stream used {next_row} of {rows} table rows")
    return out


# --------------------------------------------------------------------------- positions
def _bucket_code(values: np.ndarray, signed: bool) -> bytes:
    """Integers as ``bit_length(|v|)`` (adaptive model) + sign + the bits below the leading one."""
    mags = np.abs(values)
    b = np.zeros_like(mags)
    nz = mags > 0
    b[nz] = np.floor(np.log2(mags[nz].astype(np.float64))).astype(np.int64) + 1
    # float log2 can be off by one near powers of two for big values: fix exactly
    b[nz] += (mags[nz] >> b[nz]) > 0
    b[nz] -= (mags[nz] >> (b[nz] - 1)) == 0
    width = int(b.max()) if b.size else 0
    extra = int(signed)
    lens = np.where(b > 0, b - 1 + extra, 0)
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
    return struct.pack("<II", len(coded), len(raw)) + coded + raw


_MANTISSA_ROWS = 1 << 16


def _bucket_decode(data: bytes, pos: int, n: int, signed: bool) -> tuple[np.ndarray, int]:
    if pos + 8 > len(data):
        raise BitstreamError(None, "truncated position stream")
    n_coded, n_raw = struct.unpack_from("<II", data, pos)
    pos += 8
    if pos + n_coded + n_raw > len(data):
        raise BitstreamError(None, "truncated position stream")
    b = decode_symbols(data[pos : pos + n_coded], n, 64)
    bits = np.unpackbits(np.frombuffer(data[pos + n_coded : pos + n_coded + n_raw], np.uint8))
    pos += n_coded + n_raw
    if b.size and b.max() > 62:
        raise BitstreamError(None, "corrupt position bucket")
    extra = int(signed)
    lens = np.where(b > 0, b - 1 + extra, 0)
    if int(lens.sum()) > bits.size:
        raise BitstreamError(None, "position mantissa bits are truncated")
    starts = np.cumsum(lens) - lens
    width = int(b.max()) if b.size else 0
    mag = np.where(b > 0, np.left_shift(1, np.clip(b - 1, 0, None)), 0).astype(np.int64)
    if width > 1:
        j = np.arange(width - 1)[None, :]
        for lo in range(0, b.size, _MANTISSA_ROWS):  # bounded [rows, width] temporaries
            hi = lo + _MANTISSA_ROWS
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


POS_AXIS_DELTAS, POS_MORTON_GAPS = 0, 1


def encode_positions(means: np.ndarray) -> bytes:
    """fp16 ``[N, 3]`` positions, exactly.

    If the Gaussians are sorted by :func:`~pcc.c3dgs.compressed_model.fp16_morton_codes` (as
    :func:`~pcc.c3dgs.compressed_model.finalize` leaves them), the non-decreasing 48-bit codes are
    sent as gaps (this exploits the known order: about ``log2 N`` bits per point less than coding
    each point alone); otherwise each axis's order-preserving keys are sent as differences.
    """
    m16 = torch.from_numpy(np.ascontiguousarray(means, dtype=np.float16))
    codes = fp16_morton_codes(m16).numpy()
    if codes.size == 0 or np.all(np.diff(codes) >= 0):
        gaps = np.diff(codes, prepend=np.int64(0))
        return bytes([POS_MORTON_GAPS]) + _bucket_code(gaps, signed=False)
    keys = half_to_ordered(m16).numpy()
    deltas = np.diff(keys, axis=0, prepend=np.zeros((1, 3), dtype=np.int64))
    return bytes([POS_AXIS_DELTAS]) + b"".join(_bucket_code(deltas[:, a], True) for a in range(3))


def decode_positions(data: bytes, n: int) -> np.ndarray:
    """Inverse of :func:`encode_positions`.  # [n, 3] float16"""
    if not data:
        raise BitstreamError(None, "empty position stream")
    mode, pos = data[0], 1
    if mode == POS_MORTON_GAPS:
        gaps, pos = _bucket_decode(data, pos, n, signed=False)
        codes = np.cumsum(gaps)
        if codes.size and (codes.min() < 0 or codes.max() >= 2**48):
            raise BitstreamError(None, "decoded Morton codes out of range")
        keys = morton_decode_keys(torch.from_numpy(codes)).numpy()
    elif mode == POS_AXIS_DELTAS:
        keys = np.zeros((n, 3), dtype=np.int64)
        for axis in range(3):
            deltas, pos = _bucket_decode(data, pos, n, signed=True)
            keys[:, axis] = np.cumsum(deltas)
    else:
        raise BitstreamError(None, f"unknown position mode {mode}")
    if pos != len(data):
        raise BitstreamError(None, "trailing bytes in the position stream")
    if keys.size and (keys.min() < 0 or keys.max() > 0xFFFF):
        raise BitstreamError(None, "decoded positions out of the fp16 range")
    return ordered_to_half(torch.from_numpy(keys)).numpy()


def encode_grid_positions(coords: np.ndarray) -> bytes:
    """Integer grid coordinates ``[N, 3]`` (a :class:`PositionGrid`'s), exactly: sorted Morton
    codes as gaps (as :func:`encode_positions`), else per-axis signed deltas."""
    coords = np.asarray(coords, dtype=np.int64).reshape(-1, 3)
    codes = morton_encode(coords).astype(np.int64)
    if codes.size == 0 or np.all(np.diff(codes) >= 0):
        gaps = np.diff(codes, prepend=np.int64(0))
        return bytes([POS_MORTON_GAPS]) + _bucket_code(gaps, signed=False)
    deltas = np.diff(coords, axis=0, prepend=np.zeros((1, 3), dtype=np.int64))
    return bytes([POS_AXIS_DELTAS]) + b"".join(_bucket_code(deltas[:, a], True) for a in range(3))


def decode_grid_positions(data: bytes, n: int, bits: int) -> np.ndarray:
    """Inverse of :func:`encode_grid_positions`; coordinates checked against ``[0, 2^bits)``.
    # [n, 3] int64"""
    if not data:
        raise BitstreamError(None, "empty position stream")
    mode, pos = data[0], 1
    if mode == POS_MORTON_GAPS:
        gaps, pos = _bucket_decode(data, pos, n, signed=False)
        codes = np.cumsum(gaps)
        if codes.size and (codes.min() < 0 or codes.max() >= 2 ** (3 * bits)):
            raise BitstreamError(None, "decoded Morton codes outside the position grid")
        coords = morton_decode(codes.astype(np.uint64))
    elif mode == POS_AXIS_DELTAS:
        coords = np.zeros((n, 3), dtype=np.int64)
        for axis in range(3):
            deltas, pos = _bucket_decode(data, pos, n, signed=True)
            coords[:, axis] = np.cumsum(deltas)
    else:
        raise BitstreamError(None, f"unknown position mode {mode}")
    if pos != len(data):
        raise BitstreamError(None, "trailing bytes in the position stream")
    if coords.size and (coords.min() < 0 or coords.max() >= 1 << bits):
        raise BitstreamError(None, "decoded positions outside the position grid")
    return coords


# --------------------------------------------------------------------------- table groups
def _table_groups(name: str, codes: torch.Tensor) -> list[np.ndarray]:
    """Split an int8 table into column groups that share one model (as symbols 0..255)."""
    a = codes.numpy().astype(np.int64) + 128
    if name == "color_dc":  # [M, 1, 3]: one model per channel
        return [a[:, 0, c] for c in range(3)]
    if name == "color_rest":  # [M, k, 3]: one model per SH band (all channels)
        groups, start = [], 0
        for band in range(1, 4):
            width = 2 * band + 1
            if start + width <= a.shape[1]:
                groups.append(a[:, start : start + width, :].reshape(-1))
            start += width
        return groups
    if name in ("scale_dir", "rotation"):  # one model per column
        return [a[:, c] for c in range(a.shape[1])]
    return [a.reshape(-1)]


def _table_from_groups(name: str, groups: list[np.ndarray], rows: int, k: int) -> torch.Tensor:
    if name == "color_dc":
        a = np.stack(groups, axis=1)[:, None, :]
    elif name == "color_rest":
        blocks, band = [], 1
        for g in groups:
            blocks.append(g.reshape(rows, 2 * band + 1, 3))
            band += 1
        a = np.concatenate(blocks, axis=1) if blocks else np.zeros((rows, 0, 3), np.int64)
    elif name in ("scale_dir", "rotation"):
        a = np.stack(groups, axis=1)
    else:
        a = groups[0]
    return torch.from_numpy((a - 128).astype(np.int8))


def _group_sizes(name: str, rows: int, n: int, rest_coeffs: int) -> list[int]:
    if name == "color_dc":
        return [rows] * 3
    if name == "color_rest":
        return [
            rows * 3 * (2 * band + 1) for band in range(1, 4) if (band + 1) ** 2 - 1 <= rest_coeffs
        ]
    if name == "scale_dir":
        return [rows] * 3
    if name == "rotation":
        return [rows] * 4
    return [n]


# --------------------------------------------------------------------------- container
def _group_names(name: str, n_groups: int) -> list[str]:
    """Names of the streams :func:`_table_groups` makes for field ``name``."""
    if n_groups == 1:
        return [name]
    labels = {
        "color_dc": ["R", "G", "B"],
        "color_rest": [f"band{b}" for b in range(1, 4)],
        "scale_dir": ["x", "y", "z"],
        "rotation": ["w", "x", "y", "z"],
    }.get(name, [str(i) for i in range(n_groups)])
    return [f"{name}.{label}" for label in labels[:n_groups]]


def encode_streams(q: QuantizedGaussians) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The header (magic to quantisation parameters) and the named streams of a ``.pcc3dgs``.

    Stream names: ``positions``; ``color_dc.R/G/B``; ``color_rest.band1..3``; ``opacity``;
    ``scale_dir.x/y/z``; ``log_magnitude``; ``rotation.w/x/y/z``; ``color_indices``;
    ``shape_indices``. :func:`encode` frames them (count byte, a u32 length before each, CRC).
    """
    n, deg = len(q), q.sh_degree
    m_c, m_g = q.color_dc.shape[0], q.scale_dir.shape[0]
    c_idx, g_idx = q.color_indices.numpy(), q.shape_indices.numpy()
    flags = 0
    if is_first_use_order(c_idx):
        flags |= FLAG_COLOR_FIRST_USE
    if is_first_use_order(g_idx):
        flags |= FLAG_SHAPE_FIRST_USE
    grid = q.position_grid
    if grid is not None:
        flags |= FLAG_POSITION_GRID
    version = 1 if grid is None else 2  # fp16 models stay version 1, byte for byte
    header = bytearray(_HEADER.pack(MAGIC, version, n, deg, m_c, m_g, flags))
    for name in QUANTIZED_FIELDS:
        header += _QP.pack(q.qparams[name].scale, q.qparams[name].zero_point)
    if grid is None:
        streams = [("positions", encode_positions(q.means.numpy()))]
    else:
        header += _GRID.pack(*grid.origin, grid.step, grid.bits)
        coords = grid.coords(q.means)
        if not torch.equal(grid.positions(coords), q.means.to(torch.float32)):
            raise ValueError("means do not lie on their position grid")
        streams = [("positions", encode_grid_positions(coords.numpy()))]
    for name in QUANTIZED_FIELDS:
        groups = _table_groups(name, getattr(q, name))
        for label, group in zip(_group_names(name, len(groups)), groups, strict=True):
            streams.append((label, encode_symbols(group, 256)))
    for label, idx, rows, flag in (
        ("color_indices", c_idx, m_c, FLAG_COLOR_FIRST_USE),
        ("shape_indices", g_idx, m_g, FLAG_SHAPE_FIRST_USE),
    ):
        if flags & flag:
            streams.append((label, encode_first_use_indices(idx, rows)))
        else:
            streams.append((label, encode_symbols(idx, max(rows, 1))))
    return bytes(header), streams


def frame(header: bytes, streams: list[bytes]) -> bytes:
    """Header + stream count + length-prefixed streams + CRC-32: the container layout."""
    out = bytearray(header)
    out += struct.pack("<B", len(streams))
    for s in streams:
        out += struct.pack("<I", len(s)) + s
    out += struct.pack("<I", zlib.crc32(bytes(out)))
    return bytes(out)


def encode(q: QuantizedGaussians) -> bytes:
    """The complete ``.pcc3dgs`` byte string of a quantised model."""
    header, streams = encode_streams(q)
    return frame(header, [s for _, s in streams])


def decode(data: bytes, path: str | os.PathLike | None = None) -> QuantizedGaussians:
    """Parse and decode a ``.pcc3dgs`` byte string; raises :class:`BitstreamError` if corrupt."""
    try:
        return _decode(data)
    except BitstreamError as err:
        raise BitstreamError(path, err.problem) from None
    except (struct.error, ValueError, RuntimeError, OverflowError, IndexError) as err:
        raise BitstreamError(path, f"corrupt .pcc3dgs stream: {err}") from err
    except AssertionError as err:  # constriction asserts on data its model cannot decode
        raise BitstreamError(path, f"corrupt .pcc3dgs stream (range decoder: {err})") from None


#: Decoder limits, checked before anything is allocated: at most this many Gaussians, and at most
#: this many Gaussians (or table rows) per byte of file. Even a degenerate model (every Gaussian
#: identical) costs about ``alphabet / 2 * log2(N)`` bits per adaptive stream, far more than this.
MAX_GAUSSIANS = 1 << 27
MAX_PER_BYTE = 1 << 12


def check_counts(n: int, deg: int, m_c: int, m_g: int, flags: int, size: int) -> None:
    """Validate the header's counts against sane maxima and the file size (before allocating).

    Table rows are renumbered and compacted by :func:`~pcc.c3dgs.compressed_model.finalize`, so a
    table never has more rows than there are Gaussians (and none when there are none).
    """
    if deg > 3:
        raise BitstreamError(None, f"SH degree {deg} > 3")
    if flags & ~(FLAG_COLOR_FIRST_USE | FLAG_SHAPE_FIRST_USE | FLAG_POSITION_GRID):
        raise BitstreamError(None, f"unknown flags {flags:#x}")
    limit = min(MAX_GAUSSIANS, MAX_PER_BYTE * size)
    if n > limit:
        raise BitstreamError(
            None, f"header declares {n} Gaussians, more than {limit} for a {size}-byte file"
        )
    for what, rows in (("colour", m_c), ("shape", m_g)):
        if rows > max(n, 1) or (n and not rows):
            raise BitstreamError(
                None, f"header declares {rows} {what} table rows for {n} Gaussians"
            )


def _decode(data: bytes) -> QuantizedGaussians:
    if len(data) < _HEADER.size + 4 or data[:5] != MAGIC:
        raise BitstreamError(None, "not a .pcc3dgs file (bad magic or too short)")
    if data[5] not in VERSIONS:
        raise BitstreamError(
            None, f"unsupported .pcc3dgs version {data[5]} (expected one of {VERSIONS})"
        )
    (crc,) = struct.unpack_from("<I", data, len(data) - 4)
    if zlib.crc32(data[:-4]) != crc:
        raise BitstreamError(None, "checksum mismatch: the file is truncated or corrupt")
    _, _, n, deg, m_c, m_g, flags = _HEADER.unpack_from(data, 0)
    check_counts(n, deg, m_c, m_g, flags, len(data))
    pos = _HEADER.size
    qparams = {}
    for name in QUANTIZED_FIELDS:
        scale, zp = _QP.unpack_from(data, pos)
        pos += _QP.size
        if not (math.isfinite(scale) and scale > 0 and scale * (abs(zp) + 256) < 1e38):
            raise BitstreamError(None, f"quantisation of {name}: scale {scale}, zero point {zp}")
        qparams[name] = QParams(scale, zp)
    grid = None
    if flags & FLAG_POSITION_GRID:
        if data[5] < 2:
            raise BitstreamError(None, "position-grid flag in a version 1 file")
        ox, oy, oz, step, bits = _GRID.unpack_from(data, pos)
        pos += _GRID.size
        finite = all(math.isfinite(v) and abs(v) < 1e30 for v in (ox, oy, oz, step))
        if not (finite and step > 0 and 1 <= bits <= MAX_BITS):
            raise BitstreamError(None, f"position grid: step {step}, {bits} bits")
        grid = PositionGrid((ox, oy, oz), step, bits)
    (n_streams,) = struct.unpack_from("<B", data, pos)
    pos += 1
    streams = []
    for _ in range(n_streams):
        (length,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if pos + length > len(data) - 4:
            raise BitstreamError(None, "a stream runs past the end of the file")
        streams.append(data[pos : pos + length])
        pos += length
    if pos != len(data) - 4:
        raise BitstreamError(None, "unexpected bytes after the last stream")
    rest_coeffs = (deg + 1) ** 2 - 1
    sizes = {
        name: _group_sizes(name, m_c if name.startswith("color") else m_g, n, rest_coeffs)
        for name in QUANTIZED_FIELDS
    }
    expected = 1 + sum(len(v) for v in sizes.values()) + 2
    if len(streams) != expected:
        raise BitstreamError(None, f"{len(streams)} streams, expected {expected}")
    if grid is None:
        means = torch.from_numpy(decode_positions(streams[0], n))
    else:
        means = grid.positions(torch.from_numpy(decode_grid_positions(streams[0], n, grid.bits)))
    k, fields = 1, {}
    for name in QUANTIZED_FIELDS:
        groups = []
        for size in sizes[name]:
            groups.append(decode_symbols(streams[k], size, 256))
            k += 1
        rows = m_c if name.startswith("color") else m_g
        fields[name] = _table_from_groups(name, groups, rows, rest_coeffs)
    if name_shape_mismatch(fields, n, m_c, m_g, rest_coeffs):
        raise BitstreamError(None, "decoded table shapes do not match the header")
    indices = []
    for rows, flag in ((m_c, FLAG_COLOR_FIRST_USE), (m_g, FLAG_SHAPE_FIRST_USE)):
        if flags & flag:
            idx = decode_first_use_indices(streams[k], n, rows)
        else:
            idx = decode_symbols(streams[k], n, max(rows, 1))
            if n and idx.max() >= rows:
                raise BitstreamError(None, "index outside its table")
        indices.append(torch.from_numpy(idx))
        k += 1
    return QuantizedGaussians(
        means=means,
        color_indices=indices[0],
        shape_indices=indices[1],
        qparams=qparams,
        position_grid=grid,
        **fields,
    )


def name_shape_mismatch(fields: dict, n: int, m_c: int, m_g: int, rest: int) -> bool:
    want = {
        "color_dc": (m_c, 1, 3),
        "color_rest": (m_c, rest, 3),
        "opacity": (n,),
        "log_magnitude": (n,),
        "scale_dir": (m_g, 3),
        "rotation": (m_g, 4),
    }
    return any(tuple(fields[k].shape) != v for k, v in want.items())


def save_pcc(q: QuantizedGaussians, path: str | os.PathLike) -> int:
    """Write ``q`` as ``.pcc3dgs`` (atomically); returns the file size in bytes."""
    return save_pcc_streams(q, path)[0]


def save_pcc_streams(
    q: QuantizedGaussians, path: str | os.PathLike
) -> tuple[int, dict[str, int], int]:
    """Write ``q`` as ``.pcc3dgs``; returns ``(file bytes, bytes per named stream, framing)``.

    ``framing`` is everything that is not a stream payload: header, quantisation parameters,
    stream count, the u32 length of every stream and the CRC, so the stream sizes plus
    ``framing`` equal the file size exactly.
    """
    header, streams = encode_streams(q)
    data = frame(header, [s for _, s in streams])
    write_bytes_atomic(path, data)
    sizes = {name: len(s) for name, s in streams}
    return len(data), sizes, len(data) - sum(sizes.values())


def load_pcc(path: str | os.PathLike) -> QuantizedGaussians:
    """Read a ``.pcc3dgs`` file; raises :class:`BitstreamError` naming the file if it is bad."""
    try:
        data = open(path, "rb").read()  # noqa: SIM115 - read whole file
    except FileNotFoundError as err:
        raise BitstreamError(path, "file not found") from err
    return decode(data, path)
