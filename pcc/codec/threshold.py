"""From decoded occupancy probabilities to voxels: top-k with the block's point count, or the
GEOv2 rate-distortion-optimal threshold.

* Top-k (DeepCompress / PCGCv2): the encoder sends k = number of points in the block; the
  decoder keeps the k voxels of largest logit. Ties are broken by the voxel's linear index
  (stable sort), so encoder and decoder pick the same set.
* RD-optimal threshold (GEOv2, Quach et al. 2020, ``model_opt.py``): the encoder tries the
  256 thresholds ``t_i = i / 255`` and sends the index whose reconstruction minimises the
  symmetric D1 mean squared error against the block's points. If even the best is worse than a
  single point at the block's centroid, the block decodes to nothing (index 255, GEOv2's guard).

Taught in ``notebooks/11_learned_codec.ipynb``.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

N_THRESHOLDS = 256
EMPTY_INDEX = N_THRESHOLDS - 1


def threshold_value(index: int) -> float:
    """The probability threshold sent as ``index`` (uint8): ``index / 255``."""
    if not 0 <= index < N_THRESHOLDS:
        raise ValueError(f"threshold index {index} outside [0, {N_THRESHOLDS})")
    return index / (N_THRESHOLDS - 1)


def topk_occupancy(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean occupancy of the ``k`` voxels with the largest logits (ties: lower index first).

    ``logits`` ``[S, S, S]`` -> ``[S, S, S]`` bool.
    """
    flat = logits.detach().reshape(-1).cpu().numpy()
    if not 0 <= k <= flat.size:
        raise ValueError(f"k = {k} outside [0, {flat.size}]")
    order = np.argsort(-flat, kind="stable")[:k]
    mask = np.zeros(flat.size, dtype=bool)
    mask[order] = True
    return torch.from_numpy(mask.reshape(logits.shape))


def threshold_occupancy(logits: torch.Tensor, index: int) -> torch.Tensor:
    """Boolean occupancy ``sigmoid(logits) > t_index`` (``[S, S, S]`` -> ``[S, S, S]``).

    The comparison is done on logits against ``logit(t)`` in float64 so that it does not depend
    on how ``sigmoid`` rounds; index 255 (t = 1) is always empty and index 0 (t = 0) always full.
    """
    if index == EMPTY_INDEX:
        return torch.zeros(logits.shape, dtype=torch.bool)
    t = threshold_value(index)
    flat = logits.detach().cpu().double()
    if index == 0:
        return torch.ones(logits.shape, dtype=torch.bool)
    return flat > float(np.log(t / (1 - t)))


def _symmetric_d1_mse(points: np.ndarray, tree: cKDTree, candidate: np.ndarray) -> float:
    """max(A->B, B->A) mean squared nearest-neighbour distance (points ``[N, 3]``, candidate ``[M, 3]``)."""
    d_ab, _ = cKDTree(candidate).query(points, k=1)
    d_ba, _ = tree.query(candidate, k=1)
    return max(float(np.mean(d_ab**2)), float(np.mean(d_ba**2)))


def rd_optimal_threshold(
    logits: torch.Tensor, points: np.ndarray, max_ratio: float | None = 4.0
) -> int:
    """GEOv2 threshold search: the index in [0, 255] minimising symmetric D1 MSE.

    ``logits`` ``[S, S, S]``, ``points`` ``[N, 3]`` int voxel coordinates inside the block.
    Thresholds that give the same voxel set are evaluated once (the sets are nested prefixes of
    the voxels sorted by probability). ``max_ratio`` skips thresholds that would output more than
    ``max_ratio * N`` voxels (GEOv2's ``max_deltas`` idea; None searches all 256).
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(points) == 0:
        return EMPTY_INDEX
    flat = logits.detach().reshape(-1).cpu().double().numpy()
    order = np.argsort(-flat, kind="stable")
    sorted_logits = flat[order]
    coords = np.stack(np.unravel_index(order, logits.shape), axis=1).astype(np.float64)
    tree = cKDTree(points)
    centroid_mse = float(np.mean(np.sum((points - points.mean(0)) ** 2, axis=1)))
    best_index, best_mse = EMPTY_INDEX, centroid_mse
    cache: dict[int, float] = {}
    for index in range(N_THRESHOLDS - 1):
        if index == 0:
            count = flat.size
        else:
            t = threshold_value(index)
            cut = float(np.log(t / (1 - t)))
            # number of voxels with logit > cut: sorted_logits is descending
            count = int(np.searchsorted(-sorted_logits, -cut, side="left"))
        if count == 0 or (max_ratio is not None and count > max_ratio * len(points)):
            continue
        if count not in cache:
            cache[count] = _symmetric_d1_mse(points, tree, coords[:count])
        if cache[count] < best_mse:
            best_index, best_mse = index, cache[count]
    return best_index
