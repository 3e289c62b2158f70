"""``pcc pc blocks IN --block-bits 5 [--top N] --out DIR``: cut a voxelised cloud into blocks.

Writes one file per non-empty ``2^block_bits`` block (local int32 coordinates, ``.ply`` or
``.npy``) in Morton order of the block origins, or the ``--top N`` largest, plus ``blocks.json``
listing every file's origin and point count.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.atomic import atomic_path, write_text_atomic
from pcc.io.pointcloud import PointCloud, read_point_cloud, write_point_cloud


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "blocks", help="partition a voxel cloud into blocks", description=__doc__
    )
    p.add_argument("input", help="a voxelised cloud (non-negative integer coordinates)")
    p.add_argument("--block-bits", type=int, default=5, help="block edge 2^bits (default 5: 32)")
    p.add_argument("--top", type=int, default=None, help="keep the N largest blocks")
    p.add_argument("--min-points", type=int, default=1, help="skip blocks with fewer points")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", choices=["ply", "npy"], default="ply")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from pcc.pointcloud.blocks import partition_blocks, select_largest

    pc = read_point_cloud(args.input)
    pts = pc.points
    if (pts != np.round(pts)).any() or pts.min() < 0:
        raise FormatError(
            args.input, "coordinates are not non-negative integers; run `pcc pc voxelize` first"
        )
    blocks = partition_blocks(pts.astype(np.int64), args.block_bits)
    blocks = [b for b in blocks if len(b) >= args.min_points]
    if args.top is not None:
        blocks = select_largest(blocks, args.top)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for i, block in enumerate(blocks):
        name = f"block_{i:05d}.{args.format}"
        if args.format == "ply":
            write_point_cloud(
                out / name, PointCloud(block.coords.astype(np.float64)), dtype="int32"
            )
        else:
            with atomic_path(out / name) as tmp, open(tmp, "wb") as fh:
                np.save(fh, block.coords, allow_pickle=False)
        index.append({"file": name, "origin": block.origin.tolist(), "points": len(block)})
    summary = {
        "input": args.input,
        "block_size": 1 << args.block_bits,
        "blocks": len(blocks),
        "points": int(sum(len(b) for b in blocks)),
        "out": str(out),
    }
    write_text_atomic(out / "blocks.json", json.dumps({**summary, "index": index}, indent=1))
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0
