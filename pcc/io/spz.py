"""Niantic SPZ files (``.spz``, versions 2, 3 and 4): read and write :class:`GaussianModel`.

SPZ ("splat zip", Niantic Labs, MIT; reference library ``nianticlabs/spz``, ``load-spz.cc``) is a
quantised, attribute-by-attribute layout, losslessly packed:

* **v2 / v3**: one gzip stream holding a 16-byte header and the sections::

      header  <u32 magic 'NGSP' (0x5053474E)> <u32 version> <u32 N>
              <u8 sh_degree> <u8 fractional_bits> <u8 flags> <u8 reserved>
      [extension records, when flags & 0x2]
      positions [N, 3] x 24-bit signed fixed point, 2^-fractional_bits units
      alphas    [N] u8           sigmoid(opacity) * 255
      colors    [N, 3] u8        f_dc * 0.15 * 255 + 127.5   (a "wide" colour, not SH_C0)
      scales    [N, 3] u8        (log_scale + 10) * 16
      rotations [N, 3] u8 (v2)   x y z of the unit quaternion with w >= 0, q * 127.5 + 127.5
                [N] u32   (v3)   "smallest three": index of the largest |component| (2 bits) and
                                 the other three as sign + 9-bit magnitude of |q_i| / sqrt(1/2)
      sh        [N, K-1, 3] u8   coefficient-major, colour innermost; x * 128 + 128, rounded to
                                 5 bits (degree 1) or 4 bits (degree 2-3) by default

* **v4**: a plain 32-byte header (the 16 bytes above with ``reserved`` now ``num_streams``, then
  ``<u32 toc_offset>`` and 12 reserved bytes), extension records up to ``toc_offset``, a table of
  ``num_streams`` ``(<u64 compressed>, <u64 uncompressed>)`` sizes, then each section as its own
  zstd frame (rotations always "smallest three"; the SH stream is absent at degree 0).

**Coordinates.** SPZ stores right-up-back (RUB, the OpenGL / three.js frame); the INRIA PLY and
pcc work in right-down-front (RDF, OpenCV). Going between them negates y and z: positions
``(x, -y, -z)``, quaternions ``(w, x, -y, -z)`` (a 180-degree turn about x), and the SH
coefficients whose basis function is odd in ``y`` xor ``z`` (e.g. degree 1: ``-, -, +``). The
reader and writer convert by default, as the reference library does when told that the caller's
frame is RDF. A scene trained from COLMAP photos (y down) therefore stands upright in a y-up SPZ
viewer.

**Loss** (what a round trip through this writer costs, and no more): positions within half a
fixed-point step (2^-13 scene units at the default 12 fractional bits), log-scales within
1/32 (clamped to [-10, 5.94]), opacity within 1/510 after the sigmoid, the DC colour within
half of 1/(0.15 * 255) (clamped to about [-3.3, 3.3]), SH within half a 5-bit (degree 1) or
4-bit (degree 2-3) step of [-1, 1] (clamped there). Rotations (v3/v4): the three stored
components within half a 9-bit step (7e-4), the recomputed largest one within 2.1e-3; v2 stores
x y z within 3.9e-3 and recomputes ``w = sqrt(1 - |xyz|^2)``, which is poor when ``w`` is small
(the reason v3 exists).

Why our own code and not a PyPI package: ``spz`` on PyPI is a 0.0.1 Rust source release that does
not build offline, and ``gsply`` (MIT, reads SPZ and compressed PLY) pulls in numba/llvmlite
(a 330 MB environment, 15 s of JIT on the first read here), and gsply neither converts SPZ's
RUB frame nor reads ``.splat``. The format fits in a page of numpy. Reading or writing v4 needs ``zstandard`` (an
optional dependency); v2/v3 need only the standard library. Taught in
``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io._splat_common import (
    SplatArrays,
    check_finite,
    logit,
    model_for_writing,
    read_file_bytes,
    sigmoid,
)
from pcc.io.atomic import write_bytes_atomic
from pcc.io.gaussian_model import GaussianModel

__all__ = ["SpzHeader", "read_spz", "read_spz_header", "write_spz", "encode_spz", "decode_spz"]

MAGIC = 0x5053474E  # b"NGSP" little-endian
COLOR_SCALE = 0.15
DEFAULT_FRACTIONAL_BITS = 12
LEGACY_HEADER = struct.Struct("<IIIBBBB")  # 16 bytes
V4_HEADER = struct.Struct("<IIIBBBBI12x")  # 32 bytes
TOC_ENTRY = struct.Struct("<QQ")
FLAG_ANTIALIASED = 0x1
FLAG_EXTENSIONS = 0x2
EXT_SH_QUANTIZATION = 0xADBE0001  # Adobe: SH dequantised over [sh_min, sh_max] instead of [-1, 1]
ZSTD_LEVEL = 12
SH_DIM = {0: 0, 1: 3, 2: 8, 3: 15, 4: 24}  # SH coefficients per channel beyond the DC term
# deflate cannot expand data more than ~1032x; zstd (RLE blocks) not more than ~32768x
_GZIP_MAX_RATIO = 1100
_ZSTD_MAX_RATIO = 40000
_EXT_SLACK = 1 << 20  # room for extension records inside a legacy gzip stream

# RDF <-> RUB: negate y and z. The map is its own inverse.
_FLIP_POS = np.array([1.0, -1.0, -1.0], dtype=np.float64)
_FLIP_QUAT_WXYZ = np.array([1.0, 1.0, -1.0, -1.0], dtype=np.float64)
# Sign of each SH basis function (degree 1..3, INRIA order) under (x, y, z) -> (x, -y, -z):
# l=1: y z x; l=2: xy yz (3z^2-1) xz (x^2-y^2); l=3: y(..) xyz y(..) z(..) x(..) z(..) x(..)
_FLIP_SH = np.array([-1, -1, 1] + [-1, 1, 1, -1, 1] + [-1, 1, -1, -1, 1, -1, 1], dtype=np.float64)


@dataclass(frozen=True)
class SpzHeader:
    """What an SPZ header declares (``container`` is ``"gzip"``, ``"raw"`` or ``"v4"``)."""

    version: int
    n: int
    sh_degree: int
    fractional_bits: int
    flags: int
    container: str

    @property
    def antialiased(self) -> bool:
        return bool(self.flags & FLAG_ANTIALIASED)

    def section_sizes(self) -> list[tuple[str, int]]:
        """``(name, bytes)`` of each section in file order (v2: 3-byte rotations)."""
        rot = 3 if self.version == 2 else 4
        return [
            ("positions", 9 * self.n),
            ("alphas", self.n),
            ("colors", 3 * self.n),
            ("scales", 3 * self.n),
            ("rotations", rot * self.n),
            ("sh", 3 * SH_DIM[self.sh_degree] * self.n),
        ]

    def body_size(self) -> int:
        return sum(size for _, size in self.section_sizes())


# ----------------------------------------------------------------------------- helpers
def _round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero (C's ``std::round``, which the reference encoder uses)."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(_round(x), 0, 255).astype(np.uint8)


def _check_header(path, version: int, n: int, sh_degree: int, frac: int, container: str):
    if version not in (2, 3, 4):
        hint = " (v1 used float16 positions and was never released)" if version == 1 else ""
        raise FormatError(path, f"unsupported SPZ version {version}{hint}; pcc reads 2, 3 and 4")
    if container == "v4" and version != 4:
        raise FormatError(path, f"an uncompressed NGSP header with version {version} != 4")
    if container == "gzip" and version == 4:
        raise FormatError(path, "SPZ version 4 inside a gzip stream (v4 files are not gzipped)")
    if sh_degree not in SH_DIM:
        raise FormatError(path, f"SPZ SH degree {sh_degree} is not in 0..4")
    if frac > 23:
        raise FormatError(path, f"{frac} fractional bits do not fit a 24-bit position")
    if n == 0:
        raise FormatError(path, "the SPZ contains zero Gaussians; a scene needs at least one")


def _parse_extensions(path, block: bytes) -> tuple[float, float] | None:
    """SH range of the ``SPZ_ADOBE_sh_quantization`` record, if any, among ``[type][len][data]``."""
    pos, sh_range = 0, None
    while pos + 8 <= len(block):
        ext_type, length = struct.unpack_from("<II", block, pos)
        payload = block[pos + 8 : pos + 8 + length]
        if len(payload) < length:
            warnings.warn(f"{path}: truncated SPZ extension record ignored", stacklevel=3)
            break
        if ext_type == EXT_SH_QUANTIZATION and length >= 8:
            lo, hi = struct.unpack_from("<ff", payload, length - 8)
            if math.isfinite(lo) and math.isfinite(hi) and hi > lo:
                sh_range = (float(lo), float(hi))
        pos += 8 + length
    return sh_range


# ----------------------------------------------------------------------------- containers
def _gunzip_bounded(path, data: bytes) -> tuple[bytes, bytes]:
    """``(16-byte header, rest)`` of a gzip SPZ, never inflating more than the header implies."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        head = d.decompress(data, LEGACY_HEADER.size)
        if len(head) < LEGACY_HEADER.size:
            raise FormatError(path, "truncated: the gzip stream ends inside the SPZ header")
        magic, version, n, deg, frac, flags, _ = LEGACY_HEADER.unpack(head)
        if magic != MAGIC:
            raise FormatError(path, "gzip stream does not hold an SPZ (no 'NGSP' magic)")
        _check_header(path, version, n, deg, frac, "gzip")
        header = SpzHeader(version, n, deg, frac, flags, "gzip")
        need = header.body_size()
        if need > _GZIP_MAX_RATIO * len(data) + 1024:
            raise FormatError(
                path,
                f"the header declares {n} Gaussians ({need} bytes unpacked), more than a "
                f"{len(data)}-byte gzip stream can hold (corrupt header)",
            )
        cap = need + (_EXT_SLACK if flags & FLAG_EXTENSIONS else 0)
        chunks, total, tail = [], 0, d.unconsumed_tail
        # stop at the end of the gzip member: bytes after it land in unused_data, and feeding
        # them again would never make progress (a trailing-garbage file hung the reader)
        while total < cap and not d.eof:
            piece = d.decompress(tail, min(1 << 24, cap - total))
            tail = d.unconsumed_tail
            if not piece:
                break
            chunks.append(piece)
            total += len(piece)
    except zlib.error as err:
        raise FormatError(path, f"corrupt gzip stream: {err}") from None
    return head, b"".join(chunks)


