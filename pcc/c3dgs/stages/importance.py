"""Stage 1 of c3dgs: the sensitivity of every Gaussian and the thresholds derived from it.

:func:`sensitivity` computes colour and shape sensitivity over the training cameras (c3dgs
``calc_importance``, :mod:`pcc.c3dgs.sensitivity`); :func:`describe_sensitivity` turns them into
what the configuration will do (keep-exact thresholds of the VQ stages, :func:`keep_threshold`,
and the sensitivity-pruning count). Part of :mod:`pcc.c3dgs.stages`; taught in
``notebooks/01_sensitivity.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from pcc.c3dgs.presets import C3dgsConfig, VQConfig, get_preset
from pcc.c3dgs.prune import sensitivity_prune_mask
from pcc.c3dgs.sensitivity import Sensitivity, compute_sensitivity
from pcc.gaussians.model import GaussianModel
from pcc.io.cameras import Camera


def keep_threshold(importance: torch.Tensor, cfg: VQConfig) -> float:
    """The sensitivity above which a Gaussian keeps its exact features.

    ``cfg.keep_threshold`` if set (c3dgs's absolute "include" value); otherwise the value that
    keeps the ``cfg.keep_fraction`` most sensitive Gaussians; ``inf`` (keep none) if neither.
    """
    if cfg.keep_threshold is not None:
        return float(cfg.keep_threshold)
    n = importance.numel()
    if cfg.keep_fraction is None or n == 0 or cfg.keep_fraction <= 0:
        return math.inf
    n_keep = min(n, int(round(cfg.keep_fraction * n)))
    if n_keep == 0:
        return math.inf
    if n_keep >= n:
        return -math.inf
    return float(torch.sort(importance, descending=True).values[n_keep])


# --------------------------------------------------------------------------- 1. sensitivity
@dataclass
class SensitivityResult:
    """Per-Gaussian sensitivities and what the configuration makes of them (module docstring)."""

    color: torch.Tensor  # [N, 3 (deg+1)^2]
    shape: torch.Tensor  # [N, 6]
    color_importance: torch.Tensor  # [N]
    shape_importance: torch.Tensor  # [N]
    color_threshold: float
    shape_threshold: float
    color_kept_fraction: float  # of the Gaussians that survive sensitivity pruning
    shape_kept_fraction: float
    n_color_kept: int
    n_shape_kept: int
    prune_threshold: float
    n_pruned: int  # removed by sensitivity pruning at prune_threshold
    n_pixels: int
    n_views: int
    raw: Sensitivity

    def __len__(self) -> int:
        return int(self.color.shape[0])


def describe_sensitivity(raw: Sensitivity, cfg: C3dgsConfig, n_views: int) -> SensitivityResult:
    """Thresholds and kept fractions of a computed :class:`Sensitivity` under ``cfg``.

    The keep-exact thresholds are computed, as the VQ stages do, over the Gaussians that survive
    sensitivity pruning (with density pruning on, the VQ stages see slightly fewer).
    """
    ci, si = raw.color_importance, raw.shape_importance
    alive = sensitivity_prune_mask(ci, cfg.prune_threshold)
    c_thr = keep_threshold(ci[alive], cfg.color)
    s_thr = keep_threshold(si[alive], cfg.shape)
    n_alive = max(int(alive.sum()), 1)
    n_c = int((ci[alive] > c_thr).sum())
    n_s = int((si[alive] > s_thr).sum())
    return SensitivityResult(
        color=raw.color,
        shape=raw.shape,
        color_importance=ci,
        shape_importance=si,
        color_threshold=c_thr,
        shape_threshold=s_thr,
        color_kept_fraction=n_c / n_alive,
        shape_kept_fraction=n_s / n_alive,
        n_color_kept=n_c,
        n_shape_kept=n_s,
        prune_threshold=float(cfg.prune_threshold),
        n_pruned=int((~alive).sum()),
        n_pixels=raw.n_pixels,
        n_views=n_views,
        raw=raw,
    )


def sensitivity(
    model: GaussianModel,
    cameras: Sequence[Camera],
    config: C3dgsConfig | None = None,
    *,
    progress: bool | None = None,
) -> SensitivityResult:
    """Colour and shape sensitivity of every Gaussian over ``cameras`` (c3dgs ``calc_importance``).

    Rendered on a black background without colour clamping, as the reference; the images of the
    cameras are not needed. See :mod:`pcc.c3dgs.sensitivity` for the definition.
    """
    cfg = config or get_preset("default")
    raw = compute_sensitivity(model, cameras, progress=progress)
    return describe_sensitivity(raw, cfg, len(cameras))
