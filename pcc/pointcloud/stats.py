"""Numbers that describe a cloud and its octree: spacing, occupied children per node, per level.

They explain why one cloud compresses and another does not: a surface sampled finely fills about
4 of the 8 children of every octree node (a 2D manifold doubles its extent per axis twice per
level), a LiDAR sweep quickly reaches one child per node (isolated points), and every isolated
point then costs about 3 bits per remaining level. Taught in
``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pcc.pointcloud.octree import build_octree

__all__ = [
    "OccupancyScores",
    "OccupancyStats",
    "compare_voxel_sets",
    "nearest_neighbour_spacing",
    "occupancy_scores",
    "occupancy_stats",
]


@dataclass(frozen=True)
class OccupancyStats:
    """Occupied children per node, level by level (level 0 = the root)."""

    nodes: np.ndarray  # [L] occupied nodes at each level
    children: np.ndarray  # [L] occupied children (= nodes of the next level; last = voxels)
    histogram: np.ndarray  # [L, 9] nodes with 0..8 occupied children (column 0 is always 0)

    @property
    def children_per_node(self) -> np.ndarray:
        """``[L]`` mean occupied children per node."""
        return self.children / np.maximum(self.nodes, 1)

    @property
    def single_child_fraction(self) -> np.ndarray:
        """``[L]`` share of nodes with exactly one occupied child (isolated points)."""
        return self.histogram[:, 1] / np.maximum(self.nodes, 1)


def occupancy_stats(coords: np.ndarray, bits: int) -> OccupancyStats:
    """Occupancy statistics of the octree of integer voxels ``[N, 3]`` in ``[0, 2^bits)``."""
    levels = build_octree(np.asarray(coords), bits)
    nodes = np.array([lv.size for lv in levels], dtype=np.int64)
    hist = np.zeros((len(levels), 9), dtype=np.int64)
    for i, lv in enumerate(levels):
        if lv.size:
            counts = np.unpackbits(lv[:, None], axis=1).sum(axis=1)
            hist[i] = np.bincount(counts, minlength=9)
    children = (hist * np.arange(9)).sum(axis=1)
    return OccupancyStats(nodes=nodes, children=children, histogram=hist)


def nearest_neighbour_spacing(
    points: np.ndarray, max_points: int | None = 50_000, seed: int = 0
) -> np.ndarray:
    """Distance from each point to its nearest other point, for at most ``max_points`` points
    drawn at random (seeded) from ``points [N, 3]``; the neighbours are searched in the WHOLE
    cloud. Returns ``[M]`` float64 (in the cloud's units)."""
    from scipy.spatial import cKDTree

    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) < 2:
        raise ValueError(f"need at least two points of shape [N, 3], got {pts.shape}")
    query = pts
    if max_points is not None and len(pts) > max_points:
        idx = np.random.default_rng(seed).choice(len(pts), max_points, replace=False)
        query = pts[idx]
    dist, _ = cKDTree(pts).query(query, k=2)
    return dist[:, 1]


@dataclass(frozen=True)
class OccupancyScores:
    """How well predicted occupancy matches the true voxels (counts summed over all blocks)."""

    true_voxels: int  # occupied in the target
    predicted_voxels: int  # occupied in the prediction
    hits: int  # occupied in both

    @property
    def recall(self) -> float:
        """Share of the true voxels that were predicted."""
        return self.hits / self.true_voxels if self.true_voxels else 1.0

    @property
    def precision(self) -> float:
        """Share of the predicted voxels that are true."""
        return self.hits / self.predicted_voxels if self.predicted_voxels else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {
            "true_voxels": self.true_voxels,
            "predicted_voxels": self.predicted_voxels,
            "hits": self.hits,
            "recall": self.recall,
            "precision": self.precision,
            "f1": self.f1,
        }


def occupancy_scores(
    probabilities: np.ndarray, target: np.ndarray, threshold: float | None = 0.5
) -> OccupancyScores:
    """Compare occupancy probabilities ``[B, S, S, S]`` (any shape) with 0/1 ``target``.

    ``threshold``: a voxel is predicted occupied when its probability exceeds it; ``None`` keeps,
    per block (first axis), the ``k`` most likely voxels with ``k`` = the block's true count
    (top-k; ties broken by the lower flat index, as :func:`pcc.codec.threshold.topk_occupancy`).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    t = np.asarray(target) > 0.5
    if p.shape != t.shape:
        raise ValueError(f"probabilities {p.shape} and target {t.shape} differ")
    if threshold is not None:
        pred = p > float(threshold)
    else:
        flat_p = p.reshape(p.shape[0], -1)
        flat_t = t.reshape(t.shape[0], -1)
        pred = np.zeros_like(flat_t)
        for i in range(flat_p.shape[0]):
            k = int(flat_t[i].sum())
            if k:
                order = np.argsort(-flat_p[i], kind="stable")[:k]
                pred[i, order] = True
        pred = pred.reshape(t.shape)
    return OccupancyScores(int(t.sum()), int(pred.sum()), int((pred & t).sum()))


def compare_voxel_sets(reference: np.ndarray, decoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which decoded voxels are right, and which reference voxels were lost.

    ``reference [N, 3]`` and ``decoded [M, 3]`` non-negative integer voxels. Returns
    ``(hit [M] bool: decoded voxel is in the reference, missed [K, 3]: reference voxels absent from
    the decoded set)``: the three groups a lossy decoder's output splits into.
    """
    ref = np.asarray(reference, dtype=np.int64).reshape(-1, 3)
    dec = np.asarray(decoded, dtype=np.int64).reshape(-1, 3)
    both = np.concatenate([ref, dec]) if len(ref) + len(dec) else np.zeros((0, 3), np.int64)
    if both.size and both.min() < 0:
        raise ValueError("voxel coordinates must be non-negative")
    span = int(both.max()) + 1 if both.size else 1

    def key(a: np.ndarray) -> np.ndarray:
        return (a[:, 0] * span + a[:, 1]) * span + a[:, 2]

    k_ref, k_dec = key(ref), key(dec)
    return np.isin(k_dec, k_ref), ref[~np.isin(k_ref, k_dec)]
