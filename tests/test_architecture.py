"""The layering of docs/architecture.md holds: imports flow one way, and the two sides stay apart.

Checked statically on every module's import statements (including imports inside functions), so a
lazy import cannot sneak a dependency past the rule.
"""

from __future__ import annotations

import ast
import importlib

import pytest
from conftest import REPO

PCC = REPO / "pcc"

# Modules every layer may use: errors, file formats, metrics, and the plain Gaussian container.
BOTTOM = (
    "pcc.errors",
    "pcc.io",
    "pcc.metrics",
    "pcc.gaussians.model",
    "pcc._open3d",
    "pcc.progress",
    "pcc.timing",
    "pcc.memory",
)
GS_SIDE = ("pcc.gaussians", "pcc.c3dgs", "pcc.data")
PC_SIDE = ("pcc.pointcloud", "pcc.codec")
TOP = ("pcc.cli", "pcc.bench", "pcc.demo", "pcc.__main__", "pcc.sweep", "pcc.results")


def _module_name(path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


MODULES = sorted(PCC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_imports_follow_the_layers(path):
    name = _module_name(path)
    imported = {m for m in _imports(path) if m == "pcc" or m.startswith("pcc.")}
    if _within(name, BOTTOM):
        allowed = BOTTOM
    elif _within(name, GS_SIDE):
        allowed = BOTTOM + GS_SIDE
    elif _within(name, PC_SIDE):
        allowed = BOTTOM + PC_SIDE
    else:
        assert _within(name, TOP) or name == "pcc", (
            f"{name} belongs to no layer: add it to the architecture"
        )
        return
    bad = sorted(m for m in imported if not _within(m, allowed) and m != "pcc")
    assert not bad, f"{name} imports {bad}, which its layer may not use"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_library_never_plots(path):
    imported = _imports(path)
    assert not any(_within(m, ("matplotlib", "plotly", "visualisation")) for m in imported), (
        f"{_module_name(path)} imports a plotting library: plotting belongs in visualisation/"
    )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_every_module_imports_on_its_own(path):
    name = _module_name(path)
    if name.endswith("__main__"):
        pytest.skip("entry point: running it would execute the program")
    importlib.import_module(name)