def _zstd_decompress_bounded(path, name: str, frame: bytes, size: int) -> bytes:
    try:
        import zstandard
    except ImportError:
        raise FormatError(
            path, "SPZ v4 sections are zstd-compressed: install the 'zstandard' package"
        ) from None
    out = bytearray()
    try:
        with zstandard.ZstdDecompressor().stream_reader(frame) as reader:
            while len(out) <= size:
                piece = reader.read(min(1 << 24, size + 1 - len(out)))
                if not piece:
                    break
                out += piece
    except zstandard.ZstdError as err:
        raise FormatError(path, f"SPZ v4 {name} stream: corrupt zstd data ({err})") from None
    if len(out) != size:
        raise FormatError(
            path, f"SPZ v4 {name} stream unpacks to {len(out)} bytes, the table says {size}"
        )
    return bytes(out)


def _split_sections(path, header: SpzHeader, body: bytes) -> dict[str, np.ndarray]:
    out, pos = {}, 0
    for name, size in header.section_sizes():
        out[name] = np.frombuffer(body, dtype=np.uint8, count=size, offset=pos)
        pos += size
    return out


def _read_sections(path, data: bytes) -> tuple[SpzHeader, dict[str, np.ndarray], tuple | None]:
    """Header, raw section bytes and the SH range (``None``: the legacy [-1, 1])."""
    if data[:2] == b"\x1f\x8b":
        head, body = _gunzip_bounded(path, data)
        header = SpzHeader(*LEGACY_HEADER.unpack(head)[1:6], container="gzip")
        return _legacy_sections(path, header, body)
    if len(data) < LEGACY_HEADER.size or struct.unpack_from("<I", data)[0] != MAGIC:
        raise FormatError(path, "not an SPZ file (neither a gzip stream nor the 'NGSP' magic)")
    version = struct.unpack_from("<I", data, 4)[0]
    if version < 4:  # an un-gzipped legacy payload: accept it as the reference loader's core does
        magic, version, n, deg, frac, flags, _ = LEGACY_HEADER.unpack_from(data)
        _check_header(path, version, n, deg, frac, "raw")
        header = SpzHeader(version, n, deg, frac, flags, "raw")
        return _legacy_sections(path, header, data[LEGACY_HEADER.size :])
    if len(data) < V4_HEADER.size:
        raise FormatError(path, f"truncated: {len(data)} bytes, an SPZ v4 header needs 32")
    _, version, n, deg, frac, flags, n_streams, toc = V4_HEADER.unpack_from(data)
    _check_header(path, version, n, deg, frac, "v4")
    header = SpzHeader(version, n, deg, frac, flags, "v4")
    sections = [(k, s) for k, s in header.section_sizes() if s > 0]
    if n_streams != len(sections):
        raise FormatError(
            path, f"SPZ v4 declares {n_streams} streams, SH degree {deg} needs {len(sections)}"
        )
    toc_end = toc + n_streams * TOC_ENTRY.size
    if toc < V4_HEADER.size or toc_end > len(data):
        raise FormatError(path, f"SPZ v4 table of contents at {toc} lies outside the file")
    sh_range = _parse_extensions(path, data[V4_HEADER.size : toc]) if toc > 32 else None
    entries, pos = [], toc_end
    for i, (name, size) in enumerate(sections):
        csize, usize = TOC_ENTRY.unpack_from(data, toc + i * TOC_ENTRY.size)
        if usize != size:
            raise FormatError(
                path, f"SPZ v4 {name} stream holds {usize} bytes, {n} Gaussians need {size}"
            )
        if pos + csize > len(data):
            raise FormatError(
                path,
                f"truncated: the SPZ v4 {name} stream needs bytes up to {pos + csize}, "
                f"the file has {len(data)}",
            )
        if usize > _ZSTD_MAX_RATIO * csize + 1024:
            raise FormatError(
                path, f"SPZ v4 {name} stream: {usize} bytes from {csize} is impossible"
            )
        entries.append((name, pos, csize, usize))
        pos += csize
    out = {name: np.zeros(0, dtype=np.uint8) for name, _ in header.section_sizes()}
    for name, start, csize, usize in entries:
        raw = _zstd_decompress_bounded(path, name, data[start : start + csize], usize)
        out[name] = np.frombuffer(raw, dtype=np.uint8)
    return header, out, sh_range


