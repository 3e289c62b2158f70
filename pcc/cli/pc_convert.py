"""``pcc pc convert IN OUT``: convert between point-cloud formats (.ply .pcd .bin .xyz; .off in).

The output format follows OUT's extension. Meshes keep their vertices only.
"""

from __future__ import annotations

import json

from pcc.io.atomic import refuse_same_file
from pcc.io.pointcloud import read_point_cloud, write_point_cloud


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "convert", help="convert a point cloud to another format", description=__doc__
    )
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--ascii", action="store_true", help="text PLY/PCD instead of binary")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64", "int32"])
    p.add_argument("--bin-fields", type=int, default=None, help="float32 values per .bin record")
    p.add_argument("--drop-nan", action="store_true", help="drop NaN points instead of failing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    refuse_same_file(args.input, args.output, "output")
    pc = read_point_cloud(
        args.input, drop_nan=True if args.drop_nan else None, bin_fields=args.bin_fields
    )
    write_point_cloud(args.output, pc, ascii=args.ascii, dtype=args.dtype)
    info = {
        "input": args.input,
        "output": args.output,
        "points": len(pc),
        "colors": pc.colors is not None,
        "normals": pc.normals is not None,
        **pc.notes,
    }
    print(json.dumps(info) if args.json else "\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0
