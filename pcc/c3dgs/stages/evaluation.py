"""Stage 6 of c3dgs: PSNR/SSIM per view of the compressed model (and of the model before).

The render-and-score loop is :func:`pcc.gaussians.quality.evaluate_views`; :func:`evaluate`
runs it on both models and keeps the targets for figures. Part of :mod:`pcc.c3dgs.stages`;
taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pcc.c3dgs.compressed_model import QuantizedGaussians
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.quality import ViewMetrics, evaluate_views
from pcc.io.cameras import Camera


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
