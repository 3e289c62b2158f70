"""Training of the block codec: YAML config, focal + lambda * rate loss, validation, resumable
checkpoints, optional mixed precision, one process or several with torch DDP.

Run one process::

    pcc pc train configs/codec/hyperprior.yaml --out output/codec/hp

or several (gloo on CPU, nccl on GPUs)::

    torchrun --nproc_per_node 2 -m pcc.codec.train configs/codec/hyperprior.yaml --out DIR

This module is the entry point (the command line above) and the public face of the trainer; the
work is split by job:

* :mod:`pcc.codec.train_config`: ``DEFAULT_CONFIG``, the YAML file and ``KEY=VALUE`` overrides;
* :mod:`pcc.codec.train_data`: occupancy blocks (procedural or npz) and the batch order;
* :mod:`pcc.codec.train_setup`: device, torch.distributed from torchrun, autocast;
* :mod:`pcc.codec.train_loop`: the loss, the loop, validation, checkpoints, schedules.

Every name used from ``pcc.codec.train`` before the split is still importable from here.

Taught in ``notebooks/13_training.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import os

import torch.distributed as dist

from pcc.codec.train_config import DEFAULT_CONFIG, load_config, parse_override
from pcc.codec.train_data import batch_indices, load_blocks, procedural_blocks
from pcc.codec.train_loop import _lmbda_at, lr_at, split_parameters, train, validate

__all__ = [
    "DEFAULT_CONFIG",
    "load_config",
    "parse_override",
    "procedural_blocks",
    "load_blocks",
    "batch_indices",
    "train",
    "validate",
    "split_parameters",
    "lr_at",
    "_lmbda_at",
    "main",
    "add_arguments",
    "run_from_args",
]


def main(argv: list[str] | None = None) -> int:
    """``python -m pcc.codec.train CONFIG --out DIR [--resume] [--set KEY=VALUE ...]`` (torchrun)."""
    parser = argparse.ArgumentParser(description="Train a pcc block codec")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_from_args(args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML config with data/model/training sections")
    parser.add_argument("--out", required=True, help="output folder (checkpoints, log)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value"
    )
    parser.add_argument("--json", action="store_true", help="print the final metrics as JSON")


def run_from_args(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.set)
    metrics = train(config, args.out, resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(metrics) if args.json else f"done: {metrics}")
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
