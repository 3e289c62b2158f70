"""Image-space quality of a Gaussian model: the photometric training loss and render-and-score.

One place for the two things every 3DGS stage needs: the INRIA loss
``(1 - lambda) L1 + lambda (1 - SSIM)`` (used by the trainer, :mod:`pcc.gaussians.train`, and by
c3dgs quantisation-aware fine-tuning, :mod:`pcc.c3dgs.finetune`) and :func:`evaluate_views`,
which renders a model from cameras with ground-truth images and scores PSNR and SSIM per view
(used by the trainer's test PSNR, the c3dgs evaluation stage, ``pcc gs eval`` and the notebooks).
Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pcc.gaussians.model import GaussianModel
from pcc.gaussians.render import render
from pcc.io.cameras import Camera
from pcc.metrics.image import psnr, ssim
from pcc.progress import progress_bar

__all__ = ["ViewMetrics", "evaluate_views", "photometric_loss", "photometric_loss_terms"]


def photometric_loss_terms(
    image: torch.Tensor, target: torch.Tensor, lambda_dssim: float = 0.2
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, l1)``: ``(1 - lambda) L1 + lambda (1 - SSIM)`` of two ``[H, W, 3]`` images and its L1."""
    l1 = (image - target).abs().mean()
    return (1.0 - lambda_dssim) * l1 + lambda_dssim * (1.0 - ssim(image, target)), l1


def photometric_loss(
    image: torch.Tensor, target: torch.Tensor, lambda_dssim: float = 0.2
) -> torch.Tensor:
    """``(1 - lambda) L1 + lambda (1 - SSIM)`` of two ``[H, W, 3]`` images (the INRIA/c3dgs loss)."""
    return photometric_loss_terms(image, target, lambda_dssim)[0]


@dataclass
class ViewMetrics:
    """PSNR/SSIM per view and the rendered images (clamped to [0, 1])."""

    names: list[str]
    psnr: np.ndarray  # [V] dB
    ssim: np.ndarray  # [V]
    images: list[np.ndarray]  # V x [H, W, 3] (empty when not kept)

    @property
    def psnr_mean(self) -> float:
        return float(self.psnr.mean()) if self.psnr.size else float("nan")

    @property
    def ssim_mean(self) -> float:
        return float(self.ssim.mean()) if self.ssim.size else float("nan")


@torch.no_grad()
def evaluate_views(
    model: GaussianModel,
    cameras: Sequence[Camera],
    background=(0.0, 0.0, 0.0),
    *,
    keep_images: bool = True,
    sh_degree: int | None = None,
    with_ssim: bool = True,
    progress: bool | None = None,
) -> ViewMetrics:
    """Render ``model`` from every camera (each with ``.image``) and score PSNR (and SSIM).

    ``sh_degree`` limits the SH bands used (the trainer's active degree); ``with_ssim=False``
    skips SSIM (its entries are NaN), which the trainer's frequent test PSNR does not need.
    """
    names, ps, ss, imgs = [], [], [], []
    for cam in progress_bar(cameras, desc="evaluate", progress=progress):
        if cam.image is None:
            raise ValueError(f"camera {cam.name!r} has no target image")
        img = render(model, cam, background=background, sh_degree=sh_degree).image.clamp(0.0, 1.0)
        gt = cam.image.to(img.dtype)
        names.append(cam.name)
        ps.append(float(psnr(img, gt)))
        ss.append(float(ssim(img, gt)) if with_ssim else float("nan"))
        if keep_images:
            imgs.append(img.cpu().numpy())
    return ViewMetrics(names, np.asarray(ps), np.asarray(ss), imgs)
