"""Our own entropy-coded container for a quantised c3dgs model (``.pcc3dgs``), using constriction.

It stores exactly the :class:`~pcc.c3dgs.compressed_model.QuantizedGaussians` that the npz stores
(so both decode to the same model), but replaces DEFLATE by range coding
(``constriction.stream.queue``) with models chosen per stream. This module is the format (header,
which stream holds what, the container); the coders are generic and live in :mod:`pcc.coding`:

* every int8 stream (per-Gaussian opacity and log-magnitude, table columns grouped by SH band or
  column, :func:`_table_groups`) is coded by :func:`pcc.coding.categorical.encode_symbols`:
  adaptive counts, a static histogram, or adaptive counts over "repeat previous" symbols,
  whichever is smallest (a mode byte tells the decoder which);
* index streams use the first-use order that :func:`~pcc.c3dgs.compressed_model.finalize` gives
  the table rows (:mod:`pcc.coding.first_use`: escape for a row's first occurrence, a rank in a
  recency list of 32, else the row; adaptive counts), or ``encode_symbols`` if not in that order;
* positions (:mod:`pcc.c3dgs.storage_positions`): fp16 positions (version 1) or integer grid
  coordinates (version 2, flag 4: :class:`~pcc.c3dgs.compressed_model.PositionGrid`) as sorted
  Morton-code gaps, else per-axis deltas, bucket-coded (:mod:`pcc.coding.buckets`);
* the container is :mod:`pcc.coding.framing` with a u8 stream count and u32 lengths.

Layout (little endian)::

    "PCCGS" | u8 version | u32 N | u8 sh_degree | u32 M_c | u32 M_g | u8 flags
    6 x (f32 scale, i32 zero_point)           # QUANTIZED_FIELDS order
    [3 x f32 origin, f32 step, u8 bits]       # only with flag 4 (position grid, version 2)
    u8 n_streams, n_streams x (u32 length, bytes)
    u32 CRC-32 of everything above

Version 1 files (fp16 positions; what the encoder still writes for fp16 models, byte for byte)
and version 2 files (grid positions) are both decoded. Any truncation or corruption is reported
as :class:`~pcc.errors.BitstreamError`. Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import math
import os
import struct

import numpy as np
import torch

from pcc.c3dgs.compressed_model import QUANTIZED_FIELDS, PositionGrid, QuantizedGaussians
from pcc.c3dgs.quantize import QParams
from pcc.c3dgs.storage_positions import (  # noqa: F401 - re-exported (the stream's old address)
    POS_AXIS_DELTAS,
    POS_MORTON_GAPS,
    decode_grid_positions,
    decode_positions,
    encode_grid_positions,
    encode_positions,
)
from pcc.coding.buckets import MANTISSA_ROWS as _MANTISSA_ROWS  # noqa: F401 - re-exported
from pcc.coding.categorical import (  # noqa: F401 - re-exported (their old address)
    MODE_ADAPTIVE,
    MODE_REPEAT,
    MODE_STATIC,
    PRIOR,
    decode_symbols,
    encode_symbols,
)
from pcc.coding.first_use import (  # noqa: F401 - RECENCY re-exported
    RECENCY,
    decode_first_use_indices,
    encode_first_use_indices,
    is_first_use_order,
)
from pcc.coding.framing import ByteReader, append_crc32, check_crc32, pack_streams, read_streams
from pcc.coding.morton import MAX_BITS
from pcc.errors import BitstreamError
from pcc.io.atomic import write_bytes_atomic

MAGIC = b"PCCGS"
VERSION = 2  # the newest version written; VERSIONS are read
VERSIONS = (1, 2)
SUFFIX = ".pcc3dgs"
_HEADER = struct.Struct("<5sBIBIIB")
_QP = struct.Struct("<fi")
_GRID = struct.Struct("<3ffB")
FLAG_COLOR_FIRST_USE = 1
FLAG_SHAPE_FIRST_USE = 2
FLAG_POSITION_GRID = 4  # version 2


# --------------------------------------------------------------------------- table groups
def _table_groups(name: str, codes: torch.Tensor) -> list[np.ndarray]:
    """Split an int8 table into column groups that share one model (as symbols 0..255)."""
    a = codes.numpy().astype(np.int64) + 128
    if name == "color_dc":  # [M, 1, 3]: one model per channel
        return [a[:, 0, c] for c in range(3)]
    if name == "color_rest":  # [M, k, 3]: one model per SH band (all channels)
        groups, start = [], 0
        for band in range(1, 4):
            width = 2 * band + 1
            if start + width <= a.shape[1]:
                groups.append(a[:, start : start + width, :].reshape(-1))
            start += width
        return groups
    if name in ("scale_dir", "rotation"):  # one model per column
        return [a[:, c] for c in range(a.shape[1])]
    return [a.reshape(-1)]


def _table_from_groups(name: str, groups: list[np.ndarray], rows: int, k: int) -> torch.Tensor:
    if name == "color_dc":
        a = np.stack(groups, axis=1)[:, None, :]
    elif name == "color_rest":
        blocks, band = [], 1
        for g in groups:
            blocks.append(g.reshape(rows, 2 * band + 1, 3))
            band += 1
        a = np.concatenate(blocks, axis=1) if blocks else np.zeros((rows, 0, 3), np.int64)
    elif name in ("scale_dir", "rotation"):
        a = np.stack(groups, axis=1)
    else:
        a = groups[0]
    return torch.from_numpy((a - 128).astype(np.int8))


def _group_sizes(name: str, rows: int, n: int, rest_coeffs: int) -> list[int]:
    if name == "color_dc":
        return [rows] * 3
    if name == "color_rest":
        return [
            rows * 3 * (2 * band + 1) for band in range(1, 4) if (band + 1) ** 2 - 1 <= rest_coeffs
        ]
    if name == "scale_dir":
        return [rows] * 3
    if name == "rotation":
        return [rows] * 4
    return [n]


# --------------------------------------------------------------------------- container
def _group_names(name: str, n_groups: int) -> list[str]:
    """Names of the streams :func:`_table_groups` makes for field ``name``."""
    if n_groups == 1:
        return [name]
    labels = {
        "color_dc": ["R", "G", "B"],
        "color_rest": [f"band{b}" for b in range(1, 4)],
        "scale_dir": ["x", "y", "z"],
        "rotation": ["w", "x", "y", "z"],
    }.get(name, [str(i) for i in range(n_groups)])
    return [f"{name}.{label}" for label in labels[:n_groups]]


def encode_streams(q: QuantizedGaussians) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The header (magic to quantisation parameters) and the named streams of a ``.pcc3dgs``.

    Stream names: ``positions``; ``color_dc.R/G/B``; ``color_rest.band1..3``; ``opacity``;
    ``scale_dir.x/y/z``; ``log_magnitude``; ``rotation.w/x/y/z``; ``color_indices``;
    ``shape_indices``. :func:`encode` frames them (count byte, a u32 length before each, CRC).
    """
    n, deg = len(q), q.sh_degree
    m_c, m_g = q.color_dc.shape[0], q.scale_dir.shape[0]
    c_idx, g_idx = q.color_indices.numpy(), q.shape_indices.numpy()
    flags = 0
    if is_first_use_order(c_idx):
        flags |= FLAG_COLOR_FIRST_USE
    if is_first_use_order(g_idx):
        flags |= FLAG_SHAPE_FIRST_USE
    grid = q.position_grid
    if grid is not None:
        flags |= FLAG_POSITION_GRID
    version = 1 if grid is None else 2  # fp16 models stay version 1, byte for byte
    header = bytearray(_HEADER.pack(MAGIC, version, n, deg, m_c, m_g, flags))
    for name in QUANTIZED_FIELDS:
        header += _QP.pack(q.qparams[name].scale, q.qparams[name].zero_point)
    if grid is None:
        streams = [("positions", encode_positions(q.means.numpy()))]
    else:
        header += _GRID.pack(*grid.origin, grid.step, grid.bits)
        coords = grid.coords(q.means)
        if not torch.equal(grid.positions(coords), q.means.to(torch.float32)):
            raise ValueError("means do not lie on their position grid")
        streams = [("positions", encode_grid_positions(coords.numpy()))]
    for name in QUANTIZED_FIELDS:
        groups = _table_groups(name, getattr(q, name))
        for label, group in zip(_group_names(name, len(groups)), groups, strict=True):
            streams.append((label, encode_symbols(group, 256)))
    for label, idx, rows, flag in (
        ("color_indices", c_idx, m_c, FLAG_COLOR_FIRST_USE),
        ("shape_indices", g_idx, m_g, FLAG_SHAPE_FIRST_USE),
    ):
        if flags & flag:
            streams.append((label, encode_first_use_indices(idx, rows)))
        else:
            streams.append((label, encode_symbols(idx, max(rows, 1))))
    return bytes(header), streams


