"""Per-Gaussian colour and shape sensitivities (c3dgs ``calc_importance``, research brief a.3).

For every training view ``v`` the objective is the sum of all pixels and channels of the rendered
image, ``E_v``, rendered on a black background *without* clamping negative colours (otherwise
Gaussians with negative colours would get zero colour sensitivity and be pruned, g.7). Two leaves
receive gradients: the SH coefficients ``f`` ``[N, (deg+1)^2, 3]`` and the normalised covariance
``Sigma_n`` ``[N, 6]`` (c3dgs's scale re-parameterisation into a unit direction and a magnitude
``sigma_f``; the renderer gets ``Sigma = Sigma_n * sigma_f^2``). Per view the absolute gradient is
accumulated and the sum is divided by the total number of pixels ``P``::

    S_color[i, j] = (1/P) sum_v |dE_v / df_ij|        S_shape[i, m] = (1/P) sum_v |dE_v / dSigma_n[i, m]|

The per-Gaussian importance is the maximum over entries. For the DC term this is
``C0 * (average blend weight per pixel)``, a visibility-aware contribution score: a Gaussian no
camera sees gets exactly zero. Taught in ``notebooks/01_sensitivity.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from pcc.c3dgs.features import full_covariance, normalized_covariance, split_scale
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.render import render
from pcc.io.cameras import Camera
from pcc.progress import progress_bar


@dataclass
class Sensitivity:
    """Accumulated absolute gradients, divided by the pixel count.

    Attributes:
        color: ``[N, (deg+1)^2 * 3]`` in the layout of :func:`pcc.c3dgs.features.color_features`.
        shape: ``[N, 6]`` w.r.t. the normalised covariance ``[xx, xy, xz, yy, yz, zz]``.
        n_pixels: the total pixel count ``P`` used for the normalisation.
    """

    color: torch.Tensor
    shape: torch.Tensor
    n_pixels: int

    @property
    def color_importance(self) -> torch.Tensor:
        """``max_j S_color[i, j]``  # [N]"""
        return self.color.max(dim=1).values if self.color.shape[1] else self.color.sum(1)

    @property
    def shape_importance(self) -> torch.Tensor:
        """``max_m S_shape[i, m]``  # [N]"""
        return self.shape.max(dim=1).values

    def mask(self, keep: torch.Tensor) -> Sensitivity:
        """The sensitivities of the Gaussians ``keep`` selects."""
        return Sensitivity(self.color[keep], self.shape[keep], self.n_pixels)


def compute_sensitivity(
    model: GaussianModel,
    cameras: Sequence[Camera],
    *,
    background=(0.0, 0.0, 0.0),
    clamp_colors: bool = False,
    progress: bool | None = None,
) -> Sensitivity:
    """Colour and shape sensitivities of every Gaussian over ``cameras`` (see the module docstring).

    Args:
        model: the scene (``N`` Gaussians).
        cameras: the training views (their images are not needed).
        background: black in c3dgs.
        clamp_colors: False in c3dgs (keep gradients of negative colours).
        progress: a progress bar over the views (see :mod:`pcc.progress`).
    Returns:
        :class:`Sensitivity` with ``color [N, (deg+1)^2 * 3]`` and ``shape [N, 6]``.
    """
    if not cameras:
        raise ValueError("sensitivity needs at least one camera")
    m = model.detach()
    n = len(m)
    direction, log_mag = split_scale(m.log_scales)
    sigma_n_values = normalized_covariance(direction, m.quats)  # [N, 6]
    mag2 = torch.exp(2.0 * log_mag)[:, None, None]  # [N, 1, 1]
    color_acc = torch.zeros(n, m.sh.shape[1] * 3, dtype=torch.float64)
    shape_acc = torch.zeros(n, 6, dtype=torch.float64)
    pixels = 0
    for cam in progress_bar(cameras, desc="sensitivity", progress=progress):
        sh = m.sh.clone().requires_grad_(True)
        sigma_n = sigma_n_values.clone().requires_grad_(True)
        view_model = GaussianModel(m.means, m.log_scales, m.quats, m.opacity_logits, sh)
        out = render(
            view_model,
            cam,
            background=background,
            clamp_colors=clamp_colors,
            cov3d=full_covariance(sigma_n) * mag2,
        )
        energy = out.image.sum()
        if energy.requires_grad:
            g_sh, g_cov = torch.autograd.grad(energy, [sh, sigma_n], allow_unused=True)
            if g_sh is not None:
                color_acc += g_sh.reshape(n, -1).abs().double()
            if g_cov is not None:
                shape_acc += g_cov.abs().double()
        pixels += cam.width * cam.height
    return Sensitivity(
        color=(color_acc / pixels).to(m.dtype),
        shape=(shape_acc / pixels).to(m.dtype),
        n_pixels=pixels,
    )