def _legacy_sections(path, header: SpzHeader, body: bytes):
    need = header.body_size()
    extra = len(body) - need
    if extra < 0:
        raise FormatError(
            path,
            f"truncated: {header.n} Gaussians need {need} bytes after the header, "
            f"the {'gzip stream' if header.container == 'gzip' else 'file'} has {len(body)}",
        )
    sh_range = None
    if header.flags & FLAG_EXTENSIONS and extra > 0:
        # The reference writer puts extension records between the header and the positions.
        sh_range = _parse_extensions(path, body[:extra])
        body = body[extra:]
    return header, _split_sections(path, header, body), sh_range


# ----------------------------------------------------------------------------- decode / encode
def _unpack_smallest_three(words: np.ndarray) -> np.ndarray:
    """``[N]`` u32 -> ``[N, 4]`` unit quaternions in SPZ's ``x y z w`` order."""
    largest = (words >> 30).astype(np.int64)
    q = np.zeros((words.shape[0], 4), dtype=np.float64)
    for idx in range(4):
        sel = largest == idx
        if not sel.any():
            continue
        comp = words[sel].astype(np.int64)
        sum_sq = np.zeros(comp.shape[0])
        for i in (3, 2, 1, 0):  # the last-written component sits in the lowest bits
            if i == idx:
                continue
            value = math.sqrt(0.5) * (comp & 511) / 511.0
            value = np.where((comp >> 9) & 1, -value, value)
            comp = comp >> 10
            q[sel, i] = value
            sum_sq += value * value
        q[sel, idx] = np.sqrt(np.maximum(0.0, 1.0 - sum_sq))
    return q