def frame(header: bytes, streams: list[bytes]) -> bytes:
    """Header + stream count + length-prefixed streams + CRC-32: the container layout
    (:mod:`pcc.coding.framing` with a u8 count and u32 lengths)."""
    return append_crc32(bytes(header) + pack_streams(streams, count_fmt="<B", length_fmt="<I"))


def encode(q: QuantizedGaussians) -> bytes:
    """The complete ``.pcc3dgs`` byte string of a quantised model."""
    header, streams = encode_streams(q)
    return frame(header, [s for _, s in streams])


def decode(data: bytes, path: str | os.PathLike | None = None) -> QuantizedGaussians:
    """Parse and decode a ``.pcc3dgs`` byte string; raises :class:`BitstreamError` if corrupt."""
    try:
        return _decode(data)
    except BitstreamError as err:
        raise BitstreamError(path, err.problem) from None
    except (struct.error, ValueError, RuntimeError, OverflowError, IndexError) as err:
        raise BitstreamError(path, f"corrupt .pcc3dgs stream: {err}") from err
    except AssertionError as err:  # constriction asserts on data its model cannot decode
        raise BitstreamError(path, f"corrupt .pcc3dgs stream (range decoder: {err})") from None


#: Decoder limits, checked before anything is allocated: at most this many Gaussians, and at most
#: this many Gaussians (or table rows) per byte of file. Even a degenerate model (every Gaussian
#: identical) costs about ``alphabet / 2 * log2(N)`` bits per adaptive stream, far more than this.
MAX_GAUSSIANS = 1 << 27
MAX_PER_BYTE = 1 << 12


