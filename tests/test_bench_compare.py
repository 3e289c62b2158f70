"""``python -m pcc.bench compare``: real file sizes, decode checks, held-out seeds, the runner's
output. Uses a tiny codec saved as a "bundled" model in a temporary folder (fast); no timing is
asserted."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from pcc.bench import bench_compare, runner
from pcc.codec.checkpoint import save_checkpoint
from pcc.codec.pipeline import decompress_point_cloud
from pcc.pointcloud.shapes import shape_at

DATA = {"source": "procedural", "seed": 0, "shape_bits": [7, 8, 9]}


@pytest.fixture
def tiny_models(tmp_path, monkeypatch, tiny_hyperprior):
    """A models folder with a 'trained' tiny model (steps 5) and an untrained one (steps 0)."""
    folder = tmp_path / "models"
    folder.mkdir()
    save_checkpoint(
        folder / "tiny-l0.1.pt", tiny_hyperprior, {"lambda": 0.1, "steps": 5, "data": DATA}
    )
    save_checkpoint(
        folder / "raw-l0.1.pt", tiny_hyperprior, {"lambda": 0.1, "steps": 0, "data": DATA}
    )
    monkeypatch.setenv("PCC_CODEC_MODELS", str(folder))
    # small clouds: one held-out shape in a 64^3 grid, and a stand-in "real" cloud
    monkeypatch.setattr(bench_compare, "SHAPES_QUICK", ((bench_compare.HELD_OUT_SEED, 0, 6),))
    real = np.unique(shape_at(bench_compare.HELD_OUT_SEED, 5, bits=6).astype(np.int64), axis=0)
    monkeypatch.setattr(
        bench_compare,
        "real_cloud",
        lambda bits: bench_compare.Cloud("stand-in (6-bit)", "real", real, 63.0),
    )
    return folder


def test_compare_rows_report_the_real_file_sizes(tmp_path, tiny_models, capsys):
    out = tmp_path / "compare"
    tables = bench_compare.main(quick=True, out_dir=out)
    printed = capsys.readouterr().out
    assert "skipped (untrained, steps = 0): raw-l0.1" in printed  # nothing untrained is shown
    rows = tables["clouds"]
    assert {r["codec"] for r in rows} == {"octree (lossless)", "tiny-l0.1"}
    assert {r["kind"] for r in rows} == {"held-out shape", "real"}
    for r in rows:
        assert os.path.getsize(r["file"]) == r["bytes"]  # the size is the file on disk
        assert r["bpp"] == pytest.approx(8 * r["bytes"] / r["points"])
        assert r["decode_checked"] is True
        assert r["x_octree"] == pytest.approx(r["octree_bytes"] / r["bytes"])
    for r in rows:
        if r["codec"] == "tiny-l0.1":
            with open(r["file"], "rb") as f:
                decoded = decompress_point_cloud(f.read())  # the header names the model
            assert len(decoded) == r["decoded_points"]
            assert r["estimated_bpp"] < r["bpp"]  # the file adds header, octree and counts
    summary = {r["codec"]: r for r in tables["summary"]}
    shape_rows = [r for r in rows if r["codec"] == "tiny-l0.1" and r["kind"] != "real"]
    assert summary["tiny-l0.1"]["shapes_bytes"] == sum(r["bytes"] for r in shape_rows)
    assert summary["octree (lossless)"]["real_x_octree"] == 1.0
    assert "x octree" in printed and "tiny-l0.1" in printed


def test_compare_through_the_runner_writes_its_tables(tmp_path, tiny_models):
    folder, run = runner.run_benchmarks(["compare"], quick=True, out=tmp_path / "bench")
    assert run["benchmarks"]["compare"]["status"] == "ok"
    data = json.loads((folder / "compare.json").read_text())
    for r in data["tables"]["clouds"]:
        assert os.path.getsize(r["file"]) == r["bytes"]
        assert r["file"].startswith(str(folder / "compare"))  # files kept in the bench folder
    assert (folder / "compare-summary.csv").is_file() and (folder / "compare-clouds.csv").is_file()


def test_held_out_seed_is_not_a_training_seed():
    from pcc.codec.registry import list_models

    models = list_models()
    if not models:
        pytest.skip("no bundled models")
    seeds = bench_compare.training_shape_seeds(models)
    assert {0, 1, 2, 16000, 16001, 16002} <= seeds  # the recipe of input_models/codec/README.md
    assert bench_compare.HELD_OUT_SEED not in seeds


def test_a_model_trained_on_the_test_seed_is_refused(tmp_path, tiny_models, tiny_hyperprior):
    """Data seed 48 with 16 grid sizes cuts its pool from shape streams 768..783, 777 included."""
    leaky = {"source": "procedural", "seed": 48, "shape_bits": list(range(16))}
    meta = {"lambda": 0.1, "steps": 1, "data": leaky}
    save_checkpoint(tiny_models / "leak-l0.1.pt", tiny_hyperprior, meta)
    with pytest.raises(RuntimeError, match="not held out"):
        bench_compare.main(quick=True, out_dir=tmp_path / "c")


def test_real_cloud_is_the_bunny_when_the_shared_data_is_there(shared_data):
    cloud = bench_compare.real_cloud(8)
    if cloud is None:
        pytest.skip("bunny mesh not in the shared data")
    assert cloud.kind == "real" and cloud.peak == 255.0
    assert cloud.coords.max() <= 255 and 20_000 < len(cloud.coords) < 40_000
    assert len(np.unique(cloud.coords, axis=0)) == len(cloud.coords)
