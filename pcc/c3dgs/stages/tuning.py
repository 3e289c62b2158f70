"""Stage 4 of c3dgs: quantisation-aware fine-tuning with a guard, recording losses and renders.

:func:`finetune` wraps :func:`pcc.c3dgs.finetune.finetune` (c3dgs a.7); with the guard it keeps
the model from before when fine-tuning made the mean training loss (:func:`training_loss`)
worse. Part of :mod:`pcc.c3dgs.stages`; taught in ``notebooks/04_finetuning.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from pcc.c3dgs.compressed_model import IndexedGaussians, finalize
from pcc.c3dgs.finetune import FinetuneConfig
from pcc.c3dgs.finetune import finetune as _finetune
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.render import render
from pcc.io.cameras import Camera


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
