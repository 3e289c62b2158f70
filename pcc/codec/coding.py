"""Real entropy coding of integer symbols with constriction's range coder.

Every distribution the codec writes with is first turned into an *integer* probability mass
function (``quantize_pmf``: each bin >= 1, the bins sum to 2**PRECISION = 2**20) by the same
deterministic numpy code on the encoder and decoder side; only those integers (as exact floats
n / 2**20) reach the coder, so both sides drive constriction with bit-identical models. Supports are
finite: the first and last bin of a pmf stand for "this value or further out" and are followed by an
*escape* (Exp-Golomb style: a 5-bit length, then the mantissa bits), so any integer in [-2**29,
2**29] can be coded and nothing is clipped.

The byte layout of one stream (``pack_stream``): 1 byte model code, 4 bytes CRC32 (of the code
byte and the payload), then the range coder's 32-bit words big-endian with trailing zero bytes
dropped (they are restored on reading). Corrupt or truncated streams raise
``pcc.errors.BitstreamError``.

References: constriction (Bamler 2022, "Understanding Entropy Coding With Asymmetric Numeral
Systems (ANS): a Statistician's Perspective"); integer CDF tables as in Ballé et al. 2018 and
CompressAI. Taught in ``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Hashable

import constriction
import numpy as np

from pcc.coding.words import bytes_to_words, words_to_bytes
from pcc.errors import BitstreamError

PRECISION = 20  # bits of the integer pmfs: probabilities are multiples of 2**-20
TOTAL = 1 << PRECISION
MAX_ABS_SYMBOL = 1 << 29  # largest |value| the escape mechanism is asked to handle
_LENGTH_SYMBOLS = 32  # escape length prefix: 5 bits
_CHUNK = 16  # escape mantissas are written in chunks of at most 16 bits

_model = constriction.stream.model
_queue = constriction.stream.queue


def quantize_pmf(prob: np.ndarray) -> np.ndarray:
    """Float probabilities [..., K] -> integer pmf [..., K] (int64), each >= 1, rows sum to 2**20.

    Deterministic: ``floor(p * (2**20 - K)) + 1`` per bin, and the remainder goes to the first
    largest bin. ``prob`` rows need not be normalised exactly but must be finite and >= 0.
    """
    prob = np.asarray(prob, dtype=np.float64)
    k = prob.shape[-1]
    if k < 1 or k > TOTAL // 2:
        raise ValueError(f"a pmf needs 1..{TOTAL // 2} bins, got {k}")
    if not np.all(np.isfinite(prob)) or np.any(prob < 0):
        raise ValueError("probabilities must be finite and non-negative")
    total = prob.sum(axis=-1, keepdims=True)
    total = np.where(total > 0, total, 1.0)
    pmf = np.floor(prob / total * (TOTAL - k)).astype(np.int64) + 1
    pmf = np.minimum(pmf, TOTAL - k + 1)
    rest = TOTAL - pmf.sum(axis=-1)  # >= 0 by construction
    top = np.argmax(pmf, axis=-1)
    np.put_along_axis(
        pmf, top[..., None], np.take_along_axis(pmf, top[..., None], -1) + rest[..., None], -1
    )
    return pmf


def pmf_bits(pmf: np.ndarray) -> np.ndarray:
    """-log2 of each bin of an integer pmf [..., K] -> float64 [..., K]."""
    return PRECISION - np.log2(np.asarray(pmf, dtype=np.float64))


def escape_bits(excess: np.ndarray) -> np.ndarray:
    """Bits the escape code spends on each excess value e >= 0 -> float64 like ``excess``."""
    e = np.asarray(excess, dtype=np.int64)
    nbits = _bit_length(e)
    return 5.0 + np.maximum(nbits - 1, 0)


def _bit_length(e: np.ndarray) -> np.ndarray:
    """Number of bits of each non-negative int64 (0 for 0) -> int64 like ``e``."""
    e = np.asarray(e, dtype=np.int64)
    out = np.zeros(e.shape, dtype=np.int64)
    nz = e > 0
    out[nz] = np.floor(np.log2(e[nz].astype(np.float64))).astype(np.int64) + 1
    # guard against float rounding near powers of two
    too_big = nz & ((np.int64(1) << np.maximum(out - 1, 0)) > e)
    out[too_big] -= 1
    too_small = nz & ((np.int64(1) << np.minimum(out, 62)) <= e)
    out[too_small] += 1
    return out


def split_symbols(
    values: np.ndarray, lows: np.ndarray, widths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Values [N] on supports [low, low + width - 1] -> (bin index [N], escape excess [N]).

    Bin 0 means "<= low" and bin width-1 means ">= low + width - 1"; the excess (>= 0) says how far
    beyond the edge the value is, and is -1 for values in interior bins (no escape written).
    """
    values = np.asarray(values, dtype=np.int64)
    if values.size and int(np.abs(values).max()) > MAX_ABS_SYMBOL:
        raise ValueError(
            f"latent value {int(np.abs(values).max())} is outside the codable range "
            f"[-{MAX_ABS_SYMBOL}, {MAX_ABS_SYMBOL}]"
        )
    index = values - np.broadcast_to(np.asarray(lows, dtype=np.int64), values.shape)
    top = np.broadcast_to(np.asarray(widths, dtype=np.int64), values.shape) - 1
    if top.size and int(top.min()) < 1:
        raise ValueError("every pmf needs at least 2 bins (two escape edges)")
    excess = np.full(values.shape, -1, dtype=np.int64)
    below = index <= 0
    above = index >= top
    excess[below] = -index[below]
    excess[above] = index[above] - top[above]
    index = np.clip(index, 0, top)
    return index, excess


