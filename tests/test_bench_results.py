"""``python -m pcc.bench.results`` (``make results``): which bench results it picks, and that the
page is built from them (no measurement is run here)."""

from __future__ import annotations

import json

import pytest

from pcc.bench import results, runner


def _bench_folder(root, stamp, quick, tables):
    folder = root / f"bench-{stamp}"
    folder.mkdir(parents=True)
    run = {
        "date": f"2026-01-01T{stamp[-6:-4]}:00:00+00:00",
        "quick": quick,
        "machine": {"cpu": "Test CPU", "cores": 2, "torch": "2.x", "load_average": [1, 2, 3]},
        "benchmarks": {},
    }
    for name, rows in tables.items():
        run["benchmarks"][name] = {"status": "ok" if rows is not None else "error", "seconds": 1.0}
        if rows is not None:
            runner.write_tables(folder, name, {"rows": rows}, {"benchmark": name})
    (folder / "run.json").write_text(json.dumps(run))
    return folder


def test_collect_takes_the_newest_full_successful_result_per_benchmark(tmp_path):
    _bench_folder(tmp_path, "20260101-100000", False, {"a": [{"v": 1}], "b": [{"v": 1}]})
    _bench_folder(tmp_path, "20260101-110000", False, {"a": [{"v": 2}], "b": None})  # b failed
    _bench_folder(tmp_path, "20260101-120000", True, {"a": [{"v": 3}], "b": [{"v": 3}]})  # quick
    found = results.collect_benchmarks(["a", "b", "c"], root=tmp_path, run_missing=False)
    assert found["a"]["tables"]["rows"] == [{"v": 2}]
    assert found["b"]["tables"]["rows"] == [{"v": 1}]  # the newer one failed
    assert "c" not in found  # missing and not run
    quick = results.collect_benchmarks(["a"], root=tmp_path, run_missing=False, quick=True)
    assert quick["a"]["tables"]["rows"] == [{"v": 3}]


def test_pareto_and_ladder():
    rows = [
        {"point": "a", "bpp": 0.1, "d1_psnr": 60.0},
        {"point": "b", "bpp": 0.2, "d1_psnr": 59.0},  # dominated by a
        {"point": "c", "bpp": 0.3, "d1_psnr": 65.0},
    ]
    assert [r["point"] for r in results.pareto(rows)] == ["a", "c"]
    points = results.ladder_points(["m-l0.1", "m-l4", "m-l1.5"])
    assert points == [
        ("m-l0.1", 2.0),
        ("m-l1.5", 2.0),
        ("m-l4", 2.0),
        ("m-l1.5", 4.0),
        ("m-l4", 4.0),
    ]


def test_markdown_table_formats_numbers_and_hides_paths():
    text = results.markdown_table(
        [{"name": "x", "file": "/tmp/f", "ms": 1234.5, "ratio": 2.0, "ok": True, "none": None}]
    )
    lines = text.splitlines()
    assert lines[0] == "| name | ms | ratio | ok | none |"
    assert lines[2] == "| x | 1,234 | 2.00 | yes | – |"


def test_page_is_built_from_the_gathered_numbers(tmp_path):
    compare = {
        "summary": [
            {"codec": "octree (lossless)", "shapes_bpp": 1.5, "shapes_x_octree": 1.0},
            {"codec": "hyperprior-l0.1", "shapes_bpp": 0.4321, "shapes_x_octree": 3.47},
        ],
        "clouds": [
            {"cloud": "shape 777/0 (7-bit)", "kind": "held-out shape", "points": 1000},
        ],
    }
    entry = {
        "folder": str(tmp_path / "bench-x"),
        "date": "2026-01-01T00:00:00+00:00",
        "seconds": 12.0,
        "machine": {"cpu": "Test CPU", "cores": 2, "torch": "2.x"},
    }
    data = {
        "date": "2026-01-02 00:00 UTC",
        "machine": {"cpu": "Test CPU", "cores": 2, "torch": "2.x", "load_average": [1, 2, 3]},
        "benchmarks": {
            "compare": entry | {"tables": compare},
            "kmeans": entry | {"tables": {"time_to_target": [{"method": "ours", "x": 0.5}]}},
        },
        "benchmarks_expected": ["compare", "kmeans", "render"],
        "codec_rd": None,
        "c3dgs": [
            {
                "format": "pcc",
                "input_mb": 6.5,
                "compressed_mb": 0.25,
                "ratio": 26.0,
                "n_gaussians_before": 27000,
                "n_gaussians_after": 20000,
                "psnr_after": 30.5,
                "timings_s": {"prune": 1.0},
                "command": "pcc gs compress ...",
            },
            {"format": "npz", "error": "exit status 1"},
        ],
    }
    page = results.render_page(data)
    assert "Generated 2026-01-02 00:00 UTC on: Test CPU, 2 logical cores, torch 2.x" in page
    assert "| hyperprior-l0.1 | 0.4321 |" in page and "3.47" in page
    assert "27,000 → 20,000" in page and "| pcc | 6.50 | 0.2500 | 26.00 |" in page
    assert "exit status 1" in page
    assert "Not available (failed or not run): render." in page
    assert "skipped: the bunny" in page  # no RD section without the real bunny
    assert "Do not edit by hand" in page


@pytest.mark.parametrize("value,text", [(None, "–"), (0.123456, "0.1235"), (12345, "12,345")])
def test_number_format(value, text):
    assert results._num(value) == text


def test_c3dgs_rd_rows_become_a_table(tmp_path):
    row = {
        "preset": "default",
        "overrides": {"color.k_per_gaussians": 32},
        "bytes": 171656,
        "ratio": 39.02,
        "psnr": 30.405,
        "delta_psnr": -0.157,
        "n_gaussians": 26987,
        "position_bits": 12,
    }
    path = tmp_path / "rd.json"
    path.write_text(json.dumps([row, row | {"bytes": 199964, "position_bits": None}]))
    curves = results.read_c3dgs_rd([str(path)])
    page = results.render_page(
        {"date": "d", "machine": {"cpu": "c"}, "benchmarks": {}, "c3dgs_rd": curves}
    )
    assert "## c3dgs rate-distortion curves" in page and "**rd.json**" in page
    assert "| default | color.k_per_gaussians=32 | 171,656 | 39.0x | 30.41 | -0.157 |" in page
    assert "| 199,964 |" in page and "| fp16 |" in page
    path.write_text('{"not": "rows"}')
    with pytest.raises(ValueError, match="rd.json"):
        results.read_c3dgs_rd([str(path)])
