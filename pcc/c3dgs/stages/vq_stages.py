"""Stage 3 of c3dgs: vector quantisation of colours and shapes, and the indexed model.

:func:`quantize_colors` clusters the SH block, :func:`quantize_shapes` the trace-normalised
covariances (:class:`~pcc.c3dgs.vq.VectorQuantizer`), the most sensitive Gaussians keeping their
exact features (:func:`~pcc.c3dgs.stages.importance.keep_threshold`); :func:`build_indexed`
joins both into an :class:`~pcc.c3dgs.compressed_model.IndexedGaussians`. Part of
:mod:`pcc.c3dgs.stages`; taught in ``notebooks/03_vector_quantisation.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from pcc.c3dgs.compressed_model import IndexedGaussians
from pcc.c3dgs.features import (
    color_features,
    color_features_to_sh,
    covariance_to_rotation_scale,
    normalize_trace,
    shape_features,
)
from pcc.c3dgs.presets import VQConfig
from pcc.c3dgs.stages.importance import keep_threshold
from pcc.c3dgs.vq import VectorQuantizer, quantize_features
from pcc.gaussians.model import GaussianModel
from pcc.progress import progress_bar


def codebook_size(n: int, cfg: VQConfig) -> int:
    """``cfg.k``, or with ``cfg.k_per_gaussians`` the power of two nearest ``n / ratio`` in
    ``[64, cfg.k]``."""
    if cfg.k_per_gaussians is None:
        return cfg.k
    target = max(n / cfg.k_per_gaussians, 1.0)
    return int(min(cfg.k, max(64, 2 ** round(math.log2(target)))))


@dataclass
class VQStage:
    """Outcome of one VQ stage (module docstring)."""

    table: torch.Tensor  # [K' + n_keep, D]
    indices: torch.Tensor  # [N] int64
    keep_mask: torch.Tensor  # [N] bool
    threshold: float
    quantizer: VectorQuantizer
    features: torch.Tensor  # [N, D]
    errors: np.ndarray  # [steps]
    history: torch.Tensor  # [T, K, D] (T = 0 without history)
    history_steps: np.ndarray  # [T]
    usage: np.ndarray  # [K] clustered Gaussians per centroid
    dead_centroids: int
    n_reseeded: int
    init: str
    k: int  # centroids actually used as the codebook (K')

    @property
    def kept_fraction(self) -> float:
        return float(self.keep_mask.float().mean()) if self.keep_mask.numel() else 0.0


def _vq(cfg: VQConfig, seed: int, n: int, normalize=None, history_every: int = 0):
    return VectorQuantizer(
        k=codebook_size(n, cfg),
        steps=cfg.steps,
        batch_size=cfg.batch_size,
        decay=cfg.decay,
        init=cfg.init,
        reseed_dead=cfg.reseed_dead,
        legacy_update=cfg.legacy_update,
        final_lloyd=cfg.final_lloyd,
        algorithm=cfg.algorithm,
        normalize=normalize,
        history_every=history_every,
        seed=seed,
    )


def _bar(desc: str, total: int, progress: bool | None):
    bar = progress_bar(total=total, desc=desc, progress=progress)

    def update(step: int, err: float) -> None:
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(mse=f"{err:.3g}")
        if step == total:
            bar.close()

    return update


def _vq_stage(features, importance, cfg, vq, threshold, desc, progress) -> VQStage:
    thr = keep_threshold(importance, cfg) if threshold is None else float(threshold)
    table, idx, keep = quantize_features(
        features, importance, thr, vq, _bar(desc, cfg.steps, progress)
    )
    fitted = vq.centroids is not None
    k = int(vq.k) if fitted else 0
    usage = np.bincount(idx[~keep].numpy(), minlength=k)[:k] if k else np.zeros(0, np.int64)
    steps = np.arange(len(vq.history)) * vq.history_every if vq.history_every else np.zeros(0)
    history = torch.stack(vq.history) if vq.history else torch.zeros(0, k, features.shape[1])
    return VQStage(
        table=table,
        indices=idx,
        keep_mask=keep,
        threshold=thr,
        quantizer=vq,
        features=features,
        errors=np.asarray(vq.errors, dtype=np.float64),
        history=history,
        history_steps=steps.astype(np.int64),
        usage=usage.astype(np.int64),
        dead_centroids=int((usage == 0).sum()),
        n_reseeded=int(vq.n_reseeded),
        init=vq.init,
        k=k,
    )


def quantize_colors(
    model: GaussianModel,
    importance: torch.Tensor,
    cfg: VQConfig,
    seed: int = 0,
    progress: bool | None = None,
    *,
    history_every: int = 0,
    threshold: float | None = None,
) -> VQStage:
    """Colour VQ of c3dgs: the whole SH block (48-d at degree 3), weighted by colour importance.

    ``threshold`` overrides the keep-exact threshold derived from ``cfg``; ``history_every > 0``
    records the centroids every that many steps (for animations).
    """
    vq = _vq(cfg, seed, len(model), history_every=history_every)
    feats = color_features(model).detach()
    return _vq_stage(feats, importance, cfg, vq, threshold, "colour VQ", progress)


def quantize_shapes(
    model: GaussianModel,
    importance: torch.Tensor,
    cfg: VQConfig,
    seed: int = 0,
    progress: bool | None = None,
    *,
    history_every: int = 0,
    threshold: float | None = None,
) -> VQStage:
    """Shape VQ of c3dgs: trace-normalised covariances (6-d), centroids re-normalised each step.

    Uses seed ``seed + 1`` (so colour and shape draw different batches from one config seed).
    """
    vq = _vq(cfg, seed + 1, len(model), normalize=normalize_trace, history_every=history_every)
    sigma_n, _ = shape_features(model)
    return _vq_stage(sigma_n.detach(), importance, cfg, vq, threshold, "shape VQ", progress)


def build_indexed(model: GaussianModel, colors: VQStage, shapes: VQStage) -> IndexedGaussians:
    """The indexed model: shape table rows converted back to rotation + unit scale (c3dgs a.6)."""
    quats, scales = covariance_to_rotation_scale(shapes.table)
    _, log_mag = shape_features(model)
    return IndexedGaussians(
        means=model.means.detach().clone(),
        opacity_logits=model.opacity_logits.detach().clone(),
        log_magnitude=log_mag.detach(),
        color_table=color_features_to_sh(colors.table, model.sh_degree).clone(),
        color_indices=colors.indices,
        scale_table=scales,
        rotation_table=quats,
        shape_indices=shapes.indices,
    )
