"""Thin helpers around ``constriction``'s ANS coder for binary symbols with per-symbol probabilities.

Every point-cloud coder in pcc that codes bits (the octree coder, occupancy of learned blocks)
goes through these few functions, so the byte order of a stream, the probability clipping and the
error raised on a corrupt stream are the same everywhere.

* A stream is the ANS coder's ``uint32`` word array written little-endian (4 bytes per word).
* Probabilities are clipped to ``[P_MIN, 1 - P_MIN]`` before coding, identically in encoder and
  decoder, so a symbol never costs more than ``-log2(P_MIN)`` bits and the ideal code length
  ``-sum log2 p`` (:func:`estimate_bits`) tracks the real size closely (ANS with 24-bit
  probabilities, see Duda et al., "The use of asymmetric numeral systems as an accurate replacement
  for Huffman coding", PCS 2015; constriction: Bamler, "Understanding entropy coding with
  asymmetric numeral systems (ANS): a statistician's perspective", 2022).
* The real size can also fall *below* the estimate: the ANS coder starts from an empty state, and
  the symbols coded last in stream order that sit at the bottom of their interval (here: 0)
  cost nothing while the state is still empty. A stream ending in a long run of zeros (e.g. a
  cloud whose coordinates are all even, so children 1..7 of every last-level node are empty)
  is therefore shorter than ``-sum log2 p``. On natural clouds the two agree within 1 %.

Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import constriction
import numpy as np

from pcc.coding import words as _words
from pcc.errors import BitstreamError

P_MIN = 2.0**-16
_BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)


def clip_probability(p1: np.ndarray) -> np.ndarray:
    """Probabilities of a 1 ``[N]`` clipped to ``[P_MIN, 1 - P_MIN]`` as float64 ``[N]``."""
    return np.clip(np.asarray(p1, dtype=np.float64), P_MIN, 1.0 - P_MIN)


def estimate_bits(bits: np.ndarray, p1: np.ndarray) -> float:
    """Ideal code length ``-sum log2 p(bit)`` of binary symbols ``[N]`` with P(1) = ``p1`` ``[N]``."""
    bits = np.asarray(bits)
    p1 = clip_probability(p1)
    return float(-np.log2(np.where(bits != 0, p1, 1.0 - p1)).sum())


def words_to_bytes(words: np.ndarray) -> bytes:
    """uint32 word array ``[W]`` -> little-endian bytes (``4 W`` bytes)."""
    return _words.words_to_bytes(words, "<")


def bytes_to_words(data: bytes) -> np.ndarray:
    """Little-endian bytes -> uint32 word array; the length must be a multiple of 4."""
    return _words.bytes_to_words(data, "<")


def encode_bits(bits: np.ndarray, p1: np.ndarray) -> bytes:
    """Code binary symbols ``[N]`` (0/1) with per-symbol P(1) ``[N]`` into one ANS stream.

    The decoder reads them back in the same order (``encode_reverse`` puts the first symbol on
    top of the stack), one or many at a time, with :class:`BitDecoder`.
    """
    bits = np.asarray(bits).astype(np.int32).ravel()
    p1 = clip_probability(p1).ravel()
    if bits.shape != p1.shape:
        raise ValueError(f"{bits.size} symbols but {p1.size} probabilities")
    coder = constriction.stream.stack.AnsCoder()
    if bits.size:
        coder.encode_reverse(bits, _BERNOULLI, p1)
    return words_to_bytes(coder.get_compressed())


def encode_bits_segmented(
    bits: np.ndarray, p1: np.ndarray, segment_ends: np.ndarray
) -> tuple[bytes, np.ndarray, int]:
    """:func:`encode_bits` that also measures the REAL size of consecutive segments of the stream.

    ``segment_ends`` ``[S]`` are increasing end offsets into ``bits`` (the last one ``== N``);
    segment ``s`` holds symbols ``segment_ends[s-1]:segment_ends[s]``. The symbols are pushed on
    the ANS stack segment by segment, last segment first (the same operations, in the same order,
    as :func:`encode_bits`, so the bytes are identical), and the growth of the coder's valid bits
    while a segment is pushed is that segment's real cost.

    Returns ``(stream bytes, real bits per segment int64 [S], padding bits)``: the padding is what
    the final 32-bit word adds (``< 32``), and ``sum(per segment) + padding == 8 * len(stream)``.
    """
    bits = np.asarray(bits).astype(np.int32).ravel()
    p1 = clip_probability(p1).ravel()
    ends = np.asarray(segment_ends, dtype=np.int64).ravel()
    if bits.shape != p1.shape:
        raise ValueError(f"{bits.size} symbols but {p1.size} probabilities")
    if ends.size and (ends[-1] != bits.size or np.any(np.diff(ends) < 0) or ends[0] < 0):
        raise ValueError("segment_ends must be increasing and end at the number of symbols")
    starts = np.concatenate([[0], ends[:-1]]) if ends.size else ends
    coder = constriction.stream.stack.AnsCoder()
    seg_bits = np.zeros(ends.size, np.int64)
    before = 0
    for s in range(ends.size - 1, -1, -1):
        lo, hi = int(starts[s]), int(ends[s])
        if hi > lo:
            coder.encode_reverse(bits[lo:hi], _BERNOULLI, p1[lo:hi])
        now = int(coder.num_valid_bits())
        seg_bits[s] = now - before
        before = now
    data = words_to_bytes(coder.get_compressed())
    return data, seg_bits, 8 * len(data) - before


class BitDecoder:
    """Decode, in order, the binary symbols written by :func:`encode_bits`.

    The caller supplies the same probabilities as the encoder, a batch at a time; a batch may be
    computed from the symbols decoded before it (this is how adaptive context models work).
    """

    def __init__(self, data: bytes):
        try:
            self._coder = constriction.stream.stack.AnsCoder(bytes_to_words(data))
        except ValueError as err:  # e.g. "ANS compressed data never ends in a zero word"
            raise BitstreamError(None, f"ANS stream is corrupt ({err})") from err

    def decode(self, p1: np.ndarray) -> np.ndarray:
        """Decode ``len(p1)`` symbols with P(1) = ``p1`` ``[n]``; returns uint8 ``[n]``."""
        p1 = clip_probability(p1).ravel()
        if p1.size == 0:
            return np.zeros(0, np.uint8)
        try:
            out = self._coder.decode(_BERNOULLI, p1)
        except Exception as err:  # constriction raises plain exceptions on exhausted data
            raise BitstreamError(None, f"ANS stream is corrupt or truncated ({err})") from err
        return np.asarray(out).astype(np.uint8)

    def finish(self) -> None:
        """Check that the stream was consumed exactly (a corrupt stream usually is not)."""
        if not self._coder.is_empty():
            raise BitstreamError(None, "ANS stream has data left after the last symbol")
