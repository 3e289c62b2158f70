"""ASPRS LAS 1.0-1.4 point clouds, uncompressed (``.las``) or LAZ-compressed (``.laz``), via laspy.

`laspy <https://laspy.readthedocs.io>`_ parses the header and the point records; its ``lazrs``
backend decompresses LAZ. pcc adds what every pcc reader promises: declared sizes are checked
before anything is allocated (an uncompressed file must hold ``count x record length`` bytes
after the point offset; LAZ is decoded in bounded chunks, so a forged count cannot allocate
more than the data decodes to), and every failure is one :class:`~pcc.errors.FormatError`
naming the file. Positions are the integer ``X, Y, Z`` records times the header's ``scale``
plus its ``offset``; RGB (16-bit, reduced to 8) comes with the point formats that carry it.

pcc had its own LAS parser before (uncompressed only); on the shared ``simple.las`` both give
identical coordinates and colours, and laspy also reads LAZ, so the own parser was removed
(``docs/open3d.md`` lists the read times).

Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.pointcloud.cloud import PointCloud

__all__ = ["read_las", "LAS_EXTENSIONS"]

LAS_EXTENSIONS = (".las", ".laz")
_CHUNK = 1 << 20  # points decoded at a time: bounds memory whatever the header claims
_HEAD = 255  # bytes of the LAS 1.4 header up to the 64-bit point count
_VLR_HEADER, _EVLR_HEADER = 54, 60  # bytes of a (extended) variable length record's header


def read_las(path: Path) -> PointCloud:
    """Read an ASPRS LAS 1.0-1.4 file, uncompressed or LAZ (``.laz``, via laspy + lazrs).

    Returns positions ``[N, 3]`` float64 and, for point formats 2, 3, 5, 7, 8 and 10, colours
    ``[N, 3]`` uint8 (16-bit values shifted down by 8 unless the file already stores 8-bit
    values); ``notes`` carries ``las_version``, ``las_point_format`` and ``las_compressed``.

    Raises:
        FormatError: not a LAS/LAZ file, truncated, an unknown point format or a corrupt
            compressed stream (the message names the file).
    """
    import laspy  # imported here: only LAS/LAZ reads need it

    path = Path(path)
    try:
        data_size = path.stat().st_size
        with path.open("rb") as f:
            _check_layout(path, f.read(_HEAD), data_size)
        with laspy.open(path, laz_backend=_laz_backend(laspy)) as reader:
            header = reader.header
            n = int(header.point_count)
            compressed = bool(header.are_points_compressed)
            _check_header(path, header, n, compressed, data_size)
            xyz, rgb = _read_records(path, reader, n)
    except FormatError:
        raise
    except _read_errors(laspy) as err:
        problem = f"not a readable LAS/LAZ file ({type(err).__name__}: {err})"
        raise FormatError(path, problem) from None
    with np.errstate(all="raise"):
        try:
            points = xyz * np.asarray(header.scales) + np.asarray(header.offsets)  # [N, 3]
        except FloatingPointError as err:
            raise FormatError(path, f"LAS scale/offset give invalid coordinates ({err})") from None
    colors = None
    if rgb is not None:
        # LAS stores 16-bit colour; files written from 8-bit data keep values <= 255
        colors = (rgb >> 8 if rgb.size and rgb.max() > 255 else rgb).astype(np.uint8)
    notes = {
        "las_version": f"{header.version.major}.{header.version.minor}",
        "las_point_format": int(header.point_format.id),
        "las_compressed": compressed,
    }
    return PointCloud(points, colors, notes=notes)


def _read_errors(laspy) -> tuple[type[BaseException], ...]:
    """What laspy and lazrs raise on a malformed file."""
    errors = [laspy.errors.LaspyException, ValueError, struct.error, EOFError, OSError]
    try:
        import lazrs

        errors.append(lazrs.LazrsError)  # a corrupt or truncated LAZ stream
    except ImportError:
        pass
    return tuple(errors)


def _laz_backend(laspy):
    """lazrs single-threaded (machines here are shared; the parallel decoder gains little)."""
    available = laspy.LazBackend.detect_available()
    return laspy.LazBackend.Lazrs if laspy.LazBackend.Lazrs in available else None


def _check_layout(path: Path, head: bytes, data_size: int) -> None:
    """The header's byte layout fits the file: a forged VLR count or offset must not make
    laspy loop over billions of records past the end of the file."""
    if len(head) < 227 or head[:4] != b"LASF":
        raise FormatError(path, "not a LAS file (no 'LASF' signature or header too short)")
    header_size, point_offset, n_vlrs = struct.unpack_from("<HII", head, 94)
    if point_offset > data_size:
        raise FormatError(path, f"LAS point data offset {point_offset} > file size {data_size}")
    if header_size + n_vlrs * _VLR_HEADER > point_offset:
        raise FormatError(
            path, f"LAS header ({header_size} B) and {n_vlrs} VLRs do not fit before the point "
            f"data at byte {point_offset}"
        )  # fmt: skip
    if head[25] >= 4 and len(head) >= 247:  # LAS 1.4: extended VLRs after the points
        evlr_start, n_evlrs = struct.unpack_from("<QI", head, 235)
        if n_evlrs and evlr_start + n_evlrs * _EVLR_HEADER > data_size:
            raise FormatError(path, f"{n_evlrs} LAS EVLRs at byte {evlr_start} exceed the file")


def _check_header(path: Path, header, n: int, compressed: bool, data_size: int) -> None:
    """Validate what the header declares before any point is read."""
    scales, offsets = np.asarray(header.scales), np.asarray(header.offsets)
    if not (np.isfinite(scales).all() and np.isfinite(offsets).all()) or (scales == 0).any():
        raise FormatError(path, f"LAS scale {scales.tolist()} / offset {offsets.tolist()} invalid")
    if n <= 0:
        raise FormatError(path, "the LAS header declares zero points")
    if not compressed:
        record_len = int(header.point_format.size)
        need = int(header.offset_to_point_data) + n * record_len
        if need > data_size:
            raise FormatError(
                path, f"truncated LAS: {n} points of {record_len} B need {need} B, file has "
                f"{data_size} B"
            )  # fmt: skip


def _read_records(path: Path, reader, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Integer positions ``[N, 3]`` int64 and, if present, RGB ``[N, 3]`` uint16, in chunks."""
    has_rgb = "red" in set(reader.header.point_format.dimension_names)
    xyz_parts, rgb_parts, got = [], [], 0
    for chunk in reader.chunk_iterator(min(n, _CHUNK)):
        if len(chunk) == 0:
            break
        xyz_parts.append(np.stack([chunk.X, chunk.Y, chunk.Z], axis=1).astype(np.int64))
        if has_rgb:
            rgb_parts.append(np.stack([chunk.red, chunk.green, chunk.blue], axis=1))
        got += len(chunk)
        if got >= n:
            break
    if got < n:
        raise FormatError(path, f"truncated LAS/LAZ: the header declares {n} points, read {got}")
    xyz = np.concatenate(xyz_parts)[:n]  # [N, 3]
    rgb = np.concatenate(rgb_parts)[:n].astype(np.uint16) if has_rgb else None  # [N, 3]
    return xyz, rgb
