"""``pcc gs train``: train a 3DGS model on a NeRF-synthetic or COLMAP dataset (CPU).

Writes the INRIA model directory (``MODEL_DIR/point_cloud/iteration_N/point_cloud.ply``,
``cameras.json``, ``cfg_args``) plus ``training_log.json`` and, with ``--checkpoint-every``,
``checkpoints/chkpnt<N>.pth`` that ``--resume`` continues from.

Two ways to say how long to train:

* ``--minutes M`` (the default, 15 minutes, when ``--iterations`` is not given): a wall-time
  budget for the whole command (loading, training, final evaluation); the schedule (learning-rate
  decay, densification, opacity resets, SH degree, resolution stages) runs on the fraction of the
  budget used, and ``--iterations`` only sets its nominal length. Such runs also default to the
  settings measured best for real captures on a CPU: coarse-to-fine (``--upscale-at``), a cap on
  the number of Gaussians (``--max-gaussians``). Results depend on the machine's speed.
* ``--iterations N`` alone: exactly N steps, INRIA's schedule scaled to N, no resolution schedule
  and no cap unless given; deterministic for a machine and thread count (the bundled scene's
  recipe, ``input_models/README.md``).

Images wider than ``--max-width`` (default 400 px) are down-scaled to it unless ``--resolution``
or ``--scale`` is given. Real captures without alpha masks also get background points on a
sphere around the scene (``--shell-points``).

Example::

    pcc gs train ../shared/data/image_sets/mouse_phone_pinhole --out output/mouse  # 15 min
    pcc gs train output/still_life_data --out output/still_life_model --iterations 3000

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

DEFAULT_MINUTES = 15.0
DEFAULT_NOMINAL_STEPS = 3000  # schedule length of a time-budgeted run
DEFAULT_MAX_WIDTH = 400
TIMED_UPSCALE_AT = (0.15, 0.35)  # coarse-to-fine stages of a time-budgeted run
# A time-budgeted run caps densification at 50k Gaussians: on a quiet 2-core machine a 15-minute
# run otherwise grows past 70k and the held-out views lose 1.4 dB (docs/training.md).
TIMED_MAX_GAUSSIANS = 50_000


def _fractions(text: str) -> tuple[float, ...]:
    """``--upscale-at`` value: increasing fractions in (0, 1), or none."""
    if text.strip().lower() in ("", "none", "off"):
        return ()
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        values = ()
    if not values or any(not 0 < v < 1 for v in values) or list(values) != sorted(values):
        raise argparse.ArgumentTypeError(
            f"expected increasing fractions in (0, 1) like 0.15,0.35 (or none), got {text!r}"
        )
    return values


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train 3D Gaussians on a dataset (NeRF-synthetic or COLMAP)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("data_dir", help="dataset folder (transforms_*.json or sparse/0)")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument(
        "--iterations",
        type=int,
        default=None,
        help="exact number of steps; with --minutes the schedule's nominal length "
        f"(default: a {DEFAULT_MINUTES:g}-minute budget, nominal {DEFAULT_NOMINAL_STEPS})",
    )
    p.add_argument(
        "--minutes",
        type=float,
        default=None,
        help=f"wall-time budget of the whole run ({DEFAULT_MINUTES:g} without --iterations)",
    )
    p.add_argument(
        "--budget-clock",
        choices=("wall", "cpu"),
        default="wall",
        help="what --minutes counts: wall time (default) or this process's CPU time (with "
        "--threads 1, the time an idle core would need: for measurements on a busy machine)",
    )
    p.add_argument(
        "--upscale-at",
        type=_fractions,
        default=None,
        help="coarse to fine: progress fractions where the resolution doubles, e.g. 0.15,0.35 "
        f"(quarter, half, full size); 'none' = full size throughout (timed runs: "
        f"{','.join(str(x) for x in TIMED_UPSCALE_AT)}; fixed-step runs: none)",
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument("--resolution", type=int, help="train at this image width in pixels")
    size.add_argument("--scale", type=float, help="image scale factor (e.g. 0.25)")
    size.add_argument(
        "--max-width",
        type=int,
        default=DEFAULT_MAX_WIDTH,
        help=f"down-scale wider images to this width ({DEFAULT_MAX_WIDTH})",
    )
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
    p.add_argument(
        "--shell-points",
        type=int,
        default=None,
        help="background points on a sphere around the scene (default: --n-random-points "
        "for captures without alpha masks, 0 with masks)",
    )
    p.add_argument(
        "--max-gaussians",
        type=int,
        default=None,
        help=f"cap reached by densification (timed runs: {TIMED_MAX_GAUSSIANS}; "
        "fixed-step runs: none); 0 = no cap",
    )
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

    started = time.perf_counter()
    refuse_same_file(args.data_dir, args.out, "--out folder")
    if args.threads:
        torch.set_num_threads(args.threads)
    minutes = args.minutes
    if minutes is None and args.iterations is None:
        minutes = DEFAULT_MINUTES
    timed = minutes is not None
    if args.upscale_at is not None:
        upscale_at = args.upscale_at
    else:
        upscale_at = TIMED_UPSCALE_AT if timed else ()
    max_gaussians = args.max_gaussians
    if max_gaussians is None and timed:
        max_gaussians = TIMED_MAX_GAUSSIANS
    config = TrainConfig(
        iterations=args.iterations or DEFAULT_NOMINAL_STEPS,
        minutes=minutes,
        budget_clock=args.budget_clock,
        upscale_at=upscale_at,
        shell_points=args.shell_points,
        sh_degree=args.sh_degree,
        background=(1.0, 1.0, 1.0) if args.white else (0.0, 0.0, 0.0),
        seed=args.seed,
        init=args.init,
        n_random_points=args.n_random_points,
        max_gaussians=max_gaussians or None,
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
        max_width=None if args.resolution or args.scale else args.max_width,
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
        "cpu_seconds": round(result.cpu_seconds, 1),
        "command_seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['n_gaussians']} Gaussians after {summary['iteration']} steps; test PSNR "
            f"{summary['test_psnr']}, train PSNR {summary['train_psnr']} ({summary['seconds']} s)"
        )
    return 0
