"""Torch data sets of occupancy blocks ``[1, S, S, S]`` for training learned geometry codecs.

* :class:`BlockDataset` (map-style): the non-empty ``S^3`` blocks of a list of voxel clouds (e.g.
  ModelNet meshes voxelised with :func:`pcc.pointcloud.canonical.canonical_modelnet`), blocks with
  fewer than ``min_points`` points skipped, GEOv2's recipe (Quach et al. 2020) at a CPU-sized ``S``.
* :class:`ProceduralBlockDataset` (iterable): an endless stream of blocks cut from
  :mod:`pcc.pointcloud.shapes`, so training needs no data on disk.

Per-item augmentation uses the symmetries of the voxel grid, which are exact (no re-voxelisation):
``"up"`` = one of 4 rotations about the up axis (z) times an optional mirror (8 transforms),
``"cube"`` = all 48 axis permutations with flips. ``BlockDataset(up_rotations=n)`` adds ``n``
copies of every cloud rotated about the up axis by arbitrary angles (re-voxelised once, up
front). Randomness depends only on ``(seed, index)`` (map-style) or ``(seed, worker id)``
(iterable), never on global state. Taught in ``notebooks/11_learned_codec.ipynb``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from pcc.pointcloud.blocks import Block, partition_blocks
from pcc.pointcloud.shapes import shape_at
from pcc.pointcloud.voxelize import unique_coords

__all__ = [
    "BlockDataset",
    "ProceduralBlockDataset",
    "augment_coords",
    "occupancy_tensor",
    "rotate_about_up",
]

AUGMENTATIONS = (None, "up", "cube")


def augment_coords(
    coords: np.ndarray, size: int, rng: np.random.Generator, mode: str | None
) -> np.ndarray:
    """Apply a random grid symmetry to local block coordinates ``[n, 3]`` in ``[0, size)``.

    ``mode``: None (identity), ``"up"`` (rotation by k*90 degrees about z, then maybe mirror x),
    ``"cube"`` (random axis permutation and per-axis flips: the 48 symmetries of the cube).
    """
    if mode is None:
        return coords
    c = np.asarray(coords, dtype=np.int64).copy()
    top = size - 1
    if mode == "up":
        for _ in range(int(rng.integers(4))):  # (x, y) -> (top - y, x): 90 degrees about z
            c = np.stack([top - c[:, 1], c[:, 0], c[:, 2]], axis=1)
        if rng.random() < 0.5:
            c[:, 0] = top - c[:, 0]
    elif mode == "cube":
        c = c[:, rng.permutation(3)]
        flips = rng.random(3) < 0.5
        c[:, flips] = top - c[:, flips]
    else:
        raise ValueError(f"augmentation must be one of {AUGMENTATIONS}, got {mode!r}")
    return c.astype(np.int32)


def rotate_about_up(coords: np.ndarray, angle: float) -> np.ndarray:
    """Rotate an integer cloud ``[N, 3]`` by ``angle`` radians about the up (z) axis through the
    centre of its bounding box, round to voxels and deduplicate. The result is shifted back to
    non-negative coordinates (its minimum corner at the old one). Returns ``[M, 3]`` int32."""
    c = np.asarray(coords, dtype=np.float64)
    lo, hi = c.min(axis=0), c.max(axis=0)
    centre = (lo + hi) / 2
    cos, sin = np.cos(angle), np.sin(angle)
    x, y = c[:, 0] - centre[0], c[:, 1] - centre[1]
    rotated = np.stack([cos * x - sin * y + centre[0], sin * x + cos * y + centre[1], c[:, 2]], 1)
    q = np.floor(rotated + 0.5).astype(np.int64)
    q -= np.minimum(q.min(axis=0), lo.astype(np.int64)) - lo.astype(np.int64)
    return unique_coords(q)


def occupancy_tensor(coords: np.ndarray, size: int) -> torch.Tensor:
    """Local coordinates ``[n, 3]`` -> float occupancy ``[1, S, S, S]`` indexed ``[0, x, y, z]``."""
    grid = torch.zeros((1, size, size, size), dtype=torch.float32)
    if len(coords):
        c = torch.from_numpy(np.asarray(coords, dtype=np.int64))
        grid[0, c[:, 0], c[:, 1], c[:, 2]] = 1.0
    return grid


def _check_size(block_size: int) -> int:
    bits = int(block_size).bit_length() - 1
    if block_size <= 0 or (1 << bits) != block_size:
        raise ValueError(f"block_size must be a power of two, got {block_size}")
    return bits


class BlockDataset(Dataset):
    """Occupancy blocks ``[1, S, S, S]`` float32 from a list of integer clouds.

    Args:
        clouds: ``[N_i, 3]`` integer coordinate arrays (non-negative).
        block_size: S, a power of two (default 32).
        min_points: blocks with fewer points are skipped.
        augment: None, ``"up"`` or ``"cube"`` (see :func:`augment_coords`).
        seed: item ``i`` is augmented with ``default_rng([seed, epoch, i])``; call
            :meth:`set_epoch` to draw new augmentations each epoch.
        max_blocks: keep only the largest ``max_blocks`` blocks (GEOv2 keeps the 4000 largest).
        up_rotations: also cut blocks from ``up_rotations`` copies of every cloud rotated about
            the up axis by random angles (``default_rng([seed, cloud index])``), re-voxelised by
            :func:`rotate_about_up`; arbitrary angles that grid symmetries cannot produce.
    """

    def __init__(
        self,
        clouds: Sequence[np.ndarray],
        block_size: int = 32,
        *,
        min_points: int = 16,
        augment: str | None = "up",
        seed: int = 0,
        max_blocks: int | None = None,
        up_rotations: int = 0,
    ):
        if augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {augment!r}")
        bits = _check_size(block_size)
        self.block_size, self.augment, self.seed, self.epoch = block_size, augment, int(seed), 0
        blocks: list[Block] = []
        for i, cloud in enumerate(clouds):
            versions = [cloud]
            if up_rotations:
                angles = np.random.default_rng([self.seed, i]).uniform(0, 2 * np.pi, up_rotations)
                versions += [rotate_about_up(cloud, a) for a in angles]
            for version in versions:
                blocks += [b for b in partition_blocks(version, bits) if len(b) >= min_points]
        if max_blocks is not None:
            order = np.argsort(-np.array([len(b) for b in blocks]), kind="stable")[:max_blocks]
            blocks = [blocks[i] for i in sorted(order)]
        if not blocks:
            raise ValueError(f"no block of {block_size}^3 holds >= {min_points} points")
        self.blocks = blocks

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, index: int) -> torch.Tensor:
        block = self.blocks[index]
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        coords = augment_coords(block.coords, self.block_size, rng, self.augment)
        return occupancy_tensor(coords, self.block_size)  # [1, S, S, S]


class ProceduralBlockDataset(IterableDataset):
    """An endless (or ``num_blocks``-long) stream of occupancy blocks from procedural shapes.

    Worker ``w`` of ``W`` data-loader workers takes shapes ``w, w + W, ...`` of the
    :func:`pcc.pointcloud.shapes.shape_at` stream with ``seed``; each shape (``shape_bits`` grid)
    is cut into ``S^3`` blocks, blocks with fewer than ``min_points`` points are skipped and the
    rest are augmented with ``default_rng([seed, shape index])``. The output therefore depends
    only on ``seed`` and the worker split. With ``num_blocks`` each worker yields its share.
    """

    def __init__(
        self,
        block_size: int = 32,
        *,
        shape_bits: int = 6,
        min_points: int = 16,
        augment: str | None = "cube",
        seed: int = 0,
        num_blocks: int | None = None,
    ):
        if augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {augment!r}")
        self.block_bits = _check_size(block_size)
        if shape_bits < self.block_bits:
            raise ValueError(f"shape_bits {shape_bits} < block bits {self.block_bits}")
        self.block_size, self.shape_bits = block_size, int(shape_bits)
        self.min_points, self.augment, self.seed = int(min_points), augment, int(seed)
        self.num_blocks = num_blocks

    def iter_blocks(self, worker: int = 0, n_workers: int = 1) -> Iterator[np.ndarray]:
        """Local coordinates ``[n, 3]`` of the blocks this worker yields, augmented."""
        index, barren = worker, 0
        while True:
            coords = shape_at(self.seed, index, self.shape_bits)
            rng = np.random.default_rng([self.seed, index, 1])
            found = False
            for block in partition_blocks(coords, self.block_bits):
                if len(block) >= self.min_points:
                    found = True
                    yield augment_coords(block.coords, self.block_size, rng, self.augment)
            barren = 0 if found else barren + 1
            if barren >= 100:  # never hang on an impossible min_points
                raise ValueError(
                    f"100 shapes in a row gave no {self.block_size}^3 block with "
                    f">= {self.min_points} points"
                )
            index += n_workers

    def __iter__(self) -> Iterator[torch.Tensor]:
        info = get_worker_info()
        worker, n_workers = (0, 1) if info is None else (info.id, info.num_workers)
        limit = None
        if self.num_blocks is not None:
            limit = self.num_blocks // n_workers + (
                1 if worker < self.num_blocks % n_workers else 0
            )
        for count, coords in enumerate(self.iter_blocks(worker, n_workers)):
            if limit is not None and count >= limit:
                return
            yield occupancy_tensor(coords, self.block_size)  # [1, S, S, S]
