"""The "keep exact above a threshold" split of sensitivity-aware VQ and its joined table.

c3dgs (a.5) keeps the features of the most sensitive Gaussians exact and clusters the others; the
stored table is ``[codebook ; kept originals]`` with one index per Gaussian. :func:`split_keep`
and :func:`join_table` are those two steps; :func:`pcc.c3dgs.vq.quantize_features` runs them
around the clustering. Taught in ``notebooks/03_vector_quantisation.ipynb``.
"""

from __future__ import annotations

import torch


def split_keep(importance: torch.Tensor, threshold: float) -> torch.Tensor:
    """Mask of the Gaussians kept exact: ``importance > threshold`` (c3dgs "include").  # [N] bool"""
    return importance > threshold


def join_table(
    centroids: torch.Tensor,
    kept: torch.Tensor,
    assignment: torch.Tensor,
    keep_mask: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The joined ``[codebook ; kept originals]`` table and one index per Gaussian (c3dgs a.5).

    Clustered Gaussians point into ``0..K-1``; kept ones to ``K + rank among the kept``.

    Args:
        centroids: ``[K, D]`` (``K`` may be 0 when every Gaussian is kept).
        kept: ``[n_keep, D]`` exact features of the kept Gaussians, in their original order.
        assignment: ``[N - n_keep]`` centroid index of every clustered Gaussian, in order.
        keep_mask: ``[N]`` bool.
    Returns:
        ``(table [K + n_keep, D], indices [N] int64)``.
    """
    n_keep = int(keep_mask.sum())
    if kept.shape[0] != n_keep or assignment.shape[0] != keep_mask.numel() - n_keep:
        raise ValueError(
            f"join_table: {kept.shape[0]} kept rows / {assignment.shape[0]} assignments do not "
            f"match a mask with {n_keep} of {keep_mask.numel()} kept"
        )
    k = centroids.shape[0]
    indices = torch.empty(keep_mask.numel(), dtype=torch.int64)
    indices[~keep_mask] = assignment.to(torch.int64)
    indices[keep_mask] = k + torch.arange(n_keep, dtype=torch.int64)
    return torch.cat([centroids, kept.to(centroids.dtype)], dim=0), indices
