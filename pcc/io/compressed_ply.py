"""PlayCanvas / SuperSplat "compressed PLY" (``.compressed.ply``): read and write GaussianModel.

The format (PlayCanvas engine and ``splat-transform``, MIT) is an ordinary binary little-endian
PLY with two or three elements, so it is parsed with pcc's PLY machinery
(:func:`pcc.io.ply.read_ply`)::

    element chunk ceil(N / 256)     18 float: min_x min_y min_z max_x max_y max_z,
                                    min_scale_x..z max_scale_x..z, min_r min_g min_b max_r..b
                                    (older files omit the six colour bounds)
    element vertex N                4 uint:   packed_position packed_rotation packed_scale
                                              packed_color
    [element sh N                   9/24/45 uchar: f_rest_0.. in the INRIA (channel-major) order]

Gaussian ``i`` belongs to chunk ``i // 256``; each chunk stores the bounds its 256 Gaussians are
quantised against:

* ``packed_position``: x, y, z as 11, 10, 11-bit fractions of the chunk's box (x in the top bits);
* ``packed_scale``: the log-scales likewise, in the chunk's log-scale box (clamped to [-20, 20]);
* ``packed_color``: r, g, b as 8-bit fractions of the chunk's colour box, where colour means
  ``0.5 + SH_C0 * f_dc`` (not clipped to [0, 1]), and ``sigmoid(opacity)`` in the low 8 bits;
* ``packed_rotation``: the unit quaternion (``rot_0..3`` = ``w x y z``) with its largest
  component made positive and dropped: its index in the top 2 bits, the other three as 10-bit
  fractions of [-sqrt(1/2), sqrt(1/2)];
* ``sh``: each ``f_rest`` as ``floor((f / 8 + 0.5) * 256)`` (range [-4, 4]).

Positions are in the frame of the source PLY (RDF for INRIA scenes), as the viewer expects.

**Loss** of a round trip through this writer: each position and log-scale within half a step of
its chunk's box (box size / 2047 for x and z, / 1023 for y), the colour within half of
box / 255, opacity within 1/510 after the sigmoid, rotations within 7e-4 per stored component
(2.1e-3 for the recomputed largest one), ``f_rest`` within 1/64 (clipped to [-4, 4]). Chunks of nearby Gaussians have small boxes, so the
writer sorts the Gaussians along a 3D Morton (Z-order) curve first, as PlayCanvas does; it
returns that order. Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io._splat_common import SH_C0, SplatArrays, check_finite, logit, model_for_writing, sigmoid
from pcc.io.atomic import write_bytes_atomic
from pcc.io.gaussian_model import GaussianModel

__all__ = [
    "CHUNK_SIZE",
    "is_compressed_ply",
    "read_compressed_ply",
    "write_compressed_ply",
    "encode_compressed_ply",
    "morton_order",
]

CHUNK_SIZE = 256
POSITION_BOUNDS = ["min_x", "min_y", "min_z", "max_x", "max_y", "max_z"]
SCALE_BOUNDS = [f"{m}_scale_{a}" for m in ("min", "max") for a in "xyz"]
COLOR_BOUNDS = ["min_r", "min_g", "min_b", "max_r", "max_g", "max_b"]
PACKED = ["packed_position", "packed_rotation", "packed_scale", "packed_color"]
_REST_COUNTS = {9: 1, 24: 2, 45: 3}
_SCALE_CLAMP = 20.0
_SQRT2 = math.sqrt(2.0)


def is_compressed_ply(path: str | os.PathLike) -> bool:
    """True if ``path`` is a PLY whose header has a ``chunk`` element and ``packed_*`` vertices.

    Looks at the header text only (the first MiB at most); no parsing of the body.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
    except OSError:
        return False
    end = head.find(b"end_header")
    if not head.startswith(b"ply") or end < 0:
        return False
    text = head[:end]
    return (
        re.search(rb"^element\s+chunk\s", text, re.M) is not None
        and re.search(rb"^property\s+\w+\s+packed_position\s*$", text, re.M) is not None
    )


# ----------------------------------------------------------------------------- reading
def _unorm(bits: np.ndarray, shift: int, width: int) -> np.ndarray:
    mask = (1 << width) - 1
    return ((bits >> shift) & mask).astype(np.float64) / mask


def _lerp(lo: np.ndarray, hi: np.ndarray, t: np.ndarray) -> np.ndarray:
    return lo * (1.0 - t) + hi * t


