"""``pcc gs decompress``: decode a c3dgs ``.npz`` or a ``.pcc3dgs`` file to an INRIA 3DGS ``.ply``.

The PLY holds the dense, de-indexed Gaussians (log-scales, opacity logits, normalised
quaternions), as c3dgs's ``npz2ply.py`` writes them.

Example::

    pcc gs decompress output/c3dgs/point_cloud.pcc3dgs --out output/c3dgs/decoded.ply

Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "decompress",
        help="decode a c3dgs .npz / .pcc3dgs to an INRIA .ply",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("file", help="compressed file (.npz or .pcc3dgs)")
    p.add_argument("--out", required=True, help="output .ply path")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=main)


def main(args) -> int:
    from pcc.c3dgs.pipeline import load_compressed
    from pcc.io.gaussian_ply import write_gaussian_ply

    q = load_compressed(args.file)
    model = q.to_gaussian_model()
    model = type(model)(
        means=model.means,
        log_scales=model.log_scales,
        quats=model.rotations,
        opacity_logits=model.opacity_logits,
        sh=model.sh,
    )
    write_gaussian_ply(args.out, model)
    summary = {"input": str(args.file), "output": str(args.out), "n_gaussians": len(model)}
    print(json.dumps(summary) if args.json else f"{args.out}: {len(model)} Gaussians")
    return 0
