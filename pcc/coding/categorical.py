"""Range-coded streams of small integers with categorical models (constriction's queue coder).

A stream of symbols in ``[0, alphabet)`` is coded three ways and the shortest wins; a leading
mode byte tells the decoder which (the decoder also needs ``n`` and ``alphabet``):

* ``MODE_ADAPTIVE``: counts start at :data:`PRIOR` for every symbol and grow by the symbols of
  each block (:func:`adaptive_blocks`: 32, 64, ..., 2048, 2048, ... symbols); nothing is sent
  but the range coder's words;
* ``MODE_STATIC``: the histogram as LEB128 varints (:mod:`pcc.coding.varint`), then the symbols
  under that fixed model;
* ``MODE_REPEAT``: adaptive counts over the symbols with "same as the previous symbol" replaced
  by the extra symbol ``alphabet`` (:func:`to_repeat`), for runs of equal values.

Words are stored little-endian (:mod:`pcc.coding.words`), every word kept: the byte layout of
the ``.pcc3dgs`` streams (:mod:`pcc.c3dgs.storage_pcc`), which must keep decoding old files.
Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import constriction
import numpy as np

from pcc.coding.varint import read_varints, write_varints
from pcc.coding.words import bytes_to_words, words_to_bytes
from pcc.errors import BitstreamError

__all__ = [
    "PRIOR",
    "MODE_ADAPTIVE",
    "MODE_STATIC",
    "MODE_REPEAT",
    "adaptive_blocks",
    "categorical_model",
    "payload_bytes",
    "range_encoder",
    "range_decoder",
    "encode_adaptive",
    "decode_adaptive",
    "encode_static",
    "decode_static",
    "to_repeat",
    "from_repeat",
    "encode_symbols",
    "decode_symbols",
]

MODE_ADAPTIVE, MODE_STATIC, MODE_REPEAT = 0, 1, 2
PRIOR = 0.5  # the count every symbol of an adaptive model starts with


def categorical_model(counts: np.ndarray):
    """constriction's categorical model with probabilities proportional to ``counts`` ``[A]``."""
    probs = np.asarray(counts, dtype=np.float64)
    return constriction.stream.model.Categorical(probs / probs.sum(), perfect=False)


def adaptive_blocks(n: int) -> list[tuple[int, int]]:
    """``(start, end)`` of the blocks after which adaptive counts are updated: 32, 64, ...,
    2048 symbols, then 2048 each."""
    out, start, size = [], 0, 32
    while start < n:
        out.append((start, min(n, start + size)))
        start += size
        size = min(2 * size, 2048)
    return out


def range_encoder():
    """A fresh constriction range encoder (``constriction.stream.queue``)."""
    return constriction.stream.queue.RangeEncoder()


def payload_bytes(encoder) -> bytes:
    """The compressed words of a range encoder as little-endian bytes."""
    return words_to_bytes(encoder.get_compressed(), "<")


def range_decoder(data: bytes):
    """A range decoder over ``data`` (little-endian words; a partial word is a BitstreamError)."""
    return constriction.stream.queue.RangeDecoder(
        bytes_to_words(data, "<", what="range-coder payload")
    )


def encode_adaptive(symbols: np.ndarray, alphabet: int) -> bytes:
    """``symbols`` ``[n]`` in ``[0, alphabet)`` under adaptive counts (no mode byte)."""
    enc = range_encoder()
    counts = np.full(alphabet, PRIOR)
    for a, b in adaptive_blocks(symbols.size):
        block = symbols[a:b]
        enc.encode(block.astype(np.int32), categorical_model(counts))
        counts += np.bincount(block, minlength=alphabet)
    return payload_bytes(enc)


def decode_adaptive(data: bytes, n: int, alphabet: int) -> np.ndarray:
    """Inverse of :func:`encode_adaptive`.  # [n] int64"""
    dec = range_decoder(data)
    counts = np.full(alphabet, PRIOR)
    out = np.empty(n, dtype=np.int64)
    for a, b in adaptive_blocks(n):
        block = np.asarray(dec.decode(categorical_model(counts), b - a), dtype=np.int64)
        out[a:b] = block
        counts += np.bincount(block, minlength=alphabet)
    return out


