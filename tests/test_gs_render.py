"""Tile renderer vs the dense reference, analytic profiles, culling, options and gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pcc.gaussians.render as render_mod
from pcc.gaussians import render_native
from pcc.gaussians.model import GaussianModel, rgb_to_sh_dc
from pcc.gaussians.projection import LOW_PASS, NEAR_PLANE, project_gaussians
from pcc.gaussians.render import render
from pcc.gaussians.render_reference import render_reference
from pcc.io.cameras import Camera, look_at, make_camera

# --------------------------------------------------------------------------- helpers


def random_scene(n: int, seed: int, dtype=torch.float64, sh_degree: int = 3) -> GaussianModel:
    """Gaussians in a cube of side 2 around the origin: anisotropic, a wide range of sizes and
    opacities (some nearly opaque, so pixels saturate and stop early)."""
    g = torch.Generator().manual_seed(seed)
    k = (sh_degree + 1) ** 2
    means = (torch.rand(n, 3, generator=g) * 2 - 1).to(dtype)
    log_scales = (math.log(0.01) + torch.rand(n, 3, generator=g) * math.log(25)).to(dtype)
    quats = torch.randn(n, 4, generator=g).to(dtype)
    logits = (torch.randn(n, generator=g) * 2.5 + 1.0).to(dtype)
    sh = (torch.randn(n, k, 3, generator=g) * 0.3).to(dtype)
    sh[:, 0] = rgb_to_sh_dc(torch.rand(n, 3, generator=g)).to(dtype)
    # Two Gaussians that every test camera culls: behind it, and far off to the side.
    means[-2] = torch.tensor([0.0, -12.0, 0.0], dtype=dtype)
    means[-1] = torch.tensor([25.0, 0.0, 0.0], dtype=dtype)
    return GaussianModel(means, log_scales, quats, logits, sh)


def camera(width, height, fx, fy, cx, cy, eye=(0.3, -3.5, 0.8), target=(0.0, 0.0, 0.0)):
    R, t = look_at(np.array(eye), np.array(target))
    return Camera(width, height, fx, fy, cx, cy, R, t)


CAMERAS = {
    "square_centred": camera(48, 48, 50.0, 50.0, 24.0, 24.0),
    "wide_offcentre_fx_ne_fy": camera(70, 45, 60.0, 48.0, 31.3, 25.8),
    "tall_not_multiple_of_16": camera(33, 50, 40.0, 44.0, 16.5, 25.0, eye=(-2.0, -2.5, 1.5)),
    "close_up": camera(40, 40, 40.0, 40.0, 20.0, 20.0, eye=(0.2, -1.3, 0.3)),
}


def one_gaussian(mean, scale, opacity, rgb=(1.0, 1.0, 1.0), dtype=torch.float64):
    """A single isotropic Gaussian, degree-0 SH."""
    return GaussianModel(
        means=torch.tensor([mean], dtype=dtype),
        log_scales=torch.full((1, 3), math.log(scale), dtype=dtype),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=dtype),
        opacity_logits=torch.tensor([math.log(opacity / (1 - opacity))], dtype=dtype),
        sh=rgb_to_sh_dc(torch.tensor([[rgb]], dtype=dtype)),
    )


def identity_camera(width, height, f):
    """At the origin looking down +z, principal point at the centre (cx = W/2)."""
    return Camera(width, height, f, f, width / 2, height / 2, np.eye(3), np.zeros(3))


def assert_outputs_close(a, b, atol):
    """image and alpha within ``atol``; depth (in scene units) within ``atol`` relative to its max."""
    for name in ("image", "alpha", "depth"):
        x, y = getattr(a, name), getattr(b, name)
        scale = max(1.0, y.abs().max().item()) if name == "depth" else 1.0
        err = (x - y).abs().max().item()
        assert err < atol * scale, f"{name}: max abs error {err}"
    assert torch.equal(a.radii, b.radii)
    assert torch.equal(a.visible, b.visible)


# Both tile renderers: PyTorch and the compiled one (when it builds here).
BACKENDS = ["torch"] + (["native"] if render_native.available() else [])

# --------------------------------------------------------------------------- tile vs dense


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cam_name", list(CAMERAS))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_tile_renderer_matches_dense_reference(cam_name, dtype, backend):
    cam = CAMERAS[cam_name]
    model = random_scene(300, seed=len(cam_name), dtype=dtype)
    bg = (0.1, 0.5, 0.9)
    fast = render(model, cam, background=bg, backend=backend)
    ref = render_reference(model, cam, background=bg)
    assert_outputs_close(fast, ref, atol=1e-4 if dtype == torch.float32 else 1e-9)
    # The scene is deep enough to saturate pixels (early stop) and is not opaque everywhere.
    assert fast.alpha.max() > 0.999 and fast.alpha.min() < 0.9
    assert 0 < int(fast.visible.sum()) < len(model)
    assert fast.image.dtype == dtype and fast.image.shape == (cam.height, cam.width, 3)


@pytest.mark.parametrize("tile_size", [8, 5])
def test_other_tile_sizes_match_reference(tile_size):
    cam = CAMERAS["wide_offcentre_fx_ne_fy"]
    model = random_scene(200, seed=7)
    fast = render(model, cam, tile_size=tile_size)
    ref = render_reference(model, cam, tile_size=tile_size)
    assert_outputs_close(fast, ref, atol=1e-9)


def test_bands_give_the_same_image(monkeypatch):
    """A tiny candidate budget forces many row bands; the result must not change."""
    cam = CAMERAS["tall_not_multiple_of_16"]
    model = random_scene(300, seed=11)
    whole = render(model, cam, backend="torch")
    monkeypatch.setattr(render_mod, "CANDIDATE_BUDGET", 500)
    banded = render(model, cam, backend="torch")
    assert_outputs_close(whole, banded, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradients_match_dense_reference(backend):
    cam = CAMERAS["wide_offcentre_fx_ne_fy"]
    model = random_scene(120, seed=5).requires_grad_()
    weights = torch.rand(cam.height, cam.width, 3, dtype=torch.float64)

    def grads(fn, **kwargs):
        out = fn(model, cam, background=(0.2, 0.3, 0.4), **kwargs)
        loss = (out.image * weights).sum() + out.alpha.sum() + 0.1 * out.depth.sum()
        return torch.autograd.grad(loss, list(model.tensors().values()))

    fast = grads(render, backend=backend)
    for name, gf, gr in zip(model.tensors(), fast, grads(render_reference)):
        torch.testing.assert_close(gf, gr, rtol=1e-7, atol=1e-9, msg=lambda m, n=name: f"{n}: {m}")


# --------------------------------------------------------------------------- analytic checks


@pytest.mark.parametrize("width,height", [(48, 48), (33, 27)])
def test_isotropic_gaussian_renders_the_analytic_profile(width, height):
    f, z, s, o = 40.0, 4.0, 0.15, 0.8
    cam = identity_camera(width, height, f)
    model = one_gaussian((0.0, 0.0, z), s, o)
    out = render(model, cam, colors=torch.ones(1, 3, dtype=torch.float64))
    # Screen mean on the optical axis: (W/2 - 0.5, H/2 - 0.5) in pixel-index coordinates.
    u0, v0 = width / 2 - 0.5, height / 2 - 0.5
    torch.testing.assert_close(out.means2d[0], torch.tensor([u0, v0], dtype=torch.float64))
    var = (f * s / z) ** 2 + LOW_PASS  # EWA variance + low-pass dilation
    # INRIA's eigenvalue formula adds sqrt(max(0.1, m^2 - det)) = sqrt(0.1) for a circle.
    assert int(out.radii[0]) == math.ceil(3 * math.sqrt(var + math.sqrt(0.1)))
    ys, xs = np.mgrid[0:height, 0:width]
    alpha = o * np.exp(-0.5 * ((xs - u0) ** 2 + (ys - v0) ** 2) / var)
    alpha = np.where(alpha >= 1 / 255, np.minimum(alpha, 0.99), 0.0)
    np.testing.assert_allclose(out.alpha.detach().numpy(), alpha, atol=1e-12)
    np.testing.assert_allclose(out.image[..., 1].detach().numpy(), alpha, atol=1e-12)
    np.testing.assert_allclose(out.depth.detach().numpy(), alpha * z, atol=1e-12)


@pytest.mark.parametrize("width,height", [(32, 32), (31, 20)])
def test_centred_camera_renders_a_centred_image(width, height):
    """A Gaussian on the optical axis of a camera with cx = W/2, cy = H/2 renders symmetric.
    (sigma = 1 px, so its alpha >= 1/255 footprint lies inside its tiles; see the next test.)"""
    cam = identity_camera(width, height, 30.0)
    model = one_gaussian((0.0, 0.0, 3.0), 0.1, 0.9)
    img = render(model, cam).image.detach()
    assert img.max() > 0.5
    torch.testing.assert_close(img, img.flip(0), atol=1e-12, rtol=0)
    torch.testing.assert_close(img, img.flip(1), atol=1e-12, rtol=0)


def test_tile_binning_follows_inria_get_rect():
    """Tiles run from floor((v - r) / 16) to floor((v + r + 15) / 16) (exclusive), as in INRIA's
    getRect. Here v = 9.5, r = 7: tile row 1 (pixel rows 16..19) is not touched although the
    Gaussian's alpha there would be >= 1/255, so those rows stay empty."""
    cam = identity_camera(31, 20, 30.0)
    model = one_gaussian((0.0, 0.0, 3.0), 0.2, 0.9)  # sigma = 2 px
    out = render(model, cam)
    assert int(out.radii[0]) == 7
    var = 4.0 + LOW_PASS
    assert 0.9 * math.exp(-0.5 * 6.5**2 / var) > 1 / 255  # row 16 would be visible...
    assert torch.all(out.alpha[16:] == 0)  # ...but is outside the Gaussian's tiles
    assert out.alpha[3, 15] > 1 / 255  # the mirror row 3 is inside