def _column(path, table: dict, element: str, name: str, kind: str) -> np.ndarray:
    if name not in table:
        raise FormatError(path, f"compressed PLY: element {element!r} lacks property {name!r}")
    col = table[name]
    want = {"f": "float", "u4": "uint", "u1": "uchar"}[kind]
    ok = col.dtype.kind == "f" if kind == "f" else col.dtype == np.dtype(kind)
    if not ok:
        raise FormatError(
            path, f"compressed PLY: {element}.{name} is {col.dtype}, the format stores {want}"
        )
    return col


def read_compressed_ply(path: str | os.PathLike) -> GaussianModel:
    """Read a PlayCanvas/SuperSplat compressed PLY into a :class:`GaussianModel` (float32, CPU).

    The SH degree is 0 without an ``sh`` element, else 1-3 from its 9/24/45 properties.

    Raises:
        FormatError: not a PLY, truncated (checked against the header's counts before any array
            is made), missing or mistyped properties, a chunk count other than ``ceil(N/256)``,
            an ``sh`` element of the wrong size, zero Gaussians, or non-finite chunk bounds.
    """
    from pcc.io.ply import read_ply_elements

    path = Path(path)
    try:
        elements = read_ply_elements(path)
    except OSError as err:
        raise FormatError(path, f"cannot read file: {err.strerror or err}") from None
    except ValueError as err:  # e.g. duplicate property names in one element
        if isinstance(err, FormatError):
            raise
        raise FormatError(path, f"malformed PLY header: {err}") from None
    if "chunk" not in elements or "vertex" not in elements:
        raise FormatError(path, "not a compressed PLY: it needs 'chunk' and 'vertex' elements")
    chunk, vertex = elements["chunk"], elements["vertex"]
    packed = [_column(path, vertex, "vertex", name, "u4") for name in PACKED]
    n = packed[0].shape[0]
    if n == 0:
        raise FormatError(path, "the PLY contains zero Gaussians; a scene needs at least one")
    bounds = {b: _column(path, chunk, "chunk", b, "f") for b in POSITION_BOUNDS + SCALE_BOUNDS}
    has_color = any(b in chunk for b in COLOR_BOUNDS)
    if has_color:
        bounds.update({b: _column(path, chunk, "chunk", b, "f") for b in COLOR_BOUNDS})
    n_chunks = math.ceil(n / CHUNK_SIZE)
    if bounds["min_x"].shape[0] != n_chunks:
        raise FormatError(
            path,
            f"{bounds['min_x'].shape[0]} chunks for {n} Gaussians; the format needs "
            f"ceil({n} / {CHUNK_SIZE}) = {n_chunks}",
        )
    for name, col in bounds.items():
        if not np.isfinite(col).all():
            raise FormatError(path, f"chunk bound {name} has NaN or infinite values")
    ci = np.arange(n) // CHUNK_SIZE  # [N] chunk of each Gaussian

    def box(prefix_lo: str, prefix_hi: str, names: str) -> tuple[np.ndarray, np.ndarray]:
        lo = np.stack([bounds[f"{prefix_lo}{a}"][ci] for a in names], 1).astype(np.float64)
        hi = np.stack([bounds[f"{prefix_hi}{a}"][ci] for a in names], 1).astype(np.float64)
        return lo, hi

    pos_bits, rot_bits, scale_bits, color_bits = packed
    t_pos = np.stack(
        [_unorm(pos_bits, 21, 11), _unorm(pos_bits, 11, 10), _unorm(pos_bits, 0, 11)], 1
    )
    means = _lerp(*box("min_", "max_", "xyz"), t_pos)
    t_scale = np.stack(
        [_unorm(scale_bits, 21, 11), _unorm(scale_bits, 11, 10), _unorm(scale_bits, 0, 11)], 1
    )
    log_scales = _lerp(*box("min_scale_", "max_scale_", "xyz"), t_scale)
    rgb = np.stack([_unorm(color_bits, s, 8) for s in (24, 16, 8)], 1)  # [N, 3]
    if has_color:
        rgb = _lerp(*box("min_", "max_", "rgb"), rgb)
    opacity = logit(_unorm(color_bits, 0, 8))

    stored = np.stack([_unorm(rot_bits, s, 10) for s in (20, 10, 0)], 1)  # [N, 3]
    stored = (stored - 0.5) * _SQRT2
    largest = (rot_bits >> 30).astype(np.int64)
    quats = np.zeros((n, 4))
    for idx in range(4):
        sel = largest == idx
        others = [i for i in range(4) if i != idx]
        quats[np.ix_(sel, others)] = stored[sel]
        quats[sel, idx] = np.sqrt(np.maximum(0.0, 1.0 - (stored[sel] ** 2).sum(axis=1)))

    rest = np.zeros((n, 0, 3))
    if "sh" in elements:
        sh_el = elements["sh"]
        names = [f"f_rest_{i}" for i in range(len(sh_el))]
        if len(sh_el) not in _REST_COUNTS or set(sh_el) != set(names):
            raise FormatError(
                path, f"the sh element has {len(sh_el)} properties; expected f_rest_0..8/23/44"
            )
        cols = [_column(path, sh_el, "sh", name, "u1") for name in names]
        if cols[0].shape[0] != n:
            raise FormatError(path, f"the sh element has {cols[0].shape[0]} rows for {n} Gaussians")
        v = np.stack(cols, 1).astype(np.float64)  # [N, 3(K-1)] channel-major
        frac = np.where(v == 0, 0.0, np.where(v == 255, 1.0, (v + 0.5) / 256.0))
        k1 = len(names) // 3
        rest = ((frac - 0.5) * 8.0).reshape(n, 3, k1).transpose(0, 2, 1)  # [N, K-1, 3]
    dc = (rgb - 0.5) / SH_C0
    arrays = SplatArrays(
        means.astype(np.float32),
        log_scales.astype(np.float32),
        quats.astype(np.float32),
        opacity.astype(np.float32),
        np.concatenate([dc[:, None, :], rest], axis=1).astype(np.float32),
    )
    check_finite(path, arrays)
    return arrays.to_model()


