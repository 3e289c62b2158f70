"""Octree blocks: partition / departition, Morton order, largest-block selection, occupancy."""

from __future__ import annotations

import numpy as np
import pytest

from pcc.coding.morton import morton_encode
from pcc.pointcloud.blocks import (
    Block,
    departition,
    from_occupancy,
    partition_blocks,
    select_largest,
    to_occupancy,
)
from pcc.pointcloud.voxelize import unique_coords


def _cloud(n=5000, top=256, seed=0):
    rng = np.random.default_rng(seed)
    # a few dense clusters so blocks have very different sizes
    centres = rng.integers(20, top - 20, (6, 3))
    pts = centres[rng.integers(0, 6, n)] + rng.normal(0, 8, (n, 3))
    return np.clip(np.round(pts), 0, top - 1).astype(np.int64)


@pytest.mark.parametrize("block_bits", [0, 3, 5])
def test_partition_round_trip(block_bits):
    coords = _cloud()
    blocks = partition_blocks(coords, block_bits)
    np.testing.assert_array_equal(departition(blocks), unique_coords(coords))
    size = 1 << block_bits
    assert sum(len(b) for b in blocks) == len(unique_coords(coords))
    for b in blocks:
        assert b.size == size
        assert np.all(b.origin % size == 0)
        assert b.coords.min() >= 0 and b.coords.max() < size
        np.testing.assert_array_equal(b.coords, unique_coords(b.coords))


def test_blocks_in_morton_order_of_origins():
    blocks = partition_blocks(_cloud(), 4)
    codes = morton_encode(np.array([b.origin >> 4 for b in blocks]))
    assert np.all(np.diff(codes.astype(np.int64)) > 0)


def test_select_largest():
    blocks = partition_blocks(_cloud(), 4)
    top = select_largest(blocks, 5)
    sizes = sorted((len(b) for b in blocks), reverse=True)
    assert [len(b) for b in top] == sizes[:5]
    assert len(select_largest(blocks, 10_000)) == len(blocks)
    assert select_largest(blocks, 0) == []


def test_occupancy_round_trip():
    blocks = partition_blocks(_cloud(), 5)
    b = select_largest(blocks, 1)[0]
    grid = to_occupancy(b)
    assert grid.shape == (32, 32, 32) and grid.dtype == bool and grid.sum() == len(b)
    x, y, z = b.coords[0]
    assert grid[x, y, z]
    grid_f = to_occupancy(b, 32, dtype=np.float32)
    assert grid_f.dtype == np.float32 and grid_f.sum() == len(b)
    back = from_occupancy(grid_f, b.origin)
    np.testing.assert_array_equal(back.coords, b.coords)
    with pytest.raises(ValueError):
        to_occupancy(Block(np.zeros(3, np.int64), np.array([[40, 0, 0]], np.int32)), 32)


def test_empty_input():
    assert partition_blocks(np.zeros((0, 3), np.int64), 5) == []
    assert departition([]).shape == (0, 3)