def test_projection_matches_the_jacobian_of_the_pinhole_map():
    cam = CAMERAS["wide_offcentre_fx_ne_fy"]
    model = random_scene(20, seed=2)
    cov3d = model.covariances().detach()
    proj = project_gaussians(model.means.detach(), cov3d, cam)
    R = torch.as_tensor(cam.R)
    t = torch.as_tensor(cam.t)

    def pixel(p):  # world point -> pixel-index coordinates
        c = R @ p + t
        return torch.stack(
            [cam.fx * c[0] / c[2] + cam.cx - 0.5, cam.fy * c[1] / c[2] + cam.cy - 0.5]
        )

    checked = 0
    for i in range(len(model)):
        mu = model.means[i].detach()
        c = R @ mu + t
        inside = (
            abs(c[0] / c[2]) < 0.5 * cam.width / cam.fx
            and abs(c[1] / c[2]) < 0.5 * cam.height / cam.fy
        )
        if not (c[2] > NEAR_PLANE and inside):
            continue
        J = torch.autograd.functional.jacobian(pixel, mu)  # [2, 3] in world coordinates
        expect = J @ cov3d[i] @ J.T + LOW_PASS * torch.eye(2, dtype=torch.float64)
        torch.testing.assert_close(proj.cov2d[i], expect)
        torch.testing.assert_close(proj.means2d[i], pixel(mu))
        torch.testing.assert_close(
            proj.conics[i], torch.linalg.inv(expect)[[0, 0, 1], [0, 1, 1]], rtol=1e-9, atol=1e-12
        )
        checked += 1
    assert checked >= 5


