"""Occupancy octree of an integer voxel set, built and inverted level by level (vectorised numpy).

A voxel set in the cube ``[0, 2^bits)^3`` is described exactly by an *occupancy octree*: the root
cell is split into 8 children, every occupied cell is split again, down to single voxels. Each
occupied internal node is summarised by one **occupancy byte** whose bit ``k`` says whether child
``k`` is occupied, with the child index ``k = 4 * (x & 1) + 2 * (y & 1) + (z & 1)``.

Nodes of one level are listed in **Morton order** (bits of x, y, z interleaved, x most significant
in every triple). Sorting the Morton codes of a level gives a breadth-first traversal in which the
children of a node are contiguous and in child-index order, so

* the parent of a node with code ``c`` has code ``c >> 3`` and the child index is ``c & 7``;
* the occupancy bytes of a level are a bitwise OR over runs of equal parent codes
  (``np.bitwise_or.reduceat``), with no Python loop per node;
* the inverse expands each byte into its set bits (``np.unpackbits``) and appends them to the
  parent code.

This is the structure coded by MPEG G-PCC (Schwarz et al., "Emerging MPEG standards for point cloud
compression", IEEE JETCAS 2019) and by :mod:`pcc.pointcloud.octree_codec`; GEOv2 (Quach et al.
2020) stores the top levels of the same tree raw.
Taught (and coded) in ``notebooks/10_point_clouds_and_octrees.ipynb``.

Morton codes come from :mod:`pcc.coding.morton`; its bit order (x most significant, child
index ``4 x + 2 y + z``) is part of the octree bitstream format, and ``tests/test_pc_octree.py``
pins it.
"""

from __future__ import annotations

import numpy as np

from pcc.coding import morton as _morton

MAX_BITS = 21  # 3 * 21 = 63 bits fit in an int64 Morton code


def _check_bits(bits: int) -> int:
    bits = int(bits)
    if not 1 <= bits <= MAX_BITS:
        raise ValueError(f"octree depth must be in 1..{MAX_BITS} bits per axis, got {bits}")
    return bits


def morton_encode(coords: np.ndarray) -> np.ndarray:
    """Morton codes int64 ``[N]`` of non-negative integer coordinates ``[N, 3]`` (x most significant)."""
    return _morton.morton_encode(np.asarray(coords)).astype(np.int64)


def morton_decode(codes: np.ndarray) -> np.ndarray:
    """Integer coordinates ``[N, 3]`` int64 of Morton codes ``[N]`` (inverse of :func:`morton_encode`)."""
    return _morton.morton_decode(np.asarray(codes, dtype=np.int64).astype(np.uint64))


def check_coords(coords: np.ndarray, bits: int) -> np.ndarray:
    """Validate an integer voxel array ``[N, 3]`` inside ``[0, 2^bits)^3``; return it as int64."""
    bits = _check_bits(bits)
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ValueError(f"voxel coordinates must have shape [N, 3], got {coords.shape}")
    if coords.size and not np.issubdtype(coords.dtype, np.integer):
        if not np.all(np.isfinite(coords)) or np.any(coords != np.round(coords)):
            raise ValueError("voxel coordinates must be integers")
    coords = coords.astype(np.int64)
    if coords.size and (coords.min() < 0 or coords.max() >= (1 << bits)):
        raise ValueError(
            f"voxel coordinates must lie in [0, {1 << bits}) for a {bits}-bit octree, "
            f"got range [{coords.min()}, {coords.max()}]"
        )
    return coords


def sorted_unique_codes(coords: np.ndarray, bits: int) -> np.ndarray:
    """Sorted unique Morton codes int64 ``[M]`` of the voxels ``[N, 3]`` (duplicates merged)."""
    coords = check_coords(coords, bits)
    codes = np.sort(morton_encode(coords))
    if codes.size:
        codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
    return codes


def occupancy_from_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parents and occupancy bytes of one level.

    ``codes`` int64 ``[N]`` are the sorted unique Morton codes of the nodes of level ``l + 1``.
    Returns ``(parent_codes int64 [P], occupancy uint8 [P])`` of level ``l``, both in Morton order.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.uint8)
    parents = codes >> 3
    starts = np.flatnonzero(np.concatenate(([True], parents[1:] != parents[:-1])))
    child_bits = np.left_shift(1, codes & 7).astype(np.uint8)
    occupancy = np.bitwise_or.reduceat(child_bits, starts).astype(np.uint8)
    return parents[starts], occupancy


def child_codes(codes: np.ndarray, occupancy: np.ndarray) -> np.ndarray:
    """Expand one level: node codes int64 ``[P]`` + occupancy bytes uint8 ``[P]`` -> sorted child codes."""
    codes = np.asarray(codes, dtype=np.int64)
    occupancy = np.asarray(occupancy, dtype=np.uint8)
    if codes.shape != occupancy.shape:
        raise ValueError(f"{codes.shape[0]} nodes but {occupancy.shape[0]} occupancy bytes")
    child_bits = np.unpackbits(occupancy[:, None], axis=1, bitorder="little")  # [P, 8]
    rows, cols = np.nonzero(child_bits)
    return (codes[rows] << 3) | cols.astype(np.int64)


def build_octree(coords: np.ndarray, bits: int) -> list[np.ndarray]:
    """Occupancy bytes of every level of the octree of a voxel set.

    ``coords``: integer voxels ``[N, 3]`` in ``[0, 2^bits)^3`` (duplicates are merged).
    Returns ``bits`` arrays of uint8; array ``l`` holds one byte per occupied node of level ``l``
    (level 0 = the root, a single node unless the set is empty), in Morton order.
    """
    bits = _check_bits(bits)
    codes = sorted_unique_codes(coords, bits)
    levels: list[np.ndarray] = []
    for _ in range(bits):
        codes, occupancy = occupancy_from_codes(codes)
        levels.append(occupancy)
    return levels[::-1]


def level_codes(levels: list[np.ndarray], bits: int) -> list[np.ndarray]:
    """Morton codes of the nodes of every level ``0..bits`` (the last entry holds the voxels)."""
    bits = _check_bits(bits)
    if len(levels) != bits:
        raise ValueError(f"a {bits}-bit octree has {bits} levels, got {len(levels)}")
    first = np.asarray(levels[0])
    if first.size > 1:
        raise ValueError(f"the root level holds at most one node, got {first.size}")
    codes = np.zeros(first.size, np.int64)
    out = [codes]
    for level, occupancy in enumerate(levels):
        occupancy = np.asarray(occupancy, dtype=np.uint8)
        if occupancy.size != codes.size:
            raise ValueError(f"level {level} has {codes.size} nodes but {occupancy.size} bytes")
        if np.any(occupancy == 0):
            raise ValueError(
                f"level {level} has an empty occupancy byte (an occupied node with no child)"
            )
        codes = child_codes(codes, occupancy)
        out.append(codes)
    return out


def octree_to_coords(levels: list[np.ndarray], bits: int) -> np.ndarray:
    """Inverse of :func:`build_octree`: the exact voxel set ``[M, 3]`` int32 in Morton order."""
    codes = level_codes(levels, bits)[-1]
    return morton_decode(codes).astype(np.int32)
