"""pcc.bench.bench_pipeline: per-stage wall and CPU seconds of the c3dgs pipeline, two renderers."""

from __future__ import annotations

import os
import time

import pytest
import torch

from pcc.bench import bench_pipeline as bp
from pcc.c3dgs import pipeline
from pcc.gaussians import render_native
from pcc.io.gaussian_ply import read_gaussian_ply, write_gaussian_ply
from pcc.timing import Timings


def _scene(tmp_path, n=400):
    from pcc.bench.bench_render import surface_scene

    path = tmp_path / "scene.ply"
    write_gaussian_ply(path, surface_scene(n, seed=3))
    return path


def test_cpu_timings_separate_cpu_from_waiting():
    t = bp.CpuTimings()
    with t("sleep"):
        time.sleep(0.2)
    with t("busy"):
        x = torch.randn(200, 200)
        for _ in range(30):
            x = torch.tanh(x @ x)
    with t("busy"):  # repeated names add up, as in Timings
        pass
    assert t["sleep"] >= 0.2 and t.cpu["sleep"] < 0.1  # waiting costs wall time, not CPU time
    assert t.cpu["busy"] > 0 and set(t.cpu) == set(t) == {"sleep", "busy"}
    assert t in bp.CpuTimings.created


def test_every_nth_gaussian_scene(tmp_path):
    path = _scene(tmp_path, n=11)
    with bp._scene_input(path, 1) as same:
        assert same == path
    with bp._scene_input(path, 2) as half:
        sub = read_gaussian_ply(half)
        full = read_gaussian_ply(path)
        assert len(sub) == 6
        assert torch.equal(sub.means, full.means[::2])
    assert not half.exists()  # temporary


def test_unknown_scene_is_named():
    with pytest.raises(FileNotFoundError, match="no_such_scene"):
        bp.resolve_scene("no_such_scene.ply")


@pytest.mark.skipif(not render_native.available(), reason="native rasteriser not built")
def test_compare_both_renderers_per_stage(tmp_path, monkeypatch):
    monkeypatch.setenv(render_native.ENV_RENDERER, "auto")
    threads = torch.get_num_threads()
    rows, runs = bp.compare(str(_scene(tmp_path)), tmp_path / "out", preset="tiny")
    # the environment, the thread count and the pipeline's Timings are as before
    assert os.environ[render_native.ENV_RENDERER] == "auto"
    assert torch.get_num_threads() == threads
    assert pipeline.Timings is Timings
    assert [r["backend"] for r in runs.values()] == ["torch", "native"]
    stages = [r["stage"] for r in rows]
    assert stages == list(runs["torch"]["metrics"]["timings_s"])
    for stage in ("sensitivity", "color_vq", "shape_vq", "finetune", "eval_after", "total"):
        assert stage in stages
    by = {r["stage"]: r for r in rows}
    for b in ("torch", "native"):
        assert by["total"][f"{b}_s"] > 0 and by["total"][f"{b}_cpu_s"] > 0
        # CPU seconds were recorded for every stage the pipeline timed
        assert set(runs[b]["cpu_s"]) == set(runs[b]["wall_s"])
        assert (tmp_path / "out" / f"scene-{b}" / "metrics.json").is_file()
    t = by["total"]
    assert t["speedup"] == pytest.approx(t["torch_s"] / t["native_s"])
    assert t["speedup_cpu"] == pytest.approx(t["torch_cpu_s"] / t["native_cpu_s"])
    assert runs["torch"]["started"] < runs["native"]["started"]
    table = bp.markdown_table(rows)
    assert table.splitlines()[0].startswith("| stage | torch s | native s | speed-up |")
    assert "| **total** |" in table and len(table.splitlines()) == len(rows) + 2


@pytest.mark.skipif(not render_native.available(), reason="native rasteriser not built")
def test_native_first_keeps_the_columns(tmp_path):
    rows, runs = bp.compare(
        str(_scene(tmp_path, n=100)), tmp_path / "out", preset="tiny", native_first=True
    )
    assert list(runs) == ["torch", "native"]
    assert runs["native"]["started"] < runs["torch"]["started"]
    assert rows[-1]["speedup"] == pytest.approx(rows[-1]["torch_s"] / rows[-1]["native_s"])
