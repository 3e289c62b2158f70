"""Run the benchmarks: ``python -m pcc.bench [NAME ...] [--quick]``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import time

import pcc.bench as bench_pkg


def available() -> list[str]:
    return sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules(bench_pkg.__path__)
        if m.name.startswith("bench_")
    )


def main() -> None:
    names = available()
    parser = argparse.ArgumentParser(prog="python -m pcc.bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        choices=names + [[]],
        metavar="NAME",
        help=f"one of {names} (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    for name in args.names or names:
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        importlib.import_module(f"pcc.bench.bench_{name}").main(quick=args.quick)
        print(f"({name}: {time.perf_counter() - start:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
