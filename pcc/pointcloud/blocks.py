"""Octree blocks: cut a voxelised cloud into ``2^block_bits`` cubes and back.

GEOv2 / DeepCompress code each non-empty block separately (Quach et al. 2020, "Improved deep point
cloud geometry compression"); blocks are listed in Morton order of their origins, so the block
structure itself is an octree over block indices. Taught in ``notebooks/11_learned_codec.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pcc.coding.morton import morton_encode
from pcc.pointcloud.voxelize import unique_coords

__all__ = [
    "Block",
    "partition_blocks",
    "departition",
    "select_largest",
    "to_occupancy",
    "from_occupancy",
]


@dataclass
class Block:
    """One non-empty block: its origin in the full grid and its points in local coordinates."""

    origin: np.ndarray  # [3] int64, a multiple of the block size
    coords: np.ndarray  # [n, 3] int32 in [0, size), unique, sorted by (x, y, z)
    size: int = 0  # edge length 2^block_bits (0 = unknown)

    def __len__(self) -> int:
        return len(self.coords)

    def global_coords(self) -> np.ndarray:
        """The block's points in the full grid.  ``[n, 3]`` int64."""
        return self.coords.astype(np.int64) + self.origin


def partition_blocks(coords: np.ndarray, block_bits: int) -> list[Block]:
    """Split ``coords [N, 3]`` (non-negative ints) into blocks of edge ``2^block_bits``.

    Returns the non-empty blocks in Morton order of their origins; duplicate points are merged.
    """
    coords = unique_coords(coords).astype(np.int64)  # [N, 3]
    if block_bits < 0:
        raise ValueError(f"block_bits must be >= 0, got {block_bits}")
    if len(coords) == 0:
        return []
    index = coords >> block_bits  # [N, 3] block index of every point
    codes = morton_encode(index)
    order = np.lexsort((coords[:, 2], coords[:, 1], coords[:, 0], codes))
    codes, coords, index = codes[order], coords[order], index[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    size = 1 << block_bits
    blocks = []
    for s, e in zip(starts, ends):
        origin = index[s] << block_bits
        blocks.append(Block(origin, (coords[s:e] - origin).astype(np.int32), size))
    return blocks


def departition(blocks: list[Block]) -> np.ndarray:
    """All blocks' points in the full grid, unique and sorted by (x, y, z).  ``[N, 3]`` int32."""
    if not blocks:
        return np.zeros((0, 3), dtype=np.int32)
    return unique_coords(np.concatenate([b.global_coords() for b in blocks]))


def select_largest(blocks: list[Block], n: int) -> list[Block]:
    """The ``n`` blocks with the most points, largest first (ties keep Morton order)."""
    counts = np.array([len(b) for b in blocks])
    order = np.argsort(-counts, kind="stable")[: max(0, int(n))]
    return [blocks[i] for i in order]


def to_occupancy(block: Block, size: int | None = None, dtype=bool) -> np.ndarray:
    """Dense occupancy grid of a block.  ``[S, S, S]`` indexed ``[x, y, z]``, ``dtype`` bool/float."""
    size = int(size or block.size)
    if size <= 0:
        raise ValueError("block size unknown: pass size")
    c = block.coords
    if len(c) and (c.min() < 0 or c.max() >= size):
        raise ValueError(f"block coordinates do not fit a {size}^3 grid")
    grid = np.zeros((size, size, size), dtype=dtype)
    grid[c[:, 0], c[:, 1], c[:, 2]] = 1
    return grid


def from_occupancy(grid: np.ndarray, origin=(0, 0, 0), threshold: float = 0.5) -> Block:
    """Inverse of :func:`to_occupancy`: voxels with ``grid > threshold`` (bool: True) as a Block."""
    grid = np.asarray(grid)
    occ = grid if grid.dtype == bool else grid > threshold
    coords = np.argwhere(occ).astype(np.int32)  # sorted by (x, y, z) already
    return Block(np.asarray(origin, dtype=np.int64), coords, grid.shape[0])
