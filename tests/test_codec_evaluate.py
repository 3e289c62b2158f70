"""RD evaluation of the learned codec (``pcc.codec.evaluate``, ``pcc pc rd``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pcc.cli import main
from pcc.codec.checkpoint import save_checkpoint
from pcc.codec.evaluate import bd_summary, evaluate_curve, evaluate_point
from pcc.io.pointcloud import PointCloud, write_point_cloud
from pcc.metrics.bd import bd_rate
from pcc.pointcloud.canonical import BUNNY_ANCHORS
from pcc.pointcloud.shapes import shape_at


@pytest.fixture(scope="module")
def model(tiny_hyperprior):
    return tiny_hyperprior


def test_evaluate_point_measures_the_real_file(model):
    cloud = shape_at(4, 0, bits=7)  # [N, 3]
    row = evaluate_point(cloud, model, peak=127)
    n = len(np.unique(cloud, axis=0))
    assert row["n_input"] == n and row["n_decoded"] == n  # top-k keeps every block's count
    assert row["bpp"] == pytest.approx(8 * row["bytes"] / n)
    assert row["estimated_bpp"] < row["bpp"]  # the file adds the block octree and the counts
    assert row["peak"] == 127 and row["entropy_model"] == "hyperprior"
    assert row["encode_s"] > 0 and row["decode_s"] > 0
    coarse = evaluate_point(cloud, model, peak=127, quant_step=2.0)
    assert coarse["quant_step"] == 2.0 and coarse["bytes"] < row["bytes"]
    assert coarse["n_decoded"] < n


def test_evaluate_curve_keeps_the_order_given(model):
    cloud = shape_at(4, 1, bits=6)
    rows = evaluate_curve(cloud, [(model, 1.0), (model, 2.0)], peak=63)
    assert [r["quant_step"] for r in rows] == [1.0, 2.0]


def test_bd_summary_against_anchors():
    octree = BUNNY_ANCHORS["gpcc-v23-octree"]
    # the anchor at half its rate: exactly -50 % (PCHIP is exact for a rate scaling)
    rows = [{"bpp": r / 2, "d1_psnr": p} for r, p in octree]
    out = bd_summary(rows, {"octree": octree})["octree"]
    assert out["bd_rate"] == pytest.approx(-50.0, abs=1e-9)
    assert out["psnr_overlap"] == [52.85, 70.39]
    assert out["bd_psnr"] > 0
    # the number agrees with the metric it wraps
    expected = bd_rate(
        [r for r, _ in octree],
        [p for _, p in octree],
        [r / 2 for r, _ in octree],
        [p for _, p in octree],
    )
    assert out["bd_rate"] == pytest.approx(expected)
    too_few = bd_summary(rows[:3], {"octree": octree})["octree"]
    assert too_few["bd_rate"] is None and "3 points" in too_few["error"]
    disjoint = bd_summary([{"bpp": 1.0 + i, "d1_psnr": 90.0 + i} for i in range(4)], {"o": octree})
    assert disjoint["o"]["bd_rate"] is None and disjoint["o"]["psnr_overlap"] is None
    assert "overlap" in disjoint["o"]["error"]


def test_rd_command_on_a_file(tmp_path, capsys, model):
    checkpoint = save_checkpoint(tmp_path / "tiny.pt", model)
    cloud = shape_at(6, 0, bits=6)
    src = tmp_path / "cloud.ply"
    write_point_cloud(src, PointCloud(cloud.astype(np.float64)), dtype="int32")
    out = tmp_path / "rd.json"
    argv = ["pc", "rd", str(src), "--point", str(checkpoint), "--point", f"{checkpoint}@2"]
    assert main(argv + ["--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    rows = printed["rows"]
    assert [r["quant_step"] for r in rows] == [2.0, 1.0]  # sorted by rate
    assert rows[0]["point"].endswith("@2") and rows[0]["bpp"] < rows[1]["bpp"]
    assert printed["bd"] == {}  # no anchors for an arbitrary file
    assert all(np.isfinite(r["d1_psnr"]) for r in rows)
    assert main(["pc", "rd", str(src), "--point", f"{checkpoint}@0.5"]) == 2
    assert ">= 1" in capsys.readouterr().err


def test_rate_at_quality_and_bit_savings():
    from pcc.codec.evaluate import bit_savings, rate_at_quality

    curve = [{"bpp": 0.1, "d1_psnr": 60.0}, {"bpp": 0.4, "d1_psnr": 66.0}]
    assert rate_at_quality(curve, 60.0) == pytest.approx(0.1)
    assert rate_at_quality(curve, 63.0) == pytest.approx(0.2)  # geometric midpoint
    assert rate_at_quality(curve, 59.0) is None and rate_at_quality(curve, 67.0) is None
    assert bit_savings({"bpp": 0.15, "d1_psnr": 63.0}, curve) == pytest.approx(0.25)
    assert bit_savings({"bpp": 0.3, "d1_psnr": 63.0}, curve) == pytest.approx(-0.5)
    assert bit_savings({"bpp": 0.3, "d1_psnr": 70.0}, curve) is None
