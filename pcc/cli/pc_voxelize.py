"""``pcc pc voxelize IN OUT --bits 10``: voxelise a point cloud or a mesh into the ``2^bits`` cube.

Meshes (``.off``, ``.ply`` with faces) are surface-sampled first: ``--density`` samples per
voxel^2 of area in the output grid (default 30) or ``--points N``. The longest side of the
bounding box spans ``2^bits - 1`` voxels, the minimum corner goes to 0. OUT holds int32
coordinates (PLY/PCD/XYZ).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.ply import read_ply_elements
from pcc.io.pointcloud import PointCloud, read_point_cloud, write_point_cloud


def register(subparsers) -> None:
    p = subparsers.add_parser("voxelize", help="voxelise a cloud or mesh", description=__doc__)
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--bits", type=int, default=10, help="grid depth (default 10: 1024^3)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--density", type=float, default=None, help="mesh samples per voxel^2 (30)")
    g.add_argument("--points", type=int, default=None, help="number of mesh surface samples")
    p.add_argument("--seed", type=int, default=0, help="surface-sampling seed")
    p.add_argument("--bin-fields", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _is_mesh(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".off":
        return True
    if suffix == ".ply":
        face = read_ply_elements(path).get("face")
        return bool(face) and len(next(iter(face.values()))) > 0
    return False


def _voxelize_mesh(vertices, faces, args, info: dict) -> np.ndarray:
    """Surface-sample a mesh into the grid (longest side -> 2^bits - 1).  ``[M, 3]`` int32."""
    from pcc.pointcloud.canonical import mesh_to_voxels
    from pcc.pointcloud.sampling import sample_mesh_surface
    from pcc.pointcloud.voxelize import voxelize

    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    extent = float((hi - lo).max())
    scale = ((1 << args.bits) - 1) / extent if extent > 0 else 1.0
    if args.points is not None:
        samples = sample_mesh_surface(vertices, faces, args.points, seed=args.seed)
        coords, _ = voxelize(samples, args.bits, scale=scale, offset=lo, clip=True)
        info["samples"] = args.points
    else:
        density = 30.0 if args.density is None else args.density
        coords = mesh_to_voxels(
            vertices, faces, scale, -lo * scale, args.bits, samples_per_area=density, seed=args.seed
        )
        info["samples_per_voxel_area"] = density
    info.update(mesh_vertices=len(vertices), mesh_faces=len(faces), scale=scale, offset=lo.tolist())
    return coords


def run(args) -> int:
    from pcc.io.mesh import read_mesh
    from pcc.pointcloud.sampling import triangle_areas
    from pcc.pointcloud.voxelize import voxelize

    if not 1 <= args.bits <= 21:
        print("pcc: error: --bits must be in 1..21", file=sys.stderr)
        return 2
    path = Path(args.input)
    info: dict = {"input": str(path), "output": args.output, "bits": args.bits}
    mesh = read_mesh(path) if path.is_file() and _is_mesh(path) else None
    try:
        if mesh is not None and len(mesh[1]) and triangle_areas(*mesh).sum() > 0:
            coords = _voxelize_mesh(*mesh, args, info)
        else:  # a point cloud, or a mesh without any surface: its vertices
            pc = read_point_cloud(path, bin_fields=args.bin_fields)
            coords, transform = voxelize(pc.points, args.bits)
            info.update(input_points=len(pc), **transform.as_dict(), **pc.notes)
    except ValueError as err:
        raise FormatError(path, f"cannot voxelise: {err}") from err
    write_point_cloud(args.output, PointCloud(coords.astype(np.float64)), dtype="int32")
    info["voxels"] = int(len(coords))
    print(json.dumps(info) if args.json else "\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0
