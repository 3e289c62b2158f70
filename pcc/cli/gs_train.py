"""``pcc gs train``: train a 3DGS model on a NeRF-synthetic or COLMAP dataset (CPU).

Writes the INRIA model directory (``MODEL_DIR/point_cloud/iteration_N/point_cloud.ply``,
``cameras.json``, ``cfg_args``) plus ``training_log.json`` and, with ``--checkpoint-every``,
``checkpoints/chkpnt<N>.pth`` that ``--resume`` continues from.

Example::

    pcc gs train output/still_life_data --out output/still_life_model --iterations 3000

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import json

import torch


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train 3D Gaussians on a dataset (NeRF-synthetic or COLMAP)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("data_dir", help="dataset folder (transforms_*.json or sparse/0)")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--iterations", type=int, default=3000, help="training steps (3000)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--resolution", type=int, help="train at this image width in pixels")
    size.add_argument("--scale", type=float, help="image scale factor (e.g. 0.25)")
    p.add_argument("--train-split", default="train", help="NeRF split for training (train)")
    p.add_argument(
        "--test-split",
        default="test",
        help="NeRF split for testing (test); if it has no transforms file, --holdout applies",
    )
    p.add_argument(
        "--holdout",
        type=int,
        default=8,
        help="without a test split hold out every N-th training view (INRIA llffhold, 8)",
    )
    bg = p.add_mutually_exclusive_group()
    bg.add_argument("--white-background", dest="white", action="store_true", default=True)
    bg.add_argument("--black-background", dest="white", action="store_false")
    p.add_argument("--sh-degree", type=int, default=3, help="SH degree of the model (3)")
    p.add_argument("--init", choices=("auto", "points", "carve", "random"), default="auto")
    p.add_argument("--n-random-points", type=int, default=10_000)
    p.add_argument("--max-gaussians", type=int, default=None, help="cap reached by densification")
    p.add_argument("--densify-until", type=int, default=None, help="(default: half the run)")
    p.add_argument("--grad-threshold", type=float, default=0.0002)
    p.add_argument("--test-every", type=int, default=500, help="test PSNR period (500)")
    p.add_argument("--checkpoint-every", type=int, default=0, help="checkpoint period (0: none)")
    p.add_argument("--resume", help="checkpoint to continue from")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.set_defaults(func=main)


def main(args) -> int:
    from pcc.gaussians.train import TrainConfig, train_from_folder
    from pcc.io.atomic import refuse_same_file

    refuse_same_file(args.data_dir, args.out, "--out folder")
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(
        iterations=args.iterations,
        sh_degree=args.sh_degree,
        background=(1.0, 1.0, 1.0) if args.white else (0.0, 0.0, 0.0),
        seed=args.seed,
        init=args.init,
        n_random_points=args.n_random_points,
        max_gaussians=args.max_gaussians,
        densify_until=args.densify_until,
        grad_threshold=args.grad_threshold,
        test_every=args.test_every,
        checkpoint_every=args.checkpoint_every,
    )
    result = train_from_folder(
        args.data_dir,
        args.out,
        None if args.resume else config,  # a resumed run keeps the checkpoint's settings
        resolution=args.resolution,
        scale=args.scale,
        train_split=args.train_split,
        test_split=args.test_split,
        holdout=args.holdout,
        resume=args.resume,
        progress=not args.no_progress,
    )
    summary = {
        "model_dir": str(args.out),
        "iteration": result.iteration,
        "n_gaussians": len(result.model),
        "test_psnr": result.test_psnr,
        "train_psnr": result.train_psnr,
        "seconds": round(result.seconds, 1),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['n_gaussians']} Gaussians after {summary['iteration']} steps; test PSNR "
            f"{summary['test_psnr']}, train PSNR {summary['train_psnr']} ({summary['seconds']} s)"
        )
    return 0
