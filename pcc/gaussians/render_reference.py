"""A slow, deliberately simple dense reference for :func:`pcc.gaussians.render.render`.

Every pixel meets every Gaussian, one Gaussian at a time in global front-to-back depth order,
with the transmittance updated exactly like INRIA's per-pixel loop (``renderCUDA`` in Kerbl et al.
2023's rasteriser)::

    for each Gaussian j (front to back):
        if pixel not done and pixel's tile is in j's tile rectangle:
            alpha = min(0.99, o_j exp(power));  skip if power > 0 or alpha < 1/255
            if T (1 - alpha) < 1e-4: pixel done (j not composited)
            else: C += alpha T c_j;  D += alpha T z_j;  T *= 1 - alpha
    C += T * background

It shares the projection (:func:`pcc.gaussians.projection.project_gaussians`) and colour
evaluation with the fast renderer, so comparing the two tests the binning, ordering, cut-offs and
compositing. It is differentiable (autograd through the loop), so it also checks gradients.
Cost: O(pixels x Gaussians) time; use it on small images and a few thousand Gaussians at most.
Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from pcc.gaussians.model import GaussianModel
from pcc.gaussians.projection import project_gaussians
from pcc.gaussians.render import (
    ALPHA_MAX,
    ALPHA_MIN,
    T_MIN,
    RenderOutput,
    gaussian_colors,
)
from pcc.io.cameras import Camera


def render_reference(
    model: GaussianModel,
    camera: Camera,
    *,
    background: Sequence[float] | torch.Tensor = (0.0, 0.0, 0.0),
    sh_degree: int | None = None,
    clamp_colors: bool = True,
    cov3d: torch.Tensor | None = None,
    colors: torch.Tensor | None = None,
    tile_size: int = 16,
) -> RenderOutput:
    """Dense per-Gaussian loop with the same arguments and output as :func:`render`."""
    dtype, device = model.dtype, model.device
    if cov3d is None:
        cov3d = model.covariances()
    if colors is None:
        colors = gaussian_colors(model, camera, sh_degree, clamp=clamp_colors)  # [N, 3]
    bg = torch.as_tensor(background, dtype=dtype, device=device).reshape(3)
    proj = project_gaussians(model.means, cov3d, camera, tile_size)
    opac = model.opacities  # [N]

    W, H = camera.width, camera.height
    ys, xs = torch.meshgrid(
        torch.arange(H, device=device), torch.arange(W, device=device), indexing="ij"
    )
    xs, ys = xs.reshape(-1), ys.reshape(-1)  # [P]
    tile_x, tile_y = xs // tile_size, ys // tile_size
    xs_f, ys_f = xs.to(dtype), ys.to(dtype)

    T = torch.ones(H * W, dtype=dtype, device=device)
    C = torch.zeros(H * W, 3, dtype=dtype, device=device)
    D = torch.zeros(H * W, dtype=dtype, device=device)
    done = torch.zeros(H * W, dtype=torch.bool, device=device)
    order = torch.argsort(proj.depths.detach(), stable=True)
    for j in order.tolist():
        if not bool(proj.visible[j]):
            continue
        tx0, ty0, tx1, ty1 = proj.tile_rect[j].tolist()
        in_rect = (tile_x >= tx0) & (tile_x < tx1) & (tile_y >= ty0) & (tile_y < ty1)
        dx = proj.means2d[j, 0] - xs_f
        dy = proj.means2d[j, 1] - ys_f
        a, b, c = proj.conics[j]
        power = -0.5 * (a * dx * dx + c * dy * dy) - b * dx * dy
        alpha = torch.clamp(opac[j] * torch.exp(power), max=ALPHA_MAX)
        valid = in_rect & ~done & (power <= 0) & (alpha >= ALPHA_MIN)
        test_T = T * (1.0 - alpha)
        stop = valid & (test_T < T_MIN)
        done = done | stop
        use = valid & ~stop
        w = torch.where(use, alpha * T, torch.zeros_like(T))
        C = C + w[:, None] * colors[j]
        D = D + w * proj.depths[j]
        T = torch.where(use, test_T, T)
    C = C + T[:, None] * bg
    return RenderOutput(
        image=C.reshape(H, W, 3),
        alpha=(1.0 - T).reshape(H, W),
        depth=D.reshape(H, W),
        radii=proj.radii,
        visible=proj.visible,
        means2d=proj.means2d,
    )
