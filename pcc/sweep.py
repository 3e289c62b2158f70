"""Parameter sweeps over a notebook: papermill once per combination, every ``metrics.json`` in one CSV.

``pcc sweep notebooks/03_vector_quantisation.ipynb -p color_k 64 256 1024 --out output/sweeps/k``
runs the notebook three times, each in its own folder ``DIR/000_color_k=64/`` (the executed
notebook, its ``metrics.json`` and figures, a ``papermill.log``), then writes ``DIR/sweep.csv``
(one row per run: its parameters, ``status``, ``seconds`` and every metric, nested keys joined
with dots) and ``DIR/sweep.json`` (the same runs, with the error of each failed one). Several
``-p`` options make the cartesian product. A run that fails is reported and listed with its
error; it never disappears from the table.

Every notebook of ``notebooks/`` has a cell tagged ``parameters`` with an ``out_dir`` parameter;
the sweep sets ``out_dir`` to the run's folder, checks before running anything that every swept
name is a parameter of the notebook, and never writes into an existing non-empty ``--out``.

This module runs and collects (standard library only; papermill runs as a subprocess, so ``pcc``
does not depend on it). The plot and the ``pcc sweep`` command live in
:mod:`visualisation.sweep`. Taught in ``notebooks/06_whole_pipeline.ipynb``.
"""

from __future__ import annotations

import ast
import csv
import itertools
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pcc.errors import PccError
from pcc.io.atomic import write_text_atomic

CSV_NAME = "sweep.csv"
JSON_NAME = "sweep.json"
LOG_NAME = "papermill.log"
NOTEBOOK_NAME = "notebook.ipynb"
PARAMS_NAME = "parameters.json"


class SweepError(PccError, ValueError):
    """A sweep that cannot start: bad notebook, unknown parameter, output folder in use."""


# --------------------------------------------------------------------------- parameters
def parse_value(text: str) -> object:
    """A command-line value as the Python literal it spells (``64`` -> int, ``1e-6`` -> float,
    ``True``/``true`` -> bool, ``None``/``null`` -> None, ``[1, 2]`` -> list), else the string."""
    s = text.strip()
    lowered = s.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError):
        return text


def parameter_grid(parameters: Sequence[tuple[str, Sequence[object]]]) -> list[dict[str, object]]:
    """The cartesian product of ``[(name, values), ...]`` in order (last name varies fastest)."""
    names = [n for n, _ in parameters]
    if len(set(names)) != len(names):
        raise SweepError(f"a parameter is swept twice: {names}")
    for name, values in parameters:
        if not values:
            raise SweepError(f"parameter {name!r} has no values")
    return [dict(zip(names, combo)) for combo in itertools.product(*(v for _, v in parameters))]


