"""Notebook 10 runs at its test parameters, and the numbers it teaches hold."""

import pytest

pytestmark = pytest.mark.notebooks


def test_10_point_clouds_and_octrees(run_notebook):
    m = run_notebook("10_point_clouds_and_octrees")
    clouds = m["clouds"]
    assert {"procedural shape", "synthetic sweep"} <= set(clouds)
    assert all(m["lossless"].values())  # every cloud decodes to exactly its voxels
    for c in clouds.values():  # the per-level real sizes add up to the file
        total = sum(c["level_real_bits"]) + c["padding_bits"] + c["container_bits"]
        assert total == 8 * c["file_bytes"]
        assert len(c["level_real_bits"]) == m["coding_bits"]
    shape, sweep = clouds["procedural shape"], clouds["synthetic sweep"]
    # a closed surface: ~4 children per node at the last level; LiDAR costs more per voxel
    assert 3.0 < shape["children_per_node"][-1] < 5.0
    assert sweep["bits_per_voxel"] > 2 * shape["bits_per_voxel"]
    depth = m["bits_per_voxel_by_depth"]
    finer = [
        k
        for k in depth
        if k.startswith("synthetic sweep@") and k != f"synthetic sweep@{m['coding_bits']}"
    ]
    assert finer and depth[finer[0]] > depth[f"synthetic sweep@{m['coding_bits']}"]
    if m["used_shared_data"]:
        assert (
            clouds["KITTI sweep"]["bits_per_voxel"] > 2 * clouds["ModelNet chair"]["bits_per_voxel"]
        )