def test_jacobian_uses_the_clamped_frustum_position():
    """A large Gaussian far to the side: J is evaluated at x/z = 1.3 tan(fov_x / 2)."""
    f, w, h, z = 20.0, 40, 40, 2.0
    cam = identity_camera(w, h, f)
    x = 3.0 * z  # x/z = 3 > 1.3 * tan = 1.3
    cov3d = torch.diag(torch.tensor([4.0, 1.0, 9.0], dtype=torch.float64))[None]
    proj = project_gaussians(torch.tensor([[x, 0.0, z]], dtype=torch.float64), cov3d, cam)
    tx = 1.3 * (w / 2) / f
    J = torch.tensor([[f / z, 0.0, -f * tx / z], [0.0, f / z, 0.0]], dtype=torch.float64)
    expect = J @ cov3d[0] @ J.T + LOW_PASS * torch.eye(2, dtype=torch.float64)
    torch.testing.assert_close(proj.cov2d[0], expect)
    assert int(proj.radii[0]) > 0  # big enough to reach the screen


def test_early_stop_and_alpha_clamp_follow_inria():
    """Three opaque Gaussians on one pixel: alpha 0.98 each; the third would take T from
    4e-4 to 8e-6 < 1e-4, so it is not composited. A fourth with opacity 0.999 alone is
    clamped to 0.99."""
    cam = identity_camera(33, 33, 30.0)  # optical axis at pixel (16, 16)
    colors = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]], dtype=torch.float64)
    model = GaussianModel.concat([one_gaussian((0.0, 0.0, z), 0.05, 0.98) for z in (2.0, 3.0, 4.0)])
    bg = torch.tensor([0.3, 0.3, 0.3], dtype=torch.float64)
    for fn in (render, render_reference):
        out = fn(model, cam, colors=colors, background=bg)
        expect = 0.98 * colors[0] + 0.02 * 0.98 * colors[1] + 0.02 * 0.02 * bg
        torch.testing.assert_close(out.image[16, 16], expect)
        assert out.alpha[16, 16].item() == pytest.approx(1 - 0.02 * 0.02, abs=1e-12)
        assert out.depth[16, 16].item() == pytest.approx(0.98 * 2 + 0.02 * 0.98 * 3, abs=1e-12)
    single = one_gaussian((0.0, 0.0, 2.0), 0.05, 0.999)
    assert render(single, cam).alpha[16, 16].item() == pytest.approx(0.99, abs=1e-12)