def _pack_smallest_three(q: np.ndarray) -> np.ndarray:
    """``[N, 4]`` unit quaternions (``x y z w``) -> ``[N]`` u32."""
    largest = np.argmax(np.abs(q), axis=1)
    sign = np.where(q[np.arange(q.shape[0]), largest] < 0, -1.0, 1.0)
    q = q * sign[:, None]
    words = largest.astype(np.uint64)
    for i in range(4):
        mag = np.clip(np.floor(511.0 * np.abs(q[:, i]) / math.sqrt(0.5) + 0.5), 0, 511)
        field = ((q[:, i] < 0).astype(np.uint64) << 9) | mag.astype(np.uint64)
        words = np.where(largest == i, words, (words << 10) | field)
    return words.astype(np.uint32)


def decode_spz(data: bytes, path: str | os.PathLike | None = None, *, rdf: bool = True):
    """Decode SPZ bytes -> ``(GaussianModel, SpzHeader)``. ``rdf=False`` keeps SPZ's RUB frame."""
    header, s, sh_range = _read_sections(path, data)
    n, deg = header.n, header.sh_degree
    b = s["positions"].reshape(n, 3, 3).astype(np.int32)
    fixed = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16)  # [N, 3]
    fixed = np.where(fixed & 0x800000, fixed - (1 << 24), fixed)
    means = fixed.astype(np.float64) * 2.0 ** (-header.fractional_bits)
    log_scales = s["scales"].reshape(n, 3).astype(np.float64) / 16.0 - 10.0
    opacity = logit(s["alphas"].astype(np.float64) / 255.0)
    dc = (s["colors"].reshape(n, 3).astype(np.float64) / 255.0 - 0.5) / COLOR_SCALE
    if header.version == 2:
        xyz = s["rotations"].reshape(n, 3).astype(np.float64) / 127.5 - 1.0
        w = np.sqrt(np.maximum(0.0, 1.0 - (xyz * xyz).sum(axis=1)))
        q_xyzw = np.concatenate([xyz, w[:, None]], axis=1)
    else:
        q_xyzw = _unpack_smallest_three(s["rotations"].view("<u4").reshape(n))
    quats = q_xyzw[:, [3, 0, 1, 2]]  # [N, 4] w x y z
    dim = SH_DIM[deg]
    rest = s["sh"].reshape(n, dim, 3).astype(np.float64)
    if sh_range is None:
        rest = (rest - 128.0) / 128.0
    else:
        rest = sh_range[0] + rest / 255.0 * (sh_range[1] - sh_range[0])
    if deg == 4:
        warnings.warn(f"{path}: SH degree 4 truncated to 3 (pcc's maximum)", stacklevel=2)
    if header.antialiased:
        warnings.warn(
            f"{path}: trained with antialiasing (Mip-Splatting); pcc renders it without the "
            "3D filter, so it may look slightly sharper than intended",
            stacklevel=2,
        )
        rest = rest[:, : SH_DIM[3]]
    if rdf:
        means = means * _FLIP_POS
        quats = quats * _FLIP_QUAT_WXYZ
        rest = rest * _FLIP_SH[: rest.shape[1], None]
    sh = np.concatenate([dc[:, None, :], rest], axis=1)
    arrays = SplatArrays(
        means.astype(np.float32),
        log_scales.astype(np.float32),
        quats.astype(np.float32),
        opacity.astype(np.float32),
        sh.astype(np.float32),
    )
    check_finite(path, arrays)
    return arrays.to_model(), header


