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

Taught in ``notebooks/05_octree_coding.ipynb``.
"""

from __future__ import annotations

import constriction
import numpy as np

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
    return np.asarray(words, dtype=np.uint32).astype("<u4").tobytes()


def bytes_to_words(data: bytes) -> np.ndarray:
    """Little-endian bytes -> uint32 word array; the length must be a multiple of 4."""
    if len(data) % 4:
        raise BitstreamError(None, f"ANS stream length {len(data)} is not a multiple of 4 bytes")
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


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


class BitDecoder:
    """Decode, in order, the binary symbols written by :func:`encode_bits`.

    The caller supplies the same probabilities as the encoder, a batch at a time; a batch may be
    computed from the symbols decoded before it (this is how adaptive context models work).
    """

    def __init__(self, data: bytes):
        self._coder = constriction.stream.stack.AnsCoder(bytes_to_words(data))

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
