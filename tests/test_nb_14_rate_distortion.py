import math

import pytest

pytestmark = pytest.mark.notebooks


def test_14_rate_distortion(run_notebook):
    m = run_notebook("14_rate_distortion")
    learned, octree = m["learned"], m["octree"]
    # every rate is a real file: 8 * bytes / input points, next to a smaller estimate
    for row in learned + octree + m["draco"]:
        assert row["bpp"] == pytest.approx(8 * row["bytes"] / row["n_input"])
    assert all(r["estimated_bpp"] < r["bpp"] for r in learned)
    # a coarser octree step costs fewer bits and loses quality
    by_step = sorted(octree, key=lambda r: -r["quant_step"])
    assert all(a["bytes"] < b["bytes"] for a, b in zip(by_step, by_step[1:]))
    assert all(a["d1_psnr"] < b["d1_psnr"] for a, b in zip(by_step, by_step[1:]))
    # the learned codec needs fewer bits than the octree coder at equal D1 and D2
    assert m["bd_rate_d1_hyperprior_vs_octree"] < -20
    assert m["bd_rate_d2_hyperprior_vs_octree"] < -10
    assert m["bd_psnr_d1_hyperprior_vs_octree"] > 1
    # attention decodes the hyperprior's clouds (same D1) from fewer bits over the ladder
    hyper = {r["label"].split("-", 1)[1]: r for r in learned if r["entropy_model"] == "hyperprior"}
    attn = {r["label"].split("-", 1)[1]: r for r in learned if r["entropy_model"] == "attention"}
    assert set(hyper) == set(attn)
    for key, row in attn.items():
        assert row["d1_psnr"] == hyper[key]["d1_psnr"]
    assert m["attention_bytes_ratio"] < 1
    # undefined BD values are reported as undefined, with the reason
    for row in m["bd"]:
        if row["bd_rate"] is None:
            assert row.get("error")
        else:
            lo, hi = row["psnr_overlap"]
            assert math.isfinite(row["bd_rate"]) and hi - lo >= 1.0
    if m["draco_available"]:
        assert len(m["draco"]) >= 4
    # the error pictures were made from decoded clouds
    assert m["mean_error_voxels"] and all(v >= 0 for v in m["mean_error_voxels"].values())