def test_faint_gaussians_are_skipped():
    """Opacity below 1/255 can never reach alpha >= 1/255: the image is the background."""
    cam = identity_camera(24, 24, 20.0)
    model = one_gaussian((0.0, 0.0, 2.0), 0.3, 0.5 / 255)
    out = render(model, cam, background=(0.25, 0.5, 0.75))
    assert out.radii[0] > 0  # projected and binned, but never composited
    assert torch.all(out.alpha == 0)
    torch.testing.assert_close(
        out.image, torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64).expand(24, 24, 3)
    )


# --------------------------------------------------------------------------- culling, options


def test_behind_near_plane_and_off_screen_gaussians_contribute_nothing():
    cam = identity_camera(32, 24, 30.0)
    bg = (0.2, 0.4, 0.6)
    culled = GaussianModel.concat(
        [
            one_gaussian((0.0, 0.0, 0.15), 0.5, 0.9),  # huge, but in front of the near plane
            one_gaussian((0.0, 0.0, -2.0), 0.5, 0.9),  # behind the camera
            one_gaussian((5.0, 0.0, 2.0), 0.01, 0.9),  # projects 75 px right of the image
            one_gaussian((0.0, -4.0, 2.0), 0.01, 0.9),  # far above the image
        ]
    )
    for fn in (render, render_reference):
        out = fn(culled, cam, background=bg)
        assert torch.all(out.radii == 0) and not out.visible.any()
        assert torch.all(out.alpha == 0)
        torch.testing.assert_close(
            out.image, torch.tensor(bg, dtype=torch.float64).expand(24, 32, 3)
        )
    # Just outside the image but reaching into it: visible.
    edge = one_gaussian((-1.1, 0.0, 2.0), 0.1, 0.9)  # u = -1.0 px, radius several px
    out = render(edge, cam)
    assert out.radii[0] > 0 and out.alpha[:, 0].max() > 0.1


