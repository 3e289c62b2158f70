"""RD helpers of ``pcc.codec.evaluate``: baselines measured like the learned codec, Pareto fronts,
BD tables, per-point errors and the on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from pcc.codec import evaluate as ev
from pcc.pointcloud.canonical import BUNNY_ANCHORS
from pcc.pointcloud.shapes import shape_at


@pytest.fixture(scope="module")
def cloud():
    return shape_at(4, 2, bits=6)  # [N, 3] int32


def test_octree_point_is_a_real_file(cloud):
    n = len(cloud)
    lossless = ev.evaluate_octree_point(cloud, 1.0, peak=63, keep_decoded=True)
    assert lossless["bpp"] == pytest.approx(8 * lossless["bytes"] / n)
    assert lossless["n_decoded"] == n and np.isinf(lossless["d1_psnr"])
    assert np.array_equal(np.unique(lossless["decoded"], axis=0), np.unique(cloud, axis=0))
    coarse = ev.evaluate_octree_point(cloud, 2.0, peak=63)
    assert coarse["bytes"] < lossless["bytes"] and np.isfinite(coarse["d1_psnr"])
    assert coarse["codec"] == "octree" and "decoded" not in coarse


def test_draco_point(cloud):
    if not ev.draco_available():
        pytest.skip("DracoPy not installed")
    row = ev.evaluate_draco_point(cloud, 8, peak=63)
    assert row["bpp"] == pytest.approx(8 * row["bytes"] / len(cloud))
    assert row["n_decoded"] == len(cloud) and row["d1_psnr"] > 40
    coarse = ev.evaluate_draco_point(cloud, 4, peak=63)
    assert coarse["bytes"] < row["bytes"] and coarse["d1_psnr"] < row["d1_psnr"]


def test_learned_point_without_check_keeps_the_decoded_cloud(cloud, tiny_hyperprior):
    row = ev.evaluate_point(cloud, tiny_hyperprior, peak=63, check=False, keep_decoded=True)
    assert row["checked"] is False and row["decoded"].shape == (row["n_decoded"], 3)
    checked = ev.evaluate_point(cloud, tiny_hyperprior, peak=63)
    assert checked["checked"] is True and "decoded" not in checked
    assert checked["bytes"] == row["bytes"] and checked["d1_psnr"] == row["d1_psnr"]


def test_pareto_front():
    rows = [
        {"bpp": 0.1, "d1_psnr": 60.0, "id": "a"},
        {"bpp": 0.2, "d1_psnr": 59.0, "id": "dominated"},
        {"bpp": 0.3, "d1_psnr": 65.0, "id": "b"},
        {"bpp": 0.05, "d1_psnr": 55.0, "id": "c"},
        {"bpp": 1.0, "d1_psnr": float("inf"), "id": "lossless"},
    ]
    assert [r["id"] for r in ev.pareto_front(rows)] == ["c", "a", "b"]


def test_bd_table_known_answers_and_undefined_cases():
    octree = [{"bpp": b, "d1_psnr": p} for b, p in BUNNY_ANCHORS["gpcc-v23-octree"]]
    half = [{"bpp": r["bpp"] / 2, "d1_psnr": r["d1_psnr"]} for r in octree]
    sliver = [{"bpp": 0.1 * (i + 1), "d1_psnr": 70.0 + 0.1 * i} for i in range(4)]
    rows = ev.bd_table(
        {"half": half, "sliver": sliver, "octree": octree, "absent": []},
        {"octree": octree},
        metrics=("d1_psnr", "d2_psnr"),
    )
    # no self-comparison, no empty curve, and no D2 rows: the reference has no D2
    assert [(r["codec"], r["metric"]) for r in rows] == [("half", "d1_psnr"), ("sliver", "d1_psnr")]
    assert rows[0]["bd_rate"] == pytest.approx(-50.0, abs=1e-9) and rows[0]["bd_psnr"] > 0
    assert rows[1]["bd_rate"] is None and "overlap" in rows[1]["error"]  # 0.39 dB < 1 dB
    loose = ev.bd_table({"sliver": sliver}, {"octree": octree}, min_overlap_db=0.0)
    assert loose[0]["bd_rate"] is not None


def test_point_errors():
    ref = np.array([[0, 0, 0], [10, 0, 0]])
    dec = np.array([[0, 0, 1], [10, 2, 0], [0, 0, 0]])
    assert ev.point_errors(ref, dec) == pytest.approx([1.0, 2.0, 0.0])


def test_cached_point(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"bpp": 0.5, "d1_psnr": 60.0, "decoded": np.zeros((2, 3))}

    key = {"cloud": ev.fingerprint(np.arange(6).reshape(2, 3)), "step": 1.0}
    first = ev.cached_point(key, compute, tmp_path)
    again = ev.cached_point(key, compute, tmp_path)
    assert len(calls) == 1 and first["cached"] is False and again["cached"] is True
    assert again["bpp"] == 0.5 and "decoded" not in again
    ev.cached_point({**key, "step": 2.0}, compute, tmp_path)
    assert len(calls) == 2
    ev.cached_point(key, compute, None)
    assert len(calls) == 3
    assert ev.fingerprint(np.arange(6)) != ev.fingerprint(np.arange(6).astype(np.int32))
