"""``pcc gs decompress``: decode a c3dgs ``.npz`` or ``.pcc3dgs`` file to a scene viewers open.

The output format follows the suffix of ``--out``: ``.ply`` (INRIA 3DGS PLY: the dense,
de-indexed Gaussians with log-scales, opacity logits and normalised quaternions, as c3dgs's
``npz2ply.py`` writes them), ``.compressed.ply`` (PlayCanvas/SuperSplat), ``.spz`` (Niantic) or
``.splat`` (antimatter15); see :mod:`pcc.io.splat_formats`.

Examples::

    pcc gs decompress output/c3dgs/point_cloud.pcc3dgs --out output/c3dgs/decoded.ply
    pcc gs decompress output/c3dgs/point_cloud.pcc3dgs --out output/c3dgs/scene.spz

Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "decompress",
        help="decode a c3dgs .npz / .pcc3dgs to .ply, .compressed.ply, .spz or .splat",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("file", help="compressed file (.npz or .pcc3dgs)")
    p.add_argument(
        "--out",
        required=True,
        help="output path; its suffix picks the format (.ply, .compressed.ply, .spz, .splat)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=main)


def main(args) -> int:
    from pcc.c3dgs.pipeline import load_compressed
    from pcc.errors import FormatError
    from pcc.io.splat_formats import format_for_output, save_splat_any

    try:
        fmt = format_for_output(args.out)
    except ValueError as err:
        raise FormatError(args.out, str(err)) from None
    q = load_compressed(args.file)
    model = q.to_gaussian_model()
    model = type(model)(
        means=model.means,
        log_scales=model.log_scales,
        quats=model.rotations,
        opacity_logits=model.opacity_logits,
        sh=model.sh,
    )
    save_splat_any(model, args.out, fmt=fmt)
    summary = {
        "input": str(args.file),
        "output": str(args.out),
        "format": fmt,
        "n_gaussians": len(model),
    }
    print(json.dumps(summary) if args.json else f"{args.out}: {fmt}, {len(model)} Gaussians")
    return 0