def test_near_plane_boundary_and_bad_arguments():
    cam = identity_camera(16, 16, 10.0)
    at_near = one_gaussian((0.0, 0.0, NEAR_PLANE), 0.01, 0.9)
    past_near = one_gaussian((0.0, 0.0, NEAR_PLANE + 0.01), 0.01, 0.9)
    assert int(render(at_near, cam).radii[0]) == 0  # INRIA keeps only z > 0.2
    assert int(render(past_near, cam).radii[0]) > 0
    with pytest.raises(ValueError):
        render(past_near, cam, background=(0.0, 0.0))
    with pytest.raises(ValueError):
        render(past_near, cam, tile_size=0)
    with pytest.raises(ValueError):
        project_gaussians(torch.zeros(2, 3), torch.zeros(3, 3, 3), cam)


def test_background_shows_where_alpha_is_below_one():
    cam = CAMERAS["square_centred"]
    model = random_scene(150, seed=3)
    black = render(model, cam)
    bg = torch.tensor([0.3, 0.6, 0.9], dtype=torch.float64)
    coloured = render(model, cam, background=bg)
    torch.testing.assert_close(coloured.alpha, black.alpha)
    torch.testing.assert_close(
        coloured.image, black.image + (1 - black.alpha)[..., None] * bg, rtol=0, atol=1e-12
    )
    empty = render(GaussianModel.empty(dtype=torch.float64), cam, background=bg)
    torch.testing.assert_close(empty.image, bg.expand(48, 48, 3))
    assert empty.radii.shape == (0,) and torch.all(empty.alpha == 0)


def test_no_clamp_lets_negative_colours_through():
    cam = identity_camera(24, 24, 20.0)
    model = one_gaussian((0.0, 0.0, 2.0), 0.2, 0.9, rgb=(0.0, 0.0, 0.0))
    with torch.no_grad():
        model.sh[0, 0] = -4.0  # SH(d) + 0.5 < 0 in every channel
    model.requires_grad_()
    clamped = render(model, cam)
    raw = render(model, cam, clamp_colors=False)
    assert torch.all(clamped.image == 0)
    assert raw.image.min() < -0.5
    torch.testing.assert_close(clamped.alpha, raw.alpha)
    (g_clamped,) = torch.autograd.grad(clamped.image.sum(), model.sh)
    (g_raw,) = torch.autograd.grad(raw.image.sum(), model.sh)
    assert torch.all(g_clamped == 0) and torch.all(g_raw[0, 0] > 0)


def test_view_dependent_colour_uses_the_camera_to_mean_direction():
    """Y_2 = C1 z: seen from -z (direction +z) the colour gains C1 f_2, from +z it loses it."""
    model = one_gaussian((0.0, 0.0, 3.0), 0.1, 0.9, rgb=(0.5, 0.5, 0.5))
    sh = torch.zeros(1, 4, 3, dtype=torch.float64)
    sh[0, 2] = torch.tensor([0.4, 0.0, -0.4])
    model = GaussianModel(model.means, model.log_scales, model.quats, model.opacity_logits, sh)
    front = identity_camera(33, 33, 30.0)  # at the origin, looking down +z
    R_back = np.diag([-1.0, 1.0, -1.0])  # rotated 180 degrees about y, at z = 6
    back = Camera(33, 33, 30.0, 30.0, 16.5, 16.5, R_back, -R_back @ np.array([0.0, 0.0, 6.0]))
    c1 = 0.4886025119029199
    for cam, sign in ((front, 1.0), (back, -1.0)):
        out = render(model, cam)
        colour = out.image[16, 16] / out.alpha[16, 16]
        expect = 0.5 + sign * c1 * sh[0, 2]
        torch.testing.assert_close(colour, expect)


def test_sh_degree_argument():
    cam = CAMERAS["square_centred"]
    model = random_scene(80, seed=4)
    low = render(model, cam, sh_degree=1)
    torch.testing.assert_close(low.image, render(model.with_sh_degree(1), cam).image)
    assert not torch.allclose(low.image, render(model, cam).image)
    with pytest.raises(ValueError):
        render(model.with_sh_degree(2), cam, sh_degree=3)


