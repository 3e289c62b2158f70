"""Differentiable tile-based Gaussian rasteriser in plain PyTorch (CPU or CUDA), INRIA semantics.

Implements the forward model of Kerbl et al., "3D Gaussian Splatting for Real-Time Radiance Field
Rendering" (SIGGRAPH 2023), with the constants of its CUDA rasteriser; autograd provides the
backward pass. Taught in ``notebooks/00_a_3dgs_scene.ipynb``.

What is rendered, per pixel ``p`` (sampled at integer coordinates, see
:mod:`pcc.gaussians.projection` for the pixel convention):

* Gaussians are binned to ``tile_size x tile_size`` screen tiles by their screen radius ``r``
  (INRIA's ``getRect``, see :mod:`pcc.gaussians.projection`); a Gaussian is evaluated at every
  pixel of every tile it is binned to and nowhere else.
* Front to back in view depth, ``alpha_j = min(0.99, o_j exp(-1/2 d^T Sigma_2D^{-1} d))`` with
  ``d = mu_2D - p``; a Gaussian with ``alpha_j < 1/255`` is skipped for that pixel.
* Transmittance ``T_j = prod_{i<j} (1 - alpha_i)``. A pixel stops at the first Gaussian that would
  take the transmittance below ``1e-4``; that Gaussian is *not* composited (INRIA semantics).
* ``C = sum_j alpha_j T_j c_j + T_final * background``; ``alpha = 1 - T_final``;
  ``depth = sum_j alpha_j T_j z_j`` (the alpha-weighted view depth, *not* divided by ``alpha``:
  divide by ``alpha`` yourself for an expected depth of the covered part).

How it is vectorised. Because every pixel of a tile sees the tile's Gaussians in the same
(global) depth order, per-tile depth order is the same as per-pixel depth order, so the renderer
works on a flat list of (pixel, Gaussian) pairs:

1. *Candidate pairs (no grad).* For every visible Gaussian, the pixels of its tiles that lie
   inside its ``alpha >= 1/255`` ellipse ``d^T Sigma^{-1} d <= 2 ln(255 o)`` (plus a safety
   margin). Pixels outside it are skipped by the rule above anyway, so this is exact, not an
   approximation. They are generated row by row: (Gaussian, row) pairs over the ellipse's
   bounding rows, then, per row, the pixel span where the row crosses the ellipse (closed form).
   The image is processed in bands of rows so that at most about ``CANDIDATE_BUDGET``
   candidates are held at once.
2. The candidates with ``alpha >= 1/255`` (the exact test, same arithmetic as step 3) are
   generated front to back, so a *stable* sort by pixel gives (pixel, depth) order; an inclusive
   segmented sum of ``log(1 - alpha)`` marks where each pixel stops (``T < 1e-4``), and the later
   pairs of that pixel are dropped.
3. *Compositing (with grad).* Only the kept pairs are re-evaluated under autograd. The exclusive
   transmittance is ``exp`` of a segmented exclusive cumulative sum of ``log(1 - alpha)``, computed
   in float64 (``1 - alpha >= 0.01``, so the logarithm and its gradient are safe), and colours,
   depths and ``log T_final`` are scattered to pixels with ``index_add``.

On the CPU, :func:`render` runs these steps (and the projection) in the compiled rasteriser of
:mod:`pcc.gaussians.render_native` when it builds (same images and gradients, 10x or more
faster); ``backend="torch"`` or ``PCC_RENDERER=torch`` selects this PyTorch implementation, which
stays the reference the compiled one is tested against.

Memory grows with the number of kept pairs: measured peak about 340 bytes per pair for a
forward + backward in float32 (256x256, 50k Gaussians, 1.25M pairs: +420 MB). That bounds the
image size in practice; a few million pairs is fine.

Gradients are the exact derivatives of this piecewise-smooth function: zero through
``min(0.99, .)`` when it is active and zero for skipped or stopped pairs. (INRIA's hand-written
backward passes the gradient straight through the ``0.99`` clamp; this is the one difference we
know of.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from pcc.gaussians.model import GaussianModel
from pcc.gaussians.projection import Projected, camera_tensors, project_gaussians
from pcc.gaussians.sh import sh_to_color, view_directions
from pcc.io.cameras import Camera

ALPHA_MAX = 0.99  # alpha is clamped to this (keeps 1 - alpha >= 0.01)
ALPHA_MIN = 1.0 / 255.0  # a Gaussian with smaller alpha is skipped for that pixel
T_MIN = 1e-4  # a pixel stops before the Gaussian that would take T below this
CANDIDATE_BUDGET = 2_000_000  # max (pixel, Gaussian) candidates held at once in step 1
LOG_T_MIN = math.log(T_MIN)


@dataclass
class RenderOutput:
    """What :func:`render` returns.

    ``depth`` is ``sum_i w_i z_i`` with blend weights ``w_i = alpha_i T_i`` and view-space depth
    ``z_i`` (not normalised by ``alpha``). ``means2d`` is a non-leaf tensor of the autograd graph:
    call ``out.means2d.retain_grad()`` before ``backward()`` to read the screen-space positional
    gradient used by 3DGS densification. Its units are pixels; INRIA's densification statistic is
    the gradient w.r.t. NDC coordinates, i.e. ``grad * (W / 2, H / 2)``.
    """

    image: torch.Tensor  # [H, W, 3]
    alpha: torch.Tensor  # [H, W] accumulated opacity, 1 - final transmittance
    depth: torch.Tensor  # [H, W] sum_i w_i z_i (alpha-weighted view depth, not normalised)
    radii: torch.Tensor  # [N] int64 screen radius in pixels, 0 = culled / not visible
    visible: torch.Tensor  # [N] bool, radii > 0
    means2d: torch.Tensor  # [N, 2] screen-space means (pixels), non-leaf


def gaussian_colors(
    model: GaussianModel, camera: Camera, sh_degree: int | None = None, clamp: bool = True
) -> torch.Tensor:
    """View-dependent colours ``max(0, SH(d) + 0.5)`` of every Gaussian for this camera.

    Returns:
        ``[N, 3]``.
    """
    degree = model.sh_degree if sh_degree is None else int(sh_degree)
    if not 0 <= degree <= model.sh_degree:
        raise ValueError(f"sh_degree {degree} not in 0..{model.sh_degree} (the model's degree)")
    _, _, center = camera_tensors(camera, model.dtype, model.device)
    dirs = view_directions(model.means, center)  # [N, 3]
    return sh_to_color(model.sh, dirs, degree, clamp=clamp)


def _background_tensor(background, dtype, device) -> torch.Tensor:
    bg = torch.as_tensor(background, dtype=dtype, device=device).reshape(-1)
    if bg.shape != (3,):
        raise ValueError(f"background must have 3 values, got {tuple(bg.shape)}")
    return bg


@dataclass
class _Pairs:
    """Kept (pixel, Gaussian) pairs sorted by pixel, then depth (front to back)."""

    pixel: torch.Tensor  # [M] int64 flat pixel index y * W + x
    gauss: torch.Tensor  # [M] int64 index into the model's Gaussians
    seg_first: torch.Tensor  # [M] int64 position of the first pair of the same pixel


@torch.no_grad()
def _select_pairs(
    proj: Projected,
    opacities: torch.Tensor,  # [N]
    width: int,
    height: int,
    tile_size: int,
    budget: int = CANDIDATE_BUDGET,
) -> _Pairs:
    """Steps 1 and 2 of the module docstring: the pairs that get composited, in order.

    Candidates are generated in two levels: (Gaussian, row) for the rows of the alpha ellipse's
    bounding box, then, per row, the pixel span where the row crosses the ellipse (solved in
    closed form), clipped to the Gaussian's tiles and the image.
    """
    device = opacities.device
    empty = torch.zeros(0, dtype=torch.int64, device=device)
    opac = opacities.detach()
    idx = torch.nonzero(proj.visible & (opac >= ALPHA_MIN)).squeeze(1)  # [V]
    if idx.numel() == 0:
        return _Pairs(empty, empty, empty)
    # Front-to-back order: the local index of a Gaussian in this list is its depth rank.
    idx = idx[torch.argsort(proj.depths.detach()[idx], stable=True)]
    f64 = torch.float64
    uv = proj.means2d.detach()[idx].to(f64)  # [V, 2]
    con = proj.conics.detach()[idx].to(f64)  # [V, 3]
    o = opac[idx]  # [V]
    rect = proj.tile_rect[idx]  # [V, 4]
    # Per-Gaussian table for the exact alpha test, gathered once per candidate: [6, V].
    table = torch.stack(
        [
            proj.means2d.detach()[idx, 0],
            proj.means2d.detach()[idx, 1],
            proj.conics.detach()[idx, 0],
            proj.conics.detach()[idx, 1],
            proj.conics.detach()[idx, 2],
            o,
        ]
    )
    dtype = table.dtype

    # alpha >= 1/255  <=>  a dx^2 + 2 b dx dy + c dy^2 <= q  with q = 2 ln(255 o), where
    # (a, b, c) are the conic entries *as stored*, so that the ranges below agree with the alpha
    # test however the conic was rounded (a conic that is not positive definite after rounding
    # gets an unbounded range, clipped by its tiles).
    q = 2.0 * torch.log(o.to(f64) * 255.0).clamp_min(0.0)  # [V]
    det_con = con[:, 0] * con[:, 2] - con[:, 1] ** 2
    hy = torch.where(
        det_con > 0, torch.sqrt(q * con[:, 0] / det_con.clamp_min(1e-300)), math.inf
    ).clamp(max=4.0 * (height + width))
    pix_x0 = (rect[:, 0] * tile_size).to(f64)  # first pixel column of the Gaussian's tiles
    pix_x1 = (rect[:, 2] * tile_size).clamp(max=width).to(f64) - 1  # last column
    y0 = torch.maximum(torch.ceil(uv[:, 1] - hy - 0.1 - 0.01 * hy), rect[:, 1] * tile_size)
    y1 = torch.minimum(
        torch.floor(uv[:, 1] + hy + 0.1 + 0.01 * hy),
        (rect[:, 3] * tile_size).clamp(max=height) - 1,
    )
    y0 = y0.clamp(-1, height).to(torch.int64)
    y1 = y1.clamp(-1, height).to(torch.int64)
    n_rows = (y1 - y0 + 1).clamp_min(0)  # [V]

    # (Gaussian, row) level.
    gsel = torch.nonzero(n_rows > 0).squeeze(1)
    row_cnt = n_rows[gsel]
    gr = torch.repeat_interleave(gsel, row_cnt)  # [R]
    row_start = torch.cumsum(row_cnt, 0) - row_cnt
    yr = y0[gr] + (
        torch.arange(gr.numel(), device=device) - torch.repeat_interleave(row_start, row_cnt)
    )
    a, b, c = con[gr, 0], con[gr, 1], con[gr, 2]
    dy = uv[gr, 1] - yr.to(f64)  # dy = v - y
    disc = (a * q[gr] - (a * c - b * b) * dy * dy).clamp_min(0.0)
    root = torch.sqrt(disc) / a
    centre = uv[gr, 0] + b * dy / a  # x where the row is closest to the Gaussian's centre
    margin = 0.1 + 0.01 * root  # generous: only adds candidates, the alpha test is exact
    x0 = torch.maximum(torch.ceil(centre - root - margin), pix_x0[gr]).clamp(-1, width)
    x1 = torch.minimum(torch.floor(centre + root + margin), pix_x1[gr]).clamp(-1, width)
    unbounded = (a <= 0) | (a * c - b * b <= 0) | ~torch.isfinite(x0) | ~torch.isfinite(x1)
    x0 = torch.where(unbounded, pix_x0[gr], x0)
    x1 = torch.where(unbounded, pix_x1[gr], x1)
    x0 = x0.to(torch.int64)
    span = (x1.to(torch.int64) - x0 + 1).clamp_min(0)  # [R]
    # [3, R] int32 (half the memory traffic of int64): first column, row, depth rank.
    row_table = torch.stack([x0, yr, gr]).to(torch.int32)

    # Bands of rows keep the number of pixel candidates below the budget.
    total = int(span.sum())
    n_bands = max(1, min(height, -(-total // budget)))
    rows_per_band = -(-height // n_bands)
    pix_out, gauss_out = [], []
    for band_start in range(0, height, rows_per_band):
        in_band = (yr >= band_start) & (yr < band_start + rows_per_band) & (span > 0)
        rsel = torch.nonzero(in_band).squeeze(1)
        if rsel.numel() == 0:
            continue
        cnt = span.index_select(0, rsel)
        r = torch.repeat_interleave(rsel, cnt)  # [m] row of each candidate
        start = (torch.cumsum(cnt, 0) - cnt).to(torch.int32)
        rx0, py, g = row_table.index_select(1, r).unbind(0)
        j = torch.arange(r.numel(), dtype=torch.int32, device=device)
        px = rx0 + (j - torch.repeat_interleave(start, cnt))
        u, v, ca, cb, cc, op = table.index_select(1, g).unbind(0)
        ddx = u - px.to(dtype)
        ddy = v - py.to(dtype)
        power = -0.5 * (ca * ddx * ddx + cc * ddy * ddy) - cb * ddx * ddy
        alpha = (op * torch.exp(power)).clamp(max=ALPHA_MAX)
        ok = (power <= 0) & (alpha >= ALPHA_MIN)
        # Candidates were generated Gaussian by Gaussian, front to back, so a stable sort by
        # pixel gives (pixel, depth) order. Bands are disjoint, increasing ranges of pixels, so
        # concatenating the bands keeps that order.
        pix, order = torch.sort(torch.masked_select(py * width + px, ok), stable=True)
        g = torch.masked_select(g, ok).index_select(0, order)
        alpha = torch.masked_select(alpha, ok).index_select(0, order)
        # Early stop: keep a pair while the inclusive transmittance stays >= T_MIN.
        log_t = torch.log1p(-alpha.to(f64))
        incl = torch.cumsum(log_t, 0)
        before = incl - log_t
        keep = (incl - before.index_select(0, _segment_first(pix))) >= LOG_T_MIN
        pix_out.append(torch.masked_select(pix, keep).to(torch.int64))
        gauss_out.append(idx.index_select(0, torch.masked_select(g, keep)))
    if not pix_out:
        return _Pairs(empty, empty, empty)
    pix = torch.cat(pix_out)
    return _Pairs(pix, torch.cat(gauss_out), _segment_first(pix))


def _segment_first(keys: torch.Tensor) -> torch.Tensor:
    """For sorted ``keys [M]``, the position of the first element of each element's run  # [M]"""
    m = keys.numel()
    if m == 0:
        return keys.clone()
    is_first = torch.ones(m, dtype=torch.bool, device=keys.device)
    is_first[1:] = keys[1:] != keys[:-1]
    pos = torch.arange(m, device=keys.device)
    starts = torch.masked_select(pos, is_first)  # [S]
    seg = torch.cumsum(is_first.to(torch.int64), 0) - 1  # [M]
    return starts.index_select(0, seg)