def check_counts(n: int, deg: int, m_c: int, m_g: int, flags: int, size: int) -> None:
    """Validate the header's counts against sane maxima and the file size (before allocating).

    Table rows are renumbered and compacted by :func:`~pcc.c3dgs.compressed_model.finalize`, so a
    table never has more rows than there are Gaussians (and none when there are none).
    """
    if deg > 3:
        raise BitstreamError(None, f"SH degree {deg} > 3")
    if flags & ~(FLAG_COLOR_FIRST_USE | FLAG_SHAPE_FIRST_USE | FLAG_POSITION_GRID):
        raise BitstreamError(None, f"unknown flags {flags:#x}")
    limit = min(MAX_GAUSSIANS, MAX_PER_BYTE * size)
    if n > limit:
        raise BitstreamError(
            None, f"header declares {n} Gaussians, more than {limit} for a {size}-byte file"
        )
    for what, rows in (("colour", m_c), ("shape", m_g)):
        if rows > max(n, 1) or (n and not rows):
            raise BitstreamError(
                None, f"header declares {rows} {what} table rows for {n} Gaussians"
            )


def _decode(data: bytes) -> QuantizedGaussians:
    if len(data) < _HEADER.size + 4 or data[:5] != MAGIC:
        raise BitstreamError(None, "not a .pcc3dgs file (bad magic or too short)")
    if data[5] not in VERSIONS:
        raise BitstreamError(
            None, f"unsupported .pcc3dgs version {data[5]} (expected one of {VERSIONS})"
        )
    try:
        body = check_crc32(data)
    except BitstreamError:
        raise BitstreamError(None, "checksum mismatch: the file is truncated or corrupt") from None
    _, _, n, deg, m_c, m_g, flags = _HEADER.unpack_from(data, 0)
    check_counts(n, deg, m_c, m_g, flags, len(data))
    pos = _HEADER.size
    qparams = {}
    for name in QUANTIZED_FIELDS:
        scale, zp = _QP.unpack_from(data, pos)
        pos += _QP.size
        if not (math.isfinite(scale) and scale > 0 and scale * (abs(zp) + 256) < 1e38):
            raise BitstreamError(None, f"quantisation of {name}: scale {scale}, zero point {zp}")
        qparams[name] = QParams(scale, zp)
    grid = None
    if flags & FLAG_POSITION_GRID:
        if data[5] < 2:
            raise BitstreamError(None, "position-grid flag in a version 1 file")
        ox, oy, oz, step, bits = _GRID.unpack_from(data, pos)
        pos += _GRID.size
        finite = all(math.isfinite(v) and abs(v) < 1e30 for v in (ox, oy, oz, step))
        if not (finite and step > 0 and 1 <= bits <= MAX_BITS):
            raise BitstreamError(None, f"position grid: step {step}, {bits} bits")
        grid = PositionGrid((ox, oy, oz), step, bits)
    reader = ByteReader(body, pos=pos)
    streams = read_streams(reader, count_fmt="<B", length_fmt="<I")
    if reader.remaining:
        raise BitstreamError(None, "unexpected bytes after the last stream")
    rest_coeffs = (deg + 1) ** 2 - 1
    sizes = {
        name: _group_sizes(name, m_c if name.startswith("color") else m_g, n, rest_coeffs)
        for name in QUANTIZED_FIELDS
    }
    expected = 1 + sum(len(v) for v in sizes.values()) + 2
    if len(streams) != expected:
        raise BitstreamError(None, f"{len(streams)} streams, expected {expected}")
    if grid is None:
        means = torch.from_numpy(decode_positions(streams[0], n))
    else:
        means = grid.positions(torch.from_numpy(decode_grid_positions(streams[0], n, grid.bits)))
    k, fields = 1, {}
    for name in QUANTIZED_FIELDS:
        groups = []
        for size in sizes[name]:
            groups.append(decode_symbols(streams[k], size, 256))
            k += 1
        rows = m_c if name.startswith("color") else m_g
        fields[name] = _table_from_groups(name, groups, rows, rest_coeffs)
    if name_shape_mismatch(fields, n, m_c, m_g, rest_coeffs):
        raise BitstreamError(None, "decoded table shapes do not match the header")
    indices = []
    for rows, flag in ((m_c, FLAG_COLOR_FIRST_USE), (m_g, FLAG_SHAPE_FIRST_USE)):
        if flags & flag:
            idx = decode_first_use_indices(streams[k], n, rows)
        else:
            idx = decode_symbols(streams[k], n, max(rows, 1))
            if n and idx.max() >= rows:
                raise BitstreamError(None, "index outside its table")
        indices.append(torch.from_numpy(idx))
        k += 1
    return QuantizedGaussians(
        means=means,
        color_indices=indices[0],
        shape_indices=indices[1],
        qparams=qparams,
        position_grid=grid,
        **fields,
    )