def read_spz_header(path: str | os.PathLike) -> SpzHeader:
    """The header of an SPZ file (inflates only its first bytes for v2/v3)."""
    path = Path(path)
    data = read_file_bytes(path)
    if data[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, LEGACY_HEADER.size)
        except zlib.error as err:
            raise FormatError(path, f"corrupt gzip stream: {err}") from None
        if len(head) < LEGACY_HEADER.size or struct.unpack_from("<I", head)[0] != MAGIC:
            raise FormatError(path, "gzip stream does not hold an SPZ header")
        magic, version, n, deg, frac, flags, _ = LEGACY_HEADER.unpack(head)
        _check_header(path, version, n, deg, frac, "gzip")
        return SpzHeader(version, n, deg, frac, flags, "gzip")
    if len(data) < LEGACY_HEADER.size or struct.unpack_from("<I", data)[0] != MAGIC:
        raise FormatError(path, "not an SPZ file (neither a gzip stream nor the 'NGSP' magic)")
    magic, version, n, deg, frac, flags, _ = LEGACY_HEADER.unpack_from(data)
    container = "v4" if version >= 4 else "raw"
    _check_header(path, version, n, deg, frac, container)
    return SpzHeader(version, n, deg, frac, flags, container)


def read_spz(path: str | os.PathLike, *, rdf: bool = True) -> GaussianModel:
    """Read an SPZ file (v2/v3 gzip, v4 zstd) into a :class:`GaussianModel` (float32, CPU).

    Values come back pre-activation (log-scale, opacity logit, unit quaternion, SH DC and rest)
    in pcc's RDF frame (``rdf=False`` keeps SPZ's RUB). Degree-4 SH are truncated to degree 3
    with a warning.

    Raises:
        FormatError: not an SPZ, an unknown version, a header that declares more data than the
            file holds (checked before anything is allocated), corrupt gzip/zstd data, or
            non-finite values.
    """
    path = Path(path)
    return decode_spz(read_file_bytes(path), path, rdf=rdf)[0]


