"""``pcc pc decompress FILE --out OUT.ply``: decode a pcc point-cloud container.

The decoder is chosen by the container's codec id (``octree``, ``occupancy``, ``lidar``, or else the learned
codec's id, handed to ``pcc.codec.pipeline.decompress_point_cloud``; see ``DECODERS``). OUT holds the decoded voxel coordinates as
int32; with ``--original-frame`` it holds float coordinates in the input's original frame
(de-quantised, then ``voxel / scale + offset`` with the transform stored by ``pcc pc compress``).
The learned codec finds its model by the name stored in the file (a bundled model); ``--model``
gives a checkpoint path instead.
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from pcc.errors import BitstreamError, FormatError
from pcc.io.atomic import refuse_same_file


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "decompress", help="decode a compressed point cloud", description=__doc__
    )
    p.add_argument("file", help="container written by `pcc pc compress`")
    p.add_argument("--out", required=True, help="output point cloud (.ply .pcd .xyz .bin)")
    p.add_argument(
        "--original-frame",
        action="store_true",
        help="write float coordinates in the original frame instead of voxels",
    )
    p.add_argument(
        "--model",
        default=None,
        help="neural/occupancy: checkpoint path or bundled name (default: the model named in the file)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _to_original(points: np.ndarray, header: dict, path) -> np.ndarray:
    """Voxel-grid positions ``[M, 3]`` -> original frame via the header's transform."""
    transform = header.get("transform")
    if transform is None:
        raise BitstreamError(path, "container has no transform to the original frame")
    try:
        scale = float(transform["scale"])
        offset = np.asarray(transform["offset"], dtype=np.float64).reshape(3)
    except (KeyError, TypeError, ValueError) as err:
        raise BitstreamError(path, f"container transform is malformed ({err})") from None
    if not (np.isfinite(scale) and scale > 0 and np.all(np.isfinite(offset))):
        raise BitstreamError(path, f"container transform is invalid: {transform!r}")
    return points / scale + offset


def _decode_octree(data, path, args, codec):
    from pcc.pointcloud.octree_codec import decode_octree

    decoded = decode_octree(data, path)
    return decoded.coords, decoded.coords_float


def _decode_lidar(data, path, args, codec):
    from pcc.pointcloud.lidar_codec import decode_lidar

    coords = decode_lidar(data, path)
    return coords, coords.astype(np.float64)


def _decode_occupancy(data, path, args, codec):
    from pcc.pointcloud.occupancy_codec import decode_occupancy

    coords = decode_occupancy(data, path, model=args.model)
    return coords, coords.astype(np.float64)


def _decode_neural(data, path, args, codec):
    try:
        from pcc.codec.pipeline import decompress_point_cloud
    except ImportError as err:
        raise FormatError(
            path, f"codec {codec!r} needs the neural codec (pcc.codec.pipeline: {err})"
        ) from None
    voxels = np.asarray(decompress_point_cloud(data, args.model, path=path))
    return voxels, voxels.astype(np.float64)


# codec id -> decoder(data, path, args, codec) -> (voxels [M, 3] int, exact positions [M, 3] float);
# any other id goes to the learned codec
DECODERS = {
    "octree": _decode_octree,
    "occupancy": _decode_occupancy,
    "lidar": _decode_lidar,
}


def run(args) -> int:
    from pcc.io.pointcloud import PointCloud, write_point_cloud
    from pcc.pointcloud import container

    path = Path(args.file)
    refuse_same_file(path, args.out)
    if not path.is_file():
        raise FormatError(path, "file not found")
    data = path.read_bytes()
    start = time.perf_counter()
    codec, header, _ = container.unpack(data, path)
    voxels, exact = DECODERS.get(codec, _decode_neural)(data, path, args, codec)
    seconds = time.perf_counter() - start
    if args.original_frame:
        write_point_cloud(args.out, PointCloud(_to_original(exact, header, path)), dtype="float32")
    else:
        write_point_cloud(args.out, PointCloud(voxels.astype(np.float64)), dtype="int32")
    info = {
        "input": str(path),
        "output": str(args.out),
        "codec": codec,
        "points": int(len(voxels)),
        "bytes": len(data),
        "decode_seconds": round(seconds, 3),
        "original_frame": bool(args.original_frame),
    }
    if args.json:
        print(json.dumps(info))
    else:
        print("\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0
