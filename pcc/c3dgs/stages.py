"""The c3dgs pipeline one stage at a time: each stage is a function returning plain data.

Notebooks call these one after the other and plot what they return; :func:`pcc.c3dgs.pipeline.compress`
is exactly their composition. Use them as ``from pcc.c3dgs import stages`` (the names
``sensitivity``, ``prune`` and ``finetune`` are also submodules of :mod:`pcc.c3dgs`, so they are not
re-exported there). Tensors are CPU torch tensors, positions and images are numpy arrays.

=====================  =========================================================================
stage                  result fields
=====================  =========================================================================
:func:`sensitivity`    :class:`SensitivityResult`: ``color [N, 3(d+1)^2]``, ``shape [N, 6]``
                       (accumulated |gradients| / pixels), ``color_importance [N]``,
                       ``shape_importance [N]`` (max over entries), ``color_threshold`` /
                       ``shape_threshold`` (keep-exact thresholds the VQ stages will use),
                       ``color_kept_fraction`` / ``shape_kept_fraction``, ``n_color_kept`` /
                       ``n_shape_kept``, ``prune_threshold``, ``n_pruned``, ``n_pixels``,
                       ``n_views``, ``raw`` (the :class:`~pcc.c3dgs.sensitivity.Sensitivity`)
:func:`prune`          :class:`PruneResult`: ``keep [N]`` (final), ``sensitivity_keep [N]``,
                       ``density_keep [N]`` or None, ``neighbor_counts [N]`` (-1 where not
                       counted) or None, ``density_radius`` (world units), ``density_threshold``
                       (neighbour count tau), ``n_before``, ``n_after_sensitivity``, ``n_after``,
                       ``kept_positions [n_after, 3]``, ``removed_positions [n_removed, 3]``,
                       ``model`` (pruned GaussianModel), ``sensitivity`` (masked Sensitivity)
:func:`quantize_colors` :class:`VQStage`: ``table [K' + n_keep, D]``, ``indices [N]``,
:func:`quantize_shapes` ``keep_mask [N]``, ``threshold``, ``features [N, D]`` (the vectors
                       clustered: SH 48-d or trace-normalised covariance 6-d), ``errors [steps]``
                       (batch mean squared error per step), ``history [T, K, D]`` (centroids every
                       ``history_every`` steps, initial ones first; empty if 0),
                       ``history_steps [T]``, ``usage [K]`` (clustered Gaussians per centroid),
                       ``dead_centroids``, ``n_reseeded``, ``init``, ``k``, ``quantizer``
:func:`build_indexed`  :class:`~pcc.c3dgs.compressed_model.IndexedGaussians` from the two stages
:func:`finetune`       :class:`FinetuneResult`: ``indexed`` (the model kept), ``indexed_before``,
                       ``tuned`` (the fine-tuned one, even if the guard rejected it),
                       ``losses [iterations]``, ``render_iterations [R]``, ``renders`` (list of
                       ``[H, W, 3]`` numpy images of ``render_camera``, iteration 0 first),
                       ``applied``, ``guard_loss_before`` / ``guard_loss_after`` (or None)
:func:`quantize`       :class:`~pcc.c3dgs.compressed_model.QuantizedGaussians` (8-bit, Morton)
:func:`store`          :class:`StoreResult`: ``path``, ``fmt``, ``file_bytes``, ``streams``
                       (bytes per stream: npz zip members compressed, ``.pcc3dgs`` range-coded
                       streams), ``attributes`` (streams summed per attribute), ``framing``
                       (container overhead); ``sum(streams) + framing == file_bytes``
:func:`evaluate`       :class:`EvalResult`: ``before`` / ``after`` :class:`ViewMetrics`
                       (``names``, ``psnr [V]``, ``ssim [V]``, ``images`` list of ``[H, W, 3]``,
                       ``psnr_mean``, ``ssim_mean``), ``targets`` (ground-truth images)
:func:`pruning_curve`  :class:`PruningCurve`: ``strategy``, ``fractions [F]``, ``n_kept [F]``,
                       ``psnr [F]``, ``ssim [F]``, ``psnr_per_view [F, V]`` (quality after
                       removing the least / most sensitive or random Gaussians; no fine-tuning)
=====================  =========================================================================

Every stage takes ``progress=None`` (bars only on a terminal or in interactive Jupyter, see
:mod:`pcc.progress`); time stages with :class:`pcc.timing.Timings`. Taught in
``notebooks/01_sensitivity.ipynb`` .. ``notebooks/06_whole_pipeline.ipynb``.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pcc.c3dgs.compressed_model import IndexedGaussians, QuantizedGaussians, finalize
from pcc.c3dgs.features import (
    color_features,
    color_features_to_sh,
    covariance_to_rotation_scale,
    normalize_trace,
    shape_features,
)
from pcc.c3dgs.finetune import FinetuneConfig
from pcc.c3dgs.finetune import finetune as _finetune
from pcc.c3dgs.positions import choose_position_bits
from pcc.c3dgs.presets import C3dgsConfig, VQConfig, get_preset, quantization_bits
from pcc.c3dgs.prune import density_prune_mask, sensitivity_prune_mask
from pcc.c3dgs.sensitivity import Sensitivity, compute_sensitivity
from pcc.c3dgs.vq import VectorQuantizer, quantize_features
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.quality import ViewMetrics, evaluate_views
from pcc.gaussians.render import render
from pcc.io.cameras import Camera
from pcc.progress import progress_bar

__all__ = [
    "EvalResult",
    "FinetuneResult",
    "PruneResult",
    "PruningCurve",
    "SensitivityResult",
    "StoreResult",
    "VQStage",
    "ViewMetrics",
    "build_indexed",
    "codebook_size",
    "evaluate",
    "evaluate_views",
    "finetune",
    "keep_threshold",
    "prune",
    "pruning_curve",
    "quantize",
    "quantize_colors",
    "quantize_shapes",
    "sensitivity",
    "store",
    "training_loss",
]


# --------------------------------------------------------------------------- thresholds
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


def codebook_size(n: int, cfg: VQConfig) -> int:
    """``cfg.k``, or with ``cfg.k_per_gaussians`` the power of two nearest ``n / ratio`` in
    ``[64, cfg.k]``."""
    if cfg.k_per_gaussians is None:
        return cfg.k
    target = max(n / cfg.k_per_gaussians, 1.0)
    return int(min(cfg.k, max(64, 2 ** round(math.log2(target)))))


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


# --------------------------------------------------------------------------- 2. pruning
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


# --------------------------------------------------------------------------- 3. VQ
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


# --------------------------------------------------------------------------- 4. fine-tuning
@torch.no_grad()
def training_loss(model: GaussianModel, cameras: Sequence[Camera], background, lambda_dssim=0.2):
    """Mean fine-tuning loss ``0.8 L1 + 0.2 (1 - SSIM)`` of ``model`` over ``cameras``."""
    from pcc.gaussians.quality import photometric_loss

    total = 0.0
    for cam in cameras:
        img = render(model, cam, background=background).image
        total += float(photometric_loss(img, cam.image.to(img.dtype), lambda_dssim))
    return total / max(len(cameras), 1)


@dataclass
class FinetuneResult:
    """Outcome of :func:`finetune` (module docstring)."""

    indexed: IndexedGaussians  # the model the pipeline continues with
    indexed_before: IndexedGaussians
    tuned: IndexedGaussians
    losses: np.ndarray  # [iterations]
    render_iterations: np.ndarray  # [R]
    renders: list[np.ndarray] = field(default_factory=list)  # R x [H, W, 3]
    applied: bool = False
    guard_loss_before: float | None = None
    guard_loss_after: float | None = None


def finetune(
    indexed: IndexedGaussians,
    cameras: Sequence[Camera],
    config: FinetuneConfig,
    *,
    guard: bool = False,
    guard_views: int = 8,
    render_every: int = 0,
    render_camera: Camera | None = None,
    progress: bool | None = None,
    loss_callback: Callable[[int, float], None] | None = None,
    render_callback: Callable[[int, torch.Tensor], None] | None = None,
    bits: dict[str, int] | None = None,
) -> FinetuneResult:
    """Quantisation-aware fine-tuning (c3dgs a.7) that records its loss and renders.

    With ``render_every > 0`` the image of ``render_camera`` (default the first camera) is
    rendered before training (iteration 0) and every ``render_every`` iterations. With ``guard``
    the mean training loss over ``guard_views`` evenly spaced cameras is compared before and
    after; if fine-tuning made it worse, ``indexed`` is the model from before (``applied`` False).
    ``loss_callback`` / ``render_callback`` are also called, as
    :func:`pcc.c3dgs.finetune.finetune` does. ``bits`` (per quantised field, default 8) are the
    levels the fake quantisers and the guard's quantisation use.
    """
    cameras = list(cameras)
    losses: list[float] = []
    frames: list[np.ndarray] = []
    frame_its: list[int] = []
    bg = config.background
    view = render_camera or (cameras[0] if cameras else None)

    def on_loss(it: int, value: float) -> None:
        losses.append(value)
        if loss_callback is not None:
            loss_callback(it, value)

    def on_render(it: int, image: torch.Tensor) -> None:
        frame_its.append(it)
        frames.append(image.detach().clamp(0.0, 1.0).cpu().numpy())
        if render_callback is not None:
            render_callback(it, image)

    if render_every and view is not None and config.iterations > 0:
        with torch.no_grad():
            first = render(indexed.to_gaussian_model(), view, background=bg).image
        frame_its.append(0)
        frames.append(first.clamp(0.0, 1.0).cpu().numpy())
    if config.iterations <= 0:
        return FinetuneResult(indexed, indexed, indexed, np.zeros(0), np.zeros(0, np.int64))
    from pcc.progress import progress_enabled

    tuned = _finetune(
        indexed,
        cameras,
        config,
        progress=progress_enabled(progress),
        loss_callback=on_loss,
        render_every=render_every,
        render_camera=view,
        render_callback=on_render if render_every else None,
        bits=bits,
    )
    result = tuned
    before = after = None
    if guard:
        views = cameras[:: max(1, len(cameras) // guard_views)][:guard_views]
        before = training_loss(finalize(indexed, False, bits).to_gaussian_model(), views, bg)
        after = training_loss(finalize(tuned, False, bits).to_gaussian_model(), views, bg)
        if after > before:
            result = indexed
    return FinetuneResult(
        indexed=result,
        indexed_before=indexed,
        tuned=tuned,
        losses=np.asarray(losses, dtype=np.float64),
        render_iterations=np.asarray(frame_its, dtype=np.int64),
        renders=frames,
        applied=result is tuned,
        guard_loss_before=before,
        guard_loss_after=after,
    )


def quantize(
    indexed: IndexedGaussians,
    sort_morton: bool = True,
    config: C3dgsConfig | None = None,
    cameras: Sequence[Camera] | None = None,
) -> QuantizedGaussians:
    """Quantisation of every attribute and Morton order (c3dgs a.8).

    Without ``config``: 8-bit codes and fp16 positions, as the reference. With it: the bits per
    field (:func:`pcc.c3dgs.presets.quantization_bits`) and ``config.position_bits``; when that
    is None and ``config.position_min_psnr`` is set, the grid is chosen on ``config.guard_views``
    of ``cameras`` by :func:`pcc.c3dgs.positions.choose_position_bits` (fp16 without cameras).
    """
    if config is None:
        return finalize(indexed, sort_morton=sort_morton)
    bits = quantization_bits(config)
    position_bits = config.position_bits
    if position_bits is None and config.position_min_psnr is not None and cameras:
        position_bits = choose_position_bits(
            indexed,
            cameras,
            config.position_min_psnr,
            bits,
            config.finetune.background,
            views=config.guard_views,
        )
    return finalize(indexed, sort_morton=sort_morton, bits=bits, position_bits=position_bits)


def _npz_attribute(member: str) -> str:
    """The attribute an npz member belongs to (its quantisation parameters count with it)."""
    key = member[:-4] if member.endswith(".npy") else member
    for suffix in ("_scale", "_zero_point"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return {
        "xyz": "positions",
        "features_dc": "color_dc",
        "features_rest": "color_rest",
        "scaling": "scale_dir",
        "scaling_factor": "log_magnitude",
        "feature_indices": "color_indices",
        "gaussian_indices": "shape_indices",
    }.get(key, key)


@dataclass
class StoreResult:
    """The written file and where its bytes go (module docstring)."""

    path: Path
    fmt: str
    file_bytes: int
    streams: dict[str, int]  # stream / zip member -> bytes in the file
    attributes: dict[str, int]  # streams summed per attribute
    framing: int  # header, lengths, zip directory, CRC: file_bytes - sum(streams)
    n_gaussians: int

    @property
    def bytes_per_gaussian(self) -> float:
        return self.file_bytes / max(self.n_gaussians, 1)


def npz_stream_sizes(path: str | os.PathLike) -> dict[str, int]:
    """Compressed size of every member of a zip/npz (``ZipInfo.compress_size``), by array name."""
    with zipfile.ZipFile(path) as zf:
        return {
            (i.filename[:-4] if i.filename.endswith(".npy") else i.filename): i.compress_size
            for i in zf.infolist()
        }


def store(q: QuantizedGaussians, path: str | os.PathLike, fmt: str = "npz") -> StoreResult:
    """Write ``q`` as ``fmt`` (``"npz"``: c3dgs layout; ``"pcc"``: ``.pcc3dgs``) and measure it.

    The per-stream sizes are those of the bytes written: for npz the DEFLATE-compressed size of
    each zip member (one per array), for ``.pcc3dgs`` the length of each range-coded stream.
    ``framing`` is the rest (zip local headers and central directory; the container header,
    stream lengths and CRC), so ``sum(streams) + framing == file_bytes``.
    """
    from pcc.c3dgs.storage_npz import save_npz
    from pcc.c3dgs.storage_pcc import save_pcc_streams

    path = Path(path)
    if fmt == "npz":
        size = save_npz(q, path)
        streams = npz_stream_sizes(path)
        attributes: dict[str, int] = {}
        for name, b in streams.items():
            a = _npz_attribute(name)
            attributes[a] = attributes.get(a, 0) + b
    elif fmt == "pcc":
        size, streams, _ = save_pcc_streams(q, path)
        attributes = {}
        for name, b in streams.items():
            a = name.split(".", 1)[0]
            attributes[a] = attributes.get(a, 0) + b
    else:
        raise ValueError(f"unknown format {fmt!r}; choose one of ('npz', 'pcc')")
    return StoreResult(
        path=path,
        fmt=fmt,
        file_bytes=size,
        streams=streams,
        attributes=attributes,
        framing=size - sum(streams.values()),
        n_gaussians=len(q),
    )


# --------------------------------------------------------------------------- 6. evaluation
@dataclass
class EvalResult:
    """Per-view quality before (optional) and after compression, and the targets."""

    after: ViewMetrics
    before: ViewMetrics | None
    targets: list[np.ndarray]  # V x [H, W, 3]

    def summary(self) -> dict[str, float | None]:
        """Means as a flat dict (``psnr_before``/``ssim_before`` None without a before model)."""
        b = self.before
        return {
            "psnr_before": None if b is None else b.psnr_mean,
            "ssim_before": None if b is None else b.ssim_mean,
            "psnr_after": self.after.psnr_mean,
            "ssim_after": self.after.ssim_mean,
            "n_views": len(self.after.names),
        }


def evaluate(
    after: GaussianModel | QuantizedGaussians,
    cameras: Sequence[Camera],
    before: GaussianModel | None = None,
    background=(0.0, 0.0, 0.0),
    *,
    keep_images: bool = True,
    progress: bool | None = None,
) -> EvalResult:
    """PSNR/SSIM per view of the compressed model ``after`` (and of ``before`` when given)."""
    if isinstance(after, QuantizedGaussians):
        after = after.to_gaussian_model()
    a = evaluate_views(after, cameras, background, keep_images=keep_images, progress=progress)
    b = None
    if before is not None:
        b = evaluate_views(before, cameras, background, keep_images=keep_images, progress=progress)
    targets = [c.image.clamp(0.0, 1.0).cpu().numpy() for c in cameras] if keep_images else []
    return EvalResult(after=a, before=b, targets=targets)


# --------------------------------------------------------------------------- pruning curves
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
