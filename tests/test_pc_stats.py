"""Cloud statistics: octree occupancy per level and nearest-neighbour spacing; synthetic LiDAR."""

from __future__ import annotations

import numpy as np
import pytest

from pcc.pointcloud.lidar import synthetic_lidar_sweep
from pcc.pointcloud.stats import nearest_neighbour_spacing, occupancy_stats


def test_occupancy_stats_of_a_full_cube_and_a_single_voxel():
    g = np.stack(np.meshgrid(*[np.arange(8)] * 3, indexing="ij"), -1).reshape(-1, 3)
    s = occupancy_stats(g, 3)
    assert s.nodes.tolist() == [1, 8, 64]
    assert s.children.tolist() == [8, 64, 512]
    assert np.allclose(s.children_per_node, 8.0)
    assert s.histogram[:, 8].tolist() == [1, 8, 64]
    one = occupancy_stats(np.array([[5, 1, 7]]), 4)
    assert one.nodes.tolist() == [1, 1, 1, 1]
    assert np.allclose(one.single_child_fraction, 1.0)


def test_occupancy_stats_of_a_plane_has_four_children_per_node():
    g = np.stack(np.meshgrid(np.arange(16), np.arange(16), indexing="ij"), -1).reshape(-1, 2)
    plane = np.concatenate([g, np.full((len(g), 1), 5)], axis=1)
    s = occupancy_stats(plane, 4)
    assert np.allclose(s.children_per_node, 4.0)
    assert s.children[-1] == 256
    assert (s.histogram.sum(axis=1) == s.nodes).all()


def test_nearest_neighbour_spacing_on_a_grid():
    g = np.stack(np.meshgrid(*[np.arange(5)] * 3, indexing="ij"), -1).reshape(-1, 3) * 0.5
    d = nearest_neighbour_spacing(g)
    assert d.shape == (125,) and np.allclose(d, 0.5)
    assert nearest_neighbour_spacing(g, max_points=10).shape == (10,)
    with pytest.raises(ValueError):
        nearest_neighbour_spacing(g[:1])


def test_synthetic_lidar_is_deterministic_ringed_and_ranged():
    a = synthetic_lidar_sweep(3, n_beams=16, n_azimuth=256)
    b = synthetic_lidar_sweep(3, n_beams=16, n_azimuth=256)
    assert np.array_equal(a, b) and a.shape[1] == 3
    assert 0.3 * 16 * 256 < len(a) <= 16 * 256
    r = np.linalg.norm(a, axis=1)
    assert r.max() < 80.5
    assert a[:, 2].min() > -1.73 - 0.2  # nothing below the ground
    # ground returns of the lowest beam lie on a ring at h / tan(24.9 deg) ~ 3.7 m
    ring = np.hypot(a[:, 0], a[:, 1])
    assert np.isclose(ring.min(), 1.73 / np.tan(np.deg2rad(24.9)), atol=0.3)
    assert not np.array_equal(a, synthetic_lidar_sweep(4, n_beams=16, n_azimuth=256))


def test_example_clouds_without_data_are_procedural(tmp_path):
    from pcc.pointcloud.examples import EXAMPLE_FILES, example_clouds, missing_example_files

    clouds = example_clouds(tmp_path, mesh_samples=2000, lidar_beams=8, lidar_azimuth=64)
    assert list(clouds) == ["procedural shape", "synthetic sweep"]
    assert all(c.source == "procedural" and c.points.shape[1] == 3 for c in clouds.values())
    assert missing_example_files(tmp_path) == list(EXAMPLE_FILES)


def test_example_clouds_read_shared_data_in_place(shared_data):
    from pcc.pointcloud.examples import example_clouds, missing_example_files

    root = shared_data / "point_clouds"
    clouds = example_clouds(root, mesh_samples=5000, include=["ModelNet chair", "KITTI sweep"])
    assert list(clouds)[:2] == ["ModelNet chair", "KITTI sweep"]
    assert len(clouds["ModelNet chair"].points) == 5000
    assert len(clouds["KITTI sweep"].points) == 17238
    assert "KITTI sweep" not in missing_example_files(root)


def test_example_mesh_clouds_voxelise_densely(tmp_path):
    from pcc.pointcloud.examples import example_clouds

    shape = example_clouds(tmp_path, mesh_samples=500, lidar_beams=8, lidar_azimuth=64)[
        "procedural shape"
    ]
    sparse = shape.voxels(6) if shape.mesh is None else None
    assert sparse is None  # a mesh cloud is re-sampled at the grid resolution
    v5, v6 = shape.voxels(5), shape.voxels(6)
    assert v6.max() <= 63 and v6.min() >= 0 and v6.max() == 63
    # a closed surface: ~4x more voxels per level, not limited by the 500 points drawn
    assert len(v6) > 500 and 2.5 < len(v6) / len(v5) < 5.5


def test_occupancy_scores_threshold_and_topk():
    from pcc.pointcloud.stats import occupancy_scores

    target = np.zeros((2, 2, 2, 2))
    target[0, 0, 0, 0] = target[0, 1, 1, 1] = target[1, 0, 1, 0] = 1
    p = np.full(target.shape, 0.1)
    p[0, 0, 0, 0], p[0, 0, 0, 1] = 0.9, 0.6  # one hit, one false alarm at 0.5
    p[0, 1, 1, 1] = 0.3  # missed at 0.5
    p[1, 0, 1, 0] = 0.2  # missed at 0.5, but the most likely voxel of its block
    s = occupancy_scores(p, target)
    assert (s.true_voxels, s.predicted_voxels, s.hits) == (3, 2, 1)
    assert s.recall == pytest.approx(1 / 3) and s.precision == pytest.approx(0.5)
    k = occupancy_scores(p, target, threshold=None)
    assert k.predicted_voxels == 3  # k per block = its true count
    assert k.hits == 2  # block 0 keeps 0.9 and 0.6; block 1 keeps its 0.2
    assert occupancy_scores(np.zeros_like(p), target).recall == 0.0


def test_compare_voxel_sets():
    from pcc.pointcloud.stats import compare_voxel_sets

    ref = np.array([[0, 0, 0], [1, 2, 3], [4, 4, 4]])
    dec = np.array([[1, 2, 3], [5, 5, 5], [0, 0, 0], [0, 0, 1]])
    hit, missed = compare_voxel_sets(ref, dec)
    assert hit.tolist() == [True, False, True, False]
    assert missed.tolist() == [[4, 4, 4]]
    hit0, missed0 = compare_voxel_sets(ref, np.zeros((0, 3)))
    assert hit0.shape == (0,) and len(missed0) == 3