def composite(
    pairs: _Pairs,
    means2d: torch.Tensor,  # [N, 2]
    conics: torch.Tensor,  # [N, 3]
    opacities: torch.Tensor,  # [N]
    colors: torch.Tensor,  # [N, 3]
    depths: torch.Tensor,  # [N]
    width: int,
    height: int,
    background: torch.Tensor,  # [3]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Step 3: differentiable alpha compositing of the kept pairs.

    Returns:
        ``image [H, W, 3]``, ``alpha [H, W]``, ``depth [H, W]``.
    """
    dtype, device = means2d.dtype, means2d.device
    npix = width * height
    g, pix = pairs.gauss, pairs.pixel
    px = (pix % width).to(dtype)
    py = torch.div(pix, width, rounding_mode="floor").to(dtype)
    # One gather of every per-Gaussian quantity: [10, N] -> [10, M] (one scatter in backward).
    table = torch.cat(
        [means2d.T, conics.T, opacities[None], colors.T, depths[None]], dim=0
    ).index_select(1, g)
    u, v, ca, cb, cc, op, cr, cg, cbl, z = table.unbind(0)
    dx = u - px
    dy = v - py
    power = -0.5 * (ca * dx * dx + cc * dy * dy) - cb * dx * dy
    alpha = (op * torch.exp(power)).clamp(max=ALPHA_MAX)  # [M]
    log_t = torch.log1p(-alpha.to(torch.float64))  # [M]
    incl = torch.cumsum(log_t, 0)
    before = incl - log_t
    trans = torch.exp(before - before.index_select(0, pairs.seg_first)).to(dtype)  # [M] T_j
    weight = alpha * trans  # [M]
    rgb = torch.zeros(npix, 3, dtype=dtype, device=device).index_add(
        0, pix, torch.stack([weight * cr, weight * cg, weight * cbl], 1)
    )
    dep = torch.zeros(npix, dtype=dtype, device=device).index_add(0, pix, weight * z)
    log_final = torch.zeros(npix, dtype=torch.float64, device=device).index_add(0, pix, log_t)
    t_final = torch.exp(log_final).to(dtype)  # [H*W]
    rgb = rgb + t_final[:, None] * background
    return (
        rgb.reshape(height, width, 3),
        (1.0 - t_final).reshape(height, width),
        dep.reshape(height, width),
    )


def resolve_backend(backend: str | None, device: torch.device) -> str:
    """``"native"`` or ``"torch"`` (see :func:`pcc.gaussians.render_native.resolve_backend`)."""
    from pcc.gaussians import render_native

    return render_native.resolve_backend(backend, device)


def render(
    model: GaussianModel,
    camera: Camera,
    *,
    background: Sequence[float] | torch.Tensor = (0.0, 0.0, 0.0),
    sh_degree: int | None = None,
    clamp_colors: bool = True,
    cov3d: torch.Tensor | None = None,
    colors: torch.Tensor | None = None,
    tile_size: int = 16,
    backend: str | None = None,
) -> RenderOutput:
    """Render ``model`` from ``camera`` (see the module docstring for the exact image formation).

    Args:
        model: the Gaussians; rendering happens on ``model.device`` in ``model.dtype``
            (float32 or float64).
        camera: the view (OpenCV frame, pixel convention of :mod:`pcc.gaussians.projection`).
        background: RGB shown where the accumulated alpha is below 1.
        sh_degree: SH degree to evaluate (``None``: the model's); at most the model's degree.
        clamp_colors: ``max(0, SH + 0.5)`` if True (INRIA); ``SH + 0.5`` if False (c3dgs's
            sensitivity pass).
        cov3d: ``[N, 3, 3]`` world covariances overriding ``log_scales``/``quats``.
        colors: ``[N, 3]`` already-activated colours overriding the SH (never clamped).
        tile_size: screen tile edge (INRIA: 16); it only decides which pixels may see a Gaussian.
        backend: ``"native"`` (the compiled CPU rasteriser of :mod:`pcc.gaussians.render_native`,
            same image and gradients), ``"torch"`` (steps 1-3 below in PyTorch) or ``"auto"``
            (native on CPU when it builds); ``None``: ``$PCC_RENDERER``, else ``"auto"``.
    Returns:
        :class:`RenderOutput`.
    """
    n = len(model)
    dtype, device = model.dtype, model.device
    native = resolve_backend(backend, device) == "native"
    if cov3d is not None and tuple(cov3d.shape) != (n, 3, 3):
        raise ValueError(f"cov3d must have shape [{n}, 3, 3], got {tuple(cov3d.shape)}")
    if colors is None and native:
        from pcc.gaussians import render_native

        colors = render_native.sh_colors(model, camera, sh_degree, clamp=clamp_colors)
    elif colors is None:
        colors = gaussian_colors(model, camera, sh_degree, clamp=clamp_colors)
    elif tuple(colors.shape) != (n, 3):
        raise ValueError(f"colors must have shape [{n}, 3], got {tuple(colors.shape)}")
    if tile_size < 1:
        raise ValueError(f"tile_size must be positive, got {tile_size}")
    bg = _background_tensor(background, dtype, device)
    colors = colors.to(dtype)

    opacities = model.opacities  # [N]
    if native:
        from pcc.gaussians import render_native

        if cov3d is None:  # build_covariance's R S S^T R^T, built and differentiated in C++
            proj = render_native.project_model(
                model.means, model.quats, model.log_scales, camera, tile_size
            )
        else:
            proj = render_native.project(model.means, cov3d.to(dtype), camera, tile_size)
        image, alpha, depth = render_native.composite(
            proj, opacities, colors, bg, camera.width, camera.height, tile_size,
            (ALPHA_MAX, ALPHA_MIN, T_MIN),
        )  # fmt: skip
        return RenderOutput(
            image=image,
            alpha=alpha,
            depth=depth,
            radii=proj.radii,
            visible=proj.visible,
            means2d=proj.means2d,
        )
    if cov3d is None:
        cov3d = model.covariances()
    proj = project_gaussians(model.means, cov3d.to(dtype), camera, tile_size)
    pairs = _select_pairs(
        proj, opacities, camera.width, camera.height, tile_size, budget=CANDIDATE_BUDGET
    )
    image, alpha, depth = composite(
        pairs,
        proj.means2d,
        proj.conics,
        opacities,
        colors,
        proj.depths,
        camera.width,
        camera.height,
        bg,
    )
    if pairs.pixel.numel() == 0:
        # Nothing visible: keep the outputs attached to the graph (with zero gradients) so a
        # training loop can still call backward().
        anchor = proj.means2d.sum() + proj.conics.sum() + opacities.sum() + colors.sum()
        if anchor.requires_grad:
            image = image + 0.0 * anchor
    return RenderOutput(
        image=image,
        alpha=alpha,
        depth=depth,
        radii=proj.radii,
        visible=proj.visible,
        means2d=proj.means2d,
    )
