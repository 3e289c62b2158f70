"""PSNR and SSIM: known answers, independent numpy/scipy references, layouts, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from pcc.metrics.image import gaussian_window, mse, psnr, ssim

C1, C2 = 0.01**2, 0.03**2


def rand_image(h=20, w=24, seed=0, dtype=torch.float64):
    return torch.rand(h, w, 3, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --------------------------------------------------------------------------- PSNR
def test_psnr_identical_is_inf():
    a = rand_image()
    assert math.isinf(float(psnr(a, a)))


@pytest.mark.parametrize("offset", [0.1, 0.01, 0.25])
def test_psnr_constant_offset_formula(offset):
    a = rand_image() * 0.5
    assert float(psnr(a, a + offset)) == pytest.approx(-20 * math.log10(offset), abs=1e-9)
    assert float(mse(a, a + offset)) == pytest.approx(offset**2)
    # With an 8-bit range: an offset of 5 grey levels.
    b = a * 255
    assert float(psnr(b, b + 5, max_val=255.0)) == pytest.approx(20 * math.log10(255 / 5))


def test_psnr_batch_layout_matches_single_images():
    a, b = rand_image(seed=1), rand_image(seed=2)
    c, d = rand_image(seed=3), rand_image(seed=4)
    batch_x = torch.stack([a, c]).permute(0, 3, 1, 2)  # [B, 3, H, W]
    batch_y = torch.stack([b, d]).permute(0, 3, 1, 2)
    out = psnr(batch_x, batch_y)
    assert out.shape == (2,)
    assert torch.allclose(out, torch.stack([psnr(a, b), psnr(c, d)]))


def test_shape_checks():
    with pytest.raises(ValueError, match="differ"):
        psnr(torch.zeros(4, 4, 3), torch.zeros(4, 5, 3))
    with pytest.raises(ValueError, match=r"\[H, W, C\]"):
        ssim(torch.zeros(4, 3), torch.zeros(4, 3))


# --------------------------------------------------------------------------- SSIM references
def ssim_reference_zero_padding(a: np.ndarray, b: np.ndarray) -> float:
    """Direct per-pixel SSIM (Wang et al. 2004) with an 11x11 sigma-1.5 window on zero-padded
    images, written as explicit loops over pixels (the INRIA/3DGS definition)."""
    x = np.arange(11) - 5
    g = np.exp(-(x**2) / (2 * 1.5**2))
    w2 = np.outer(g, g) / np.outer(g, g).sum()
    h, w, c = a.shape
    pa, pb = np.pad(a, ((5, 5), (5, 5), (0, 0))), np.pad(b, ((5, 5), (5, 5), (0, 0)))
    total = 0.0
    for ch in range(c):
        for i in range(h):
            for j in range(w):
                wa, wb = pa[i : i + 11, j : j + 11, ch], pb[i : i + 11, j : j + 11, ch]
                mx, my = (w2 * wa).sum(), (w2 * wb).sum()
                vx = (w2 * wa * wa).sum() - mx * mx
                vy = (w2 * wb * wb).sum() - my * my
                cxy = (w2 * wa * wb).sum() - mx * my
                total += ((2 * mx * my + C1) * (2 * cxy + C2)) / (
                    (mx * mx + my * my + C1) * (vx + vy + C2)
                )
    return total / (h * w * c)


def ssim_reference_skimage_formula(a: np.ndarray, b: np.ndarray) -> float:
    """scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1, channel_axis=-1)`` re-derived with scipy: Gaussian
    filtering with truncate=3.5 (an 11-tap window), reflect mode, then the mean over the map with a
    5-pixel border cropped, averaged over channels."""
    vals = []
    for ch in range(a.shape[2]):
        x, y = a[..., ch], b[..., ch]
        f = lambda t: gaussian_filter(t, sigma=1.5, truncate=3.5, mode="reflect")  # noqa: E731
        mx, my = f(x), f(y)
        vx, vy, cxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
        s = ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2))
        vals.append(s[5:-5, 5:-5].mean())
    return float(np.mean(vals))


def test_window_is_normalised_gaussian():
    g = gaussian_window(11, 1.5, torch.float64)
    assert g.shape == (11,)
    assert float(g.sum()) == pytest.approx(1.0)
    assert float(g[5] / g[4]) == pytest.approx(math.exp(1 / (2 * 1.5**2)))


def test_ssim_identical_is_one():
    a = rand_image()
    assert float(ssim(a, a)) == pytest.approx(1.0, abs=1e-12)
    assert float(ssim(a, a, padding="valid")) == pytest.approx(1.0, abs=1e-12)


def test_ssim_constant_images_closed_form():
    # Constant images: no variance, so SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1).
    mx, my = 0.3, 0.5
    a = torch.full((16, 16, 3), mx, dtype=torch.float64)
    b = torch.full((16, 16, 3), my, dtype=torch.float64)
    expected = (2 * mx * my + C1) / (mx * mx + my * my + C1)
    assert float(ssim(a, b, padding="valid")) == pytest.approx(expected, abs=1e-12)


def test_ssim_matches_loop_reference_with_zero_padding():
    a = rand_image(12, 14, seed=5).numpy()
    b = np.clip(a + 0.1 * rand_image(12, 14, seed=6).numpy() - 0.05, 0, 1)
    ours = float(ssim(torch.from_numpy(a), torch.from_numpy(b)))
    assert ours == pytest.approx(ssim_reference_zero_padding(a, b), abs=1e-10)


def test_ssim_valid_matches_skimage_formula():
    a = rand_image(32, 40, seed=7).numpy()
    b = np.clip(0.7 * a + 0.2 * rand_image(32, 40, seed=8).numpy(), 0, 1)
    ours = float(ssim(torch.from_numpy(a), torch.from_numpy(b), padding="valid"))
    assert ours == pytest.approx(ssim_reference_skimage_formula(a, b), abs=1e-10)
    # The zero-padded (3DGS) value differs at the border: the two definitions are not the same.
    assert abs(float(ssim(torch.from_numpy(a), torch.from_numpy(b))) - ours) > 1e-4


def test_ssim_properties_and_batch_layout():
    a, b = rand_image(seed=1), rand_image(seed=2)
    noisy = (a + 0.05 * rand_image(seed=9)).clamp(0, 1)
    assert float(ssim(a, b)) == pytest.approx(float(ssim(b, a)))  # symmetric
    assert float(ssim(a, noisy)) > float(ssim(a, b))  # less distortion, higher SSIM
    assert float(ssim(a, b)) < 0.2  # independent noise images are dissimilar
    batch = ssim(
        torch.stack([a, a]).permute(0, 3, 1, 2), torch.stack([b, noisy]).permute(0, 3, 1, 2)
    )
    assert batch.shape == (2,)
    assert torch.allclose(batch, torch.stack([ssim(a, b), ssim(a, noisy)]))
    assert ssim(a, b, reduce=False).shape == (1, 3, 20, 24)


def test_ssim_is_differentiable():
    a = rand_image(12, 12, seed=3)
    b = rand_image(12, 12, seed=4).requires_grad_(True)
    loss = 1 - ssim(a, b)
    loss.backward()
    assert b.grad is not None and torch.isfinite(b.grad).all() and b.grad.abs().sum() > 0
    small_a = rand_image(5, 6, seed=5)[..., :1]  # one channel keeps gradcheck cheap
    small_b = rand_image(5, 6, seed=6)[..., :1].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: ssim(small_a, t), (small_b,), fast_mode=True)
    assert torch.autograd.gradcheck(lambda t: psnr(small_a, t), (small_b,), fast_mode=True)
