"""Range coding of table indices whose rows are numbered in order of first use.

When the rows of a shared table (a codebook) are renumbered so that row ``r``'s first occurrence
comes right after the first occurrences of rows ``0 .. r-1`` (:func:`is_first_use_order`; c3dgs's
``finalize`` leaves its colour and shape indices so), a row's first occurrence need not name the
row: it is "the next unused one". Each index becomes one symbol:

* ``r < RECENCY``: its rank in the list of the :data:`RECENCY` most recently used distinct
  indices (neighbours in a Morton order often share rows; rank 0 is "same as the previous one");
* ``RECENCY + rows``: escape, a row's first occurrence (the next unused row);
* ``RECENCY + row``: any other row already seen.

Counts are adaptive (updated after every block of :func:`~pcc.coding.categorical.adaptive_blocks`);
a row's plain symbol gets count 1/2 when the row is introduced, so unseen rows cost nothing.
The stream is the range coder's words, little-endian, without a mode byte.
Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import numpy as np

from pcc.coding.categorical import (
    adaptive_blocks,
    categorical_model,
    payload_bytes,
    range_decoder,
    range_encoder,
)
from pcc.errors import BitstreamError

__all__ = [
    "RECENCY",
    "is_first_use_order",
    "encode_first_use_indices",
    "decode_first_use_indices",
]

RECENCY = 32  # distinct indices remembered by the index coder


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


def _initial_counts(rows: int) -> np.ndarray:
    counts = np.zeros(RECENCY + rows + 1)  # [RECENCY + rows + 1]
    counts[:RECENCY] = 1.0  # recency ranks
    counts[RECENCY + rows] = 1.0  # escape (a new row)
    return counts


def _update_counts(counts: np.ndarray, symbols: np.ndarray, rows: int) -> None:
    """Add this block's symbols; a newly introduced row starts with a count of 1/2."""
    counts += np.bincount(symbols, minlength=counts.size)[: counts.size]
    n_new = int((symbols == RECENCY + rows).sum())
    if n_new:
        seen = int((counts[RECENCY : RECENCY + rows] > 0).sum())  # rows introduced before
        counts[RECENCY + seen : RECENCY + seen + n_new] += 0.5


def encode_first_use_indices(indices: np.ndarray, rows: int) -> bytes:
    """Indices ``[n]`` in first-use order into a table of ``rows`` rows (see the module doc)."""
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
    enc = range_encoder()
    counts = _initial_counts(rows)
    for a, b in adaptive_blocks(idx.size):
        enc.encode(symbols[a:b].astype(np.int32), categorical_model(counts))
        _update_counts(counts, symbols[a:b], rows)
    return payload_bytes(enc)


def decode_first_use_indices(data: bytes, n: int, rows: int) -> np.ndarray:
    """Inverse of :func:`encode_first_use_indices`; every row must be used.  # [n] int64"""
    dec = range_decoder(data)
    counts = _initial_counts(rows)
    out = np.empty(n, dtype=np.int64)
    recent: list[int] = []
    next_row = 0
    for a, b in adaptive_blocks(n):
        symbols = np.asarray(dec.decode(categorical_model(counts), b - a), dtype=np.int64)
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
        _update_counts(counts, symbols, rows)
    if n and next_row != rows:
        raise BitstreamError(None, f"index stream used {next_row} of {rows} table rows")
    return out
