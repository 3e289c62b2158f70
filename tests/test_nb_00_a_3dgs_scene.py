"""Notebook 00 runs at its test parameters and measures the bundled scene."""

import pytest

pytestmark = pytest.mark.notebooks


def test_00_a_3dgs_scene(run_notebook):
    m = run_notebook("00_a_3dgs_scene")
    assert m["n_gaussians"] > 10_000 and m["sh_degree"] == 3
    # an INRIA PLY of degree 3 spends 62 float32 per Gaussian, plus a short header
    assert 248 <= m["bytes_per_gaussian"] < 249
    assert 0.7 < m["color_share_of_ply"] < 0.8  # 48 of 62 floats are SH colour
    assert m["n_test_views"] == 2 and len(m["psnr_test_per_view"]) == 2
    # the trained scene renders its held-out views well, and its training views at least as well
    assert m["psnr_test"] > 25.0 and m["ssim_test"] > 0.9
    assert m["psnr_train"] > m["psnr_test"] - 1.0
