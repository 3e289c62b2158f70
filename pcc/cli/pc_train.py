"""``pcc pc train CONFIG --out DIR``: train a learned block codec (see :mod:`pcc.codec.train`).

Under ``torchrun --nproc_per_node N -m pcc.codec.train ...`` the same code runs with DDP.
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a learned block codec from a YAML config",
        description="Train a learned point-cloud block codec (GEOv2/DeepCompress) from a YAML "
        "config with data/model/training sections; resumable with --resume.",
    )
    from pcc.codec.train import add_arguments

    add_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pcc.codec.train import run_from_args
    from pcc.io.atomic import refuse_same_file

    # --out is a folder of checkpoints: it must not be the config file (or a link to it)
    refuse_same_file(args.config, args.out, "--out")
    return run_from_args(args)
