"""``pcc gs eval``: PSNR/SSIM of a 3DGS model (model dir, .ply, c3dgs .npz or .pcc3dgs).

Targets: the test split of ``--data`` (a NeRF-synthetic or COLMAP dataset), or renders of a
``--reference`` model from orbit cameras around it (e.g. the uncompressed scene).

Example::

    pcc gs eval output/c3dgs/point_cloud.npz --reference input_models/still_life/model --json

Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from pcc.errors import FormatError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="PSNR/SSIM of a model against a dataset's test views or a reference model",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("input", help="model dir, .ply, c3dgs .npz or .pcc3dgs")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="dataset folder; its test split gives cameras and targets")
    src.add_argument("--reference", help="reference model; orbit views of it are the targets")
    p.add_argument("--split", default="test", help="dataset split (default: test)")
    p.add_argument("--views", type=int, default=8, help="orbit views with --reference (8)")
    p.add_argument("--width", type=int, default=200, help="image width (orbit / max dataset)")
    p.add_argument("--white-background", action="store_true", help="white instead of black")
    p.add_argument("--per-view", action="store_true", help="also report PSNR/SSIM of every view")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=main)


def main(args) -> int:
    from pcc.c3dgs.pipeline import load_any_model, with_rendered_targets
    from pcc.gaussians.quality import evaluate_views
    from pcc.io.cameras import orbit_cameras_for_points
    from pcc.io.scene_views import camera_source, load_views

    bg = (1.0, 1.0, 1.0) if args.white_background else (0.0, 0.0, 0.0)
    model = load_any_model(args.input)
    if args.data:
        views = camera_source(args.input, args.data)  # the dataset given
        cams = load_views(views, args.split, background=bg, max_width=args.width)
        source = f"dataset:{args.split}"
    else:
        ref = load_any_model(args.reference)
        if len(ref) == 0:
            raise FormatError(args.reference, "reference model has no Gaussians")
        h = max(1, round(args.width * 3 / 4))
        cams = orbit_cameras_for_points(ref.means.detach().numpy(), args.views, args.width, h)
        cams = with_rendered_targets(ref, cams, bg)
        source = "reference-renders"
    if not cams:
        raise FormatError(Path(args.data or args.reference), "no cameras to evaluate on")
    cams = [replace(c, alpha=None) for c in cams]
    views = evaluate_views(model, cams, bg, keep_images=False, progress=False)
    res = {"psnr": views.psnr_mean, "ssim": views.ssim_mean, "n_views": len(views.names)}
    out = {"input": str(args.input), "targets": source, "n_gaussians": len(model), **res}
    if args.per_view:
        out["views"] = [
            {"name": n, "psnr": float(p), "ssim": float(s)}
            for n, p, s in zip(views.names, views.psnr, views.ssim, strict=True)
        ]
    if args.json:
        print(json.dumps(out))
    else:
        for v in out.get("views", []):
            print(f"  {v['name']}: PSNR {v['psnr']:.2f} dB, SSIM {v['ssim']:.4f}")
        print(
            f"{args.input}: PSNR {res['psnr']:.2f} dB, SSIM {res['ssim']:.4f} ({res['n_views']} views)"
        )
    return 0