def encode_static(symbols: np.ndarray, alphabet: int) -> bytes:
    """The histogram (``alphabet`` varints), then ``symbols`` under it (no mode byte)."""
    hist = np.bincount(symbols, minlength=alphabet)
    enc = range_encoder()
    if symbols.size:
        enc.encode(symbols.astype(np.int32), categorical_model(hist))
    return write_varints(hist) + payload_bytes(enc)


def decode_static(data: bytes, n: int, alphabet: int) -> np.ndarray:
    """Inverse of :func:`encode_static`; the histogram must count exactly ``n`` symbols."""
    hist, pos = read_varints(data, alphabet, 0, what="histogram in a static-model stream")
    if int(hist.sum()) != n:
        raise BitstreamError(
            None, f"static histogram counts {int(hist.sum())} symbols, expected {n}"
        )
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    dec = range_decoder(data[pos:])
    return np.asarray(dec.decode(categorical_model(hist), n), dtype=np.int64)


def to_repeat(symbols: np.ndarray, alphabet: int) -> np.ndarray:
    """Replace every symbol equal to its predecessor by the extra symbol ``alphabet``."""
    prev = np.concatenate([[-1], symbols[:-1]])
    return np.where(symbols == prev, alphabet, symbols)


def from_repeat(symbols: np.ndarray, alphabet: int) -> np.ndarray:
    """Inverse of :func:`to_repeat` (a repeat first in the stream is a BitstreamError)."""
    out = symbols.copy()
    rep = np.nonzero(out == alphabet)[0]
    if rep.size and rep[0] == 0:
        raise BitstreamError(None, "a repeat symbol at the start of a stream")
    # a repeat copies the last non-repeat value before it
    last = np.maximum.accumulate(np.where(out != alphabet, np.arange(out.size), 0))
    return out[last]


def encode_symbols(symbols: np.ndarray, alphabet: int) -> bytes:
    """Code integers in ``[0, alphabet)``; the smallest of the three models wins.

    Returns ``mode byte + payload``; :func:`decode_symbols` needs ``n`` and ``alphabet``. A
    non-empty stream needs ``alphabet >= 2`` (a single symbol carries no information, and
    constriction's categorical model needs two).
    """
    symbols = np.asarray(symbols, dtype=np.int64).ravel()
    if symbols.size and alphabet < 2:  # constriction has no one-symbol categorical model
        raise ValueError(f"an alphabet of {alphabet} symbol(s) cannot be range coded")
    if symbols.size and (symbols.min() < 0 or symbols.max() >= alphabet):
        raise ValueError(f"symbols outside [0, {alphabet})")
    candidates = [
        bytes([MODE_ADAPTIVE]) + encode_adaptive(symbols, alphabet),
        bytes([MODE_STATIC]) + encode_static(symbols, alphabet),
        bytes([MODE_REPEAT]) + encode_adaptive(to_repeat(symbols, alphabet), alphabet + 1),
    ]
    return min(candidates, key=len)


def decode_symbols(data: bytes, n: int, alphabet: int) -> np.ndarray:
    """Inverse of :func:`encode_symbols`.  # [n] int64"""
    if not data:
        raise BitstreamError(None, "empty symbol stream")
    mode, payload = data[0], data[1:]
    if mode == MODE_ADAPTIVE:
        out = decode_adaptive(payload, n, alphabet)
    elif mode == MODE_STATIC:
        out = decode_static(payload, n, alphabet)
    elif mode == MODE_REPEAT:
        out = from_repeat(decode_adaptive(payload, n, alphabet + 1), alphabet)
    else:
        raise BitstreamError(None, f"unknown model mode {mode}")
    if out.size and (out.min() < 0 or out.max() >= alphabet):
        raise BitstreamError(None, "decoded symbols outside the alphabet")
    return out
