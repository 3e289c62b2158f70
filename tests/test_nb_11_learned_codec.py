"""Notebook 11 runs at its test parameters, and what it teaches holds."""

import pytest

pytestmark = pytest.mark.notebooks


def test_11_learned_codec(run_notebook):
    m = run_notebook("11_learned_codec")
    c, s, s3 = m["latent_shape"][0], m["latent_shape"][1], m["latent_shape"][1:]
    assert s3 == [s, s, s] and c >= 8
    assert m["blocks"] >= 1 and m["largest_block_points"] > 0
    # a real bitstream: a fraction of a bit to a few bits per occupied voxel
    assert 0 < 8 * m["largest_block_bytes"] / m["largest_block_points"] < 4
    dec = m["decoding"]
    # top-k restores the point count exactly; all modes decode the same latents
    assert dec["top-k"]["points"] == m["cloud_points"]
    assert dec["top-k"]["d1_psnr"] > 40
    assert dec["RD-optimal threshold"]["bytes"] == dec["fixed threshold 0.5"]["bytes"] + m["blocks"]
    # the RD search picks, per block, the threshold with the smallest D1 error (0.5 is a candidate)
    assert (
        dec["RD-optimal threshold"]["d1_psnr"]
        >= dec["fixed threshold 0.5"].get("d1_psnr", 0) - 1e-6
    )
    assert m["val_occupied_share"] < 0.2  # sparse blocks, the case the focal loss is for
    assert set(m["loss_scores"]) == {"BCE (α=0.5, γ=0)", "focal (α=0.75, γ=2)"}