# ----------------------------------------------------------------------------- writing
def _spread_bits(v: np.ndarray) -> np.ndarray:
    """Insert two zero bits between each of the low 21 bits of ``v`` (for a 63-bit Morton code)."""
    v = v.astype(np.uint64) & np.uint64(0x1FFFFF)
    for shift, mask in (
        (32, 0x1F00000000FFFF),
        (16, 0x1F0000FF0000FF),
        (8, 0x100F00F00F00F00F),
        (4, 0x10C30C30C30C30C3),
        (2, 0x1249249249249249),
    ):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def morton_order(means: np.ndarray) -> np.ndarray:
    """Indices ``[N]`` that sort points ``[N, 3]`` along a 3D Morton (Z-order) curve."""
    means = np.asarray(means, dtype=np.float64)
    lo, hi = means.min(axis=0), means.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    cells = np.clip((means - lo) / span * (2**21 - 1), 0, 2**21 - 1).astype(np.uint64)
    code = (
        _spread_bits(cells[:, 0])
        | (_spread_bits(cells[:, 1]) << np.uint64(1))
        | (_spread_bits(cells[:, 2]) << np.uint64(2))
    )
    return np.argsort(code, kind="stable")


def _pack_unorm(t: np.ndarray, width: int) -> np.ndarray:
    top = (1 << width) - 1
    return np.clip(np.floor(t * top + 0.5), 0, top).astype(np.uint32)


