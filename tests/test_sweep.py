"""``pcc sweep``: one papermill run per combination, one folder each, one CSV, one plot, failures shown."""

from __future__ import annotations

import json
import tomllib

import nbformat
import pytest
from conftest import REPO

from pcc.cli import main
from pcc.sweep import (
    SweepError,
    flatten,
    notebook_parameters,
    parameter_grid,
    parse_value,
    read_csv,
    run_folder_name,
    run_sweep,
)
from visualisation.sweep import register

SWEEP = [("sweep", register)]

PARAMETERS = """\
a = 1
scale = 2.0
fail = False
out_dir = "output/never_used"
"""

BODY = """\
import json, pathlib
if fail:
    raise ValueError(f"asked to fail at a={a}")
out = pathlib.Path(out_dir)
out.mkdir(parents=True, exist_ok=True)
metrics = {"size_bytes": 1000 * a, "psnr": 20.0 + scale * a, "timings_s": {"total": 0.5},
           "per_view": [1, 2]}
(out / "metrics.json").write_text(json.dumps(metrics))
"""


@pytest.fixture
def tiny_notebook(tmp_path):
    """A two-cell notebook whose metrics are known functions of its parameters."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(PARAMETERS)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(BODY)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def test_values_parse_as_the_literals_they_spell():
    assert parse_value("64") == 64 and isinstance(parse_value("64"), int)
    assert parse_value("1e-6") == 1e-6
    assert parse_value("true") is True and parse_value("False") is False
    assert parse_value("None") is None
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("kmeans++") == "kmeans++"


def test_the_grid_is_the_cartesian_product_in_order():
    grid = parameter_grid([("k", [1, 2]), ("init", ["a", "b", "c"])])
    assert len(grid) == 6
    assert grid[0] == {"k": 1, "init": "a"} and grid[-1] == {"k": 2, "init": "c"}
    with pytest.raises(SweepError):
        parameter_grid([("k", [1]), ("k", [2])])
    with pytest.raises(SweepError):
        parameter_grid([("k", [])])


def test_folder_names_are_unique_and_safe():
    names = {run_folder_name(i, p) for i, p in enumerate(parameter_grid([("x", ["a/b", "a b"])]))}
    assert len(names) == 2
    assert all("/" not in n and " " not in n for n in names)


def test_nested_metrics_flatten_to_dotted_columns():
    assert flatten({"a": 1, "t": {"x": 2, "y": {"z": 3}}, "l": [1, 2]}) == {
        "a": 1,
        "t.x": 2,
        "t.y.z": 3,
        "l": "[1, 2]",
    }


def test_parameters_are_read_from_the_tagged_cell(tiny_notebook):
    assert notebook_parameters(tiny_notebook) == {
        "a": 1,
        "scale": 2.0,
        "fail": False,
        "out_dir": "output/never_used",
    }


def test_unknown_parameter_is_refused_before_anything_runs(tiny_notebook, tmp_path):
    out = tmp_path / "sweep"
    with pytest.raises(SweepError, match="codebook"):
        run_sweep(tiny_notebook, [("codebook", [1, 2])], out)
    assert not out.exists()


def test_sweep_runs_every_value_into_its_own_folder(tiny_notebook, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", str(tiny_notebook), "-p", "a", "1", "2", "3", "--set", "scale", "0.5"]
    argv += ["--out", str(out), "--jobs", "2", "--x", "size_bytes", "--y", "psnr"]
    assert main(argv, commands=SWEEP) == 0

    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(folders) == 3
    for folder in folders:
        assert (folder / "metrics.json").is_file()
        assert (folder / "notebook.ipynb").is_file()
    rows = read_csv(out / "sweep.csv")
    assert [r["a"] for r in rows] == [1, 2, 3]
    assert all(r["status"] == "ok" for r in rows)
    # the values reached the notebook: its metrics are functions of them
    assert [r["size_bytes"] for r in rows] == [1000, 2000, 3000]
    assert [r["psnr"] for r in rows] == pytest.approx([20.5, 21.0, 21.5])
    assert rows[0]["timings_s.total"] == 0.5
    png = (out / "sweep.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "plot:" in capsys.readouterr().out

    # nothing is ever overwritten: the same --out is refused and the runs are untouched
    before = (out / "sweep.csv").read_bytes()
    assert main(argv, commands=SWEEP) == 2
    assert (out / "sweep.csv").read_bytes() == before
    assert "already exists" in capsys.readouterr().err


def test_a_failed_run_is_reported_not_hidden(tiny_notebook, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", str(tiny_notebook), "-p", "a", "7", "-p", "fail", "False", "True"]
    argv += ["--out", str(out), "--y", "psnr"]
    assert main(argv, commands=SWEEP) == 1
    err = capsys.readouterr().err
    assert "FAILED run 1" in err and "asked to fail at a=7" in err
    assert "1 of 2 run(s) failed" in err
    rows = read_csv(out / "sweep.csv")
    assert [(r["fail"], r["status"]) for r in rows] == [(False, "ok"), (True, "failed")]
    summary = json.loads((out / "sweep.json").read_text())
    assert "asked to fail" in summary["runs"][1]["error"]
    assert summary["runs"][0]["error"] is None
    assert (out / "sweep.png").is_file()  # drawn from the run that worked


def test_the_sweep_command_is_declared_as_an_entry_point():
    """``pcc sweep`` reaches the plotting code only through this entry point (pyproject.toml)."""
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    commands = data["project"].get("entry-points", {}).get("pcc.commands", {})
    assert commands.get("sweep") == "visualisation.sweep:register"
