"""``pcc gs render``: render a 3DGS model to PNG files, with PSNR/SSIM when ground truth exists.

The model is an INRIA model directory or ``.ply``, a PlayCanvas ``.compressed.ply``, an SPZ, a
``.splat``, or a c3dgs ``.npz`` / ``.pcc3dgs`` (:func:`pcc.c3dgs.pipeline.load_any_model`).

Cameras come from, in this order: ``--orbit N`` (orbit cameras framing the Gaussians), ``--data``
(a NeRF-synthetic or COLMAP dataset: cameras *with* images, so PSNR/SSIM are reported), the model
directory's ``cameras.json`` (cameras without images), or 8 orbit cameras by default.

Example::

    pcc gs render output/model --data data/lego --split test --out output/renders --json

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

import torch

from pcc.errors import FormatError

DEFAULT_ORBIT = 8


def _parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m or int(m.group(1)) <= 0 or int(m.group(2)) <= 0:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 320x240, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _parse_rgb(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"background must be r,g,b in [0, 1], got {text!r}")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _parse_vector(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not any(values):
        raise argparse.ArgumentTypeError(f"expected a non-zero vector x,y,z, got {text!r}")
    return values


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "render",
        help="render a 3DGS model (model dir, .ply, .compressed.ply, .spz, .splat, .npz, "
        ".pcc3dgs) to PNGs; PSNR/SSIM against a dataset",
        description=(
            "Render a 3DGS model (INRIA model directory or .ply, .compressed.ply, .spz, .splat, "
            "c3dgs .npz or .pcc3dgs) to PNG files. Cameras come from "
            "--orbit N, else --data (a NeRF-synthetic or COLMAP dataset, whose images give "
            "PSNR/SSIM), else the model directory's cameras.json, else 8 orbit cameras."
        ),
    )
    p.add_argument(
        "input",
        help="INRIA model directory, .ply, .compressed.ply, .spz, .splat, .npz or .pcc3dgs",
    )
    p.add_argument("--data", help="dataset folder (NeRF-synthetic or COLMAP) giving cameras + GT")
    p.add_argument("--split", default="test", help="dataset split (default: test)")
    p.add_argument(
        "--orbit", type=_positive_int, metavar="N", help="render N orbit cameras instead"
    )
    p.add_argument(
        "--size", type=_parse_size, default=(320, 240), help="orbit image size WxH (320x240)"
    )
    p.add_argument(
        "--scale", type=_positive_float, default=1.0, help="resolution factor for dataset cameras"
    )
    p.add_argument("--max-images", type=_positive_int, help="render at most this many cameras")
    p.add_argument(
        "--fov", type=_positive_float, default=50.0, help="orbit horizontal field of view (deg)"
    )
    p.add_argument("--elevation", type=float, default=20.0, help="orbit elevation (deg)")
    p.add_argument(
        "--up",
        type=_parse_vector,
        default=(0.0, 0.0, 1.0),
        help="world up direction x,y,z for orbit cameras (default 0,0,1; COLMAP scenes often 0,-1,0)",
    )
    p.add_argument("--out", required=True, help="output folder for the PNGs")
    p.add_argument(
        "--background",
        type=_parse_rgb,
        help="r,g,b in [0, 1] (default: white if the model's cfg_args says "
        "white_background, else black)",
    )
    p.add_argument("--sh-degree", type=int, help="SH degree to evaluate (default: the model's)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).stem) or "view"


def run(args: argparse.Namespace) -> int:
    from pcc.c3dgs.pipeline import load_any_model
    from pcc.gaussians.render import render
    from pcc.io.atomic import SameFileError, refuse_same_file
    from pcc.io.cameras import orbit_cameras_for_points
    from pcc.io.nerf import save_png
    from pcc.io.scene_views import (
        CameraSource,
        background_from_cfg_args,
        camera_source,
        load_views,
    )
    from pcc.metrics.image import psnr, ssim

    input_path = Path(args.input)
    refuse_same_file(input_path, args.out)
    if args.data is not None and Path(args.out).resolve().is_relative_to(Path(args.data).resolve()):
        raise SameFileError(
            f"--out {args.out!r} is inside --data {args.data!r}: rendered images could overwrite "
            "the ground truth; choose another output folder"
        )
    model = load_any_model(input_path)
    sh_degree = model.sh_degree if args.sh_degree is None else args.sh_degree
    if not 0 <= sh_degree <= model.sh_degree:
        raise FormatError(
            input_path, f"--sh-degree {sh_degree} not in 0..{model.sh_degree} (the model's degree)"
        )
    background = args.background or background_from_cfg_args(input_path)

    source = camera_source(input_path, args.data, use_cfg_args=False)
    if args.orbit is not None or source.kind == "orbit":
        source = CameraSource("orbit")
        width, height = args.size
        cameras = orbit_cameras_for_points(
            model.means.detach().cpu().double().numpy(),
            args.orbit or DEFAULT_ORBIT,
            width,
            height,
            fov_x_deg=args.fov,
            elevation_deg=args.elevation,
            up=args.up,
        )
    else:  # a dataset's split, or every view of the model directory's cameras.json
        split = args.split if source.kind == "dataset" else "all"
        cameras = load_views(
            source, split, background=background, scale=args.scale, max_images=args.max_images
        )
    if args.max_images is not None:
        cameras = cameras[: args.max_images]

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    psnrs, ssims, seconds, written = [], [], [], []
    with torch.no_grad():
        for i, cam in enumerate(cameras):
            start = time.perf_counter()
            result = render(model, cam, background=background, sh_degree=sh_degree)
            seconds.append(time.perf_counter() - start)
            image = result.image.clamp(0.0, 1.0)  # [H, W, 3]
            path = out_dir / f"{i:03d}_{_safe_name(cam.name or f'view{i}')}.png"
            save_png(path, image)
            written.append(str(path))
            if cam.image is not None:
                gt = cam.image.to(image.dtype)
                psnrs.append(float(psnr(image, gt)))
                ssims.append(float(ssim(image, gt)))
            if not args.json:
                line = f"{path}  {seconds[-1]:.2f} s"
                if cam.image is not None:
                    line += f"  PSNR {psnrs[-1]:.2f} dB  SSIM {ssims[-1]:.4f}"
                print(line)

    report = {
        "input": str(input_path),
        "cameras": source.kind,
        "n_gaussians": len(model),
        "sh_degree": sh_degree,
        "n_images": len(cameras),
        "seconds_per_frame": sum(seconds) / max(1, len(seconds)),
        "out": str(out_dir),
    }
    if psnrs:
        mean_psnr = sum(psnrs) / len(psnrs)
        # JSON has no infinity: identical images (PSNR = inf) are reported as null.
        report["psnr"] = mean_psnr if math.isfinite(mean_psnr) else None
        report["ssim"] = sum(ssims) / len(ssims)
    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
    else:
        summary = f"rendered {len(cameras)} views of {len(model)} Gaussians to {out_dir}"
        if psnrs:
            summary += f"; mean PSNR {mean_psnr:.2f} dB, SSIM {report['ssim']:.4f}"
        print(summary)
    return 0
