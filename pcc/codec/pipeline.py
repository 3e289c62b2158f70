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

Container (:mod:`pcc.pointcloud.container`; fields and checks in :mod:`pcc.codec.stream_format`):
codec ``"neural"``, a header naming the model and its architecture signature, then the streams
``[block octree, counts/thresholds, latents...]``. The encoder is a chain of stage functions
(:func:`quantise_stage`, :func:`block_stage`, :func:`latent_stage`, :func:`side_stage`);
:attr:`EncodedCloud.stream_bytes` says how many bytes each stream took.
The decoder rebuilds the model from the header's name (or the one it is given), checks the
signature, decodes the latents, runs g_s in batches of ``decode_batch`` blocks and keeps the top-k
voxels. Encoder-side reconstruction (:func:`reconstruct_blocks`) uses exactly the same code, so the
decoded cloud equals it bit for bit.

Taught in ``notebooks/12_entropy_models.ipynb`` (files, real sizes) and ``notebooks/14_rate_distortion.ipynb``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pcc.codec.checkpoint import architecture_signature
from pcc.codec.model import BlockCodec
from pcc.codec.registry import load_model, resolve_model
from pcc.codec.stream_format import (  # re-exported: the format's names were defined here
    CODEC,
    DECODER_KEYS,
    FORMAT_VERSION,
    MAX_BITS,
    MAX_BLOCKS,
    MODES,
    check_header,
    pack_counts,
    read_header,
    unpack_counts,
)
from pcc.codec.stream_format import block_bits as _block_bits
from pcc.codec.stream_format import split_levels as _split_levels
from pcc.codec.threshold import rd_optimal_threshold, threshold_occupancy, topk_occupancy
from pcc.coding.morton import morton_decode
from pcc.errors import BitstreamError, FormatError
from pcc.metrics.rate import bits_per_point
from pcc.pointcloud import container
from pcc.pointcloud.blocks import Block, partition_blocks, to_occupancy
from pcc.pointcloud.octree import build_octree, level_codes
from pcc.pointcloud.octree_codec import dequantize, quantize


@dataclass
class EncodedCloud:
    """What the encoder knows after coding (for tests and notebooks)."""

    data: bytes
    blocks: list[Block]
    y_hat: torch.Tensor  # [n_blocks, C, s, s, s] as the decoder will decode it
    side: list[int]  # per block: k (topk) or threshold index (rd)
    estimated_bits: float
    # bytes per stream: block_octree, side_info, latents and container (header, lengths, CRC);
    # they add up to len(data): where the bits go
    stream_bytes: dict[str, int] = field(default_factory=dict)


# ----------------------------------------------------------------------------- small helpers


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


