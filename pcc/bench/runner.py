"""Run benchmark modules, print their tables and write their rows as JSON and CSV.

The convention a benchmark module follows is in the :mod:`pcc.bench` docstring.
``python -m pcc.bench [NAME ...] [--quick] [--out DIR]`` is :func:`main`; :func:`run_benchmarks`
is the same from Python (tests, :mod:`pcc.bench.results`).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import inspect
import io
import json
import math
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from pcc.bench import available
from pcc.io.atomic import write_text_atomic

__all__ = [
    "machine_info",
    "fresh_folder",
    "normalise_rows",
    "write_tables",
    "run_benchmarks",
    "load_run",
    "main",
]

Rows = list[dict]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None


def machine_info() -> dict:
    """CPU model, logical cores, load average, versions of Python, torch and numpy, host OS."""
    import numpy
    import torch

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average": _load(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "cuda": torch.cuda.is_available(),
        "platform": platform.platform(),
    }


def fresh_folder(root: str | os.PathLike = "output", prefix: str = "bench") -> Path:
    """A new, empty folder ``root/<prefix>-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``... if taken)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{prefix}-{stamp}"
    path, i = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            i += 1
            path = base.with_name(f"{base.name}-{i}")


def _scalar(value):
    """JSON-able scalar: numpy/torch scalars become Python ones, NaN/inf become None."""
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def normalise_rows(result) -> dict[str, Rows]:
    """A module's return value as ``{table: rows}`` (``{}`` for None); values made JSON-able.

    Raises TypeError for anything that is not None, a list of dicts or a dict of such lists.
    """
    if result is None:
        return {}
    if isinstance(result, list):
        result = {"rows": result}
    if not isinstance(result, dict) or not all(isinstance(v, list) for v in result.values()):
        raise TypeError("a benchmark returns None, a list of row dicts or {table: rows}")
    tables = {}
    for name, rows in result.items():
        if not all(isinstance(r, dict) for r in rows):
            raise TypeError(f"table {name!r}: every row must be a dict")
        tables[str(name)] = [{str(k): _scalar(v) for k, v in r.items()} for r in rows]
    return tables


def _csv_text(rows: Rows) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    return buf.getvalue()


def write_tables(folder: Path, name: str, tables: dict[str, Rows], meta: dict) -> list[Path]:
    """``<name>.json`` (meta + every table) and one CSV per table; returns the paths written."""
    folder = Path(folder)
    json_path = folder / f"{name}.json"
    write_text_atomic(json_path, json.dumps({**meta, "tables": tables}, indent=1) + "\n")
    paths = [json_path]
    for table, rows in tables.items():
        stem = name if len(tables) == 1 else f"{name}-{table}"
        path = folder / f"{stem}.csv"
        write_text_atomic(path, _csv_text(rows))
        paths.append(path)
    return paths


def _call(module, name: str, quick: bool, folder: Path | None):
    main = module.main
    kwargs = {}
    try:
        params = inspect.signature(main).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        params = {}
    if "out_dir" in params and folder is not None:
        sub = folder / name
        sub.mkdir(parents=True, exist_ok=True)
        kwargs["out_dir"] = sub
    return main(quick=quick, **kwargs)


def run_benchmarks(
    names: list[str] | None = None,
    *,
    quick: bool = False,
    out: str | os.PathLike | None = None,
    save: bool = True,
) -> tuple[Path | None, dict]:
    """Run the named benchmarks (all when None) in order; write their rows to ``out`` (a fresh
    ``output/bench-<timestamp>`` when None; nothing when ``save`` is False).

    Returns ``(folder, run)`` where ``run`` is what ``run.json`` holds."""
    known = available()
    names = list(names) if names else known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {unknown}; available: {known}")
    folder = None
    if save:
        folder = Path(out) if out is not None else fresh_folder()
        folder.mkdir(parents=True, exist_ok=True)
    run = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": bool(quick),
        "argv": sys.argv[1:],
        "machine": machine_info(),
        "benchmarks": {},
    }
    started = time.perf_counter()
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        entry: dict = {}
        try:
            module = importlib.import_module(f"pcc.bench.bench_{name}")
            tables = normalise_rows(_call(module, name, quick, folder))
            entry["status"] = "ok" if tables else "no rows"
        except Exception as err:  # one failing module must not stop the others
            traceback.print_exc()
            tables, entry["status"], entry["error"] = {}, "error", f"{type(err).__name__}: {err}"
        entry["seconds"] = round(time.perf_counter() - start, 2)
        entry["rows"] = sum(len(r) for r in tables.values())
        if folder is not None and tables:
            meta = {"benchmark": name, "quick": bool(quick), "seconds": entry["seconds"]}
            entry["files"] = [p.name for p in write_tables(folder, name, tables, meta)]
        run["benchmarks"][name] = entry
        print(f"({name}: {entry['seconds']:.1f} s, {entry['status']})", flush=True)
    run["seconds"] = round(time.perf_counter() - started, 2)
    run["load_average_after"] = _load()
    if folder is not None:
        write_text_atomic(folder / "run.json", json.dumps(run, indent=1) + "\n")
        print(f"\nwrote {folder}/ (run.json, one JSON and CSV per benchmark)", flush=True)
    return folder, run


def load_run(folder: str | os.PathLike) -> dict:
    """``run.json`` of a bench folder plus ``tables[name]`` of every benchmark written there."""
    folder = Path(folder)
    run = json.loads((folder / "run.json").read_text())
    run["tables"] = {}
    for name in run.get("benchmarks", {}):
        path = folder / f"{name}.json"
        if path.is_file():
            run["tables"][name] = json.loads(path.read_text())["tables"]
    run["folder"] = str(folder)
    return run


def main(argv: list[str] | None = None) -> int:
    names = available()
    parser = argparse.ArgumentParser(
        prog="python -m pcc.bench",
        description="Run the benchmarks (all by default), print their tables and write them as "
        "JSON and CSV to a fresh output/bench-<timestamp>/ folder.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {names} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes: all in under ~2 min")
    parser.add_argument("--out", help="write here instead of output/bench-<timestamp>/")
    parser.add_argument("--no-save", action="store_true", help="print only, write nothing")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(names))
        return 0
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {names}")
    _, run = run_benchmarks(args.names, quick=args.quick, out=args.out, save=not args.no_save)
    failed = [n for n, e in run["benchmarks"].items() if e["status"] == "error"]
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0
