"""Procedural shapes and the torch block data sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from pcc.pointcloud.dataset import (
    BlockDataset,
    ProceduralBlockDataset,
    augment_coords,
    occupancy_tensor,
)
from pcc.pointcloud.sampling import triangle_areas
from pcc.pointcloud.shapes import (
    PRIMITIVES,
    ShapeStream,
    box_mesh,
    random_primitive,
    random_shape,
    shape_at,
    sphere_mesh,
    torus_mesh,
)


def test_primitive_areas():
    v, f = sphere_mesh(1.0, n=96)
    assert triangle_areas(v, f).sum() == pytest.approx(4 * np.pi, rel=2e-3)
    v, f = torus_mesh(1.0, 0.25, n=96)
    assert triangle_areas(v, f).sum() == pytest.approx(4 * np.pi**2 * 0.25, rel=2e-3)
    v, f = box_mesh((1.0, 2.0, 3.0))
    assert triangle_areas(v, f).sum() == pytest.approx(
        2 * (2 * 4 + 2 * 6 + 4 * 6)
    )  # full sides 2, 4, 6


@pytest.mark.parametrize("kind", PRIMITIVES)
def test_every_primitive_voxelises(kind):
    rng = np.random.default_rng(0)
    kind_out, v, f = random_primitive(rng, kind)
    assert kind_out == kind and f.max() < len(v) and triangle_areas(v, f).sum() > 0.1


def test_shapes_deterministic_and_in_grid():
    a = shape_at(3, 5, bits=6)
    np.testing.assert_array_equal(a, shape_at(3, 5, bits=6))
    assert not np.array_equal(a, shape_at(3, 6, bits=6))
    stream = ShapeStream(seed=3, bits=6)
    np.testing.assert_array_equal(stream[5], a)
    for _i, c in zip(range(6), stream):
        assert c.dtype == np.int32 and c.min() >= 0 and c.max() <= 63
        assert len(c) > 200  # a surface, not a handful of points
        np.testing.assert_array_equal(c, np.unique(c, axis=0))


def test_sphere_surface_is_hollow_and_watertight():
    # a surface sample of a sphere: voxels near radius r, none near the centre, no holes
    rng = np.random.default_rng(0)
    c = random_shape(rng, 6)
    assert len(c) > 0
    v, f = sphere_mesh(20.0, n=96)
    from pcc.pointcloud.canonical import mesh_to_voxels

    vox = mesh_to_voxels(v, f, 1.0, np.full(3, 31.5), 6, samples_per_area=10)
    r = np.linalg.norm(vox - 31.5, axis=1)
    assert np.all(np.abs(r - 20) < 1.0)
    # every voxel within 0.4 of the sphere is hit (the sample has no holes)
    g = np.stack(np.meshgrid(*[np.arange(64)] * 3, indexing="ij"), -1).reshape(-1, 3)
    near = g[np.abs(np.linalg.norm(g - 31.5, axis=1) - 20) < 0.2]
    hit = {tuple(x) for x in vox.tolist()}
    assert all(tuple(x) in hit for x in near.tolist())


def test_augment_coords_symmetries():
    rng = np.random.default_rng(0)
    coords = np.unique(rng.integers(0, 32, (200, 3)), axis=0).astype(np.int32)
    for mode in ("up", "cube"):
        for seed in range(8):
            out = augment_coords(coords, 32, np.random.default_rng(seed), mode)
            assert out.min() >= 0 and out.max() < 32
            assert len(np.unique(out, axis=0)) == len(coords)  # a bijection of the grid
        if mode == "up":  # z is kept
            np.testing.assert_array_equal(np.sort(out[:, 2]), np.sort(coords[:, 2]))
    np.testing.assert_array_equal(augment_coords(coords, 32, rng, None), coords)
    with pytest.raises(ValueError):
        augment_coords(coords, 32, rng, "spin")


def test_block_dataset():
    clouds = [shape_at(0, i, bits=6) for i in range(3)]
    ds = BlockDataset(clouds, block_size=16, min_points=20, seed=1)
    assert len(ds) > 3
    x = ds[0]
    assert x.shape == (1, 16, 16, 16) and x.dtype == torch.float32
    assert int(x.sum()) == len(ds.blocks[0]) and int(x.sum()) >= 20
    torch.testing.assert_close(ds[2], BlockDataset(clouds, 16, min_points=20, seed=1)[2])
    ds_all = BlockDataset(clouds, 16, min_points=1)
    assert len(ds_all) >= len(ds)
    assert len(BlockDataset(clouds, 16, min_points=1, max_blocks=2)) == 2
    with pytest.raises(ValueError):
        BlockDataset(clouds, 16, min_points=10**6)
    with pytest.raises(ValueError):
        BlockDataset(clouds, 24)


def test_procedural_dataset_deterministic_and_worker_split():
    ds = ProceduralBlockDataset(32, shape_bits=6, min_points=30, seed=5, num_blocks=12)
    a = list(ds)
    b = list(ds)
    assert len(a) == 12 and all(x.shape == (1, 32, 32, 32) for x in a)
    assert all(int(x.sum()) >= 30 for x in a)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    # two workers: worker w takes shapes w, w+2, ... -> its first block equals iter_blocks(w, 2)
    loaded = list(DataLoader(ds, batch_size=None, num_workers=2))
    assert len(loaded) == 12
    first_w1 = next(ds.iter_blocks(1, 2))
    assert any(torch.equal(x, occupancy_tensor(first_w1, 32)) for x in loaded)


def test_up_rotations():
    from pcc.pointcloud.dataset import rotate_about_up

    cloud = shape_at(0, 1, bits=6)
    quarter = rotate_about_up(cloud, np.pi / 2)
    # a quarter turn is exact on the grid: same number of voxels, z histogram unchanged
    assert len(quarter) == len(cloud)
    np.testing.assert_array_equal(np.sort(quarter[:, 2]), np.sort(cloud[:, 2]))
    assert quarter.min() >= 0
    odd = rotate_about_up(cloud, 0.3)
    assert abs(len(odd) - len(cloud)) < 0.2 * len(cloud)
    plain = BlockDataset([cloud], 16, min_points=5, augment=None)
    more = BlockDataset([cloud], 16, min_points=5, augment=None, up_rotations=2, seed=3)
    assert len(more) > len(plain)
    again = BlockDataset([cloud], 16, min_points=5, augment=None, up_rotations=2, seed=3)
    assert all(torch.equal(more[i], again[i]) for i in range(len(more)))
