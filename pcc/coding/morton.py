"""Morton (Z-order) codes of integer 3D coordinates, vectorised in numpy.

The code interleaves the bits of ``x, y, z`` with ``x`` the most significant bit of each triple:
bit ``3i + 2`` is bit ``i`` of ``x``, ``3i + 1`` of ``y``, ``3i`` of ``z``. Sorting by the code
visits an octree depth-first, child index ``4 x_bit + 2 y_bit + z_bit`` (the order GEOv2's
``partition_octree`` and G-PCC use). Up to 21 bits per axis fit in a uint64.

The other bit order (``x`` in the *least* significant bit of each triple, bit ``3i + axis``, as
c3dgs's ``_sort_morton`` writes it) is the same interleaving of the reversed columns:
``morton_encode(coords[:, ::-1])``, and ``morton_decode(codes)[:, ::-1]`` inverts it.
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["morton_encode", "morton_decode", "morton_encode_reference", "MAX_BITS"]

MAX_BITS = 21


def _spread(v: np.ndarray) -> np.ndarray:
    """Insert two zero bits after every bit of a 21-bit value (uint64 in, uint64 out)."""
    v = v & np.uint64(0x1FFFFF)
    v = (v | (v << np.uint64(32))) & np.uint64(0x1F00000000FFFF)
    v = (v | (v << np.uint64(16))) & np.uint64(0x1F0000FF0000FF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x100F00F00F00F00F)
    v = (v | (v << np.uint64(4))) & np.uint64(0x10C30C30C30C30C3)
    v = (v | (v << np.uint64(2))) & np.uint64(0x1249249249249249)
    return v


def _compact(v: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_spread`: keep every third bit and pack them."""
    v = v & np.uint64(0x1249249249249249)
    v = (v | (v >> np.uint64(2))) & np.uint64(0x10C30C30C30C30C3)
    v = (v | (v >> np.uint64(4))) & np.uint64(0x100F00F00F00F00F)
    v = (v | (v >> np.uint64(8))) & np.uint64(0x1F0000FF0000FF)
    v = (v | (v >> np.uint64(16))) & np.uint64(0x1F00000000FFFF)
    v = (v | (v >> np.uint64(32))) & np.uint64(0x1FFFFF)
    return v


def morton_encode(coords: np.ndarray) -> np.ndarray:
    """Morton codes of non-negative integer coordinates.

    Args:
        coords: ``[N, 3]`` integers in ``[0, 2^21)``.
    Returns:
        ``[N]`` uint64.
    """
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ValueError(f"coords must be [N, 3], got {coords.shape}")
    if coords.size and (coords.min() < 0 or coords.max() >= (1 << MAX_BITS)):
        raise ValueError(f"coords must lie in [0, 2^{MAX_BITS}) for Morton codes")
    c = coords.astype(np.uint64)
    return (
        (_spread(c[:, 0]) << np.uint64(2)) | (_spread(c[:, 1]) << np.uint64(1)) | _spread(c[:, 2])
    )


def morton_decode(codes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`morton_encode`: ``[N]`` uint64 -> ``[N, 3]`` int64."""
    codes = np.asarray(codes, dtype=np.uint64)
    x = _compact(codes >> np.uint64(2))
    y = _compact(codes >> np.uint64(1))
    z = _compact(codes)
    return np.stack([x, y, z], axis=1).astype(np.int64)


def morton_encode_reference(coords: np.ndarray, bits: int = MAX_BITS) -> np.ndarray:
    """Slow bit-by-bit reference of :func:`morton_encode` (tests compare the two)."""
    coords = np.asarray(coords, dtype=np.int64)
    out = np.zeros(len(coords), dtype=np.uint64)
    for i, (x, y, z) in enumerate(coords.tolist()):
        code = 0
        for b in range(bits):
            code |= ((x >> b) & 1) << (3 * b + 2)
            code |= ((y >> b) & 1) << (3 * b + 1)
            code |= ((z >> b) & 1) << (3 * b)
        out[i] = code
    return out
