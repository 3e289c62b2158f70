"""Pruning before vector quantisation: by sensitivity (c3dgs a.4) and by spatial density (a.13).

Both functions return boolean *keep* masks over the Gaussians so that callers (and the plots of
``notebooks/02_pruning.ipynb``) can show kept against pruned Gaussians.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree


def sensitivity_prune_mask(color_importance: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """Keep the Gaussians with ``color_importance > threshold`` (c3dgs ``prune_threshold``).

    The default ``0.0`` removes exactly the Gaussians that contribute to no training pixel; a
    negative threshold disables pruning (every Gaussian is kept).

    Args:
        color_importance: ``[N]`` per-Gaussian colour sensitivity (max over SH entries).
    Returns:
        ``[N]`` bool keep mask.
    """
    if threshold < 0:
        return torch.ones_like(color_importance, dtype=torch.bool)
    return color_importance > threshold


def nearest_neighbor_distance(means: torch.Tensor, k: int = 1) -> torch.Tensor:
    """Distance of every point to its ``k``-th nearest other point (world units).  # [N]"""
    pts = means.detach().double().cpu().numpy()
    if len(pts) <= k:
        return torch.zeros(len(pts), dtype=means.dtype)
    d, _ = cKDTree(pts).query(pts, k=k + 1)
    return torch.from_numpy(d[:, k]).to(means.dtype)


def default_density_radius(means: torch.Tensor, factor: float = 2.0) -> float:
    """A density radius in world units: ``factor`` times the median nearest-neighbour distance.

    The reference notebook used a dimensionless angular size as a world radius (brief g.17); here
    the radius is a length in the scene's own units, tied to its typical Gaussian spacing.
    """
    nn = nearest_neighbor_distance(means)
    return float(factor * nn.median()) if nn.numel() else 0.0


@dataclass
class DensityPruneResult:
    """Outcome of :func:`density_prune_mask`.

    Attributes:
        keep: ``[N]`` bool keep mask.
        counts: ``[N]`` int64 neighbours within ``radius`` (the point itself excluded).
        threshold: the adaptive count threshold ``tau``.
        radius: the radius used, in world units.
    """

    keep: torch.Tensor
    counts: torch.Tensor
    threshold: float
    radius: float


def density_prune_mask(
    means: torch.Tensor,
    radius: float | None = None,
    std_factor: float = 1.0,
    min_threshold: float = 3.0,
    workers: int = 1,
) -> DensityPruneResult:
    """Spatial density pruning of the c3dgs notebook fork, vectorised.

    Every Gaussian's neighbours within ``radius`` (world units; default
    :func:`default_density_radius`) are counted with one KD-tree ball query (no Python loop); the
    adaptive threshold is ``tau = max(mean + std_factor * std, min_threshold)`` over the counts, and
    Gaussians with more than ``tau`` neighbours are pruned (they sit in over-dense clumps).

    Args:
        means: ``[N, 3]`` positions.
    Returns:
        :class:`DensityPruneResult`.
    """
    n = means.shape[0]
    if radius is None:
        radius = default_density_radius(means)
    if n == 0 or radius <= 0:
        return DensityPruneResult(
            torch.ones(n, dtype=torch.bool), torch.zeros(n, dtype=torch.int64), float("inf"), radius
        )
    pts = means.detach().double().cpu().numpy()
    tree = cKDTree(pts)
    counts = np.asarray(tree.query_ball_point(pts, r=radius, return_length=True, workers=workers))
    counts = torch.from_numpy(counts.astype(np.int64) - 1)
    c = counts.double()
    tau = max(float(c.mean() + std_factor * c.std(unbiased=False)), float(min_threshold))
    return DensityPruneResult(counts <= tau, counts, tau, float(radius))


def threshold_for_fraction(importance: torch.Tensor, fraction: float) -> float:
    """The ``prune_threshold`` that removes (about) ``fraction`` of the Gaussians.

    Returns the importance value at that quantile (Gaussians with ``importance > threshold`` are
    kept, so ties at the threshold are removed together); ``-1`` (prune nothing) for
    ``fraction <= 0``.
    """
    n = importance.numel()
    if fraction <= 0 or n == 0:
        return -1.0
    k = min(n, max(1, int(round(fraction * n))))
    return float(torch.sort(importance.flatten()).values[k - 1])


def removal_order(importance: torch.Tensor, strategy: str, seed: int = 0) -> torch.Tensor:
    """The order in which Gaussians are removed: ``"least-sensitive"`` first (what raising
    ``prune_threshold`` does), ``"most-sensitive"`` first, or ``"random"``.  # [N] int64"""
    n = importance.numel()
    if strategy == "least-sensitive":
        return torch.sort(importance.flatten(), stable=True).indices
    if strategy == "most-sensitive":
        return torch.sort(importance.flatten(), descending=True, stable=True).indices
    if strategy == "random":
        return torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    raise ValueError(
        f"unknown strategy {strategy!r}; choose least-sensitive, most-sensitive or random"
    )