def auto_fractional_bits(means: np.ndarray, preferred: int = DEFAULT_FRACTIONAL_BITS) -> int:
    """``preferred`` fractional bits, fewer if the scene would overflow the 24-bit positions."""
    extent = float(np.abs(means).max(initial=0.0))
    if extent == 0.0:
        return preferred
    fit = math.floor(math.log2((2**23 - 1) / extent))
    if fit < 0:
        raise ValueError(f"positions up to {extent:g} do not fit SPZ's 24-bit fixed point")
    return min(preferred, fit)


def encode_spz(
    model: GaussianModel,
    *,
    version: int = 3,
    fractional_bits: int | None = None,
    sh1_bits: int = 5,
    sh_rest_bits: int = 4,
    antialiased: bool = False,
    rdf: bool = True,
) -> bytes:
    """The SPZ bytes of ``model`` (see :func:`write_spz`)."""
    if version not in (2, 3, 4):
        raise ValueError(f"SPZ version must be 2, 3 or 4, got {version}")
    if not (1 <= sh1_bits <= 8 and 1 <= sh_rest_bits <= 8):
        raise ValueError("sh1_bits and sh_rest_bits must be in 1..8")
    a = model_for_writing(model, "SPZ")
    n, deg = a.means.shape[0], model.sh_degree
    means = a.means.astype(np.float64)
    quats = a.normalized_quats()  # [N, 4] w x y z
    rest = a.sh[:, 1:].astype(np.float64)  # [N, K-1, 3]
    if rdf:
        means = means * _FLIP_POS
        quats = quats * _FLIP_QUAT_WXYZ
        rest = rest * _FLIP_SH[: rest.shape[1], None]
    frac = auto_fractional_bits(means) if fractional_bits is None else int(fractional_bits)
    if not 0 <= frac <= 23:
        raise ValueError(f"fractional_bits must be in 0..23, got {frac}")
    fixed = _round(means * 2.0**frac).astype(np.int64)
    if np.abs(fixed).max() >= 2**23:
        raise ValueError(f"positions overflow SPZ's 24-bit fixed point at {frac} fractional bits")
    fixed &= 0xFFFFFF
    positions = np.stack([(fixed >> s) & 0xFF for s in (0, 8, 16)], axis=-1).astype(np.uint8)
    alphas = _to_u8(sigmoid(a.opacity_logits) * 255.0)
    colors = _to_u8(a.sh[:, 0].astype(np.float64) * (COLOR_SCALE * 255.0) + 127.5)
    scales = _to_u8((a.log_scales.astype(np.float64) + 10.0) * 16.0)
    q_xyzw = quats[:, [1, 2, 3, 0]]
    if version == 2:
        q_xyzw = q_xyzw * np.where(q_xyzw[:, 3:] < 0, -1.0, 1.0)
        rotations = _to_u8(q_xyzw[:, :3] * 127.5 + 127.5)
    else:
        rotations = _pack_smallest_three(q_xyzw).astype("<u4").view(np.uint8)
    sh = np.zeros((n, rest.shape[1], 3), dtype=np.uint8)
    for j in range(rest.shape[1]):
        bucket = 1 << (8 - (sh1_bits if j < 3 else sh_rest_bits))
        q = _round(rest[:, j] * 128.0) + 128.0
        q = np.floor((q + bucket // 2) / bucket) * bucket
        sh[:, j] = np.clip(q, 0, 255).astype(np.uint8)
    flags = FLAG_ANTIALIASED if antialiased else 0
    sections = [positions, alphas, colors, scales, rotations, sh]
    blobs = [np.ascontiguousarray(x).tobytes() for x in sections]
    if version < 4:
        head = LEGACY_HEADER.pack(MAGIC, version, n, deg, frac, flags, 0)
        return gzip.compress(head + b"".join(blobs), compresslevel=6, mtime=0)
    try:
        import zstandard
    except ImportError:
        raise RuntimeError("writing SPZ v4 needs the 'zstandard' package") from None
    blobs = [b for b in blobs if b]
    cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    frames = [cctx.compress(b) for b in blobs]
    head = V4_HEADER.pack(MAGIC, 4, n, deg, frac, flags, len(frames), V4_HEADER.size)
    toc = b"".join(TOC_ENTRY.pack(len(f), len(b)) for f, b in zip(frames, blobs, strict=True))
    return head + toc + b"".join(frames)


def write_spz(
    path: str | os.PathLike,
    model: GaussianModel,
    *,
    version: int = 3,
    fractional_bits: int | None = None,
    sh1_bits: int = 5,
    sh_rest_bits: int = 4,
    antialiased: bool = False,
    rdf: bool = True,
) -> None:
    """Write ``model`` as an SPZ file (atomically).

    Args:
        version: 3 (default, gzip, "smallest three" rotations: the default of Niantic's
            reference library, read by most SPZ viewers), 2 (gzip, 8-bit xyz rotations) or 4
            (zstd streams, what PlayCanvas's splat-transform writes and its engine's SPZ parser
            requires; needs the ``zstandard`` package).
        fractional_bits: fixed-point bits of the positions; ``None`` uses the reference's 12
            unless the scene would overflow 24 bits, then as many as fit.
        sh1_bits, sh_rest_bits: precision kept of the degree-1 and degree-2/3 SH bytes (the
            reference's defaults, 5 and 4, make the gzip stream smaller; 8 keeps all).
        antialiased: set the header flag for Mip-Splatting-trained scenes.
        rdf: the model is in pcc's RDF frame and is converted to SPZ's RUB (default).
    """
    data = encode_spz(
        model,
        version=version,
        fractional_bits=fractional_bits,
        sh1_bits=sh1_bits,
        sh_rest_bits=sh_rest_bits,
        antialiased=antialiased,
        rdf=rdf,
    )
    write_bytes_atomic(path, data)
