"""Notebook 06 runs the whole pipeline at its test parameters and records a complete run."""

import pytest

pytestmark = pytest.mark.notebooks


def test_06_whole_pipeline(run_notebook):
    m = run_notebook("06_whole_pipeline")
    assert m["preset"] == "tiny" and m["format"] == "pcc"
    # the knobs set as parameters reach the pipeline by their --set names
    assert m["overrides"] == {"finetune_iterations": 10}
    assert m["config"]["finetune.iterations"] == 10 == m["finetune_iterations"]
    assert m["codebook_color"] == m["config"]["color.k"] == 64
    # a real, much smaller file; the reported size is the .pcc3dgs, smaller than the npz
    assert m["size_bytes"] == m["pcc_bytes"] < m["npz_bytes"] < m["input_bytes"] / 10
    assert m["ratio"] == pytest.approx(m["input_bytes"] / m["size_bytes"])
    assert 0 < m["n_gaussians_after"] <= m["n_gaussians_before"]
    # quality is measured on the decoded file; compression costs a bounded amount
    assert m["psnr_after"] > m["psnr_before"] - 2.0 and m["ssim_after"] > 0.5
    # every stage was timed
    for step in ("sensitivity", "prune", "color_vq", "shape_vq", "finetune", "encode", "decode"):
        assert m["timings_s"][step] >= 0, step
