"""Notebook 16 runs at its test parameters, and the numbers it teaches hold."""

import pytest

pytestmark = pytest.mark.notebooks


def test_16_lidar(run_notebook):
    m = run_notebook("16_lidar")
    cal = m["calibration"]
    assert cal["rings"] == cal["lasers"]  # one ring per laser, found from geometry alone
    assert cal["max_elevation_error_deg"] < 0.2
    assert abs(cal["azimuth_step_rel_error"]) < 2e-3
    lossless = m["lossless"]
    assert lossless and all(v["exact"] for v in lossless.values())
    for v in lossless.values():  # the sensor's structure beats the octree on every sweep
        assert v["lidar_bpp"] < v["octree_bpp"]
        if v["gpcc_v23_bpp"] is not None:  # and G-PCC's figures where the issue quotes them
            assert v["lidar_bpp"] <= v["gpcc_v23_bpp"]
    for case, streams in m["bits_per_stream"].items():  # the range is the largest stream
        assert max(streams, key=streams.get) == "dominant", case
    rd = m["near_lossless"]
    assert all(a["bpp"] > b["bpp"] for a, b in zip(rd, rd[1:], strict=False))
    assert all(a["d1_psnr_db"] > b["d1_psnr_db"] for a, b in zip(rd, rd[1:], strict=False))
