"""Training data of the block codec: occupancy blocks ``[N, S, S, S]`` and the batch order.

Blocks come from procedural shapes (:mod:`pcc.pointcloud.dataset`, optionally cached as npz) or
an npz file; batches are a deterministic function of (seed, step, rank), so a resumed run sees
the same data as an uninterrupted one and DDP ranks see disjoint slices of one global batch.

Taught in ``notebooks/13_training.ipynb``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.atomic import atomic_path

__all__ = ["procedural_blocks", "load_blocks", "batch_indices"]


def procedural_blocks(
    count: int,
    block_size: int,
    seed: int,
    shape_bits: tuple[int, ...] = (7, 8),
    min_points: int = 32,
    augment: str | None = "cube",
) -> np.ndarray:
    """``count`` occupancy blocks ``[count, S, S, S]`` uint8 cut from procedural shapes.

    The pool is split evenly over the grid sizes ``shape_bits``; for each, blocks come from
    :class:`pcc.pointcloud.dataset.ProceduralBlockDataset` (shapes of :mod:`pcc.pointcloud.shapes`
    cut into ``S^3`` blocks with at least ``min_points`` points, augmented by grid symmetries).
    A pure function of its arguments.
    """
    from pcc.pointcloud.dataset import ProceduralBlockDataset

    out = np.zeros((count, block_size, block_size, block_size), dtype=np.uint8)
    shares = np.array_split(np.arange(count), len(shape_bits))
    for part, (bits, rows) in enumerate(zip(shape_bits, shares)):
        source = ProceduralBlockDataset(
            block_size,
            shape_bits=int(bits),
            min_points=min_points,
            augment=augment,
            seed=int(seed) * 16 + part,
        )
        stream = source.iter_blocks()
        for row in rows:
            coords = next(stream)  # [n, 3] local coordinates
            out[row, coords[:, 0], coords[:, 1], coords[:, 2]] = 1
    return out


def load_blocks(data: dict, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation blocks ``[N, S, S, S]`` uint8 as configured in ``data``."""
    if data["source"] == "npz":
        path = data["path"]
        try:
            with np.load(path, allow_pickle=False) as f:
                blocks = np.asarray(f["blocks"], dtype=np.uint8)
        except (OSError, KeyError, ValueError) as err:
            raise FormatError(path, f"cannot read blocks: {err}") from None
        if blocks.ndim != 4 or blocks.shape[1:] != (block_size,) * 3:
            raise FormatError(path, f"blocks must be [N, {block_size}^3], got {blocks.shape}")
        n_val = int(data["val_blocks"])
        if len(blocks) <= n_val:
            raise FormatError(
                path, f"{len(blocks)} blocks leave none for training after {n_val} val"
            )
        return blocks[n_val:], blocks[:n_val]
    if data["source"] == "procedural":
        cache = _cache_path(data, block_size)
        if cache is not None and cache.is_file():
            with np.load(cache, allow_pickle=False) as f:
                return f["train"], f["val"]
        seed, bits, low = int(data["seed"]), tuple(data["shape_bits"]), int(data["min_points"])
        aug = data["augment"]
        train = procedural_blocks(int(data["train_blocks"]), block_size, seed, bits, low, aug)
        # validation shapes come from another seed: never seen in training
        val = procedural_blocks(int(data["val_blocks"]), block_size, seed + 1000, bits, low, aug)
        if cache is not None:
            with atomic_path(cache) as tmp:
                with open(tmp, "wb") as f:
                    np.savez_compressed(f, train=train, val=val)
        return train, val
    raise ValueError(f"unknown data source {data['source']!r} (procedural or npz)")


def _cache_path(data: dict, block_size: int) -> Path | None:
    """Where a procedural pool is cached (``data.cache_dir``; None disables the cache)."""
    if not data.get("cache_dir"):
        return None
    keys = ("train_blocks", "val_blocks", "min_points", "shape_bits", "augment", "seed")
    text = json.dumps({k: data[k] for k in keys} | {"block_size": block_size}, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Path(data["cache_dir"]) / f"blocks_{digest}.npz"


def batch_indices(n: int, step: int, batch: int, rank: int, world: int, seed: int) -> np.ndarray:
    """Indices of this rank's batch at ``step``: epochs are seeded permutations of ``range(n)``,
    the global batch ``batch * world`` is cut in ``world`` slices (deterministic, resumable)."""
    global_batch = batch * world
    start = step * global_batch
    out = []
    while len(out) < global_batch:
        epoch, offset = divmod(start + len(out), n)
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        take = min(global_batch - len(out), n - offset)
        out.extend(perm[offset : offset + take].tolist())
    return np.asarray(out[rank * batch : (rank + 1) * batch])
