"""Occupancy octree: build and inverse, compared with a simple per-node reference."""

from __future__ import annotations

import numpy as np
import pytest

from pcc.pointcloud.octree import (
    build_octree,
    child_codes,
    level_codes,
    morton_decode,
    morton_encode,
    occupancy_from_codes,
    octree_to_coords,
)


def _reference_octree(coords: np.ndarray, bits: int) -> list[np.ndarray]:
    """Per-node dictionary construction: node (level, x, y, z) -> occupancy byte."""
    occupancy: dict[tuple[int, int, int, int], int] = {}
    for x, y, z in {tuple(int(v) for v in c) for c in coords}:
        for level in range(bits):
            shift = bits - level
            node = (level, x >> shift, y >> shift, z >> shift)
            child = (
                4 * ((x >> (shift - 1)) & 1)
                + 2 * ((y >> (shift - 1)) & 1)
                + ((z >> (shift - 1)) & 1)
            )
            occupancy[node] = occupancy.get(node, 0) | (1 << child)
    levels = []
    for level in range(bits):
        nodes = sorted((k for k in occupancy if k[0] == level), key=lambda k: _morton(k[1:], level))
        levels.append(np.array([occupancy[k] for k in nodes], dtype=np.uint8))
    return levels


def _morton(xyz, bits):
    code = 0
    for b in reversed(range(bits)):
        for v in xyz:
            code = (code << 1) | ((v >> b) & 1)
    return code


def _rows_set(a: np.ndarray) -> set:
    return {tuple(int(v) for v in r) for r in a}


def _sorted_rows(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    return a[np.lexsort(a.T[::-1])] if len(a) else a.reshape(0, 3)


@pytest.mark.parametrize("bits, n", [(1, 5), (3, 40), (6, 300), (10, 2000)])
def test_build_matches_reference_and_inverts(bits, n):
    rng = np.random.default_rng(bits)
    coords = rng.integers(0, 1 << bits, (n, 3))
    levels = build_octree(coords, bits)
    reference = _reference_octree(coords, bits)
    assert len(levels) == bits
    for got, want in zip(levels, reference):
        np.testing.assert_array_equal(got, want)
    back = octree_to_coords(levels, bits)
    np.testing.assert_array_equal(_sorted_rows(back), _sorted_rows(np.unique(coords, axis=0)))


def test_child_index_is_4x_2y_z():
    # the bit order is part of the bitstream format
    for (x, y, z), k in {(1, 0, 0): 4, (0, 1, 0): 2, (0, 0, 1): 1, (1, 1, 1): 7}.items():
        levels = build_octree(np.array([[x, y, z]]), 1)
        assert levels[0].tolist() == [1 << k]
    np.testing.assert_array_equal(morton_encode(np.array([[1, 0, 0], [0, 0, 1]])), [4, 1])


def test_empty_single_full_block_and_duplicates():
    empty = build_octree(np.zeros((0, 3), np.int64), 4)
    assert [lv.size for lv in empty] == [0, 0, 0, 0]
    assert octree_to_coords(empty, 4).shape == (0, 3)

    single = build_octree(np.array([[5, 0, 7]]), 3)
    assert [lv.size for lv in single] == [1, 1, 1]
    np.testing.assert_array_equal(octree_to_coords(single, 3), [[5, 0, 7]])

    k = 3
    grid = np.stack(np.meshgrid(*[np.arange(1 << k)] * 3, indexing="ij"), -1).reshape(-1, 3)
    full = build_octree(grid, k)
    assert [lv.size for lv in full] == [1, 8, 64]
    assert all(np.all(lv == 0xFF) for lv in full)

    dup = np.array([[1, 2, 3], [1, 2, 3], [0, 0, 0]])
    np.testing.assert_array_equal(
        _sorted_rows(octree_to_coords(build_octree(dup, 2), 2)), [[0, 0, 0], [1, 2, 3]]
    )


def test_level_codes_are_morton_sorted_and_consistent():
    rng = np.random.default_rng(3)
    coords = rng.integers(0, 64, (500, 3))
    levels = build_octree(coords, 6)
    codes = level_codes(levels, 6)
    for level, c in enumerate(codes):
        assert np.all(np.diff(c) > 0)  # strictly increasing Morton codes
        assert _rows_set(morton_decode(c)) == _rows_set(coords >> (6 - level))
    parents, occ = occupancy_from_codes(codes[-1])
    np.testing.assert_array_equal(parents, codes[-2])
    np.testing.assert_array_equal(occ, levels[-1])
    np.testing.assert_array_equal(child_codes(parents, occ), codes[-1])


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="lie in"):
        build_octree(np.array([[8, 0, 0]]), 3)
    with pytest.raises(ValueError, match="lie in"):
        build_octree(np.array([[-1, 0, 0]]), 3)
    with pytest.raises(ValueError, match="shape"):
        build_octree(np.zeros((4, 2), np.int64), 3)
    with pytest.raises(ValueError, match="integers"):
        build_octree(np.array([[0.5, 0, 0]]), 3)
    with pytest.raises(ValueError, match="depth"):
        build_octree(np.zeros((1, 3), np.int64), 0)
    with pytest.raises(ValueError, match="empty occupancy byte"):
        octree_to_coords([np.array([1], np.uint8), np.array([0], np.uint8)], 2)
    with pytest.raises(ValueError, match="bytes"):
        octree_to_coords([np.array([3], np.uint8), np.array([1], np.uint8)], 2)
