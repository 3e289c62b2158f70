"""The ``pcc`` command line: ``pcc gs ...`` (3D Gaussian Splatting) and ``pcc pc ...`` (point clouds).

Each sub-command lives in its own module of this package named ``gs_<name>.py`` or ``pc_<name>.py``
and defines ``register(subparsers)`` which adds its parser and sets ``func`` (a callable taking the
parsed ``argparse.Namespace`` and returning an exit code). Modules are discovered automatically,
so adding a command never means editing a shared list.

Top-level commands from outside this package (``pcc sweep``, which draws plots and so lives in
``visualisation``: ``pcc`` never imports plotting code) are found through the entry-point group
:data:`ENTRY_POINT_GROUP`; each entry point names a ``register(subparsers)`` function::

    [project.entry-points."pcc.commands"]
    sweep = "visualisation.sweep:register"
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence

from pcc.errors import PccError

GROUPS = {
    "gs": "3D Gaussian Splatting: render, train, compress, decompress, evaluate",
    "pc": "point clouds: convert, voxelise, compress, decompress, evaluate",
}
ENTRY_POINT_GROUP = "pcc.commands"

Register = Callable[[argparse._SubParsersAction], None]


def entry_point_commands() -> list[tuple[str, Register]]:
    """``(name, register)`` of every installed ``pcc.commands`` entry point, sorted by name.

    An entry point that fails to load (e.g. its package lacks a dependency) is skipped with a
    warning on stderr, so one broken plug-in never takes the whole command line down.
    """
    from importlib.metadata import entry_points

    found = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            found.append((ep.name, ep.load()))
        except Exception as err:  # noqa: BLE001 - report and carry on
            print(
                f"pcc: warning: command {ep.name!r} ({ep.value}) not loaded: {err}", file=sys.stderr
            )
    return found


def build_parser(
    commands: Sequence[tuple[str, Register]] | None = None,
) -> argparse.ArgumentParser:
    """The ``pcc`` parser; ``commands`` are extra top-level commands (default: the entry points)."""
    parser = argparse.ArgumentParser(
        prog="pcc", description="Point-cloud and 3DGS compression toolkit."
    )
    extra = entry_point_commands() if commands is None else list(commands)
    names = [*GROUPS, *(n for n, _ in extra if n not in GROUPS)]
    groups = parser.add_subparsers(dest="group", required=True, metavar="{" + ",".join(names) + "}")
    sub = {}
    for name, help_text in GROUPS.items():
        group = groups.add_parser(name, help=help_text, description=help_text)
        sub[name] = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        prefix = info.name.split("_", 1)[0]
        if prefix in sub:
            module = importlib.import_module(f"{__name__}.{info.name}")
            module.register(sub[prefix])
    for name, register in extra:
        if name not in GROUPS:
            register(groups)
    return parser


def main(
    argv: list[str] | None = None, commands: Sequence[tuple[str, Register]] | None = None
) -> int:
    args = build_parser(commands).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PccError as err:
        print(f"pcc: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
