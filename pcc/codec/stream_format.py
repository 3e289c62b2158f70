"""The neural codec's stream format: container header fields, the point-count side stream and the
block octree's byte layout, each checked before anything is allocated.

A file is a :mod:`pcc.pointcloud.container` with codec ``"neural"``; its header names the model
and its architecture signature plus ``bits``, ``block_size``, ``n_blocks``, ``mode`` (and, when
used, ``blocks_per_stream``, ``quant_step``, ``origin``); the streams are ``[block octree,
counts/thresholds, latents...]``. :mod:`pcc.codec.pipeline` writes and reads it.

Taught in ``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

import math

import numpy as np

from pcc.errors import BitstreamError
from pcc.pointcloud import container

__all__ = [
    "CODEC",
    "FORMAT_VERSION",
    "MODES",
    "DECODER_KEYS",
    "pack_counts",
    "unpack_counts",
    "block_bits",
    "check_header",
    "read_header",
    "split_levels",
]

CODEC = "neural"
FORMAT_VERSION = 2  # 2: point counts packed at a fixed width (1: varints)
MODES = ("topk", "rd")
DECODER_KEYS = ("blocks_per_stream", "quant_step", "origin")  # optional keys the decoder reads


def pack_counts(counts: np.ndarray) -> bytes:
    """Per-block point counts as fixed-width unsigned integers: one byte ``w`` (the bit length of
    the largest count, 0..24), then the counts' ``w`` bits each, most significant first, packed
    into bytes (zero padding). About 12 bits per block for the canonical bunny's 32^3 blocks,
    against 16 for LEB128 varints."""
    counts = np.asarray(counts, dtype=np.int64).ravel()
    if counts.size and (counts.min() < 0 or counts.max() >= 1 << 24):
        raise ValueError("block point counts must be in [0, 2^24)")
    width = int(counts.max()).bit_length() if counts.size else 0
    shifts = np.arange(width - 1, -1, -1, dtype=np.int64)  # [w]
    bits = ((counts[:, None] >> shifts[None, :]) & 1).astype(np.uint8)  # [n, w]
    return bytes([width]) + np.packbits(bits.ravel()).tobytes()


def unpack_counts(data: bytes, count: int) -> np.ndarray:
    """Inverse of :func:`pack_counts` for ``count`` blocks; BitstreamError on a malformed stream."""
    if len(data) < 1:
        raise BitstreamError(None, "empty point-count stream")
    width = data[0]
    if width > 24:
        raise BitstreamError(None, f"point-count width {width} exceeds 24 bits")
    expected = 1 + (count * width + 7) // 8
    if len(data) != expected:
        raise BitstreamError(
            None, f"point-count stream has {len(data)} bytes, expected {expected} for {count}"
        )
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8, offset=1))
    if bits[count * width :].any():
        raise BitstreamError(None, "non-zero padding after the point counts")
    bits = bits[: count * width].reshape(count, width).astype(np.int64)
    return (bits << np.arange(width - 1, -1, -1, dtype=np.int64)[None, :]).sum(axis=1)


def block_bits(block_size: int) -> int:
    bits = int(block_size).bit_length() - 1
    if 1 << bits != block_size:
        raise ValueError(f"block size {block_size} is not a power of two")
    return bits


MAX_BITS = 31  # decoded coordinates are int32
MAX_BLOCKS = 1 << 24


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_header(header: dict) -> None:
    """Type and range checks of every header field the decoder reads, in one place, before
    anything is built or allocated; :class:`BitstreamError` names the first bad field."""

    def bad(key: str, why: str):
        raise BitstreamError(None, f"neural-codec header field {key!r} = {header.get(key)!r} {why}")

    required = ("version", "model", "signature", "bits", "block_size", "n_blocks", "mode")
    missing = [k for k in required if k not in header]
    if missing:
        raise BitstreamError(None, f"neural-codec header lacks {missing}")
    if not _is_int(header["version"]) or header["version"] != FORMAT_VERSION:
        raise BitstreamError(None, f"unsupported neural-codec version {header['version']!r}")
    if not isinstance(header["mode"], str) or header["mode"] not in MODES:
        raise BitstreamError(None, f"unknown decoding mode {header['mode']!r}")
    for key in ("model", "signature"):  # model "" = an unnamed model, given to the decoder
        if not isinstance(header[key], str) or len(header[key]) > 4096:
            bad(key, "is not a string (of at most 4096 characters)")
        if "\x00" in header[key]:
            bad(key, "contains a NUL character")
    size = header["block_size"]
    if not _is_int(size) or not 1 <= size <= 1024 or size & (size - 1):
        bad("block_size", "is not a power of two in 1..1024")
    bits = header["bits"]
    if not _is_int(bits) or not block_bits(size) <= bits <= MAX_BITS:
        bad("bits", f"is not an integer in {block_bits(size)}..{MAX_BITS}")
    n = header["n_blocks"]
    if not _is_int(n) or not 0 <= n <= min(MAX_BLOCKS, 1 << 3 * (bits - block_bits(size))):
        bad("n_blocks", "is not a possible number of blocks")
    if "blocks_per_stream" in header:
        per = header["blocks_per_stream"]
        if not _is_int(per) or not 0 <= per <= max(n, 1):
            bad("blocks_per_stream", f"is not an integer in 0..{max(n, 1)}")
    if "quant_step" in header:
        step = header["quant_step"]
        if not isinstance(step, int | float) or isinstance(step, bool):
            bad("quant_step", "is not a number")
        if isinstance(step, int) and not 1 <= step <= 1 << 31:  # before float(): ints are unbounded
            bad("quant_step", "is not in [1, 2^31]")
        if not (math.isfinite(step) and 1.0 <= step <= 2.0**31):
            bad("quant_step", "is not a finite number in [1, 2^31]")
    if "origin" in header:
        origin = header["origin"]
        if not (
            isinstance(origin, list)
            and len(origin) == 3
            and all(_is_int(v) and 0 <= v < 1 << 31 for v in origin)
        ):
            bad("origin", "is not three integers in [0, 2^31)")


def read_header(data: bytes) -> tuple[dict, list[bytes]]:
    """Unpack a neural-codec container: ``(header, streams)``; BitstreamError if it is not one
    or if a header field the decoder reads has the wrong type or an impossible value."""
    codec_name, header, streams = container.unpack(data)
    if codec_name != CODEC:
        raise BitstreamError(None, f"container holds codec {codec_name!r}, not {CODEC!r}")
    check_header(header)
    return header, streams


def split_levels(data: bytes, levels: int) -> list[np.ndarray]:
    """Cut the concatenated octree bytes into levels (the node count of each level is the
    number of set bits of the previous level)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    out, pos, nodes = [], 0, 1
    for _ in range(levels):
        if pos + nodes > len(raw):
            raise BitstreamError(None, "truncated block octree")
        level = raw[pos : pos + nodes]
        out.append(level)
        pos += nodes
        nodes = int(np.unpackbits(level).sum())
    if pos != len(raw):
        raise BitstreamError(None, f"{len(raw) - pos} trailing bytes after the block octree")
    return out
