"""``pcc pc compress INPUT --codec octree|neural --out FILE``: compress a point cloud's geometry.

INPUT is any point cloud or mesh the readers support (PLY, PCD, KITTI ``.bin``, XYZ, OFF).
A cloud whose coordinates are already non-negative integers (a voxelised cloud) is coded as it
is; any other cloud is voxelised into the ``2^bits`` cube (longest side spans ``2^bits - 1``);
a mesh is surface-sampled first (30 samples per voxel^2 of area, at most 5M samples). The transform back to the
original frame is stored in the container, so ``pcc pc decompress --original-frame`` can undo it.

``--codec octree`` is the lossless context-modelling octree coder (lossy with ``--quant-step``);
``--codec neural`` calls the learned codec (``pcc.codec.pipeline``). ``bpp`` is the real file size
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
from pcc.io.atomic import write_bytes_atomic

MAX_MESH_SAMPLES = 5_000_000  # cap of surface samples for a mesh input (as canonical_modelnet)


def register(subparsers) -> None:
    p = subparsers.add_parser("compress", help="compress point-cloud geometry", description=__doc__)
    p.add_argument("input", help="point cloud or mesh file")
    p.add_argument("--codec", choices=("octree", "neural"), default="octree")
    p.add_argument("--out", required=True, help="output container file")
    p.add_argument("--bits", type=int, default=10, help="voxel grid depth for float inputs (10)")
    p.add_argument(
        "--quant-step",
        type=float,
        default=1.0,
        help="position quantisation step in voxels (octree: 1 = lossless; neural: >= 1, "
        "coarser grids for lower rates)",
    )
    p.add_argument("--model", default=None, help="neural: model name or checkpoint path")
    p.add_argument("--bin-fields", type=int, default=None, help="float32 values per .bin record")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _mesh_faces(path: Path):
    """Faces of a mesh file (``.off``, or ``.ply`` with a non-empty face element), else None."""
    from pcc.io.mesh import read_mesh
    from pcc.io.pointcloud import read_ply_elements

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


def run(args) -> int:
    start = time.perf_counter()
    coords, transform, file_points = load_voxels(args.input, args.bits, args.bin_fields)
    info: dict = {"input": str(args.input), "output": str(args.out), "codec": args.codec}
    codec_start = time.perf_counter()
    if not (np.isfinite(args.quant_step) and args.quant_step > 0):
        raise FormatError(args.input, f"--quant-step must be positive, got {args.quant_step}")
    extra = {"transform": transform, "source": Path(args.input).name}
    if args.codec == "octree":
        from pcc.pointcloud.octree_codec import encode_octree

        encoded = encode_octree(coords, quant_step=args.quant_step, header_extra=extra)
        data = encoded.data
        info.update(
            quant_step=args.quant_step,
            coded_voxels=encoded.n_voxels,
            depth=encoded.depth,
            estimated_bits=round(encoded.estimated_bits, 1),
            real_stream_bits=encoded.stream_bits,
        )
    else:
        try:
            from pcc.codec.pipeline import compress_point_cloud
        except ImportError as err:
            raise FormatError(
                args.input, f"the neural codec is not available (pcc.codec.pipeline: {err})"
            ) from None
        if args.model is None:
            raise FormatError(args.input, "--codec neural needs --model NAME_OR_CHECKPOINT")
        if args.quant_step < 1:
            raise FormatError(
                args.input, f"neural --quant-step must be >= 1, got {args.quant_step}"
            )
        data = compress_point_cloud(
            coords, args.model, quant_step=args.quant_step, header_extra=extra
        )
        info.update(model=args.model, quant_step=args.quant_step)
    encode_seconds = time.perf_counter() - codec_start
    write_bytes_atomic(args.out, data)
    seconds = time.perf_counter() - start
    n = int(len(coords))
    info.update(
        file_points=file_points,
        input_points=n,
        bytes=len(data),
        bpp=8 * len(data) / max(n, 1),
        encode_seconds=round(encode_seconds, 3),
        total_seconds=round(seconds, 3),
        transform=transform,
    )
    if args.json:
        print(json.dumps(info))
    else:
        print("\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0