def symbol_bits(
    values: np.ndarray, pmfs: np.ndarray, lows: np.ndarray, widths: np.ndarray
) -> float:
    """Bits ``RangeWriter.encode`` will spend on values [N] with rows pmfs [N, K] (estimate)."""
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    if values.size == 0:
        return 0.0
    pmfs = np.broadcast_to(np.asarray(pmfs), (values.size, np.asarray(pmfs).shape[-1]))
    lows = np.broadcast_to(np.asarray(lows, dtype=np.int64), values.shape)
    widths = np.broadcast_to(np.asarray(widths, dtype=np.int64), values.shape)
    index, excess = split_symbols(values, lows, widths)
    p = np.take_along_axis(pmfs, index[:, None], axis=1)[:, 0]
    bits = float(pmf_bits(p).sum())
    esc = excess[excess >= 0]
    return bits + float(escape_bits(esc).sum())


class RangeWriter:
    """Append integer symbols to one range-coder stream (constriction ``RangeEncoder``).

    Symbols are written in calls of ``encode``; the reader must repeat the same calls with the
    same pmfs in the same order. Escapes of a call are written right after its symbols.
    """

    def __init__(self) -> None:
        self._encoder = _queue.RangeEncoder()
        self._models: dict[Hashable, object] = {}

    def encode(
        self,
        values: np.ndarray,  # [N] int
        pmfs: np.ndarray,  # [N, K] (one row per symbol) or [K] (shared by all symbols)
        lows: np.ndarray | int,  # [N] or scalar: the value of bin 0
        widths: np.ndarray | int,  # [N] or scalar: number of valid bins of each row (<= K)
        key: Hashable | None = None,  # cache key of a shared pmf
    ) -> None:
        """Write values with their pmfs (integer, from ``quantize_pmf``) and any escapes."""
        values = np.asarray(values, dtype=np.int64).reshape(-1)
        if values.size == 0:
            return
        pmfs = np.asarray(pmfs)
        lows = np.broadcast_to(np.asarray(lows, dtype=np.int64), values.shape)
        widths = np.broadcast_to(np.asarray(widths, dtype=np.int64), values.shape)
        index, excess = split_symbols(values, lows, widths)
        if pmfs.ndim == 1:
            self._encoder.encode(index.astype(np.int32), self._shared_model(pmfs, key))
        else:
            probs = np.asarray(pmfs, dtype=np.float64) / TOTAL
            self._encoder.encode(index.astype(np.int32), _model.Categorical(perfect=False), probs)
        self._encode_escapes(excess[excess >= 0])

    def _shared_model(self, pmf: np.ndarray, key: Hashable | None) -> object:
        """A concrete constriction Categorical for one pmf [K], cached under ``key``."""
        if key is not None and key in self._models:
            return self._models[key]
        model = _model.Categorical(np.asarray(pmf, dtype=np.float64) / TOTAL, perfect=False)
        if key is not None:
            self._models[key] = model
        return model

    def _encode_escapes(self, excess: np.ndarray) -> None:
        """Exp-Golomb-like code of each e >= 0: 5-bit bit length, then the bits below the top 1."""
        for e in excess.tolist():
            nbits = int(e).bit_length()
            self._encoder.encode(nbits, _model.Uniform(_LENGTH_SYMBOLS))
            rest, left = e - (1 << (nbits - 1)) if nbits else 0, max(nbits - 1, 0)
            while left > 0:
                take = min(left, _CHUNK)
                left -= take
                self._encoder.encode((rest >> left) & ((1 << take) - 1), _model.Uniform(1 << take))

    def num_bits(self) -> int:
        """Bits written so far (a multiple of 32)."""
        return int(self._encoder.num_bits())

    def payload(self) -> bytes:
        """The range coder's words, big-endian, trailing zero bytes dropped."""
        return words_to_bytes(self._encoder.get_compressed(), ">", strip=True)


