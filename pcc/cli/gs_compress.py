"""``pcc gs compress``: compress a 3DGS scene with the c3dgs pipeline (CPU).

INPUT is an INRIA model directory or a 3DGS ``.ply``. Cameras: ``--data`` (a NeRF-synthetic or
COLMAP dataset; targets are its images), else the model directory's ``cameras.json``, else orbit
cameras around the scene; without a dataset the targets are renders of the uncompressed model.
Writes ``OUT_DIR/point_cloud.npz`` (c3dgs layout) or ``OUT_DIR/point_cloud.pcc3dgs`` (our
entropy-coded format) and ``OUT_DIR/metrics.json``.

Example::

    pcc gs compress input_models/still_life/model --data input_models/still_life/dataset \\
        --out output/c3dgs --preset default --format pcc --json

Taught in ``notebooks/03_c3dgs_compression.ipynb``.
"""

from __future__ import annotations

import json

import torch

from pcc.c3dgs.pipeline import FORMATS
from pcc.c3dgs.presets import PRESETS


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compress",
        help="compress a 3DGS model with c3dgs (sensitivity, pruning, VQ, fine-tuning, storage)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("input", help="INRIA model directory or a 3DGS .ply file")
    p.add_argument("--out", required=True, help="output folder (file + metrics.json)")
    p.add_argument("--data", help="dataset folder (NeRF-synthetic or COLMAP) with training images")
    p.add_argument("--preset", choices=sorted(PRESETS), default="default", help="(default)")
    p.add_argument("--format", choices=FORMATS, default="npz", help="npz (c3dgs) or pcc (ours)")
    bg = p.add_mutually_exclusive_group()
    bg.add_argument("--white-background", dest="white", action="store_true", default=None)
    bg.add_argument("--black-background", dest="white", action="store_false")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(func=main)


def main(args) -> int:
    from pcc.c3dgs.pipeline import run

    if args.threads:
        torch.set_num_threads(args.threads)
    metrics = run(
        args.input,
        args.out,
        data_dir=args.data,
        preset=args.preset,
        fmt=args.format,
        white_background=args.white,
        progress=not args.no_progress,
    )
    if args.json:
        print(json.dumps(metrics))
    else:
        psnr_after = metrics["psnr_after"]
        print(
            f"{metrics['output']}: {metrics['compressed_bytes']} bytes, ratio "
            f"{metrics['ratio']:.1f}x, {metrics['n_gaussians_before']} -> "
            f"{metrics['n_gaussians_after']} Gaussians, test PSNR {psnr_after:.2f} dB"
        )
    return 0
