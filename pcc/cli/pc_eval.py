"""``pcc pc eval A B --peak 1023 [--json]``: geometry distortion of B (decoded) against A (original).

Prints D1/D2 PSNR (MPEG pc_error definitions, symmetric), Chamfer, Hausdorff and, with
``--compressed FILE``, the rate in bits per input point from the file's real size.
See :mod:`pcc.metrics.pointcloud`.
"""

from __future__ import annotations

import json
import math

from pcc.io.pointcloud import read_point_cloud
from pcc.metrics.pointcloud import bits_per_point, evaluate_geometry


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="D1/D2 PSNR, Chamfer, Hausdorff between an original and a decoded cloud",
        description=__doc__,
    )
    p.add_argument("original", help="reference cloud A (.ply .pcd .bin .xyz .off)")
    p.add_argument("decoded", help="decoded cloud B")
    p.add_argument("--peak", type=float, required=True, help="PSNR peak p, e.g. 1023 for 10 bits")
    p.add_argument("--k", type=int, default=12, help="neighbours for PCA normals (default 12)")
    p.add_argument(
        "--normals",
        default=None,
        help="a cloud with the normals of A (e.g. MPEG *_n.ply), same points as A",
    )
    p.add_argument("--compressed", default=None, help="bitstream file: report bits per input point")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from pcc.errors import FormatError

    a = read_point_cloud(args.original)
    b = read_point_cloud(args.decoded)
    normals_a = None
    if args.normals:
        n = read_point_cloud(args.normals)
        if n.normals is None or len(n) != len(a):
            raise FormatError(args.normals, f"need {len(a)} points with nx ny nz normals")
        normals_a = n.normals
    result = evaluate_geometry(a, b, args.peak, normals_a=normals_a, k=args.k)
    if args.compressed:
        size = Path(args.compressed).stat().st_size
        result["compressed_bytes"] = int(size)
        result["bpp"] = bits_per_point(size, len(a))
    for key, cloud in (("notes_original", a), ("notes_decoded", b)):
        if cloud.notes:
            result[key] = cloud.notes
    if args.json:
        # Strict JSON has no infinity: identical clouds (PSNR = inf) are reported as null.
        strict = {
            k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in result.items()
        }
        print(json.dumps(strict, allow_nan=False))
    else:
        print(f"A: {args.original} ({result['n_a']} points)")
        print(f"B: {args.decoded} ({result['n_b']} points)")
        print(f"peak {result['peak']:g}; normals: {result['normals_source']}")
        print(f"D1 PSNR {result['d1_psnr']:.4f} dB (mse {result['d1_mse']:.6g})")
        print(f"D2 PSNR {result['d2_psnr']:.4f} dB (mse {result['d2_mse']:.6g})")
        print(f"Chamfer {result['chamfer']:.6g} (sum of mean squared NN distances)")
        print(f"Hausdorff {result['hausdorff']:.6g}")
        if "bpp" in result:
            print(f"rate {result['bpp']:.4f} bits per input point ({result['compressed_bytes']} B)")
    return 0
