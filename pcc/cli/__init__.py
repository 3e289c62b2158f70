"""The ``pcc`` command line: ``pcc gs ...`` (3D Gaussian Splatting) and ``pcc pc ...`` (point clouds).

Each sub-command lives in its own module of this package named ``gs_<name>.py`` or ``pc_<name>.py``
and defines ``register(subparsers)`` which adds its parser and sets ``func`` (a callable taking the
parsed ``argparse.Namespace`` and returning an exit code). Modules are discovered automatically,
so adding a command never means editing a shared list.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from pcc.errors import PccError

GROUPS = {
    "gs": "3D Gaussian Splatting: render, train, compress, decompress, evaluate",
    "pc": "point clouds: convert, voxelise, compress, decompress, evaluate",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pcc", description="Point-cloud and 3DGS compression toolkit."
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="{gs,pc}")
    sub = {}
    for name, help_text in GROUPS.items():
        group = groups.add_parser(name, help=help_text, description=help_text)
        sub[name] = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        prefix = info.name.split("_", 1)[0]
        if prefix in sub:
            module = importlib.import_module(f"{__name__}.{info.name}")
            module.register(sub[prefix])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PccError as err:
        print(f"pcc: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