def check_encoder_inputs(coords: np.ndarray, mode: str, quant_step: float) -> np.ndarray:
    """Validate the encoder's arguments; returns ``coords`` ``[N, 3]`` as an array."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not (np.isfinite(quant_step) and quant_step >= 1.0):
        raise ValueError(f"quant_step must be a finite number >= 1, got {quant_step}")
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 3 or len(coords) == 0:
        raise ValueError(f"coords must be a non-empty [N, 3] array, got {coords.shape}")
    if not np.issubdtype(coords.dtype, np.integer) or coords.min() < 0:
        raise ValueError("coords must be non-negative integers")
    return coords


def quantise_stage(coords: np.ndarray, quant_step: float) -> tuple[np.ndarray, dict]:
    """Stage 0, low rates: G-PCC position quantisation ``[N, 3] -> [N', 3]`` and the header keys
    (``quant_step``, ``origin``) the decoder needs to scale back; identity for ``quant_step`` 1."""
    if quant_step == 1.0:
        return coords, {}
    origin = coords.min(axis=0).astype(np.int64)
    coords = np.unique(quantize(coords.astype(np.int64), origin, quant_step), axis=0)
    return coords, {"quant_step": quant_step, "origin": [int(v) for v in origin]}


def block_stage(
    coords: np.ndarray, block_size: int, bits: int | None
) -> tuple[list[Block], int, bytes]:
    """Stage 1: cut ``coords [N, 3]`` into ``S^3`` blocks (Morton order) and send the block
    structure as the raw occupancy bytes of the octree over block indices.
    Returns ``(blocks, bits, block_octree_stream)``."""
    block_bits = _block_bits(block_size)
    needed = max(int(coords.max()).bit_length(), block_bits)
    bits = needed if bits is None else int(bits)
    if bits < needed:
        raise ValueError(f"coordinates need {needed} bits, got bits={bits}")
    blocks = partition_blocks(coords, block_bits)
    index_bits = bits - block_bits
    block_index = np.stack([b.origin >> block_bits for b in blocks])  # [n, 3]
    if index_bits > 0:
        octree = np.concatenate(build_octree(block_index, index_bits)).astype(np.uint8).tobytes()
    else:
        octree = b""
    return blocks, bits, octree


@torch.no_grad()
def latent_stage(
    codec: BlockCodec, blocks: list[Block], encode_batch: int, per_stream: int
) -> tuple[list[bytes], float, torch.Tensor]:
    """Stage 2: ``y = g_a(x)`` per block, entropy-coded ``per_stream`` blocks per stream.
    Returns ``(latent_streams, estimated_bits, y_hat [n, C, s, s, s])``, ``y_hat`` decoded from
    the streams exactly as the decoder will."""
    n, size = len(blocks), codec.block_size
    y = torch.cat(
        [
            codec.analyse(block_batch(blocks[s : s + encode_batch], size))
            for s in range(0, n, encode_batch)
        ]
    )  # [n, C, s, s, s]
    latent_streams, estimate = [], 0.0
    for s in range(0, n, per_stream):
        chunk = y[s : s + per_stream]
        latent_streams.append(codec.entropy.compress(chunk))
        estimate += float(codec.entropy.estimate_bits(chunk))
    return latent_streams, estimate, _decode_latents(codec, latent_streams, n, per_stream)


@torch.no_grad()
def side_stage(
    codec: BlockCodec, blocks: list[Block], y_hat: torch.Tensor, mode: str, decode_batch: int
) -> tuple[list[int], bytes]:
    """Stage 3: per block its point count (top-k decoding) or its RD-optimal threshold index.
    Returns ``(side values, side_info_stream)``."""
    if mode == "topk":
        side = [len(b) for b in blocks]
        return side, pack_counts(np.asarray(side))
    side = []
    for start in range(0, len(blocks), decode_batch):
        logits = codec.synthesise(y_hat[start : start + decode_batch])  # [b, 1, S, S, S]
        for j in range(logits.shape[0]):
            side.append(rd_optimal_threshold(logits[j, 0], blocks[start + j].coords))
    return side, bytes(side)


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
    info, the entropy model's bit estimate, the bytes of every stream). See
    :func:`compress_point_cloud`; the stages are :func:`quantise_stage`, :func:`block_stage`,
    :func:`latent_stage` and :func:`side_stage`."""
    quant_step = float(quant_step)
    coords = check_encoder_inputs(coords, mode, quant_step)
    codec, name = _resolve(model)
    codec.eval()
    coords, position = quantise_stage(coords, quant_step)
    blocks, bits, octree = block_stage(coords, codec.block_size, bits)
    n = len(blocks)
    per_stream = n if blocks_per_stream <= 0 else int(blocks_per_stream)
    latent_streams, estimate, y_hat = latent_stage(codec, blocks, encode_batch, per_stream)
    side, side_bytes = side_stage(codec, blocks, y_hat, mode, decode_batch)

    # keys the decoder interprets are the codec's alone, present or absent
    header = {k: v for k, v in (header_extra or {}).items() if k not in DECODER_KEYS}
    header |= {
        "version": FORMAT_VERSION,
        "model": name,
        "signature": architecture_signature(codec.architecture),
        "bits": bits,
        "block_size": codec.block_size,
        "n_blocks": n,
        "mode": mode,
    }
    if per_stream < n:  # several latent streams (the reader's default is one for all blocks)
        header["blocks_per_stream"] = per_stream
    header |= position
    streams = [octree, side_bytes, *latent_streams]
    data = container.pack(CODEC, header, streams)
    sizes = {
        "block_octree": len(octree),
        "side_info": len(side_bytes),
        "latents": sum(len(s) for s in latent_streams),
    }
    sizes["container"] = len(data) - sum(sizes.values())  # header, lengths, CRC
    return EncodedCloud(data, blocks, y_hat, side, estimate, sizes)


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


def encoder_reconstruction(
    encoded: EncodedCloud, model: BlockCodec, decode_batch: int = 16
) -> np.ndarray:
    """The cloud the encoder expects the decoder to produce (``[M, 3]`` int32, sorted)."""
    header, _ = read_header(encoded.data)
    local = reconstruct_blocks(model, encoded.y_hat, encoded.side, header["mode"], decode_batch)
    origins = np.stack([b.origin for b in encoded.blocks])
    return _to_input_grid(_assemble(origins, local), header)


__all__ = [
    "CODEC",
    "FORMAT_VERSION",
    "MODES",
    "DECODER_KEYS",
    "MAX_BITS",
    "MAX_BLOCKS",
    "check_header",
    "pack_counts",
    "unpack_counts",
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