def test_cov3d_and_colors_overrides():
    cam = CAMERAS["wide_offcentre_fx_ne_fy"]
    model = random_scene(80, seed=6)
    base = render(model, cam)
    same = render(model, cam, cov3d=model.covariances())
    torch.testing.assert_close(same.image, base.image)
    colors = torch.rand(80, 3, dtype=torch.float64)
    recoloured = render(model, cam, colors=colors)
    torch.testing.assert_close(recoloured.alpha, base.alpha)
    torch.testing.assert_close(recoloured.image, render_reference(model, cam, colors=colors).image)
    with pytest.raises(ValueError):
        render(model, cam, cov3d=torch.zeros(79, 3, 3, dtype=torch.float64))
    with pytest.raises(ValueError):
        render(model, cam, colors=torch.zeros(80, 4, dtype=torch.float64))


def test_means2d_grad_is_populated():
    cam = CAMERAS["square_centred"]
    model = random_scene(100, seed=8, dtype=torch.float32).requires_grad_()
    out = render(model, cam)
    assert out.means2d.grad_fn is not None  # non-leaf, in the graph
    out.means2d.retain_grad()
    out.image.sum().backward()
    g = out.means2d.grad
    assert g is not None and g.shape == (100, 2)
    assert g[out.visible].abs().sum() > 0
    assert torch.all(g[~out.visible] == 0)
    assert model.means.grad is not None and model.means.grad.abs().sum() > 0


