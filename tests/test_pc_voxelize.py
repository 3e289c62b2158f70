"""Voxelisation, Morton codes, mesh surface sampling and the canonical clouds."""

from __future__ import annotations

import numpy as np
import pytest

from pcc.coding.morton import morton_decode, morton_encode, morton_encode_reference
from pcc.pointcloud.canonical import canonical_bunny, canonical_kitti, canonical_modelnet
from pcc.pointcloud.sampling import (
    sample_mesh_poisson_disk,
    sample_mesh_surface,
    triangle_areas,
)
from pcc.pointcloud.voxelize import devoxelize, quantize_coords, unique_coords, voxelize


# ------------------------------------------------------------------------------------- Morton
def test_morton_matches_reference_and_inverts():
    rng = np.random.default_rng(0)
    coords = rng.integers(0, 1 << 21, (300, 3))
    coords[0] = (1 << 21) - 1
    coords[1] = 0
    codes = morton_encode(coords)
    np.testing.assert_array_equal(codes, morton_encode_reference(coords))
    np.testing.assert_array_equal(morton_decode(codes), coords)


def test_morton_bit_order_is_octree_order():
    # child index of the top level = 4 x + 2 y + z
    coords = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]])
    np.testing.assert_array_equal(morton_encode(coords), [4, 2, 1, 7])
    # parent of a node is code >> 3 (coords >> 1)
    rng = np.random.default_rng(1)
    c = rng.integers(0, 1024, (100, 3))
    np.testing.assert_array_equal(morton_encode(c) >> np.uint64(3), morton_encode(c >> 1))


def test_morton_rejects_out_of_range():
    with pytest.raises(ValueError):
        morton_encode(np.array([[1 << 21, 0, 0]]))
    with pytest.raises(ValueError):
        morton_encode(np.array([[-1, 0, 0]]))


# ----------------------------------------------------------------------------------- voxelize
def test_voxelize_range_sorted_unique():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(5000, 3)) * [3.0, 1.0, 0.5] + 10
    coords, t = voxelize(pts, 8)
    assert coords.dtype == np.int32 and coords.min() == 0
    assert coords[:, 0].max() == 255  # the longest axis spans the grid
    assert coords[:, 1].max() < 255  # aspect ratio kept
    assert len(np.unique(coords, axis=0)) == len(coords)
    np.testing.assert_array_equal(coords, np.unique(coords, axis=0))  # lexicographic order
    # every point is within half a voxel of its voxel centre
    back = devoxelize(coords, t)
    coords_all = np.floor((pts - t.offset) * t.scale + 0.5)
    assert np.abs(devoxelize(coords_all, t) - pts).max() <= 0.5 / t.scale + 1e-9
    assert back.shape == coords.shape


@pytest.mark.parametrize("bits", [6, 10, 12])
def test_voxelize_is_idempotent(bits):
    rng = np.random.default_rng(bits)
    coords, _ = voxelize(rng.uniform(-1, 1, (20000, 3)), bits)
    again, t = voxelize(coords, bits)
    np.testing.assert_array_equal(again, coords)
    assert t.scale == 1.0 and t.offset == (0.0, 0.0, 0.0)


def test_voxelize_given_transform_and_errors():
    pts = np.array([[0.0, 0, 0], [1.0, 1, 1], [2.0, 0, 0]])
    coords, _ = voxelize(pts, 4, scale=2.0, offset=np.zeros(3))
    np.testing.assert_array_equal(coords, [[0, 0, 0], [2, 2, 2], [4, 0, 0]])
    with pytest.raises(ValueError, match="outside"):
        voxelize(pts, 2, scale=2.0, offset=np.zeros(3))
    clipped, _ = voxelize(pts, 2, scale=2.0, offset=np.zeros(3), clip=True)
    assert clipped.max() == 3
    with pytest.raises(ValueError):
        voxelize(np.zeros((0, 3)), 8)
    with pytest.raises(ValueError):
        voxelize(np.array([[np.nan, 0, 0]]), 8)


def test_quantize_coords():
    c = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3], [10, 0, 5]])
    np.testing.assert_array_equal(quantize_coords(c, 1), unique_coords(c))
    q = quantize_coords(c, 4)  # round(c / 4)
    np.testing.assert_array_equal(q, [[0, 0, 0], [1, 1, 1], [3, 0, 1]])
    with pytest.raises(ValueError):
        quantize_coords(c, 0)


# ----------------------------------------------------------------------------------- sampling
def test_sampling_is_area_weighted_and_on_surface():
    # two triangles in the z = 0 plane with areas 0.5 and 4.5
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [10, 0, 0], [13, 0, 0], [10, 3, 0]], float)
    f = np.array([[0, 1, 2], [3, 4, 5]])
    np.testing.assert_allclose(triangle_areas(v, f), [0.5, 4.5])
    pts = sample_mesh_surface(v, f, 20000, seed=3)
    assert np.all(pts[:, 2] == 0)
    small = pts[:, 0] <= 1
    assert abs(small.mean() - 0.1) < 0.01  # 0.5 / 5.0 of the area
    # uniform inside a triangle: the fraction in the sub-triangle x + y < 0.5 is 1/4
    s = pts[small]
    assert np.all(s[:, 0] + s[:, 1] <= 1 + 1e-12) and np.all(s[:, :2] >= -1e-12)
    assert abs((s[:, 0] + s[:, 1] < 0.5).mean() - 0.25) < 0.03


