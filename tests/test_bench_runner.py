"""The benchmark runner: discovery, selection by name, JSON/CSV output, tolerance of modules
that return nothing or fail. Uses stand-in benchmark modules (no timing is asserted)."""

from __future__ import annotations

import csv
import json
import sys
import types

import pytest

import pcc.bench
from pcc.bench import runner


@pytest.fixture
def fake_benchmarks(monkeypatch):
    """Three stand-in modules: one table, two tables, None; and one that raises."""
    calls = []

    def make(name, result=None, error=None, with_out_dir=False):
        module = types.ModuleType(f"pcc.bench.bench_{name}")

        if with_out_dir:

            def main(quick=False, out_dir=None):
                calls.append((name, quick, out_dir))
                (out_dir / "artifact.bin").write_bytes(b"x" * 7)
                return result

        else:

            def main(quick=False):
                calls.append((name, quick, None))
                if error:
                    raise error
                return result

        module.main = main
        monkeypatch.setitem(sys.modules, module.__name__, module)

    make("one", [{"method": "a", "ms": 1.5, "speedup": 2.0}, {"method": "b", "ms": 3.0}])
    make("two", {"speed": [{"n": 1, "ratio": 1.0}], "size": [{"codec": "x", "bytes": 9}]},
         with_out_dir=True)  # fmt: skip
    make("none", None)
    make("broken", error=ValueError("boom"))
    monkeypatch.setattr(runner, "available", lambda: ["broken", "none", "one", "two"])
    return calls


def test_runner_writes_json_and_csv_per_benchmark(tmp_path, fake_benchmarks):
    folder, run = runner.run_benchmarks(["one", "two", "none"], quick=True, out=tmp_path / "b")
    assert folder == tmp_path / "b"
    saved = json.loads((folder / "run.json").read_text())
    assert saved["quick"] is True
    assert set(saved["benchmarks"]) == {"one", "two", "none"}
    assert saved["benchmarks"]["one"]["status"] == "ok"
    assert saved["benchmarks"]["none"]["status"] == "no rows"
    assert saved["machine"]["cores"] >= 1 and saved["machine"]["torch"]

    one = json.loads((folder / "one.json").read_text())
    assert one["tables"]["rows"][0] == {"method": "a", "ms": 1.5, "speedup": 2.0}
    with open(folder / "one.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows] == ["a", "b"]
    assert rows[1]["speedup"] == ""  # missing value -> empty cell, columns are the union

    assert (folder / "two-speed.csv").is_file() and (folder / "two-size.csv").is_file()
    assert not (folder / "none.json").exists()  # nothing to write, but recorded in run.json
    # a module with an out_dir parameter gets its own folder for the files it writes
    assert (folder / "two" / "artifact.bin").stat().st_size == 7
    assert [c[0] for c in fake_benchmarks] == ["one", "two", "none"]
    assert all(c[1] is True for c in fake_benchmarks)


def test_runner_selects_by_name_and_survives_a_failing_module(tmp_path, fake_benchmarks, capsys):
    code = runner.main(["broken", "one", "--out", str(tmp_path / "c")])
    assert code == 1  # one module failed ...
    run = json.loads((tmp_path / "c" / "run.json").read_text())
    assert run["benchmarks"]["broken"]["status"] == "error"
    assert "boom" in run["benchmarks"]["broken"]["error"]
    assert run["benchmarks"]["one"]["status"] == "ok"  # ... and the next one still ran
    assert [c[0] for c in fake_benchmarks] == ["broken", "one"]  # only those named, in order
    assert "two" not in run["benchmarks"]


def test_runner_rejects_unknown_names(tmp_path, fake_benchmarks):
    with pytest.raises(SystemExit):
        runner.main(["nope", "--out", str(tmp_path / "d")])
    with pytest.raises(ValueError, match="unknown"):
        runner.run_benchmarks(["nope"], out=tmp_path / "e")


def test_fresh_folder_never_reuses_a_folder(tmp_path):
    a = runner.fresh_folder(tmp_path)
    b = runner.fresh_folder(tmp_path)
    assert a != b and a.name.startswith("bench-") and b.is_dir()


def test_normalise_rows_makes_values_json_scalars():
    import numpy as np

    tables = runner.normalise_rows([{"a": np.float32(1.5), "b": float("nan"), "c": np.int64(3)}])
    assert tables == {"rows": [{"a": 1.5, "b": None, "c": 3}]}
    with pytest.raises(TypeError):
        runner.normalise_rows("not rows")


def test_every_bundled_benchmark_is_discovered():
    names = pcc.bench.available()
    for name in ("compare", "entropy", "kmeans", "octree", "render"):
        assert name in names
