"""``pcc pc models [--json]``: list the bundled learned-codec checkpoints (``input_models/codec``)."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list the bundled learned-codec models",
        description="List the bundled block-codec checkpoints: name, entropy model, lambda, block "
        "size, parameter count and file. Any NAME works as --model NAME of pcc pc compress.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pcc.codec.registry import list_models, models_dir

    models = list_models()
    if args.json:
        print(json.dumps({"folder": str(models_dir()), "models": [m.as_dict() for m in models]}))
        return 0
    if not models:
        print(f"no bundled models in {models_dir()}")
        return 0
    header = f"{'name':<22} {'entropy':<11} {'lambda':>8} {'block':>5} {'params':>8}  file"
    print(header)
    for m in models:
        print(
            f"{m.name:<22} {m.entropy_model:<11} {m.lmbda:>8.3g} {m.block_size:>5} "
            f"{m.parameters:>8}  {m.file}"
        )
    return 0
