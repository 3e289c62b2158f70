"""Whole point clouds through the learned block codec: octree partition into blocks, per-block
latents coded with the entropy model, top-k (or RD-optimal threshold) decoding.

Encoder (GEOv2 ``compress_octree.py`` / DeepCompress, Quach et al. 2020, Killea et al. 2021):

1. cut the integer cloud ``coords [N, 3]`` into non-empty ``S^3`` blocks in Morton order
   (:func:`pcc.pointcloud.blocks.partition_blocks`);
2. send the block structure as the raw occupancy bytes of the octree over block indices
   (GEOv2 sends them uncoded too);
3. per block send its point count ``k`` (top-k decoding) or its threshold index (RD mode, the
   GEOv2 search of :mod:`pcc.codec.threshold`);
4. ``y = g_a(x)`` for every block; the entropy model codes the latents of ``blocks_per_stream``
   blocks per stream (default: all blocks in one stream, which saves the per-stream overhead).

Low rates: ``quant_step = s > 1`` first quantises the positions to ``round((c - origin) / s)``
(G-PCC's position quantisation, the same functions as the lossy octree baseline of
:mod:`pcc.pointcloud.octree_codec`), codes that coarser cloud and scales the decoded voxels back
(``round(q s) + origin``). Learned codecs reach their lowest rates this way (PCGCv2 and SparsePCGC
downscale dense clouds too); the header then records ``quant_step`` and ``origin``.

Container (:mod:`pcc.pointcloud.container`): codec ``"neural"``, a header naming the model and
its architecture signature, then the streams ``[block octree, counts/thresholds, latents...]``.
The decoder rebuilds the model from the header's name (or the one it is given), checks the
signature, decodes the latents, runs g_s in batches of ``decode_batch`` blocks and keeps the top-k
voxels. Encoder-side reconstruction (:func:`reconstruct_blocks`) uses exactly the same code, so the
decoded cloud equals it bit for bit.

Taught in ``notebooks/12_entropy_models.ipynb`` (files, real sizes) and ``notebooks/14_rate_distortion.ipynb``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pcc.codec.checkpoint import architecture_signature
from pcc.codec.model import BlockCodec
from pcc.codec.registry import load_model, resolve_model
from pcc.codec.threshold import rd_optimal_threshold, threshold_occupancy, topk_occupancy
from pcc.coding.morton import morton_decode
from pcc.errors import BitstreamError, FormatError
from pcc.metrics.rate import bits_per_point
from pcc.pointcloud import container
from pcc.pointcloud.blocks import Block, partition_blocks, to_occupancy
from pcc.pointcloud.octree import build_octree, level_codes
from pcc.pointcloud.octree_codec import dequantize, quantize

CODEC = "neural"
FORMAT_VERSION = 2  # 2: point counts packed at a fixed width (1: varints)
MODES = ("topk", "rd")
DECODER_KEYS = ("blocks_per_stream", "quant_step", "origin")  # optional keys the decoder reads


@dataclass
class EncodedCloud:
    """What the encoder knows after coding (for tests and notebooks)."""

    data: bytes
    blocks: list[Block]
    y_hat: torch.Tensor  # [n_blocks, C, s, s, s] as the decoder will decode it
    side: list[int]  # per block: k (topk) or threshold index (rd)
    estimated_bits: float


# ----------------------------------------------------------------------------- small helpers


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


def _resolve(model: str | os.PathLike | BlockCodec) -> tuple[BlockCodec, str]:
    """``(codec, reference)``: the reference written to the header is the bundled name, or the
    absolute path of a checkpoint file given by path (so the decoder can find it again)."""
    if isinstance(model, BlockCodec):
        return model, getattr(model, "model_name", "")
    path = resolve_model(model)
    codec, _ = load_model(path)
    bundled = Path(str(model)).suffix != ".pt"
    name = str(model) if bundled else str(path.resolve())
    codec.model_name = name
    return codec, name


def _block_bits(block_size: int) -> int:
    bits = int(block_size).bit_length() - 1
    if 1 << bits != block_size:
        raise ValueError(f"block size {block_size} is not a power of two")
    return bits


def block_batch(blocks: list[Block], size: int) -> torch.Tensor:  # -> [B, 1, S, S, S] float32
    """Dense occupancy grids of ``blocks`` as one batch for ``BlockCodec.analyse``."""
    grids = np.stack([to_occupancy(b, size, dtype=np.float32) for b in blocks])
    return torch.from_numpy(grids)[:, None]


# ----------------------------------------------------------------------------- reconstruction


@torch.no_grad()
def reconstruct_blocks(
    model: BlockCodec,
    y_hat: torch.Tensor,  # [n, C, s, s, s]
    side: list[int],
    mode: str = "topk",
    decode_batch: int = 16,
) -> list[np.ndarray]:
    """Local voxel coordinates ``[k_i, 3]`` of every block from decoded latents: g_s in batches of
    ``decode_batch`` blocks, then top-k (``side`` = counts) or thresholding (``side`` = indices).
    Encoder and decoder both call this, so their reconstructions are identical."""
    out = []
    for start in range(0, y_hat.shape[0], decode_batch):
        logits = model.synthesise(y_hat[start : start + decode_batch])  # [b, 1, S, S, S]
        for j in range(logits.shape[0]):
            value = int(side[start + j])
            if mode == "topk":
                mask = topk_occupancy(logits[j, 0], value)
            else:
                mask = threshold_occupancy(logits[j, 0], value)
            out.append(np.argwhere(mask.numpy()).astype(np.int32))
    return out


def _assemble(blocks_origins: np.ndarray, local: list[np.ndarray]) -> np.ndarray:  # -> [M, 3]
    parts = [pts.astype(np.int64) + o for o, pts in zip(blocks_origins, local) if len(pts)]
    if not parts:
        return np.zeros((0, 3), dtype=np.int32)
    coords = np.concatenate(parts)
    order = np.lexsort((coords[:, 2], coords[:, 1], coords[:, 0]))
    return coords[order].astype(np.int32)


# ----------------------------------------------------------------------------- encoder


@torch.no_grad()
def encode_point_cloud(
    coords: np.ndarray,  # [N, 3] non-negative ints
    model: str | os.PathLike | BlockCodec,
    *,
    mode: str = "topk",
    bits: int | None = None,
    blocks_per_stream: int = 0,
    encode_batch: int = 16,
    decode_batch: int = 16,
    quant_step: float = 1.0,
    header_extra: dict | None = None,
) -> EncodedCloud:
    """Encode a cloud and also return what the encoder knows (blocks, y_hat, per-block side
    info, the entropy model's bit estimate). See :func:`compress_point_cloud`."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    quant_step = float(quant_step)
    if not (np.isfinite(quant_step) and quant_step >= 1.0):
        raise ValueError(f"quant_step must be a finite number >= 1, got {quant_step}")
    codec, name = _resolve(model)
    codec.eval()
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 3 or len(coords) == 0:
        raise ValueError(f"coords must be a non-empty [N, 3] array, got {coords.shape}")
    if not np.issubdtype(coords.dtype, np.integer) or coords.min() < 0:
        raise ValueError("coords must be non-negative integers")
    position = {}
    if quant_step != 1.0:  # position quantisation: code the coarser cloud
        origin = coords.min(axis=0).astype(np.int64)
        coords = np.unique(quantize(coords.astype(np.int64), origin, quant_step), axis=0)
        position = {"quant_step": quant_step, "origin": [int(v) for v in origin]}
    size = codec.block_size
    block_bits = _block_bits(size)
    needed = max(int(coords.max()).bit_length(), block_bits)
    bits = needed if bits is None else int(bits)
    if bits < needed:
        raise ValueError(f"coordinates need {needed} bits, got bits={bits}")
    blocks = partition_blocks(coords, block_bits)
    n = len(blocks)
    index_bits = bits - block_bits
    block_index = np.stack([b.origin >> block_bits for b in blocks])  # [n, 3]
    if index_bits > 0:
        octree = np.concatenate(build_octree(block_index, index_bits)).astype(np.uint8).tobytes()
    else:
        octree = b""

    y = torch.cat(
        [
            codec.analyse(block_batch(blocks[s : s + encode_batch], size))
            for s in range(0, n, encode_batch)
        ]
    )  # [n, C, s, s, s]
    per_stream = n if blocks_per_stream <= 0 else int(blocks_per_stream)
    latent_streams, estimate = [], 0.0
    for s in range(0, n, per_stream):
        chunk = y[s : s + per_stream]
        latent_streams.append(codec.entropy.compress(chunk))
        estimate += float(codec.entropy.estimate_bits(chunk))
    y_hat = _decode_latents(codec, latent_streams, n, per_stream)

    if mode == "topk":
        side = [len(b) for b in blocks]
        side_bytes = pack_counts(np.asarray(side))
    else:
        side = []
        for start in range(0, n, decode_batch):
            logits = codec.synthesise(y_hat[start : start + decode_batch])
            for j in range(logits.shape[0]):
                side.append(rd_optimal_threshold(logits[j, 0], blocks[start + j].coords))
        side_bytes = bytes(side)

    # keys the decoder interprets are the codec's alone, present or absent
    header = {k: v for k, v in (header_extra or {}).items() if k not in DECODER_KEYS}
    header |= {
        "version": FORMAT_VERSION,
        "model": name,
        "signature": architecture_signature(codec.architecture),
        "bits": bits,
        "block_size": size,
        "n_blocks": n,
        "mode": mode,
    }
    if per_stream < n:  # several latent streams (the reader's default is one for all blocks)
        header["blocks_per_stream"] = per_stream
    header |= position
    streams = [octree, side_bytes, *latent_streams]
    data = container.pack(CODEC, header, streams)
    return EncodedCloud(data, blocks, y_hat, side, estimate)


def compress_point_cloud(
    coords: np.ndarray,  # [N, 3] non-negative ints
    model: str | os.PathLike | BlockCodec,
    **options: Any,
) -> bytes:
    """Compress an integer cloud with a block codec (a bundled name, a checkpoint path or a
    ``BlockCodec``); options: ``mode`` ("topk" | "rd"), ``bits``, ``blocks_per_stream``,
    ``encode_batch``, ``decode_batch``, ``quant_step`` (position quantisation step >= 1 for low
    rates, see the module docstring), ``header_extra`` (JSON-able fields stored in the header,
    e.g. the voxelisation transform; the codec's own keys win). Returns the container bytes."""
    return encode_point_cloud(coords, model, **options).data


# ----------------------------------------------------------------------------- decoder


def _decode_latents(
    codec: BlockCodec, streams: list[bytes], n: int, per_stream: int
) -> torch.Tensor:
    parts = []
    for i, stream in enumerate(streams):
        count = min(per_stream, n - i * per_stream)
        parts.append(codec.entropy.decompress(stream, (count, *codec.latent_shape)))
    return torch.cat(parts)  # [n, C, s, s, s]


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
    if not _is_int(bits) or not _block_bits(size) <= bits <= MAX_BITS:
        bad("bits", f"is not an integer in {_block_bits(size)}..{MAX_BITS}")
    n = header["n_blocks"]
    if not _is_int(n) or not 0 <= n <= min(MAX_BLOCKS, 1 << 3 * (bits - _block_bits(size))):
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


@torch.no_grad()
def decompress_point_cloud(
    data: bytes,
    model: str | os.PathLike | BlockCodec | None = None,
    *,
    decode_batch: int = 16,
    path: str | os.PathLike | None = None,
) -> np.ndarray:
    """Decode a neural-codec container to integer coordinates ``[M, 3]`` int32 sorted by
    (x, y, z). The model named in the header is used unless ``model`` is given; its architecture
    must match the header's signature. Errors are :class:`BitstreamError` naming ``path``."""
    try:
        return _decompress(data, model, decode_batch)
    except BitstreamError as err:
        raise BitstreamError(path, err.problem) from None
    except FormatError as err:  # the model named in the header cannot be found or read
        raise BitstreamError(path, f"cannot load the codec model: {err}") from None


def _decompress(data: bytes, model, decode_batch: int) -> np.ndarray:
    header, streams = read_header(data)
    codec, _ = _resolve(model if model is not None else header["model"])
    codec.eval()
    if architecture_signature(codec.architecture) != header["signature"]:
        raise BitstreamError(None, "the stream was made with a different model architecture")
    size, n, bits = int(header["block_size"]), int(header["n_blocks"]), int(header["bits"])
    if size != codec.block_size:
        raise BitstreamError(
            None, f"block size {size} does not match the model's {codec.block_size}"
        )
    block_bits = _block_bits(size)
    per_stream = int(header.get("blocks_per_stream", n)) or max(n, 1)
    expected_streams = 2 + (n + per_stream - 1) // per_stream
    if len(streams) != expected_streams:
        raise BitstreamError(None, f"expected {expected_streams} streams, found {len(streams)}")
    if n == 0:
        return np.zeros((0, 3), dtype=np.int32)
    index_bits = bits - block_bits
    if index_bits > 0:
        levels = _split_levels(streams[0], index_bits)
        try:
            codes = level_codes(levels, index_bits)[-1]
        except ValueError as err:
            raise BitstreamError(None, f"corrupt block octree: {err}") from None
        block_index = morton_decode(codes).astype(np.int64)
    else:
        block_index = np.zeros((1, 3), dtype=np.int64)
    if len(block_index) != n:
        raise BitstreamError(None, f"block octree gives {len(block_index)} blocks, header says {n}")
    if header["mode"] == "topk":
        side = unpack_counts(streams[1], n)
        if np.any(side > size**3):
            raise BitstreamError(None, "a block point count exceeds the block volume")
    else:
        if len(streams[1]) != n:
            raise BitstreamError(None, f"expected {n} threshold bytes, got {len(streams[1])}")
        side = np.frombuffer(streams[1], dtype=np.uint8)
    try:
        y_hat = _decode_latents(codec, streams[2:], n, per_stream)
    except (AssertionError, ValueError, RuntimeError, IndexError, OverflowError) as err:
        # constriction asserts (or raises) on data its entropy model cannot decode
        raise BitstreamError(None, f"corrupt latent stream ({type(err).__name__}: {err})") from None
    local = reconstruct_blocks(codec, y_hat, side.tolist(), header["mode"], decode_batch)
    return _to_input_grid(_assemble(block_index << block_bits, local), header)


def _to_input_grid(coords: np.ndarray, header: dict) -> np.ndarray:  # [M, 3] -> [M', 3] int32
    """Undo the position quantisation recorded in ``header`` (identity when there is none):
    scale back, deduplicate, sort by (x, y, z)."""
    try:
        step = float(header.get("quant_step", 1.0))
    except (TypeError, ValueError):
        raise BitstreamError(None, "invalid quant_step in the header") from None
    if step == 1.0:
        return coords
    try:
        origin = np.asarray(header["origin"], dtype=np.int64).reshape(3)
    except (KeyError, TypeError, ValueError):
        raise BitstreamError(None, "a quantised neural stream lacks a valid origin") from None
    if not (np.isfinite(step) and step >= 1.0):
        raise BitstreamError(None, f"invalid quant_step {step!r} in the header")
    out = np.unique(dequantize(coords.astype(np.int64), origin, step), axis=0)
    return out.astype(np.int32)  # np.unique sorts rows lexicographically: (x, y, z)


def _split_levels(data: bytes, levels: int) -> list[np.ndarray]:
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


def encoder_reconstruction(
    encoded: EncodedCloud, model: BlockCodec, decode_batch: int = 16
) -> np.ndarray:
    """The cloud the encoder expects the decoder to produce (``[M, 3]`` int32, sorted)."""
    header, _ = read_header(encoded.data)
    local = reconstruct_blocks(model, encoded.y_hat, encoded.side, header["mode"], decode_batch)
    origins = np.stack([b.origin for b in encoded.blocks])
    return _to_input_grid(_assemble(origins, local), header)


__all__ = [
    "EncodedCloud",
    "bits_per_point",
    "block_batch",
    "compress_point_cloud",
    "decompress_point_cloud",
    "encode_point_cloud",
    "encoder_reconstruction",
    "read_header",
    "reconstruct_blocks",
]