def notebook_parameters(notebook: str | os.PathLike) -> dict[str, object]:
    """Names and default values assigned in the notebook's cell tagged ``parameters``.

    Raises:
        SweepError: the file is not a notebook, or has no ``parameters`` cell.
    """
    path = Path(notebook)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError(f"{path}: notebook not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SweepError(f"{path}: not a Jupyter notebook ({err})") from None
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "code" and "parameters" in tags:
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            try:
                tree = ast.parse(src)
            except SyntaxError as err:
                raise SweepError(f"{path}: the parameters cell does not parse: {err}") from None
            out: dict[str, object] = {}
            for node in tree.body:
                if isinstance(node, ast.Assign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        if isinstance(t, ast.Name):
                            try:
                                out[t.id] = ast.literal_eval(node.value) if node.value else None
                            except ValueError:
                                out[t.id] = None
            return out
    raise SweepError(f"{path}: no code cell tagged 'parameters' (papermill needs one)")


def run_folder_name(index: int, params: Mapping[str, object]) -> str:
    """``003_color_k=256,seed=1``: the run number, then the values, safe as a folder name."""
    parts = [f"{k}={v}" for k, v in params.items()]
    text = re.sub(r"[^A-Za-z0-9_=.,+-]+", "-", ",".join(parts)).strip("-")
    return f"{index:03d}_{text}"[:120] if text else f"{index:03d}"


# --------------------------------------------------------------------------- running
@dataclass
class SweepRun:
    """One execution of the notebook."""

    index: int
    parameters: dict[str, object]
    folder: Path
    status: str = "pending"  # "ok" or "failed"
    returncode: int | None = None
    seconds: float = 0.0
    metrics: dict | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class SweepResult:
    """Every run of a sweep, and the files that gather them."""

    notebook: Path
    out: Path
    runs: list[SweepRun] = field(default_factory=list)
    csv_path: Path | None = None
    json_path: Path | None = None

    @property
    def failed(self) -> list[SweepRun]:
        return [r for r in self.runs if not r.ok]


def prepare_output(out: str | os.PathLike) -> Path:
    """Create ``out``; refuse one that already holds files (a sweep never overwrites)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SweepError(
            f"{out}: already exists and is not empty; a sweep never overwrites earlier runs, "
            "choose a new --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    return out


def error_summary(log: str, lines: int = 12) -> str:
    """The informative part of a papermill log: where the notebook failed and the exception.

    For a cell that raised: the ``Exception encountered at "In [n]"`` line, the source line
    marked ``---->`` and the exception's last line; otherwise the log's last ``lines`` lines.
    """
    text = [t for t in log.strip().splitlines() if t.strip()]
    for i, line in enumerate(text):
        if line.startswith("Exception encountered at"):
            arrow = [t.strip() for t in text[i:] if t.lstrip().startswith("---->")]
            return "\n".join([line.rstrip(":"), *arrow[-1:], text[-1]])
    return "\n".join(text[-lines:])


def papermill_command(
    notebook: Path, output: Path, params_file: Path, kernel: str | None, timeout: float | None
) -> list[str]:
    """The ``python -m papermill`` command line of one run."""
    cmd = [sys.executable, "-m", "papermill", str(notebook), str(output), "-f", str(params_file)]
    cmd += ["--no-progress-bar", "--log-level", "WARNING"]
    if kernel:
        cmd += ["-k", kernel]
    if timeout:
        cmd += ["--execution-timeout", str(int(math.ceil(timeout)))]
    return cmd


def execute_run(
    notebook: Path,
    run: SweepRun,
    *,
    fixed: Mapping[str, object] | None = None,
    kernel: str | None = None,
    timeout: float | None = None,
) -> SweepRun:
    """Run the notebook once into ``run.folder``; fill in status, seconds, metrics or error."""
    run.folder.mkdir(parents=True, exist_ok=False)
    params = {**(fixed or {}), **run.parameters, "out_dir": str(run.folder.resolve())}
    params_file = run.folder / PARAMS_NAME
    write_text_atomic(params_file, json.dumps(params, indent=2))  # JSON is YAML
    cmd = papermill_command(notebook, run.folder / NOTEBOOK_NAME, params_file, kernel, timeout)
    env = {**os.environ, "PCC_PROGRESS": "0", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    with open(run.folder / LOG_NAME, "w", encoding="utf-8") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    run.seconds = time.perf_counter() - start
    run.returncode = proc.returncode
    metrics_path = run.folder / "metrics.json"
    if proc.returncode == 0 and metrics_path.is_file():
        try:
            run.metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
            run.status = "ok"
        except json.JSONDecodeError as err:
            run.status, run.error = "failed", f"metrics.json is not valid JSON: {err}"
    else:
        run.status = "failed"
        log_text = (run.folder / LOG_NAME).read_text(encoding="utf-8", errors="replace")
        if proc.returncode == 0:
            run.error = "the notebook ran but wrote no metrics.json into out_dir"
        else:
            run.error = error_summary(log_text) or f"papermill exited with {proc.returncode}"
    return run


def run_sweep(
    notebook: str | os.PathLike,
    parameters: Sequence[tuple[str, Sequence[object]]],
    out: str | os.PathLike,
    *,
    jobs: int = 1,
    fixed: Mapping[str, object] | None = None,
    kernel: str | None = None,
    timeout: float | None = None,
    on_done: Callable[[SweepRun, int], None] | None = None,
    executor: Callable[..., SweepRun] = execute_run,
) -> SweepResult:
    """Run ``notebook`` once per combination of ``parameters`` and gather the results.

    Args:
        notebook: the ``.ipynb`` to run (it needs a ``parameters`` cell with ``out_dir``).
        parameters: ``[(name, [values...]), ...]``; the cartesian product is run.
        out: a new (or empty) folder; each run gets a sub-folder, then ``sweep.csv`` and
            ``sweep.json`` are written.
        jobs: runs executed at the same time.
        fixed: parameters set in every run (not swept).
        timeout: seconds allowed per cell (papermill ``--execution-timeout``).
        on_done: called as ``on_done(run, n_finished)`` after each run (for progress lines).

    Raises:
        SweepError: before anything runs, if the notebook lacks a swept name or ``out_dir``,
            or ``out`` is not empty.
    """
    notebook = Path(notebook).resolve()
    known = notebook_parameters(notebook)
    names = [n for n, _ in parameters] + list(fixed or {})
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SweepError(
            f"{notebook.name}: {unknown} not in its parameters cell; known: {sorted(known)}"
        )
    if "out_dir" not in known:
        raise SweepError(f"{notebook.name}: its parameters cell has no out_dir")
    if "out_dir" in names:
        raise SweepError("out_dir is set by the sweep (one folder per run); do not pass it")
    combos = parameter_grid(parameters)
    out = prepare_output(out)
    runs = [SweepRun(i, c, out / run_folder_name(i, c)) for i, c in enumerate(combos)]
    result = SweepResult(notebook=notebook, out=out, runs=runs)
    done = 0

    def one(run: SweepRun) -> SweepRun:
        try:
            return executor(notebook, run, fixed=fixed, kernel=kernel, timeout=timeout)
        except Exception as err:  # noqa: BLE001 - a run that cannot start is a failed run
            run.status, run.error = "failed", f"{type(err).__name__}: {err}"
            return run

    with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
        for run in pool.map(one, runs):
            done += 1
            if on_done is not None:
                on_done(run, done)
    result.csv_path = write_csv(runs, out / CSV_NAME)
    result.json_path = write_json(result, out / JSON_NAME)
    return result


# --------------------------------------------------------------------------- collecting
def flatten(d: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """Nested dicts -> one level with dotted keys; lists become JSON text (one CSV cell)."""
    out: dict[str, object] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        elif isinstance(v, list | tuple):
            out[key] = json.dumps(v)
        else:
            out[key] = v
    return out


def rows(runs: Iterable[SweepRun]) -> list[dict[str, object]]:
    """One flat dict per run: ``run``, ``status``, ``seconds``, ``folder``, parameters, metrics.

    A metric whose name is also a swept parameter is stored as ``metric.<name>``.
    """
    table = []
    for r in runs:
        row: dict[str, object] = {
            "run": r.index,
            "status": r.status,
            "seconds": round(r.seconds, 2),
            "folder": r.folder.name,
        }
        row.update(r.parameters)
        for k, v in flatten(r.metrics or {}).items():
            row[f"metric.{k}" if k in row else k] = v
        table.append(row)
    return table


def write_csv(runs: Sequence[SweepRun], path: str | os.PathLike) -> Path:
    """Write :func:`rows` as CSV (columns: fixed ones, then the union in first-seen order)."""
    path = Path(path)
    table = rows(runs)
    columns = list(dict.fromkeys(c for row in table for c in row))
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        for row in table:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    os.replace(tmp, path)
    return path


def write_json(result: SweepResult, path: str | os.PathLike) -> Path:
    """``sweep.json``: the notebook, and per run its parameters, status, folder, error."""
    path = Path(path)
    data = {
        "notebook": str(result.notebook),
        "runs": [
            {
                "run": r.index,
                "parameters": r.parameters,
                "status": r.status,
                "returncode": r.returncode,
                "seconds": round(r.seconds, 2),
                "folder": r.folder.name,
                "error": r.error,
            }
            for r in result.runs
        ],
    }
    write_text_atomic(path, json.dumps(data, indent=2, default=str))
    return path


def _number(text: str) -> object:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    if text in ("True", "False"):
        return text == "True"
    return text


def read_csv(path: str | os.PathLike) -> list[dict[str, object]]:
    """Read a ``sweep.csv`` back, numbers as numbers and empty cells as ``None``."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(fh)]
