"""Stage 2 of c3dgs: pruning by sensitivity (and optionally by density), and pruning curves.

:func:`prune` applies the configured pruning and reports masks and counts; :func:`pruning_curve`
measures quality after removing growing fractions of the Gaussians in sensitivity (or random)
order, without fine-tuning. Part of :mod:`pcc.c3dgs.stages`; taught in
``notebooks/02_pruning.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pcc.c3dgs.presets import C3dgsConfig, get_preset
from pcc.c3dgs.prune import density_prune_mask, sensitivity_prune_mask
from pcc.c3dgs.sensitivity import Sensitivity
from pcc.c3dgs.stages.importance import SensitivityResult
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.quality import evaluate_views
from pcc.io.cameras import Camera
from pcc.progress import progress_bar


@dataclass
class PruneResult:
    """Masks and counts of sensitivity and density pruning (module docstring)."""

    keep: torch.Tensor  # [N] bool
    sensitivity_keep: torch.Tensor  # [N] bool
    density_keep: torch.Tensor | None  # [N] bool, False only where density pruning removed
    neighbor_counts: torch.Tensor | None  # [N] int64, -1 where not counted
    density_radius: float | None
    density_threshold: float | None
    n_before: int
    n_after_sensitivity: int
    n_after: int
    kept_positions: np.ndarray  # [n_after, 3]
    removed_positions: np.ndarray  # [n_before - n_after, 3]
    model: GaussianModel
    sensitivity: Sensitivity

    @property
    def fraction_pruned(self) -> float:
        return 1.0 - self.n_after / max(self.n_before, 1)


def prune(
    model: GaussianModel,
    sens: SensitivityResult | Sensitivity,
    config: C3dgsConfig | None = None,
    *,
    prune_threshold: float | None = None,
    density: bool | None = None,
    density_radius: float | None = None,
    density_std_factor: float | None = None,
) -> PruneResult:
    """Prune by colour sensitivity (c3dgs a.4), then optionally by spatial density (a.13).

    The keyword arguments override the matching fields of ``config`` (``prune_threshold``,
    ``density_prune``, ``density_radius`` in world units, ``density_std_factor``).

    Raises:
        ValueError: pruning would remove every Gaussian.
    """
    cfg = config or get_preset("default")
    raw = sens.raw if isinstance(sens, SensitivityResult) else sens
    n = len(model)
    if raw.color.shape[0] != n:
        raise ValueError(f"sensitivity of {raw.color.shape[0]} Gaussians for {n}")
    thr = cfg.prune_threshold if prune_threshold is None else prune_threshold
    use_density = cfg.density_prune if density is None else density
    radius = cfg.density_radius if density_radius is None else density_radius
    std_factor = cfg.density_std_factor if density_std_factor is None else density_std_factor

    sens_keep = sensitivity_prune_mask(raw.color_importance, thr)
    if not bool(sens_keep.any()):
        raise ValueError("pruning removed every Gaussian: no Gaussian is seen by any camera")
    keep = sens_keep.clone()
    density_keep = counts = None
    d_radius = d_tau = None
    if use_density:
        d = density_prune_mask(model.means[sens_keep], radius, std_factor)
        alive = torch.nonzero(sens_keep).flatten()
        keep[alive[~d.keep]] = False
        density_keep = torch.ones(n, dtype=torch.bool)
        density_keep[alive[~d.keep]] = False
        counts = torch.full((n,), -1, dtype=torch.int64)
        counts[alive] = d.counts
        d_radius, d_tau = d.radius, d.threshold
    means = model.means.detach().cpu().numpy()
    return PruneResult(
        keep=keep,
        sensitivity_keep=sens_keep,
        density_keep=density_keep,
        neighbor_counts=counts,
        density_radius=d_radius,
        density_threshold=d_tau,
        n_before=n,
        n_after_sensitivity=int(sens_keep.sum()),
        n_after=int(keep.sum()),
        kept_positions=means[keep.numpy()],
        removed_positions=means[~keep.numpy()],
        model=model.detach().mask(keep),
        sensitivity=raw.mask(keep),
    )


@dataclass
class PruningCurve:
    """Quality on test views after removing growing fractions of the Gaussians."""

    strategy: str  # "least-sensitive", "most-sensitive" or "random"
    fractions: np.ndarray  # [F] fraction removed
    n_kept: np.ndarray  # [F]
    psnr: np.ndarray  # [F] mean over views, dB
    ssim: np.ndarray  # [F]
    psnr_per_view: np.ndarray  # [F, V]


def pruning_curve(
    model: GaussianModel,
    importance: torch.Tensor,
    cameras: Sequence[Camera],
    fractions: Sequence[float],
    *,
    strategy: str = "least-sensitive",
    background=(0.0, 0.0, 0.0),
    seed: int = 0,
    progress: bool | None = None,
) -> PruningCurve:
    """PSNR/SSIM on ``cameras`` after removing each fraction of the Gaussians, in the order of
    :func:`pcc.c3dgs.prune.removal_order` (``importance [N]``: e.g. the colour importance).

    ``"least-sensitive"`` is sensitivity pruning with a threshold raised to that quantile;
    ``"random"`` and ``"most-sensitive"`` are the baselines that show whether sensitivity ranks
    Gaussians well. No fine-tuning happens after pruning.
    """
    from pcc.c3dgs.prune import removal_order

    n = len(model)
    if importance.shape != (n,):
        raise ValueError(f"importance {tuple(importance.shape)} for {n} Gaussians")
    order = removal_order(importance, strategy, seed)
    rows = []
    for f in progress_bar(list(fractions), desc=f"pruning ({strategy})", progress=progress):
        if not 0.0 <= f < 1.0:
            raise ValueError(f"fraction {f} outside [0, 1)")
        keep = torch.ones(n, dtype=torch.bool)
        keep[order[: int(round(f * n))]] = False
        v = evaluate_views(
            model.detach().mask(keep), cameras, background, keep_images=False, progress=False
        )
        rows.append((int(keep.sum()), v.psnr_mean, v.ssim_mean, v.psnr))
    return PruningCurve(
        strategy=strategy,
        fractions=np.asarray(list(fractions), dtype=np.float64),
        n_kept=np.asarray([r[0] for r in rows], dtype=np.int64),
        psnr=np.asarray([r[1] for r in rows]),
        ssim=np.asarray([r[2] for r in rows]),
        psnr_per_view=np.stack([r[3] for r in rows]) if rows else np.zeros((0, len(cameras))),
    )
