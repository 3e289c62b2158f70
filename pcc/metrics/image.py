"""Image quality metrics used to evaluate 3DGS renders: PSNR and SSIM.

Both accept either one image ``[H, W, C]`` (the layout of :class:`~pcc.io.cameras.Camera` images
and of the renderer's output) or a batch ``[B, C, H, W]`` (the PyTorch convention); a 3-D input is
always read as ``[H, W, C]``. Both are differentiable (plain PyTorch), so the 3DGS trainer uses
``1 - ssim`` as a loss term.

SSIM follows Wang et al., "Image Quality Assessment: From Error Visibility to Structural
Similarity", IEEE TIP 2004, with the settings of the 3DGS papers (INRIA ``utils/loss_utils.py``):
an 11x11 Gaussian window with sigma 1.5, ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2``, local statistics
by a per-channel convolution with zero padding, and the mean of the SSIM map over every pixel and
channel. ``padding="valid"`` instead averages only where the window fits inside the image, which is
what scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False)`` reports.

Taught in ``notebooks/00_a_3dgs_scene.ipynb`` (and used in ``notebooks/05_storage_and_evaluation.ipynb``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["psnr", "ssim", "gaussian_window", "mse"]


def _to_bchw(x: torch.Tensor, name: str) -> tuple[torch.Tensor, bool]:
    """``[H, W, C]`` -> ``[1, C, H, W]`` (flag False) or ``[B, C, H, W]`` unchanged (flag True)."""
    x = torch.as_tensor(x)
    if x.ndim == 3:
        return x.permute(2, 0, 1)[None], False
    if x.ndim == 4:
        return x, True
    raise ValueError(f"{name} must be [H, W, C] or [B, C, H, W], got shape {tuple(x.shape)}")


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"image shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image: ``[]`` for ``[H, W, C]`` inputs, ``[B]`` for ``[B, C, H, W]``."""
    _check_pair(a, b)
    x, batched = _to_bchw(a, "a")
    y, _ = _to_bchw(b, "b")
    err = ((x - y) ** 2).flatten(1).mean(dim=1)  # [B]
    return err if batched else err[0]


def psnr(a: torch.Tensor, b: torch.Tensor, max_val: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB, ``10 log10(max_val^2 / MSE)``; ``inf`` for identical images.

    Returns ``[]`` for one ``[H, W, C]`` image pair, ``[B]`` (one value per image, as INRIA averages
    per-image PSNRs) for ``[B, C, H, W]`` batches.
    """
    err = mse(a, b)
    return 10.0 * torch.log10(max_val**2 / err)


def gaussian_window(size: int = 11, sigma: float = 1.5, dtype=torch.float32) -> torch.Tensor:
    """Normalised 1-D Gaussian weights centred on the middle tap.  # [size]"""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-(x**2) / (2.0 * sigma**2))
    return (g / g.sum()).to(dtype)


def ssim(
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    window_size: int = 11,
    sigma: float = 1.5,
    max_val: float = 1.0,
    padding: str = "zero",
    reduce: bool = True,
) -> torch.Tensor:
    """Structural similarity of two images (Wang et al. 2004) with the 3DGS papers' settings.

    Args:
        a, b: ``[H, W, C]`` or ``[B, C, H, W]`` images with values in ``[0, max_val]``.
        window_size, sigma: the separable Gaussian window (11, 1.5).
        max_val: dynamic range L; ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2``.
        padding: ``"zero"`` (INRIA: same-size map, zero padding) or ``"valid"`` (only windows
            fully inside the image, as scikit-image reports).
        reduce: return the mean (``[]`` for one image, ``[B]`` for a batch) or the SSIM map
            ``[B, C, H', W']``.
    """
    _check_pair(a, b)
    if padding not in ("zero", "valid"):
        raise ValueError(f"padding must be 'zero' or 'valid', got {padding!r}")
    x, batched = _to_bchw(a, "a")
    y, _ = _to_bchw(b, "b")
    if not x.is_floating_point():
        x, y = x.float(), y.float()
    y = y.to(x.dtype)
    channels = x.shape[1]
    if padding == "valid" and min(x.shape[2], x.shape[3]) < window_size:
        raise ValueError(f"images smaller than the {window_size}x{window_size} SSIM window")
    g = gaussian_window(window_size, sigma, x.dtype).to(x.device)
    kernel = (g[:, None] * g[None, :]).expand(channels, 1, window_size, window_size)
    pad = window_size // 2 if padding == "zero" else 0

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, kernel, padding=pad, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x = blur(x * x) - mu_xx
    var_y = blur(y * y) - mu_yy
    cov_xy = blur(x * y) - mu_xy
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    ssim_map = ((2 * mu_xy + c1) * (2 * cov_xy + c2)) / (
        (mu_xx + mu_yy + c1) * (var_x + var_y + c2)
    )  # [B, C, H', W']
    if not reduce:
        return ssim_map
    per_image = ssim_map.flatten(1).mean(dim=1)  # [B]
    return per_image if batched else per_image[0]


def psnr_from_mse(err: float, max_val: float = 1.0) -> float:
    """``10 log10(max_val^2 / err)`` for a plain float (``inf`` when ``err == 0``)."""
    return math.inf if err == 0 else 10.0 * math.log10(max_val**2 / err)
