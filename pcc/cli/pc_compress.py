"""``pcc pc compress INPUT --codec octree|occupancy|neural|lidar --out FILE``: compress a point cloud's geometry.

INPUT is any point cloud or mesh the readers support (PLY, PCD, KITTI ``.bin``, XYZ, OFF).
A cloud whose coordinates are already non-negative integers (a voxelised cloud) is coded as it
is; any other cloud is voxelised into the ``2^bits`` cube (longest side spans ``2^bits - 1``);
a mesh is surface-sampled first (30 samples per voxel^2 of area, at most 5M samples). The transform back to the
original frame is stored in the container, so ``pcc pc decompress --original-frame`` can undo it.

``--codec octree`` is the lossless context-modelling octree coder (lossy with ``--quant-step``);
``--codec occupancy`` is the learned lossless occupancy coder (:mod:`pcc.pointcloud.occupancy_codec`,
``--model`` a checkpoint path, default the bundled one; taught in
``notebooks/17_learned_lossless.ipynb``); ``--codec neural`` calls the learned lossy codec
(``pcc.codec.pipeline``). ``--codec lidar`` is the
spinning-LiDAR coder (:mod:`pcc.pointcloud.lidar_codec`): the positions are rounded to
``--precision`` (``1mm``, ``1cm`` or metres, e.g. ``0.001``) and shifted to non-negative
integers, the sensor is taken at the file's origin, a ``.bin`` with 5 fields (nuScenes) gives
the ring index of each point, and ``--max-error`` (same syntax) makes it near-lossless. ``bpp`` is the real file size
in bits per point given to the codec (the voxelised cloud); ``encode_seconds`` times the codec
alone, ``total_seconds`` includes reading and voxelising. Taught in
``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.atomic import refuse_same_file, write_bytes_atomic

MAX_MESH_SAMPLES = 5_000_000  # cap of surface samples for a mesh input (as canonical_modelnet)


def register(subparsers) -> None:
    p = subparsers.add_parser("compress", help="compress point-cloud geometry", description=__doc__)
    p.add_argument("input", help="point cloud or mesh file")
    p.add_argument("--codec", choices=tuple(ENCODERS), default="octree")
    p.add_argument("--out", required=True, help="output container file")
    p.add_argument("--bits", type=int, default=10, help="voxel grid depth for float inputs (10)")
    p.add_argument(
        "--quant-step",
        type=float,
        default=1.0,
        help="position quantisation step in voxels (octree: 1 = lossless; neural: >= 1, "
        "coarser grids for lower rates)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="neural: model name or checkpoint path; occupancy: checkpoint (default bundled)",
    )
    p.add_argument("--bin-fields", type=int, default=None, help="float32 values per .bin record")
    p.add_argument(
        "--precision", default="1mm", help="lidar: position precision (1mm, 1cm, metres) (1mm)"
    )
    p.add_argument(
        "--max-error",
        default="0",
        help="lidar: largest error per coordinate (e.g. 1cm; 0 = lossless) (0)",
    )
    p.add_argument("--lasers", type=int, default=64, help="lidar: lasers if rings are clustered")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


_UNITS = {"mm": 0.001, "cm": 0.01, "m": 1.0}


def parse_length(text: str, what: str, path) -> float:
    """``"1mm"``, ``"2.5cm"``, ``"0.001"`` (metres) -> metres (float >= 0)."""
    t = str(text).strip().lower()
    unit = 1.0
    for suffix, factor in sorted(_UNITS.items(), key=lambda kv: -len(kv[0])):
        if t.endswith(suffix):
            t, unit = t[: -len(suffix)], factor
            break
    try:
        value = float(t) * unit
    except ValueError:
        raise FormatError(path, f"{what} {text!r} is not a length (e.g. 1mm, 1cm, 0.001)") from None
    if not (np.isfinite(value) and value >= 0):
        raise FormatError(path, f"{what} must be a non-negative length, got {text!r}")
    return value


def _mesh_faces(path: Path):
    """Faces of a mesh file (``.off``, or ``.ply`` with a non-empty face element), else None."""
    from pcc.io.mesh import read_mesh
    from pcc.io.ply import read_ply_elements

    suffix = path.suffix.lower()
    if suffix == ".ply":
        face = read_ply_elements(path).get("face")
        if not face or len(next(iter(face.values()))) == 0:
            return None
    elif suffix != ".off":
        return None
    vertices, faces = read_mesh(path)
    return (vertices, faces) if len(faces) else None


def load_voxels(path: str | Path, bits: int, bin_fields: int | None = None) -> tuple:
    """Read INPUT as integer voxels: ``(coords [M, 3] int32, transform dict, file points)``.

    ``transform`` maps voxels back: ``point = voxel / scale + offset``.
    """
    from pcc.io.pointcloud import read_point_cloud
    from pcc.pointcloud.canonical import mesh_to_voxels
    from pcc.pointcloud.voxelize import voxelize

    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "file not found")
    if not 1 <= bits <= 21:
        raise FormatError(path, f"--bits must be in 1..21, got {bits}")
    mesh = _mesh_faces(path)
    if mesh is not None:
        vertices, faces = mesh
        lo, hi = vertices.min(axis=0), vertices.max(axis=0)
        extent = float((hi - lo).max())
        scale = ((1 << bits) - 1) / extent if extent > 0 else 1.0
        coords = mesh_to_voxels(
            vertices, faces, scale, -lo * scale, bits, max_samples=MAX_MESH_SAMPLES
        )
        transform = {"scale": scale, "offset": [float(v) for v in lo], "bits": bits}
        return coords, transform, int(len(vertices))
    pc = read_point_cloud(path, bin_fields=bin_fields)
    points = pc.points
    is_voxels = (
        points.size
        and np.all(points == np.round(points))
        and points.min() >= 0
        and points.max() < (1 << 21)
    )
    if is_voxels:
        coords = points.astype(np.int32)
        top = int(coords.max())
        transform = {"scale": 1.0, "offset": [0.0, 0.0, 0.0], "bits": max(1, top.bit_length())}
        return coords, transform, int(len(points))
    try:
        coords, vt = voxelize(points, bits)
    except ValueError as err:
        raise FormatError(path, f"cannot voxelise: {err}") from err
    return coords, vt.as_dict(), int(len(points))


def _encode_octree(args, extra) -> tuple[bytes, dict, int, int]:
    from pcc.pointcloud.octree_codec import encode_octree

    coords, transform, file_points = load_voxels(args.input, args.bits, args.bin_fields)
    extra["transform"] = transform
    start = time.perf_counter()
    encoded = encode_octree(coords, quant_step=args.quant_step, header_extra=extra)
    info = dict(
        quant_step=args.quant_step,
        coded_voxels=encoded.n_voxels,
        depth=encoded.depth,
        estimated_bits=round(encoded.estimated_bits, 1),
        real_stream_bits=encoded.stream_bits,
        encode_seconds=round(time.perf_counter() - start, 3),
        transform=transform,
    )
    return encoded.data, info, len(coords), file_points


def _encode_occupancy(args, extra) -> tuple[bytes, dict, int, int]:
    from pcc.pointcloud.occupancy_codec import encode_occupancy

    if args.quant_step != 1:
        raise FormatError(args.input, "--codec occupancy is lossless: --quant-step must be 1")
    coords, transform, file_points = load_voxels(args.input, args.bits, args.bin_fields)
    extra["transform"] = transform
    start = time.perf_counter()
    try:
        encoded = encode_occupancy(coords, model=args.model, header_extra=extra)
    except ValueError as err:
        raise FormatError(args.input, f"occupancy codec: {err}") from None
    info = dict(
        coded_voxels=encoded.n_voxels,
        depth=encoded.depth,
        real_stream_bits=encoded.stream_bits,
        encode_seconds=round(time.perf_counter() - start, 3),
        transform=transform,
    )
    return encoded.data, info, len(coords), file_points


def _encode_neural(args, extra) -> tuple[bytes, dict, int, int]:
    try:
        from pcc.codec.pipeline import compress_point_cloud
    except ImportError as err:
        raise FormatError(
            args.input, f"the neural codec is not available (pcc.codec.pipeline: {err})"
        ) from None
    if args.model is None:
        raise FormatError(args.input, "--codec neural needs --model NAME_OR_CHECKPOINT")
    if args.quant_step < 1:
        raise FormatError(args.input, f"neural --quant-step must be >= 1, got {args.quant_step}")
    coords, transform, file_points = load_voxels(args.input, args.bits, args.bin_fields)
    extra["transform"] = transform
    start = time.perf_counter()
    data = compress_point_cloud(coords, args.model, quant_step=args.quant_step, header_extra=extra)
    info = dict(
        model=args.model,
        quant_step=args.quant_step,
        encode_seconds=round(time.perf_counter() - start, 3),
        transform=transform,
    )
    return data, info, len(coords), file_points


def load_lidar(path, precision: float, bin_fields: int | None = None) -> tuple:
    """Read a sweep for the lidar codec: ``(coords [N, 3] int64 >= 0, sensor origin [3] int64,
    ring hint [N] or None, transform dict)``; ``point = coords / scale + offset``."""
    from pcc.io.pointcloud import read_point_cloud

    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "file not found")
    if not precision > 0:
        raise FormatError(path, f"--precision must be positive, got {precision}")
    pc = read_point_cloud(path, bin_fields=bin_fields)
    points = np.asarray(pc.points, np.float64)  # [N, 3]
    q = np.round(points / precision)
    if q.size and np.abs(q).max() >= 2**30:
        raise FormatError(path, f"coordinates are too large for precision {precision} m")
    q = q.astype(np.int64)
    shift = q.min(axis=0) if q.size else np.zeros(3, np.int64)
    hint = None
    if path.suffix.lower() == ".bin" and pc.notes.get("bin_fields") == 5:
        ring = np.fromfile(path, dtype="<f4").reshape(-1, 5)[:, 4].astype(np.float64)
        if (
            len(ring) == len(points)
            and np.all(np.isfinite(ring))
            and np.all(ring == np.round(ring))
            and (ring.size == 0 or ring.min() >= 0)
        ):
            hint = ring.astype(np.int64)
    transform = {"scale": 1.0 / precision, "offset": [float(v * precision) for v in shift]}
    return q - shift, -shift, hint, transform


def _encode_lidar(args, extra) -> tuple[bytes, dict, int, int]:
    from pcc.pointcloud.lidar_codec import encode_lidar

    precision = parse_length(args.precision, "--precision", args.input)
    max_error = parse_length(args.max_error, "--max-error", args.input)
    coords, origin, hint, transform = load_lidar(args.input, precision, args.bin_fields)
    units = int(np.floor(max_error / precision + 1e-9))
    extra["transform"] = transform
    extra["precision_m"] = precision
    start = time.perf_counter()
    try:
        encoded = encode_lidar(
            coords,
            origin=origin,
            max_error=units,
            n_lasers=args.lasers,
            ring_hint=hint,
            header_extra=extra,
        )
    except ValueError as err:
        raise FormatError(args.input, f"lidar codec: {err}") from None
    info = dict(
        precision_m=precision,
        max_error_units=units,
        coded_points=encoded.n_points,
        rings=encoded.n_rings,
        ring_method=encoded.ring_method,
        direct_points=encoded.n_direct,
        stream_bytes=encoded.stream_bytes,
        encode_seconds=round(time.perf_counter() - start, 3),
        transform=transform,
    )
    return encoded.data, info, len(coords), len(coords)


# codec id -> encoder(args, header_extra) -> (container bytes, info, points coded, file points)
ENCODERS = {
    "octree": _encode_octree,
    "occupancy": _encode_occupancy,
    "neural": _encode_neural,
    "lidar": _encode_lidar,
}


def run(args) -> int:
    start = time.perf_counter()
    refuse_same_file(args.input, args.out)
    if not (np.isfinite(args.quant_step) and args.quant_step > 0):
        raise FormatError(args.input, f"--quant-step must be positive, got {args.quant_step}")
    if not Path(args.input).is_file():
        raise FormatError(args.input, "file not found")
    extra = {"source": Path(args.input).name}
    data, codec_info, n, file_points = ENCODERS[args.codec](args, extra)
    write_bytes_atomic(args.out, data)
    seconds = time.perf_counter() - start
    info: dict = {"input": str(args.input), "output": str(args.out), "codec": args.codec}
    transform = codec_info.pop("transform")
    encode_seconds = codec_info.pop("encode_seconds")
    info.update(codec_info)
    info.update(
        file_points=file_points,
        input_points=n,
        bytes=len(data),
        bpp=8 * len(data) / max(n, 1),
        encode_seconds=encode_seconds,
        total_seconds=round(seconds, 3),
        transform=transform,
    )
    if args.json:
        print(json.dumps(info))
    else:
        print("\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0
