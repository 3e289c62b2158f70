"""Voxelisation: real coordinates -> unique integer voxels in the ``2^bits`` cube, and back.

``voxelize`` maps points with ``round((p - offset) * scale)`` and removes duplicates. By default
``offset`` is the per-axis minimum and ``scale = (2^bits - 1) / longest side``, so the cloud keeps
its aspect ratio and its longest side spans the whole grid (the MPEG / GEOv2 ``vg_size``
recipe). Voxelising an already voxelised cloud that touches 0 and ``2^bits - 1`` on its longest
axis gives the same set (scale 1, offset 0). Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "VoxelTransform",
    "voxelize",
    "devoxelize",
    "quantize_coords",
    "quantize_positions",
    "dequantize_positions",
    "round_half_up",
    "unique_coords",
]


@dataclass(frozen=True)
class VoxelTransform:
    """``voxel = round((point - offset) * scale)``; ``point ~= voxel / scale + offset``."""

    scale: float
    offset: tuple[float, float, float]
    bits: int

    def as_dict(self) -> dict:
        return {"scale": self.scale, "offset": list(self.offset), "bits": self.bits}


def unique_coords(coords: np.ndarray) -> np.ndarray:
    """Unique integer coordinates sorted lexicographically by (x, y, z).

    Args:
        coords: ``[N, 3]`` integers in ``[0, 2^21)``.
    Returns:
        ``[M, 3]`` int32.
    """
    coords = np.asarray(coords, dtype=np.int64)
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ValueError(f"coords must be [N, 3], got {coords.shape}")
    if coords.size == 0:
        return np.zeros((0, 3), dtype=np.int32)
    if coords.min() < 0 or coords.max() >= (1 << 21):
        raise ValueError("coords must lie in [0, 2^21)")
    key = (coords[:, 0] << 42) | (coords[:, 1] << 21) | coords[:, 2]
    key = np.unique(key)
    mask = (1 << 21) - 1
    return np.stack([key >> 42, (key >> 21) & mask, key & mask], axis=1).astype(np.int32)


def voxelize(
    points: np.ndarray,
    bits: int,
    *,
    scale: float | None = None,
    offset: np.ndarray | None = None,
    clip: bool = False,
) -> tuple[np.ndarray, VoxelTransform]:
    """Normalise ``points`` into the ``2^bits`` cube, round, deduplicate.

    Args:
        points: ``[N, 3]`` real coordinates.
        bits: grid depth, 6..12 (a ``2^bits`` cube), up to 21 accepted.
        scale, offset: the transform; None = fit to the cloud (see the module docstring).
        clip: clamp voxels outside the cube instead of raising (only with a given transform).
    Returns:
        ``(coords [M, 3] int32 unique, sorted by (x, y, z), VoxelTransform)``.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be [N, 3], got {points.shape}")
    if not 1 <= bits <= 21:
        raise ValueError(f"bits must be in 1..21, got {bits}")
    if len(points) == 0:
        raise ValueError("cannot voxelise zero points")
    if not np.isfinite(points).all():
        raise ValueError("points contain NaN/inf")
    top = (1 << bits) - 1
    if offset is None:
        offset = points.min(axis=0)
    offset = np.asarray(offset, dtype=np.float64).reshape(3)
    if scale is None:
        extent = float((points.max(axis=0) - offset).max())
        scale = top / extent if extent > 0 else 1.0
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be positive and finite, got {scale}")
    # round half away from zero would differ from np.round's half-to-even only on exact .5
    q = np.floor((points - offset) * scale + 0.5)
    if q.min() < 0 or q.max() > top:
        if not clip:
            n_out = int(((q < 0) | (q > top)).any(axis=1).sum())
            raise ValueError(
                f"{n_out} points fall outside the 2^{bits} cube with this transform (clip=True clamps)"
            )
        q = np.clip(q, 0, top)
    coords = unique_coords(q.astype(np.int64))
    return coords, VoxelTransform(scale, tuple(float(o) for o in offset), int(bits))


def devoxelize(coords: np.ndarray, transform: VoxelTransform) -> np.ndarray:
    """Voxel coordinates back to the original frame: ``coords / scale + offset``.  ``[M, 3]`` float64."""
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ValueError(f"coords must be [M, 3], got {coords.shape}")
    return coords / transform.scale + np.asarray(transform.offset)


def round_half_up(x: np.ndarray) -> np.ndarray:
    """``floor(x + 0.5)`` as int64: the rounding of every position quantiser of pcc."""
    return np.floor(x + 0.5).astype(np.int64)


def quantize_positions(coords: np.ndarray, origin: np.ndarray, step: float) -> np.ndarray:
    """Positions ``[N, 3]`` -> quantised voxels ``round((c - origin) / step)`` int64 ``[N, 3]``.

    G-PCC's position quantisation (a uniform scalar quantiser on each axis; the octree coder's
    lossy mode). Duplicates are kept (the octree merges them); ``step = 1`` only shifts.
    """
    shifted = coords - origin
    if step == 1.0:
        return shifted
    return round_half_up(shifted / step)


def dequantize_positions(q: np.ndarray, origin: np.ndarray, step: float) -> np.ndarray:
    """Quantised voxels ``[M, 3]`` -> integer positions in the input grid ``round(q step) + origin``."""
    if step == 1.0:
        return q + origin
    return round_half_up(q * step) + origin


def quantize_coords(coords: np.ndarray, step: float) -> np.ndarray:
    """Coarser voxels: ``unique(round(coords / step))`` as int32 ``[M, 3]``.

    :func:`quantize_positions` on the grid's own origin, duplicates merged. The reconstruction
    in the original grid is ``q * step``; ``step = 2^k`` with ``floor`` instead of ``round``
    would be the octree's level ``bits - k``. Rounding keeps the grid centred on the input, so
    ``step = 1`` returns the input set unchanged.
    """
    if not step > 0:
        raise ValueError(f"step must be positive, got {step}")
    return unique_coords(round_half_up(np.asarray(coords, dtype=np.float64) / step))
