"""The demo's point-cloud part: both codecs run on real bitstreams and report consistent numbers."""

from __future__ import annotations

import math

from pcc.demo import run_pointcloud_demo


def test_pointcloud_demo_codes_a_shape_with_both_codecs(tmp_path):
    result = run_pointcloud_demo(tmp_path)
    n = result["n_points"]
    assert n > 1000
    octree, neural = result["octree"], result["neural"]
    # Sizes are the real bitstream files on disk.
    assert octree["bytes"] == (tmp_path / "shape.octree.bin").stat().st_size
    assert neural["bytes"] == (tmp_path / "shape.neural.bin").stat().st_size
    assert math.isclose(octree["bpp"], 8 * octree["bytes"] / n)
    # The octree coder is lossless; the learned codec is lossy but close, and cheaper.
    assert octree["d1_psnr"] == math.inf
    assert 45.0 < neural["d1_psnr"] < math.inf
    assert neural["bpp"] < octree["bpp"]
