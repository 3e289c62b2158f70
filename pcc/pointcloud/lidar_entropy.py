"""Adaptive coding of signed integer residuals for the LiDAR codec (:mod:`pcc.pointcloud.lidar_codec`).

A residual ``v`` is split into a *bin* and an *offset*:

* ``|v| < 16`` has a bin of its own; larger magnitudes fall in half-octave bins
  ``[2^e, 1.5 2^e)`` and ``[1.5 2^e, 2^(e+1))`` (e = 4 .. 31). The signed bin (bin and sign in one
  symbol, 143 symbols) is coded with an adaptive categorical model;
* the offset inside a bin wider than one value (widths are powers of two) is coded as
  uniform pieces of at most 12 bits (``log2 width`` bits in all). Inside a half-octave bin a Laplacian residual is nearly flat, so this costs little.

**Adaptive model.** Every symbol carries a context (a small integer the decoder knows *before*
it decodes the stream, e.g. the class of an earlier stream's residual for the same point). The
model keeps integer counts per context and a context-free count table; the probability is a
chained Dirichlet back-off as in :mod:`pcc.pointcloud.octree_codec`:
``p_base = (n + a) / (N + a K)``, ``p_ctx = (n_ctx + beta p_base) / (N_ctx + beta)``.
Counts are updated after every chunk of ``CHUNK`` symbols, so a chunk is coded with one
vectorised probability computation and one ``constriction`` call, and the decoder, which runs the
same chunk loop, reproduces every probability exactly (the arithmetic is elementwise IEEE numpy).

A stream is one ANS stack (``constriction``): the categorical symbols are decoded first, chunk by
chunk, then all offsets in one call. Taught in ``notebooks/16_lidar.ipynb``.
"""

from __future__ import annotations

import bisect

import constriction
import numpy as np

from pcc.errors import BitstreamError
from pcc.pointcloud.entropy_coding import bytes_to_words, words_to_bytes

CHUNK = 256
N_SMALL = 16  # |v| < N_SMALL has its own bin
MAX_EXP = 31  # largest octave: |v| < 2^32
N_BINS = N_SMALL + 2 * (MAX_EXP - 3)  # 72 magnitude bins
N_SYMBOLS = 2 * N_BINS - 1  # signed bins: 0, then (+b, -b) for b = 1 .. N_BINS - 1
BETA = 6.0
ALPHA = 0.02

_PIECE_BITS = 12  # offsets are sent as uniform pieces of at most 12 bits
_PIECES = 3  # enough for the widest bin (2^30)
_CATEGORICAL = constriction.stream.model.Categorical(perfect=False)
_UNIFORM = constriction.stream.model.Uniform()


def _bin_tables() -> tuple[np.ndarray, np.ndarray]:
    """Lower bound ``[N_BINS]`` and width ``[N_BINS]`` of every magnitude bin (int64)."""
    low = list(range(N_SMALL))
    width = [1] * N_SMALL
    for e in range(4, MAX_EXP + 1):
        for half in (0, 1):
            low.append((2 + half) << (e - 1))
            width.append(1 << (e - 1))
    return np.asarray(low, np.int64), np.asarray(width, np.int64)


BIN_LOW, BIN_WIDTH = _bin_tables()
MAX_ABS = int(BIN_LOW[-1] + BIN_WIDTH[-1] - 1)


def _log2_width(width: np.ndarray) -> np.ndarray:
    """Bin widths are powers of two: their exponents ``[n]``."""
    return np.round(np.log2(width)).astype(np.int64)