def name_shape_mismatch(fields: dict, n: int, m_c: int, m_g: int, rest: int) -> bool:
    want = {
        "color_dc": (m_c, 1, 3),
        "color_rest": (m_c, rest, 3),
        "opacity": (n,),
        "log_magnitude": (n,),
        "scale_dir": (m_g, 3),
        "rotation": (m_g, 4),
    }
    return any(tuple(fields[k].shape) != v for k, v in want.items())


def save_pcc(q: QuantizedGaussians, path: str | os.PathLike) -> int:
    """Write ``q`` as ``.pcc3dgs`` (atomically); returns the file size in bytes."""
    return save_pcc_streams(q, path)[0]


def save_pcc_streams(
    q: QuantizedGaussians, path: str | os.PathLike
) -> tuple[int, dict[str, int], int]:
    """Write ``q`` as ``.pcc3dgs``; returns ``(file bytes, bytes per named stream, framing)``.

    ``framing`` is everything that is not a stream payload: header, quantisation parameters,
    stream count, the u32 length of every stream and the CRC, so the stream sizes plus
    ``framing`` equal the file size exactly.
    """
    header, streams = encode_streams(q)
    data = frame(header, [s for _, s in streams])
    write_bytes_atomic(path, data)
    sizes = {name: len(s) for name, s in streams}
    return len(data), sizes, len(data) - sum(sizes.values())


def load_pcc(path: str | os.PathLike) -> QuantizedGaussians:
    """Read a ``.pcc3dgs`` file; raises :class:`BitstreamError` naming the file if it is bad."""
    try:
        data = open(path, "rb").read()  # noqa: SIM115 - read whole file
    except FileNotFoundError as err:
        raise BitstreamError(path, "file not found") from err
    return decode(data, path)
