"""Regenerate the nbval references of the lessons: ``python tools/notebook_refs.py [NAME ...]``.

For each ``notebooks/NAME.ipynb`` (all of them without arguments) this executes the notebook with
papermill at the parameters stored in its metadata (``metadata.pcc.test_parameters``), then writes
``tests/notebook_refs/NAME.ipynb``: the same cells plus papermill's ``injected-parameters`` cell,
with the outputs of the cells marked ``# NBVAL_CHECK_OUTPUT`` kept and every other output
stripped. ``tests/conftest.py::run_notebook`` runs ``pytest --nbval-lax`` on that reference, so
the test executes the lesson once, at small parameters, and compares the checked cells' printed
numbers with the ones recorded here. Run it again whenever a notebook changes (a test says so).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
REFS = ROOT / "tests" / "notebook_refs"
CHECK = "# NBVAL_CHECK_OUTPUT"


def cell_signature(nb) -> str:
    """Hash of the notebook's cells (type, source, tags), ignoring outputs and the injected cell."""
    items = []
    for cell in nb.cells:
        tags = list(cell.get("metadata", {}).get("tags", []))
        if "injected-parameters" in tags:
            continue
        items.append([cell.cell_type, cell.source, sorted(tags)])
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


def test_parameters(nb) -> dict:
    params = nb.metadata.get("pcc", {}).get("test_parameters")
    if not isinstance(params, dict):
        raise SystemExit("notebook metadata has no pcc.test_parameters dict")
    return dict(params)


def make_reference(name: str, timeout: int = 900) -> Path:
    src = NOTEBOOKS / f"{name}.ipynb"
    nb = nbformat.read(src, as_version=4)
    params = test_parameters(nb)
    with tempfile.TemporaryDirectory() as tmp:
        executed = Path(tmp) / f"{name}.ipynb"
        t = time.perf_counter()
        papermill.execute_notebook(
            str(src),
            str(executed),
            parameters=params,
            cwd=str(ROOT),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=timeout,
        )
        seconds = time.perf_counter() - t
        ref = nbformat.read(executed, as_version=4)
    for cell in ref.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        if not cell.source.lstrip().startswith(CHECK):
            cell.outputs = []
            cell.execution_count = None  # nbval compares only cells that ran and have outputs
    ref.metadata.pop("papermill", None)
    ref.metadata.setdefault("pcc", {})["source_signature"] = cell_signature(nb)
    REFS.mkdir(parents=True, exist_ok=True)
    out = REFS / f"{name}.ipynb"
    nbformat.write(ref, out)
    print(f"{name}: executed in {seconds:.1f} s at {params}; reference -> {out.relative_to(ROOT)}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names without .ipynb (default: all)")
    args = parser.parse_args(argv)
    # the kernel inherits these: one thread (as the tests run it), quiet progress bars
    os.environ.update(OMP_NUM_THREADS="1", PCC_PROGRESS="0", MPLBACKEND="Agg")
    names = args.names or sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for name in names:
        name = Path(name).stem
        if not (NOTEBOOKS / f"{name}.ipynb").is_file():
            print(f"no notebook notebooks/{name}.ipynb", file=sys.stderr)
            return 2
        make_reference(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
