"""The lessons keep one shape (docs/conventions.md, "Notebooks"), checked without executing them.

Every ``notebooks/NN_*.ipynb`` is committed stripped of outputs, has one ``parameters`` cell of
flat literals (with ``out_dir`` and ``seed``), test parameters in its metadata, a fresh nbval
reference and a test that executes it, ends by writing ``metrics.json``, and every notebook a
docstring or document names exists.
"""

from __future__ import annotations

import ast
import re
import sys

import nbformat
import pytest
from conftest import NOTEBOOK_REFS, NOTEBOOKS, REPO

LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _read(path):
    return nbformat.read(path, as_version=4)


def _parameters_cell(nb):
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{len(cells)} cells tagged 'parameters' (need exactly one)"
    return cells[0]


def _literal_names(source: str) -> dict:
    """Names assigned in a parameters cell; fails unless every statement is ``name = literal``."""
    names = {}
    for node in ast.parse(source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, (
            f"parameters cell: only `name = literal` lines, got {ast.unparse(node)!r}"
        )
        target = node.targets[0]
        assert isinstance(target, ast.Name), f"parameters cell: {ast.unparse(node)!r}"
        names[target.id] = ast.literal_eval(node.value)  # raises on anything computed
    return names


def test_there_are_lessons():
    assert len(LESSONS) >= 1


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_notebook_is_stripped(path):
    nb = _read(path)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name} cell {i} has outputs: commit notebooks stripped"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_notebook_skeleton(path):
    nb = _read(path)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = _literal_names(_parameters_cell(nb).source)
    assert params.get("out_dir") == f"output/notebooks/{path.stem}", "out_dir default"
    assert "seed" in params
    test_params = nb.metadata.get("pcc", {}).get("test_parameters")
    assert isinstance(test_params, dict), "metadata.pcc.test_parameters missing"
    unknown = set(test_params) - set(params)
    assert not unknown, f"test parameters {sorted(unknown)} are not in the parameters cell"
    assert test_params.get("out_dir") == f"output/nbtest/{path.stem}"
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any(s.lstrip().startswith("# NBVAL_CHECK_OUTPUT") for s in code)
    assert "save_metrics(" in code[-1], "the last code cell writes metrics.json"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
    assert "exercise" in text and "summary" in text


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_notebook_has_a_fresh_reference_and_a_test(path):
    sys.path.insert(0, str(REPO / "tools"))
    try:
        from notebook_refs import cell_signature
    finally:
        sys.path.pop(0)
    ref = NOTEBOOK_REFS / path.name
    assert ref.is_file(), f"run tools/notebook_refs.py {path.stem}"
    meta = _read(ref).metadata.get("pcc", {})
    assert meta.get("source_signature") == cell_signature(_read(path)), (
        f"reference out of date: run tools/notebook_refs.py {path.stem}"
    )
    tests = list((REPO / "tests").glob(f"test_nb_{path.stem}*.py"))
    assert tests, f"no tests/test_nb_{path.stem}.py executes this notebook"
    assert "pytest.mark.notebooks" in tests[0].read_text()


NAMED = re.compile(r"notebooks/(\d\d_[A-Za-z0-9_]+)(?:\.ipynb)?")


def _named_notebooks():
    found = set()
    files = [*(REPO / "pcc").rglob("*.py"), *(REPO / "visualisation").rglob("*.py")]
    files += [*(REPO / "docs").glob("*.md"), REPO / "README.md"]
    for f in files:
        for m in NAMED.finditer(f.read_text(encoding="utf-8")):
            found.add((m.group(1), f.relative_to(REPO).as_posix()))
    return sorted(found)


def test_every_notebook_a_docstring_names_exists():
    missing = [
        f"{name} (named in {where})"
        for name, where in _named_notebooks()
        if not (NOTEBOOKS / f"{name}.ipynb").is_file()
    ]
    assert not missing, "documents name notebooks that do not exist: " + ", ".join(missing)