def _chunk_bounds(values: np.ndarray, n_chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-chunk min and max ``[C, D]`` of ``values [C*256, D]`` (already padded)."""
    v = values.reshape(n_chunks, CHUNK_SIZE, -1)
    return v.min(axis=1), v.max(axis=1)


def _normalise(values, lo, hi, n_chunks):
    """``(v - lo) / (hi - lo)`` per chunk, 0 for flat boxes, clipped to [0, 1]."""
    v = values.reshape(n_chunks, CHUNK_SIZE, -1)
    span = (hi - lo)[:, None, :]
    t = np.where(span < 1e-5, 0.0, (v - lo[:, None, :]) / np.where(span < 1e-5, 1.0, span))
    return np.clip(t, 0.0, 1.0).reshape(values.shape)


def encode_compressed_ply(model: GaussianModel, *, sort: bool = True) -> tuple[bytes, np.ndarray]:
    """``(file bytes, order)``: the compressed PLY of ``model`` and the Gaussian order it stores.

    ``order[j]`` is the index in ``model`` of the ``j``-th Gaussian in the file (Morton order
    when ``sort``, else ``arange(N)``).
    """
    a = model_for_writing(model, "compressed PLY")
    n = a.means.shape[0]
    order = morton_order(a.means) if sort else np.arange(n)
    n_chunks = math.ceil(n / CHUNK_SIZE)
    # Pad the last chunk by repeating its last Gaussian: bounds stay those of the real members.
    padded = np.concatenate([order, np.full(n_chunks * CHUNK_SIZE - n, order[-1])])

    means = a.means[padded].astype(np.float64)
    log_scales = a.log_scales[padded].astype(np.float64)
    rgb = 0.5 + SH_C0 * a.sh[padded, 0].astype(np.float64)
    p_lo, p_hi = _chunk_bounds(means, n_chunks)
    s_lo, s_hi = _chunk_bounds(log_scales, n_chunks)
    s_lo, s_hi = (np.clip(b, -_SCALE_CLAMP, _SCALE_CLAMP) for b in (s_lo, s_hi))
    c_lo, c_hi = _chunk_bounds(rgb, n_chunks)

    def pack111011(t: np.ndarray) -> np.ndarray:
        return (
            (_pack_unorm(t[:, 0], 11) << 21)
            | (_pack_unorm(t[:, 1], 10) << 11)
            | _pack_unorm(t[:, 2], 11)
        )

    position = pack111011(_normalise(means, p_lo, p_hi, n_chunks))
    scale = pack111011(_normalise(log_scales, s_lo, s_hi, n_chunks))
    t_rgb = _normalise(rgb, c_lo, c_hi, n_chunks)
    alpha = sigmoid(a.opacity_logits[padded])
    color = (
        (_pack_unorm(t_rgb[:, 0], 8) << 24)
        | (_pack_unorm(t_rgb[:, 1], 8) << 16)
        | (_pack_unorm(t_rgb[:, 2], 8) << 8)
        | _pack_unorm(alpha, 8)
    )
    q = a.normalized_quats()[padded]  # [M, 4] w x y z
    largest = np.argmax(np.abs(q), axis=1)
    q = q * np.where(q[np.arange(q.shape[0]), largest] < 0, -1.0, 1.0)[:, None]
    rotation = largest.astype(np.uint32)
    for i in range(4):
        field = _pack_unorm(q[:, i] / _SQRT2 + 0.5, 10)
        rotation = np.where(largest == i, rotation, (rotation << 10) | field)

    chunk_table = np.concatenate([p_lo, p_hi, s_lo, s_hi, c_lo, c_hi], axis=1).astype("<f4")
    vertex_table = np.stack([position, rotation, scale, color], axis=1)[:n].astype("<u4")
    k1 = a.sh.shape[1] - 1
    lines = [
        "ply",
        "format binary_little_endian 1.0",
        "comment Generated by pcc (PlayCanvas compressed PLY layout)",
        f"element chunk {n_chunks}",
        *(f"property float {b}" for b in POSITION_BOUNDS + SCALE_BOUNDS + COLOR_BOUNDS),
        f"element vertex {n}",
        *(f"property uint {p}" for p in PACKED),
    ]
    body = [chunk_table.tobytes(), vertex_table.tobytes()]
    if k1 > 0:
        rest = a.sh[order, 1:].astype(np.float64).transpose(0, 2, 1).reshape(n, 3 * k1)
        sh_bytes = np.clip(np.floor((rest / 8.0 + 0.5) * 256.0), 0, 255).astype(np.uint8)
        lines += [f"element sh {n}", *(f"property uchar f_rest_{i}" for i in range(3 * k1))]
        body.append(sh_bytes.tobytes())
    header = ("\n".join(lines) + "\nend_header\n").encode("ascii")
    return header + b"".join(body), order


def write_compressed_ply(
    path: str | os.PathLike, model: GaussianModel, *, sort: bool = True
) -> np.ndarray:
    """Write ``model`` as a PlayCanvas compressed PLY (atomically); returns the stored order.

    ``sort=True`` (the default, as PlayCanvas) reorders the Gaussians along a Morton curve so
    that each 256-Gaussian chunk covers a small box; ``sort=False`` keeps the model's order
    (useful when it is already spatially coherent, e.g. a file read back from this format).
    """
    data, order = encode_compressed_ply(model, sort=sort)
    write_bytes_atomic(path, data)
    return order