class RangeReader:
    """Read back what a ``RangeWriter`` wrote, call by call (see ``RangeWriter.encode``)."""

    def __init__(self, payload: bytes):
        words = bytes_to_words(payload, ">", pad=True)
        self._decoder = _queue.RangeDecoder(words)
        self._models: dict[Hashable, object] = {}

    def decode(
        self,
        count: int,
        pmfs: np.ndarray,  # [count, K] or [K]
        lows: np.ndarray | int,  # [count] or scalar
        widths: np.ndarray | int,  # [count] or scalar
        key: Hashable | None = None,
    ) -> np.ndarray:  # [count] int64
        """Decode ``count`` values written by the matching ``RangeWriter.encode`` call."""
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        pmfs = np.asarray(pmfs)
        try:
            if pmfs.ndim == 1:
                model = self._models.get(key) if key is not None else None
                if model is None:
                    model = _model.Categorical(
                        np.asarray(pmfs, dtype=np.float64) / TOTAL, perfect=False
                    )
                    if key is not None:
                        self._models[key] = model
                index = np.asarray(self._decoder.decode(model, count), dtype=np.int64)
            else:
                probs = np.asarray(pmfs, dtype=np.float64) / TOTAL
                index = np.asarray(
                    self._decoder.decode(_model.Categorical(perfect=False), probs), dtype=np.int64
                )
            lows = np.broadcast_to(np.asarray(lows, dtype=np.int64), (count,))
            top = np.broadcast_to(np.asarray(widths, dtype=np.int64), (count,)) - 1
            values = index + lows
            for i in np.flatnonzero((index == 0) | (index == top)).tolist():
                e = self._decode_escape()
                values[i] += -e if index[i] == 0 else e
        except BitstreamError:
            raise
        except (AssertionError, ValueError, RuntimeError, OverflowError) as err:
            raise BitstreamError(None, f"entropy-coded data is corrupt ({err})") from err
        return values

    def finish(self) -> None:
        """Check that the stream holds nothing beyond what was decoded (else wrong shape/model)."""
        if not self._decoder.maybe_exhausted():
            raise BitstreamError(
                None, "entropy stream has data left after decoding (wrong latent shape or model?)"
            )

    def _decode_escape(self) -> int:
        """Inverse of ``RangeWriter._encode_escapes`` for one value."""
        nbits = int(self._decoder.decode(_model.Uniform(_LENGTH_SYMBOLS)))
        if nbits == 0:
            return 0
        value, left = 1, nbits - 1
        while left > 0:
            take = min(left, _CHUNK)
            left -= take
            value = (value << take) | int(self._decoder.decode(_model.Uniform(1 << take)))
        if value > 2 * MAX_ABS_SYMBOL + 2:
            raise BitstreamError(None, "entropy-coded data is corrupt (escape value out of range)")
        return value


def pack_stream(model_code: int, payload: bytes) -> bytes:
    """[model code u8][CRC32 u32 of code + payload][payload] -> bytes."""
    head = bytes([model_code & 0xFF])
    crc = zlib.crc32(head + payload) & 0xFFFFFFFF
    return head + struct.pack("<I", crc) + payload


def unpack_stream(data: bytes, model_code: int, model_name: str = "") -> bytes:
    """Check the header and CRC written by ``pack_stream`` and return the payload."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BitstreamError(None, f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 5:
        raise BitstreamError(None, f"entropy stream truncated: {len(data)} bytes, header needs 5")
    if data[0] != (model_code & 0xFF):
        raise BitstreamError(
            None,
            f"entropy stream was written by model code {data[0]}, but this is model code "
            f"{model_code} ({model_name or 'unknown'})",
        )
    (crc,) = struct.unpack("<I", data[1:5])
    if zlib.crc32(data[:1] + data[5:]) & 0xFFFFFFFF != crc:
        raise BitstreamError(None, "entropy stream is corrupt or truncated (CRC32 mismatch)")
    return data[5:]


class BitCounter:
    """Drop-in for ``RangeWriter`` that only adds up the estimated bits -sum log2 p.

    Running an encoder once with a ``BitCounter`` and once with a ``RangeWriter`` gives the
    estimate and the real stream for exactly the same symbols and tables.
    """

    def __init__(self) -> None:
        self.bits = 0.0

    def encode(self, values, pmfs, lows, widths, key: Hashable | None = None) -> None:
        """Add the bits of values [N] under pmfs [N, K] or [K] (see ``RangeWriter.encode``)."""
        self.bits += symbol_bits(values, pmfs, lows, widths)
