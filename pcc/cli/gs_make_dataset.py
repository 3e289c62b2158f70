"""``pcc gs make-dataset``: ray-trace the analytic still-life scene into a NeRF-synthetic folder.

Writes ``OUT_DIR/transforms_{train,test}.json``, RGBA PNGs under ``train/`` and ``test/``, a
``points3d.ply`` of sparse surface points (the initialisation the trainer picks up) and
``pcc_dataset.json``. Deterministic: the same arguments give the same bytes.

Example::

    pcc gs make-dataset output/still_life_data --n-train 48 --n-test 12 --size 160 --seed 0

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "make-dataset",
        help="ray-trace the synthetic still-life scene into a NeRF-synthetic dataset",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("out_dir", help="output folder (created)")
    p.add_argument("--n-train", type=int, default=48, help="training views (default 48)")
    p.add_argument("--n-test", type=int, default=12, help="test views (default 12)")
    p.add_argument("--size", type=int, default=160, help="image width = height in px (160)")
    p.add_argument("--seed", type=int, default=0, help="camera jitter / point sampling seed")
    p.add_argument("--supersample", type=int, default=2, help="s x s rays per pixel (2)")
    p.add_argument("--n-points", type=int, default=10_000, help="points in points3d.ply (0: none)")
    p.add_argument(
        "--no-alpha",
        action="store_true",
        help="write RGB PNGs composited on --background instead of RGBA",
    )
    p.add_argument(
        "--background", type=float, nargs=3, default=(1.0, 1.0, 1.0), metavar=("R", "G", "B")
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=main)


def main(args) -> int:
    from pcc.data.synthetic import make_dataset

    if args.n_train < 1 or args.n_test < 0 or args.size < 8 or args.supersample < 1:
        raise SystemExit("pcc gs make-dataset: need --n-train >= 1, --n-test >= 0, --size >= 8")
    summary = make_dataset(
        args.out_dir,
        n_train=args.n_train,
        n_test=args.n_test,
        size=args.size,
        seed=args.seed,
        supersample=args.supersample,
        n_points=args.n_points,
        alpha=not args.no_alpha,
        background=tuple(args.background),
        progress=not args.no_progress,
    )
    summary["out_dir"] = str(args.out_dir)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {args.n_train} + {args.n_test} views of {args.size}px to {args.out_dir}")
    return 0
