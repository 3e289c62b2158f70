"""Learned lossless occupancy coder: the octree coder's order, a small network's probabilities.

The voxel set is coded as its occupancy octree, child bit by child bit, in exactly the order of
:mod:`pcc.pointcloud.octree_codec` (two checkerboard groups x eight child passes per level, each
pass vectorised over all nodes of the group, so decoding stays parallel within a group). What
changes is the probability of each bit: instead of the chained count models alone, a small MLP
(:mod:`pcc.pointcloud.occupancy_model`, trained offline on procedural shapes by
:mod:`pcc.pointcloud.occupancy_train`) looks at a larger context
(:mod:`pcc.pointcloud.occupancy_context`: 124 child-level neighbours with their decoded /
not-decoded state, 98 coarser cells, the pass, the level) *and* at the count models' adaptive
estimates, and outputs a logit; an online logistic mixer
(:class:`pcc.pointcloud.occupancy_model.OnlineMixer`) then combines it with the deepest count
model's logit, with weights learned on the cloud while it is coded. The mixer matters on clouds
unlike the training shapes: on four ModelNet CAD clouds the network alone was 9-26 % *worse* than
the octree coder, the mix is 15-22 % better (canonical bunny: network alone 0.465 bpp, mix 0.419,
octree coder 0.590, G-PCC v23 0.575; table in ``input_models/occupancy/README.md``). The network runs in an integer-exact form, so the decoder
recomputes the same probabilities on any thread count. Bits go to ``constriction``'s ANS coder
through :mod:`pcc.pointcloud.entropy_coding` (the same binary model and clipping as the octree
coder).

The bitstream is a :mod:`pcc.pointcloud.container` with codec id ``"occupancy"``; its header
names the model by a digest of its integer weights and the decoder refuses a stream made with
another model. Lossless only (duplicate points are merged: the decoder returns the voxel set).
Taught in ``notebooks/17_learned_lossless.ipynb``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time

import numpy as np

from pcc.errors import BitstreamError
from pcc.pointcloud import container
from pcc.pointcloud.entropy_coding import BitDecoder, estimate_bits
from pcc.pointcloud.occupancy_context import traverse
from pcc.pointcloud.occupancy_model import (
    OccupancyMLP,
    OnlineMixer,
    QuantizedMLP,
    default_model_path,
    load_model,
)
from pcc.pointcloud.octree import MAX_BITS, build_octree, morton_decode
from pcc.pointcloud.octree_codec import EncodedOctree, check_voxels, code_levels

CODEC_ID = "occupancy"
CODER_NAME = "checker2-mlp379-mix15"
MAX_VOXELS = 1 << 27  # decoder limit: a forged header cannot make it build a larger tree


def model_digest(qmodel: QuantizedMLP) -> str:
    """First 16 hex digits of the SHA-256 of the integer weights (names the model in headers)."""
    h = hashlib.sha256()
    for t in (qmodel.w1, qmodel.b1, qmodel.w2, qmodel.b2, qmodel.w3, qmodel.b3):
        h.update(np.ascontiguousarray(t.numpy(), dtype="<f8").tobytes())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def _load_quantized(path: str) -> QuantizedMLP:
    return QuantizedMLP(load_model(path)[0])


def resolve_model(model: OccupancyMLP | QuantizedMLP | str | os.PathLike | None) -> QuantizedMLP:
    """The quantised model to code with: given, loaded from a path, or the bundled checkpoint."""
    if isinstance(model, QuantizedMLP):
        return model
    if isinstance(model, OccupancyMLP):
        return QuantizedMLP(model)
    return _load_quantized(str(default_model_path() if model is None else model))


class EncodedOccupancy(EncodedOctree):
    """Container bytes plus what was measured while encoding (the octree coder's result type)."""


def encode_occupancy(
    coords: np.ndarray,
    *,
    model: OccupancyMLP | QuantizedMLP | str | os.PathLike | None = None,
    header_extra: dict | None = None,
) -> EncodedOccupancy:
    """Code integer voxels ``[N, 3]`` losslessly into an ``"occupancy"`` container."""
    start = time.perf_counter()
    qmodel = resolve_model(model)
    coords = check_voxels(coords, "occupancy")
    origin = coords.min(axis=0) if coords.size else np.zeros(3, np.int64)
    q = coords - origin
    extent = int(q.max()) if q.size else 0
    depth = max(1, extent.bit_length())
    if len(q) > MAX_VOXELS:
        raise ValueError(f"{len(q)} points: the occupancy coder takes at most {MAX_VOXELS}")
    if depth > MAX_BITS:
        raise ValueError(f"the cloud spans {extent + 1} voxels, more than 2^{MAX_BITS}")
    levels = build_octree(q, depth) if q.size else [np.zeros(0, np.uint8)] * depth
    n_voxels = int(np.unpackbits(levels[-1]).sum()) if q.size else 0

    all_bits, all_p = [], []
    symbols_per_level = np.zeros(depth, np.int64)
    mixer = OnlineMixer()

    def record(level, nodes, k, static, dynamic):
        b = (levels[level][nodes] >> k) & 1
        ctx = OnlineMixer.contexts(depth - 1 - level, dynamic)
        x = OnlineMixer.inputs(qmodel.logits_from_static(static, dynamic), dynamic)
        p = mixer.probability(x, ctx)
        mixer.update(x, p, b, ctx)
        all_bits.append(b.astype(np.uint8))
        all_p.append(p)
        symbols_per_level[level] += b.size
        return b

    traverse(depth, n_voxels, record, prepare=qmodel.static_part)
    bits, p1, stream, stats, padding = code_levels(levels, all_bits, all_p, symbols_per_level)
    header = dict(header_extra or {})
    header.update(
        coder=CODER_NAME,
        model=model_digest(qmodel),
        depth=depth,
        input_points=int(coords.shape[0]),
        voxels=n_voxels,
        origin=[int(v) for v in origin],
    )
    data = container.pack(CODEC_ID, header, [stream])
    return EncodedOccupancy(
        data=data,
        n_input=int(coords.shape[0]),
        n_voxels=n_voxels,
        depth=depth,
        estimated_bits=estimate_bits(bits, p1),
        stream_bits=8 * len(stream),
        encode_seconds=time.perf_counter() - start,
        header=header,
        levels=stats,
        padding_bits=int(padding),
    )


def _header_int(header: dict, key: str, lo: int, hi: int, path) -> int:
    value = header.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise BitstreamError(
            path, f"occupancy header field {key!r} = {value!r} is not in {lo}..{hi}"
        )
    return value


def decode_occupancy(
    data: bytes,
    path: str | os.PathLike | None = None,
    *,
    model: OccupancyMLP | QuantizedMLP | str | os.PathLike | None = None,
) -> np.ndarray:
    """Decode an ``"occupancy"`` container: voxel positions ``[M, 3]`` int32, Morton order.

    Any malformed input raises one :class:`BitstreamError` naming ``path``; the header is
    validated (codec, coder, model digest, depth, voxel count, origin) before anything is built.
    """
    codec, header, streams = container.unpack(data, path)
    if codec != CODEC_ID:
        raise BitstreamError(path, f"container holds codec {codec!r}, not {CODEC_ID!r}")
    if header.get("coder") != CODER_NAME:
        raise BitstreamError(path, f"unknown occupancy coder {header.get('coder')!r}")
    if len(streams) != 1:
        raise BitstreamError(path, f"occupancy container must hold 1 stream, got {len(streams)}")
    depth = _header_int(header, "depth", 1, MAX_BITS, path)
    n_voxels = _header_int(header, "voxels", 0, MAX_VOXELS, path)
    _header_int(header, "input_points", 0, 1 << 40, path)
    origin = header.get("origin")
    if not (
        isinstance(origin, list)
        and len(origin) == 3
        and all(
            isinstance(v, int) and not isinstance(v, bool) and abs(v) < (1 << 40) for v in origin
        )
    ):
        raise BitstreamError(path, f"occupancy header field 'origin' = {origin!r} is malformed")
    qmodel = resolve_model(model)
    if header.get("model") != model_digest(qmodel):
        raise BitstreamError(
            path,
            f"stream was coded with occupancy model {header.get('model')!r}, "
            f"this decoder has {model_digest(qmodel)!r}",
        )
    try:
        decoder = BitDecoder(streams[0])
        mixer = OnlineMixer()

        def decode(level, nodes, k, static, dynamic):
            ctx = OnlineMixer.contexts(depth - 1 - level, dynamic)
            x = OnlineMixer.inputs(qmodel.logits_from_static(static, dynamic), dynamic)
            p = mixer.probability(x, ctx)
            b = decoder.decode(p)
            mixer.update(x, p, b, ctx)
            return b

        codes, _ = traverse(depth, n_voxels, decode, prepare=qmodel.static_part)
        if codes.size != n_voxels:
            raise BitstreamError(
                path, f"decoded {codes.size} voxels but the header says {n_voxels}"
            )
        decoder.finish()
    except BitstreamError as err:
        raise BitstreamError(path, err.problem) from None
    except (ValueError, AssertionError, RuntimeError) as err:  # constriction's own checks
        raise BitstreamError(path, f"corrupt occupancy stream ({err})") from None
    out = morton_decode(codes) + np.asarray(origin, dtype=np.int64)
    return out.astype(np.int32)