def to_symbols(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed ints ``[n]`` -> (signed-bin symbol ``[n]``, offset ``[n]``, bin width ``[n]``)."""
    v = np.asarray(values, np.int64)
    m = np.abs(v)
    if m.size and int(m.max()) > MAX_ABS:
        raise ValueError(f"residual {int(m.max())} exceeds the coder's range {MAX_ABS}")
    b = np.searchsorted(BIN_LOW, m, side="right") - 1  # [n] magnitude bin
    sym = np.where(v > 0, 2 * b - 1, 2 * b)
    sym[v == 0] = 0
    return sym.astype(np.int64), m - BIN_LOW[b], BIN_WIDTH[b]


def from_symbols(sym: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_symbols`: signed ints ``[n]``."""
    b = (sym + 1) // 2
    m = BIN_LOW[b] + offset
    return np.where(sym % 2 == 1, m, -m)


class AdaptiveModel:
    """Counts per context ``[n_ctx, N_SYMBOLS]`` with a context-free back-off table."""

    def __init__(self, n_ctx: int):
        self.counts = np.zeros((n_ctx, N_SYMBOLS), np.float64)
        self.totals = np.zeros(n_ctx, np.float64)
        self.base = np.zeros(N_SYMBOLS, np.float64)

    def probabilities(self, ctx: np.ndarray) -> np.ndarray:
        """``[n, N_SYMBOLS]`` probabilities for the contexts ``ctx [n]``."""
        base = (self.base + ALPHA) / (self.base.sum() + ALPHA * N_SYMBOLS)  # [K]
        num = self.counts[ctx] + BETA * base[None, :]  # [n, K]
        return num / (self.totals[ctx] + BETA)[:, None]

    def update(self, ctx: np.ndarray, sym: np.ndarray) -> None:
        np.add.at(self.counts, (ctx, sym), 1.0)
        np.add.at(self.totals, ctx, 1.0)
        np.add.at(self.base, sym, 1.0)


def ideal_bits(values: np.ndarray, ctx: np.ndarray, n_ctx: int) -> float:
    """Ideal code length (bits) of ``values`` with the adaptive model (no ANS overhead)."""
    values = np.asarray(values, np.int64).ravel()
    ctx = np.asarray(ctx, np.int64).ravel()
    sym, _, width = to_symbols(values)
    model = AdaptiveModel(n_ctx)
    bits = float(np.log2(width).sum())
    for lo in range(0, sym.size, CHUNK):
        c, s = ctx[lo : lo + CHUNK], sym[lo : lo + CHUNK]
        p = model.probabilities(c)
        bits -= float(np.log2(p[np.arange(s.size), s]).sum())
        model.update(c, s)
    return bits


def encode_ints(values: np.ndarray, ctx: np.ndarray, n_ctx: int) -> bytes:
    """Code signed ints ``[n]`` with contexts ``ctx [n]`` (each in ``0..n_ctx-1``) into bytes."""
    values = np.asarray(values, np.int64).ravel()
    ctx = np.asarray(ctx, np.int64).ravel()
    if values.shape != ctx.shape:
        raise ValueError(f"{values.size} values but {ctx.size} contexts")
    if ctx.size and (ctx.min() < 0 or ctx.max() >= n_ctx):
        raise ValueError(f"contexts must lie in 0..{n_ctx - 1}")
    sym, offset, width = to_symbols(values)
    model = AdaptiveModel(n_ctx)
    probs = []
    for lo in range(0, sym.size, CHUNK):
        c, s = ctx[lo : lo + CHUNK], sym[lo : lo + CHUNK]
        probs.append(model.probabilities(c))
        model.update(c, s)
    coder = constriction.stream.stack.AnsCoder()
    wbits = _log2_width(width)
    for j in range(_PIECES - 1, -1, -1):  # pushed last piece first: decoded first piece first
        bits_j = np.clip(wbits - _PIECE_BITS * j, 0, _PIECE_BITS)
        sel = bits_j > 0
        if sel.any():
            piece = (offset[sel] >> (_PIECE_BITS * j)) & ((1 << bits_j[sel]) - 1)
            coder.encode_reverse(
                piece.astype(np.int32), _UNIFORM, (1 << bits_j[sel]).astype(np.int32)
            )
    if sym.size:
        coder.encode_reverse(sym.astype(np.int32), _CATEGORICAL, np.concatenate(probs))
    return words_to_bytes(coder.get_compressed())


def decode_ints(data: bytes, ctx: np.ndarray, n_ctx: int) -> np.ndarray:
    """Decode the ints written by :func:`encode_ints` given the same contexts ``ctx [n]``.

    Raises :class:`BitstreamError` (without a path: the caller adds it) on a corrupt stream.
    """
    ctx = np.asarray(ctx, np.int64).ravel()
    if ctx.size and (ctx.min() < 0 or ctx.max() >= n_ctx):
        raise ValueError(f"contexts must lie in 0..{n_ctx - 1}")
    try:
        coder = constriction.stream.stack.AnsCoder(bytes_to_words(data))
        model = AdaptiveModel(n_ctx)
        sym = np.zeros(ctx.size, np.int64)
        for lo in range(0, ctx.size, CHUNK):
            c = ctx[lo : lo + CHUNK]
            s = np.asarray(coder.decode(_CATEGORICAL, model.probabilities(c)), np.int64)
            sym[lo : lo + CHUNK] = s
            model.update(c, s)
        wbits = _log2_width(BIN_WIDTH[(sym + 1) // 2])
        offset = np.zeros(ctx.size, np.int64)
        for j in range(_PIECES):
            bits_j = np.clip(wbits - _PIECE_BITS * j, 0, _PIECE_BITS)
            sel = bits_j > 0
            if sel.any():
                piece = np.asarray(
                    coder.decode(_UNIFORM, (1 << bits_j[sel]).astype(np.int32)), np.int64
                )
                offset[sel] |= piece << (_PIECE_BITS * j)
        empty = coder.is_empty()
    except BitstreamError:
        raise
    except Exception as err:  # constriction raises plain exceptions on exhausted data
        raise BitstreamError(None, f"ANS stream is corrupt or truncated ({err})") from err
    if not empty:
        raise BitstreamError(None, "ANS stream has data left after the last symbol")
    return from_symbols(sym, offset)


# ---------------------------------------------------------------------------------------------
# Symbol-by-symbol adaptive coding (contexts may depend on the symbols just decoded)
# ---------------------------------------------------------------------------------------------

REFRESH_MAX = 64  # a context's probability row is rebuilt at least every 64 of its symbols


class _Rows:
    """Adaptive model whose per-context probability rows are rebuilt on a fixed schedule.

    Same counts and back-off as :class:`AdaptiveModel`; a context's ``constriction`` model is
    rebuilt after ``min(REFRESH_MAX, max(1, n_ctx / 8))`` new symbols of that context (so early
    symbols adapt at once, later ones every few dozen), identically in encoder and decoder.
    """

    def __init__(self, n_ctx: int):
        self.counts = [[0] * N_SYMBOLS for _ in range(n_ctx)]  # plain lists: cheap increments
        self.totals = [0] * n_ctx
        self.base = [0] * N_SYMBOLS
        self.since = [0] * n_ctx
        self.models: list = [None] * n_ctx

    def model(self, ctx: int):
        m = self.models[ctx]
        total = self.totals[ctx]
        if m is None or self.since[ctx] >= min(REFRESH_MAX, max(1, total >> 3)):
            base = np.asarray(self.base, np.float64)
            base = (base + ALPHA) / (base.sum() + ALPHA * N_SYMBOLS)
            p = (np.asarray(self.counts[ctx], np.float64) + BETA * base) / (total + BETA)
            m = constriction.stream.model.Categorical(p, perfect=False)
            self.models[ctx] = m
            self.since[ctx] = 0
        return m

    def update(self, ctx: int, sym: int) -> None:
        self.counts[ctx][sym] += 1
        self.base[sym] += 1
        self.totals[ctx] += 1
        self.since[ctx] += 1


_UNIFORMS: dict = {}


def _uniform(bits: int):
    m = _UNIFORMS.get(bits)
    if m is None:
        m = _UNIFORMS[bits] = constriction.stream.model.Uniform(1 << bits)
    return m


_SMALL_BITS = [int(round(np.log2(w))) for w in BIN_WIDTH.tolist()]
_LOW = BIN_LOW.tolist()


class SeqEncoder:
    """Adaptive coding of signed ints one at a time: ``put(value, ctx)``, then ``finish()``."""

    def __init__(self, n_ctx: int):
        self.rows = _Rows(n_ctx)
        self.n_ctx = n_ctx
        self.ops: list = []

    def put(self, value: int, ctx: int) -> None:
        m = abs(value)
        if m > MAX_ABS:
            raise ValueError(f"residual {m} exceeds the coder's range {MAX_ABS}")
        b = bisect.bisect_right(_LOW, m) - 1
        s = 0 if value == 0 else (2 * b - 1 if value > 0 else 2 * b)
        self.ops.append((s, self.rows.model(ctx), m - _LOW[b], _SMALL_BITS[b]))
        self.rows.update(ctx, s)

    def finish(self) -> bytes:
        coder = constriction.stream.stack.AnsCoder()
        for s, model, offset, wbits in reversed(self.ops):
            for j in range((wbits + _PIECE_BITS - 1) // _PIECE_BITS - 1, -1, -1):
                b = min(_PIECE_BITS, wbits - _PIECE_BITS * j)
                coder.encode_reverse((offset >> (_PIECE_BITS * j)) & ((1 << b) - 1), _uniform(b))
            coder.encode_reverse(s, model)
        return words_to_bytes(coder.get_compressed())


class SeqDecoder:
    """Decode what :class:`SeqEncoder` wrote: ``get(ctx)`` per value, then ``finish()``.

    Raises :class:`BitstreamError` (without a path) on a corrupt stream.
    """

    def __init__(self, data: bytes, n_ctx: int):
        try:
            self.coder = constriction.stream.stack.AnsCoder(bytes_to_words(data))
        except ValueError as err:  # e.g. "ANS compressed data never ends in a zero word"
            raise BitstreamError(None, f"ANS stream is corrupt ({err})") from err
        self.rows = _Rows(n_ctx)

    def get(self, ctx: int) -> int:
        try:
            s = int(self.coder.decode(self.rows.model(ctx)))
            b = (s + 1) // 2
            wbits = _SMALL_BITS[b]
            offset = 0
            for j in range((wbits + _PIECE_BITS - 1) // _PIECE_BITS):
                bits = min(_PIECE_BITS, wbits - _PIECE_BITS * j)
                offset |= int(self.coder.decode(_uniform(bits))) << (_PIECE_BITS * j)
        except Exception as err:  # constriction raises plain exceptions on exhausted data
            raise BitstreamError(None, f"ANS stream is corrupt or truncated ({err})") from err
        self.rows.update(ctx, s)
        m = _LOW[b] + offset
        return m if s % 2 == 1 else -m

    def finish(self) -> None:
        if not self.coder.is_empty():
            raise BitstreamError(None, "ANS stream has data left after the last symbol")
