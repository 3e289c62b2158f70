"""Rate-distortion loss of the block codec: focal loss on occupancy + lambda * bits per occupied voxel.

Focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017) with GEOv2's
alpha-balancing and clipping (Quach et al. 2020, arXiv 2006.09043):

    FL = - sum_{x=1} alpha (1-p)^gamma log p - sum_{x=0} (1-alpha) p^gamma log(1-p),

p clipped to [1e-3, 0.999] (here: the logits are clamped to the same range, which is the same
function and the same zero gradient outside it). GEOv2 defaults: alpha = 0.75 (c4-c6), gamma = 2.

Convention (the issue's, *not* GEOv2's): ``loss = D + lambda * R`` with
``D = FL / N_occupied`` (focal loss per occupied voxel) and ``R = bits / N_occupied`` (estimated
bits, -sum log2 p over all latents, per occupied voxel), so a larger lambda gives a lower rate.
GEOv2's ``lambda_geo * FL_sum + R`` ranks the same models with ``lambda = 1 / lambda_geo`` (up to
the constant factor ``N_occupied`` per batch).

Taught in ``notebooks/11_learned_codec.ipynb`` (focal loss) and ``notebooks/13_training.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

P_MIN, P_MAX = 1e-3, 0.999
_LOGIT_MIN, _LOGIT_MAX = math.log(P_MIN / (1 - P_MIN)), math.log(P_MAX / (1 - P_MAX))


def focal_loss(
    logits: torch.Tensor,  # [B, 1, S, S, S] occupancy logits
    target: torch.Tensor,  # [B, 1, S, S, S] 0/1
    alpha: float = 0.75,
    gamma: float = 2.0,
) -> torch.Tensor:
    """Alpha-balanced focal loss summed over all voxels (GEOv2), on logits clipped like p."""
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ")
    logits = logits.float().clamp(_LOGIT_MIN, _LOGIT_MAX)
    target = target.to(logits.dtype)
    p = torch.sigmoid(logits)
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    pos = alpha * (1 - p).pow(gamma) * log_p
    neg = (1 - alpha) * p.pow(gamma) * log_not_p
    return -(target * pos + (1 - target) * neg).sum()


def estimated_bits(likelihoods: dict[str, torch.Tensor]) -> torch.Tensor:
    """-sum log2 p over every likelihood tensor (y, z, ...): the estimated rate in bits."""
    total = None
    for value in likelihoods.values():
        bits = -torch.log2(value.float()).sum()
        total = bits if total is None else total + bits
    if total is None:
        raise ValueError("no likelihoods given")
    return total


@dataclass
class RDTerms:
    """The terms of one loss evaluation (all scalars, ``loss`` carries the gradient)."""

    loss: torch.Tensor
    distortion: torch.Tensor  # focal loss per occupied voxel
    bits_per_occupied: torch.Tensor  # estimated bits per occupied voxel
    occupied: int


def rate_distortion_loss(
    logits: torch.Tensor,  # [B, 1, S, S, S]
    target: torch.Tensor,  # [B, 1, S, S, S]
    likelihoods: dict[str, torch.Tensor],
    lmbda: float,
    alpha: float = 0.75,
    gamma: float = 2.0,
) -> RDTerms:
    """``FL / N_occ + lmbda * bits / N_occ`` for one batch (see the module docstring)."""
    occupied = int(target.sum().item())
    denom = max(occupied, 1)
    distortion = focal_loss(logits, target, alpha, gamma) / denom
    bpov = estimated_bits(likelihoods) / denom
    return RDTerms(distortion + lmbda * bpov, distortion.detach(), bpov.detach(), occupied)