def test_sampling_deterministic_and_density():
    v = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0]], float)
    f = np.array([[0, 1, 2]])
    a = sample_mesh_surface(v, f, 100, seed=7)
    np.testing.assert_array_equal(a, sample_mesh_surface(v, f, 100, seed=7))
    assert not np.array_equal(a, sample_mesh_surface(v, f, 100, seed=8))
    assert len(sample_mesh_surface(v, f, density=10.0, seed=0)) == 20  # area 2
    with pytest.raises(ValueError):
        sample_mesh_surface(v, f, 10, density=1.0)
    with pytest.raises(ValueError):
        sample_mesh_surface(v, np.array([[0, 1, 5]]), 10)


def test_poisson_disk_samples_are_spread_evenly_and_seeded():
    """open3d's sample elimination: on a flat square the closest pair of 400 Poisson-disk
    samples is far apart compared with uniform samples (which clump)."""
    from scipy.spatial import cKDTree

    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    f = np.array([[0, 1, 2], [0, 2, 3]])
    disk = sample_mesh_poisson_disk(v, f, 400, seed=2)
    uniform = sample_mesh_surface(v, f, 400, seed=2)
    assert disk.shape == (400, 3) and np.all(disk[:, 2] == 0)
    assert np.all((disk[:, :2] >= -1e-9) & (disk[:, :2] <= 1 + 1e-9))
    nearest = [cKDTree(x).query(x, k=2)[0][:, 1] for x in (disk, uniform)]  # [400] each
    assert nearest[0].min() > 0.02 > nearest[1].min()  # 1 / sqrt(400) = 0.05 is the spacing
    assert nearest[0].std() / nearest[0].mean() < 0.5 * nearest[1].std() / nearest[1].mean()
    np.testing.assert_array_equal(disk, sample_mesh_poisson_disk(v, f, 400, seed=2))
    with pytest.raises(ValueError):
        sample_mesh_poisson_disk(v, np.array([[0, 1, 5]]), 10)


# ---------------------------------------------------------------------------------- canonical
def test_canonical_modelnet_and_kitti(shared_data):
    chair = canonical_modelnet(shared_data / "point_clouds/modelnet_off/chair/chair_0002.off", 6)
    assert chair.dtype == np.int32 and chair.min() >= 0 and chair.max() == 63
    assert len(chair) > 500
    np.testing.assert_array_equal(
        chair, canonical_modelnet(shared_data / "point_clouds/modelnet_off/chair/chair_0002.off", 6)
    )
    kitti = canonical_kitti(shared_data / "point_clouds/lidar_kitti_000008/000008.bin", bits=12)
    assert kitti.max() == 4095 and 15000 < len(kitti) <= 17238


@pytest.mark.slow
def test_canonical_bunny(shared_data, tmp_path):
    mesh = shared_data / "point_clouds/stanford_bunny/reconstruction/bun_zipper.ply"
    coords = canonical_bunny(mesh, cache_dir=tmp_path)
    assert coords.shape == (458477, 3) and coords.dtype == np.int32
    span = coords.max(0) - coords.min(0)
    assert span.max() == 379 or span.max() == 380  # longest side spans 380 voxels
    centre = (coords.max(0) + coords.min(0)) / 2
    np.testing.assert_allclose(centre, 511.5, atol=1.0)
    (cache,) = tmp_path.glob("canonical_bunny_v1_*.npy")
    np.testing.assert_array_equal(np.load(cache, allow_pickle=False), coords)
    np.testing.assert_array_equal(canonical_bunny(mesh, cache_dir=tmp_path), coords)  # from cache


def test_position_quantiser_is_the_octree_coders():
    """One G-PCC position quantiser: the octree coder's lossy mode gives the same voxels."""
    from pcc.pointcloud import octree_codec
    from pcc.pointcloud.voxelize import dequantize_positions, quantize_positions

    rng = np.random.default_rng(3)
    coords = rng.integers(0, 1024, (500, 3))
    origin = coords.min(0)
    for step in (1.0, 0.75, 2.0, 4.0, 7.3):
        q = quantize_positions(coords, origin, step)
        np.testing.assert_array_equal(q, octree_codec.quantize(coords, origin, step))
        back = dequantize_positions(q, origin, step)
        np.testing.assert_array_equal(back, octree_codec.dequantize(q, origin, step))
        assert np.abs(back - coords).max() <= step / 2 + 0.5  # within half a step (+ rounding)
    expected = np.unique(np.floor(coords / 4.0 + 0.5).astype(np.int32), axis=0)
    np.testing.assert_array_equal(quantize_coords(coords, 4.0), expected)
