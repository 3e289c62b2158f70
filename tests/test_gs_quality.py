"""pcc.gaussians.quality: the one photometric loss and render-and-score loop."""

import math

import numpy as np
import torch
from conftest import random_scene

from pcc.gaussians.quality import evaluate_views, photometric_loss, photometric_loss_terms
from pcc.gaussians.render import render
from pcc.io.cameras import orbit_cameras
from pcc.metrics.image import psnr


def test_loss_zero_for_identical_images_and_l1_term():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(16, 20, 3, generator=g)
    assert float(photometric_loss(a, a)) < 1e-6
    b = (a + 0.1).clamp(0, 1)
    loss, l1 = photometric_loss_terms(a, b, lambda_dssim=0.0)
    assert math.isclose(float(loss), float((a - b).abs().mean()), rel_tol=1e-6)
    assert math.isclose(float(l1), float((a - b).abs().mean()), rel_tol=1e-6)
    # the SSIM term adds something for different images
    assert float(photometric_loss(a, b, 1.0)) > 0.0


def test_evaluate_views_matches_direct_render():
    model = random_scene(40, seed=1)
    cams = orbit_cameras((0.0, 0.0, 0.0), radius=4.0, n=3, width=24, height=18)
    for cam in cams:
        cam.image = render(model, cam, background=(1.0, 1.0, 1.0)).image.clamp(0, 1) * 0.9
    v = evaluate_views(model, cams, (1.0, 1.0, 1.0))
    direct = [
        float(psnr(render(model, c, background=(1.0, 1.0, 1.0)).image.clamp(0, 1), c.image))
        for c in cams
    ]
    np.testing.assert_allclose(v.psnr, direct, rtol=1e-6)
    assert len(v.images) == len(cams) and np.all(v.ssim < 1.0)
    quick = evaluate_views(model, cams, (1.0, 1.0, 1.0), keep_images=False, with_ssim=False)
    assert quick.images == [] and np.isnan(quick.ssim).all()
    np.testing.assert_allclose(quick.psnr, v.psnr)
