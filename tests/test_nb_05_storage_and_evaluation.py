"""Notebook 05 runs at its test parameters: real file sizes, exact decoding, Morton savings."""

import pytest

pytestmark = pytest.mark.notebooks


def test_05_storage_and_evaluation(run_notebook):
    m = run_notebook("05_storage_and_evaluation")
    # both formats hold the same values, and decode to them bit-exactly
    assert m["decoded_exactly"] is True
    # the stream sizes account for every byte of each file
    assert sum(m["npz_attributes"].values()) + m["framing"]["npz"] == m["npz_bytes"]
    assert sum(m["pcc_attributes"].values()) + m["framing"]["pcc"] == m["pcc_bytes"]
    # both compress the PLY a lot; range coding beats DEFLATE on the same values
    assert m["ratio_npz"] > 10 and m["ratio_pcc"] > m["ratio_npz"]
    # Morton order makes positions and indices cheaper in both formats
    for key in ("npz.positions", "pcc.positions", "pcc.color_indices", "pcc.shape_indices"):
        assert m["morton_saving"][key] > 0, key
    # per-Gaussian streams dominate the compressed file, the shared tables are small
    pcc = m["pcc_attributes"]
    assert pcc["positions"] > pcc["color_rest"] and pcc["color_indices"] > pcc["color_dc"]
    # the decoded scene stays close to the original on the test views
    assert m["psnr_after"] > m["psnr_before"] - 1.5
    assert len(m["psnr_per_view"]) == 2
    # the viewer formats: the c3dgs rows re-store the very same values, and c3dgs in front of
    # SPZ makes the SPZ smaller than SPZ of the uncompressed scene
    f = m["formats"]
    assert f[".pcc3dgs"]["bytes"] == m["pcc_bytes"] and f["c3dgs npz"]["bytes"] == m["npz_bytes"]
    assert f["c3dgs -> SPZ v3"]["bytes"] < f["SPZ v3"]["bytes"]
    assert f["INRIA PLY"]["ratio_vs_ply"] == 1.0 and f[".splat"]["ratio_vs_ply"] > 7