def test_backward_works_when_nothing_is_visible():
    cam = identity_camera(16, 16, 10.0)
    model = one_gaussian((0.0, 0.0, -3.0), 0.2, 0.9).requires_grad_()
    out = render(model, cam)
    out.image.sum().backward()
    assert torch.all(model.means.grad == 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    cam = CAMERAS["square_centred"]
    model = random_scene(100, seed=9, dtype=torch.float32)
    cpu = render(model, cam)
    gpu = render(model.to("cuda"), cam)
    torch.testing.assert_close(gpu.image.cpu(), cpu.image, atol=1e-4, rtol=0)


# --------------------------------------------------------------------------- finite differences


def _fd_scene() -> tuple[GaussianModel, Camera]:
    """Four overlapping Gaussians, opacities <= 0.8 (so alpha < 0.99 and T stays >> 1e-4),
    all inside the clamped frustum, seen by an off-centre camera with fx != fy."""
    g = torch.Generator().manual_seed(21)
    n = 4
    means = torch.tensor(
        [[0.0, 0.0, 0.0], [0.15, 0.1, -0.05], [-0.12, 0.05, 0.1], [0.05, -0.12, 0.2]],
        dtype=torch.float64,
    )
    log_scales = torch.log(torch.rand(n, 3, generator=g, dtype=torch.float64) * 0.12 + 0.08)
    quats = torch.randn(n, 4, generator=g, dtype=torch.float64)
    logits = torch.tensor([0.5, -0.3, 1.0, 0.2], dtype=torch.float64)
    sh = torch.randn(n, 16, 3, generator=g, dtype=torch.float64) * 0.2
    model = GaussianModel(means, log_scales, quats, logits, sh)
    cam = camera(22, 18, 24.0, 20.0, 10.7, 9.4, eye=(0.4, -2.2, 0.6))
    return model, cam


def test_gradients_match_central_finite_differences():
    """float64, eps = 1e-6. The scene is checked to be stable under every perturbation: the set
    of composited (pixel, Gaussian) pairs (so the 1/255 skip, the 1e-4 stop, the radii and tile
    rectangles) is identical to the unperturbed one, and no alpha reaches the 0.99 clamp."""
    model, cam = _fd_scene()
    wgen = torch.Generator().manual_seed(1)
    w_img = torch.rand(cam.height, cam.width, 3, generator=wgen, dtype=torch.float64)
    w_alpha = torch.rand(cam.height, cam.width, generator=wgen, dtype=torch.float64)
    w_depth = torch.rand(cam.height, cam.width, generator=wgen, dtype=torch.float64)
    bg = (0.3, 0.2, 0.1)

    def loss_of(m: GaussianModel) -> torch.Tensor:
        out = render(m, cam, background=bg)
        return (
            (out.image * w_img).sum()
            + (out.alpha * w_alpha).sum()
            + 0.1 * (out.depth * w_depth).sum()
        )

    def pairs_of(m: GaussianModel):
        proj = project_gaussians(m.means, m.covariances(), cam)
        p = render_mod._select_pairs(proj, m.opacities, cam.width, cam.height, 16)
        return torch.stack([p.pixel, p.gauss]), proj.radii

    base_pairs, base_radii = pairs_of(model)
    assert base_pairs.shape[1] > 100  # the Gaussians overlap many pixels
    assert float(model.opacities.max()) < 0.99

    params = model.clone().requires_grad_()
    analytic = torch.autograd.grad(loss_of(params), list(params.tensors().values()))
    eps = 1e-6
    for (name, value), grad in zip(model.tensors().items(), analytic):
        numeric = torch.zeros_like(value)
        flat = numeric.view(-1)
        for i in range(value.numel()):
            losses = []
            for sign in (1.0, -1.0):
                tensors = {k: v.clone() for k, v in model.tensors().items()}
                tensors[name].view(-1)[i] += sign * eps
                m = GaussianModel(**tensors)
                pairs, radii = pairs_of(m)
                assert torch.equal(pairs, base_pairs) and torch.equal(radii, base_radii)
                losses.append(loss_of(m).item())
            flat[i] = (losses[0] - losses[1]) / (2 * eps)
        rel = (numeric - grad).norm() / grad.norm().clamp_min(1e-12)
        assert rel < 1e-3, f"{name}: relative error {rel:.2e}"
        assert grad.abs().max() > 0, f"{name}: zero gradient"


def test_cov3d_gradient_matches_finite_differences():
    """c3dgs's sensitivity differentiates w.r.t. a precomputed covariance (black background,
    no clamp)."""
    model, cam = _fd_scene()
    cov = model.covariances().detach()
    w_img = torch.rand(cam.height, cam.width, 3, dtype=torch.float64)

    def loss_of(c):
        out = render(model, cam, cov3d=c, clamp_colors=False)
        return (out.image * w_img).sum()

    c = cov.clone().requires_grad_()
    (grad,) = torch.autograd.grad(loss_of(c), c)
    eps = 1e-7
    numeric = torch.zeros_like(cov)
    for i in range(cov.shape[0]):
        for a in range(3):
            for b in range(3):
                plus, minus = cov.clone(), cov.clone()
                plus[i, a, b] += eps
                minus[i, a, b] -= eps
                numeric[i, a, b] = (loss_of(plus) - loss_of(minus)).item() / (2 * eps)
    rel = (numeric - grad).norm() / grad.norm()
    assert rel < 1e-3, f"relative error {rel:.2e}"


# --------------------------------------------------------------------------- real data


@pytest.mark.slow
def test_real_inria_scene_matches_dense_reference(shared_data):
    """A real INRIA-trained scene (9,080 Gaussians, SH degree 3, unnormalised quaternions, low
    opacities, huge splats) from a made-up viewpoint: the tile renderer equals the reference."""
    from pcc.io.gaussian_ply import read_gaussian_ply

    path = shared_data / "gaussian_splats" / "kacytran_3dgs_sh3" / "point_cloud_iter7000.ply"
    if not path.exists():
        pytest.skip(f"{path} not found")
    model = read_gaussian_ply(path)
    centre = model.means.median(0).values.double().numpy()
    cam = make_camera(centre + np.array([0.0, -600.0, 150.0]), centre, 40, 30, fov_x_deg=60.0)
    fast = render(model, cam, background=(0.5, 0.5, 0.5))
    ref = render_reference(model, cam, background=(0.5, 0.5, 0.5))
    assert_outputs_close(fast, ref, atol=1e-4)
    assert int(fast.visible.sum()) > 1000 and fast.alpha.mean() > 0.5
