"""The compiled rasteriser (pcc.gaussians.render_native) against the PyTorch tile renderer."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import random_scene

from pcc.gaussians import render_native
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.projection import Projected, project_gaussians
from pcc.gaussians.render import ALPHA_MAX, ALPHA_MIN, T_MIN, render
from pcc.io.cameras import Camera, look_at

pytestmark = pytest.mark.skipif(
    not render_native.available(),
    reason=f"native rasteriser not built: {render_native.build_error()}",
)


def camera(width, height, f, eye=(0.4, -3.2, 0.9), cx=None, cy=None) -> Camera:
    R, t = look_at(np.array(eye), np.zeros(3))
    cx = width / 2 if cx is None else cx
    cy = height / 2 if cy is None else cy
    return Camera(width, height, f, 0.9 * f, cx, cy, R, t)


CAMERAS = {
    "square": camera(48, 48, 45.0),
    "odd_offcentre": camera(53, 37, 40.0, eye=(-1.5, -2.6, 1.2), cx=24.3, cy=20.1),
    "close_up": camera(40, 32, 36.0, eye=(0.2, -1.4, 0.3)),
}


def dense_scene(n: int, seed: int, dtype: torch.dtype) -> GaussianModel:
    """conftest's random scene, made denser and more opaque so pixels saturate (early stop)."""
    m = random_scene(n, seed=seed, unseen=2)
    m = GaussianModel(m.means, m.log_scales + 0.6, m.quats, m.opacity_logits + 1.5, m.sh)
    return m.to(dtype=dtype)


def loss_weights(cam: Camera, dtype, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.rand(cam.height, cam.width, 3, generator=g, dtype=torch.float64).to(dtype),
        torch.rand(cam.height, cam.width, generator=g, dtype=torch.float64).to(dtype),
        torch.rand(cam.height, cam.width, generator=g, dtype=torch.float64).to(dtype),
    )


def outputs_and_grads(model, cam, backend, weights, **kwargs):
    params = model.clone().requires_grad_()
    out = render(params, cam, backend=backend, **kwargs)
    out.means2d.retain_grad()
    w_img, w_alpha, w_depth = weights
    loss = (out.image * w_img).sum() + (out.alpha * w_alpha).sum() + (out.depth * w_depth).sum()
    loss.backward()
    grads = {name: t.grad for name, t in params.tensors().items()}
    grads["means2d"] = out.means2d.grad
    return out, grads


def assert_close_rel(actual, expected, rel, name):
    """Every element within ``rel`` of the largest magnitude of ``expected`` (and rtol ``rel``)."""
    scale = max(expected.abs().max().item(), 1e-30)
    torch.testing.assert_close(
        actual, expected, rtol=rel, atol=rel * scale, msg=lambda m: f"{name}: {m}"
    )


@pytest.mark.parametrize("cam_name", list(CAMERAS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_images_and_every_gradient_match_the_torch_renderer(cam_name, dtype):
    cam = CAMERAS[cam_name]
    model = dense_scene(250, seed=len(cam_name), dtype=dtype)
    weights = loss_weights(cam, dtype)
    bg = (0.2, 0.5, 0.8)
    ref, g_ref = outputs_and_grads(model, cam, "torch", weights, background=bg)
    nat, g_nat = outputs_and_grads(model, cam, "native", weights, background=bg)
    rel = 1e-5 if dtype == torch.float32 else 1e-10
    for name in ("image", "alpha", "depth"):
        assert_close_rel(getattr(nat, name), getattr(ref, name), rel, name)
        assert getattr(nat, name).dtype == dtype
    assert torch.equal(nat.radii, ref.radii) and torch.equal(nat.visible, ref.visible)
    for name, g in g_ref.items():
        assert g.abs().max() > 0, f"{name}: zero gradient in the reference"
        assert_close_rel(g_nat[name], g, rel, name)
    # The scene exercises the cut-offs: saturated pixels (early stop), and uncovered ones
    # except in the close-up.
    assert nat.alpha.max() > 0.999
    assert cam_name == "close_up" or nat.alpha.min() < 0.5


def test_sensitivity_style_call_matches():
    """c3dgs sensitivity: gradients w.r.t. SH and a given covariance, unclamped colours."""
    cam = CAMERAS["odd_offcentre"]
    model = dense_scene(200, seed=3, dtype=torch.float32)
    cov = model.covariances().detach()
    grads = {}
    for backend in ("torch", "native"):
        sh = model.sh.clone().requires_grad_()
        c = cov.clone().requires_grad_()
        m = GaussianModel(model.means, model.log_scales, model.quats, model.opacity_logits, sh)
        out = render(m, cam, cov3d=c, clamp_colors=False, backend=backend)
        grads[backend] = torch.autograd.grad(out.image.sum(), [sh, c])
    for name, a, b in zip(("sh", "cov3d"), grads["native"], grads["torch"]):
        assert_close_rel(a, b, 1e-5, name)


def test_precomputed_colours_and_tile_sizes():
    cam = CAMERAS["square"]
    model = dense_scene(150, seed=5, dtype=torch.float64)
    colors = torch.rand(150, 3, dtype=torch.float64)
    for tile_size in (16, 8, 5):
        a = render(model, cam, colors=colors, tile_size=tile_size, backend="native")
        b = render(model, cam, colors=colors, tile_size=tile_size, backend="torch")
        assert_close_rel(a.image, b.image, 1e-10, f"tile {tile_size}")


def test_background_gradient():
    cam = CAMERAS["close_up"]
    model = dense_scene(120, seed=6, dtype=torch.float64)
    grads = []
    for backend in ("torch", "native"):
        bg = torch.tensor([0.3, 0.1, 0.7], dtype=torch.float64, requires_grad=True)
        out = render(model, cam, background=bg, backend=backend)
        (g,) = torch.autograd.grad((out.image**2).sum(), bg)
        grads.append(g)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-10, atol=1e-12)


def test_composite_gradcheck_float64():
    """Finite differences (torch.autograd.gradcheck) of the compiled compositing itself, w.r.t.
    every per-Gaussian input and the background. Opacities stay below the 0.99 clamp and the
    perturbations (1e-6) are far too small to move a pair across a cut-off."""
    g = torch.Generator().manual_seed(4)
    n, width, height = 5, 20, 14
    f64 = torch.float64
    means2d = torch.stack(
        [
            torch.rand(n, generator=g, dtype=f64) * 12 + 4,
            torch.rand(n, generator=g, dtype=f64) * 6 + 4,
        ],
        1,
    )  # [N, 2]
    sx = torch.rand(n, generator=g, dtype=f64) * 3 + 2
    sy = torch.rand(n, generator=g, dtype=f64) * 3 + 2
    rho = torch.rand(n, generator=g, dtype=f64) * 0.8 - 0.4
    det = (sx * sy) ** 2 * (1 - rho**2)
    # conic of [[sx^2, rho sx sy], [rho sx sy, sy^2]]
    conics = torch.stack([sy**2 / det, -rho * sx * sy / det, sx**2 / det], 1)  # [N, 3]
    opacities = torch.tensor([0.9, 0.6, 0.8, 0.7, 0.95], dtype=f64)
    colors = torch.rand(n, 3, generator=g, dtype=f64)
    depths = torch.tensor([3.0, 1.0, 5.0, 2.0, 4.0], dtype=f64)  # not in input order
    rect = torch.tensor([[0, 0, 2, 1]] * n, dtype=torch.int64)  # every tile of a 20x14 image
    consts = (ALPHA_MAX, ALPHA_MIN, T_MIN)
    bg = torch.tensor([0.2, 0.4, 0.6], dtype=f64)

    def fn(m2, con, op, col, z, background):
        proj = Projected(m2, z, torch.zeros(n, 2, 2, dtype=f64), con, torch.ones(n), rect)
        return render_native.composite(proj, op, col, background, width, height, 16, consts)

    inputs = [t.clone().requires_grad_() for t in (means2d, conics, opacities, colors, depths, bg)]
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)
    image, alpha, _ = fn(*inputs)
    assert alpha.max() > 0.9  # the Gaussians overlap and reach high coverage


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_projection_matches_project_gaussians(dtype):

    cam = CAMERAS["odd_offcentre"]
    model = dense_scene(300, seed=12, dtype=dtype)
    with torch.no_grad():  # a few Gaussians behind the camera and beside the frustum too
        model.means[:5] = torch.tensor([0.4, -4.0, 0.9], dtype=dtype)
        model.means[5:10, 0] = 6.0
    cov = model.covariances()
    ref = project_gaussians(model.means, cov, cam)
    nat = render_native.project(model.means, cov, cam)
    rel = 1e-5 if dtype == torch.float32 else 1e-12
    for name in ("means2d", "depths", "conics", "cov2d"):
        assert_close_rel(getattr(nat, name), getattr(ref, name), rel, name)
    assert torch.equal(nat.radii, ref.radii) and torch.equal(nat.tile_rect, ref.tile_rect)
    assert 0 < int(nat.visible.sum()) < 300


def test_fused_projection_gradcheck_float64():
    cam = CAMERAS["odd_offcentre"]
    model = dense_scene(12, seed=13, dtype=torch.float64)
    with torch.no_grad():
        model.means[0] = torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64)  # frustum clamp
    means = model.means.detach().clone().requires_grad_()
    cov = model.covariances().detach().clone().requires_grad_()

    def fn(m, c):
        p = render_native.project(m, c, cam)
        return p.means2d, p.depths, p.conics

    assert torch.autograd.gradcheck(fn, (means, cov), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_projection_from_rotation_and_scales_matches_the_torch_one(dtype):
    """project_model builds R diag(s^2) R^T from quaternions and log-scales in C++: same 2D
    Gaussians, and the same gradients w.r.t. means, quats, log_scales as PyTorch's autograd
    through GaussianModel.covariances() and project_gaussians."""
    cam = CAMERAS["odd_offcentre"]
    model = dense_scene(300, seed=14, dtype=dtype)
    with torch.no_grad():
        model.quats.mul_(torch.linspace(0.3, 3.0, 300, dtype=dtype)[:, None])  # not unit
    g = torch.Generator().manual_seed(1)
    weights = [torch.randn(300, k, generator=g, dtype=torch.float64).to(dtype) for k in (2, 1, 3)]
    results = {}
    for name in ("torch", "native"):
        params = [
            t.detach().clone().requires_grad_()
            for t in (model.means, model.quats, model.log_scales)
        ]
        if name == "torch":
            m = GaussianModel(params[0], params[2], params[1], model.opacity_logits, model.sh)
            proj = project_gaussians(params[0], m.covariances(), cam)
        else:
            proj = render_native.project_model(params[0], params[1], params[2], cam)
        loss = ((proj.means2d * weights[0]).sum() + (proj.depths * weights[1][:, 0]).sum()
                + (proj.conics * weights[2] * proj.visible[:, None]).sum())  # fmt: skip
        loss.backward()
        results[name] = (proj, [p.grad for p in params])
    rel = 1e-5 if dtype == torch.float32 else 1e-10
    (ref, g_ref), (nat, g_nat) = results["torch"], results["native"]
    for name in ("means2d", "depths", "conics", "cov2d"):
        assert_close_rel(getattr(nat, name), getattr(ref, name), rel, name)
    assert torch.equal(nat.radii, ref.radii) and torch.equal(nat.tile_rect, ref.tile_rect)
    for name, a, b in zip(("means", "quats", "log_scales"), g_nat, g_ref):
        assert b.abs().max() > 0
        assert_close_rel(a, b, rel, name)


def test_projection_from_rotation_and_scales_gradcheck_float64():
    cam = CAMERAS["close_up"]
    model = dense_scene(10, seed=15, dtype=torch.float64)
    inputs = [
        t.detach().clone().requires_grad_() for t in (model.means, model.quats, model.log_scales)
    ]

    def fn(m, q, s):
        p = render_native.project_model(m, q, s, cam)
        return p.means2d, p.depths, p.conics

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_two_threads_give_the_same_image_and_gradients():
    cam = CAMERAS["square"]
    model = dense_scene(300, seed=8, dtype=torch.float32)
    weights = loss_weights(cam, torch.float32)
    one, g_one = outputs_and_grads(model, cam, "native", weights)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two, g_two = outputs_and_grads(model, cam, "native", weights)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one.image, two.image)  # forward: tiles are independent
    for name in g_one:  # backward: per-thread partial sums, added in another order
        assert_close_rel(g_two[name], g_one[name], 1e-6, name)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
@pytest.mark.parametrize("clamp", [True, False])
def test_compiled_sh_colours_match_gaussian_colors(degree, clamp):
    """sh_colors (C++) against the PyTorch gaussian_colors: colours and the gradients w.r.t. SH
    coefficients and means, float64 and float32."""
    from pcc.gaussians.render import gaussian_colors

    cam = CAMERAS["odd_offcentre"]
    for dtype, rel in ((torch.float64, 1e-10), (torch.float32, 1e-5)):
        model = dense_scene(300, seed=17 + degree, dtype=dtype)
        with torch.no_grad():
            model.sh.mul_(3.0)  # some colours below 0, so the clamp matters
        w = torch.randn(300, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
        results = []
        for fn in (gaussian_colors, render_native.sh_colors):
            m = model.clone().requires_grad_()
            colors = fn(m, cam, degree, clamp=clamp)
            (colors * w.to(dtype)).sum().backward()
            g_means = m.means.grad  # None from PyTorch at degree 0 (no direction in the graph)
            results.append((colors.detach(), m.sh.grad, torch.zeros_like(m.means) if g_means is None
                            else g_means))  # fmt: skip
        (c_ref, s_ref, m_ref), (c_nat, s_nat, m_nat) = results
        assert_close_rel(c_nat, c_ref, rel, "colours")
        assert_close_rel(s_nat, s_ref, rel, "sh grad")
        assert_close_rel(m_nat, m_ref, rel, "means grad")
        assert (not clamp) or bool((c_ref == 0).any())
        assert (degree == 0) == (m_ref.abs().max() == 0)


def test_compiled_sh_colours_gradcheck_float64():
    cam = CAMERAS["close_up"]
    model = dense_scene(8, seed=18, dtype=torch.float64)

    def fn(sh, means):
        m = GaussianModel(means, model.log_scales, model.quats, model.opacity_logits, sh)
        return render_native.sh_colors(m, cam, 3, clamp=False)

    inputs = (
        model.sh.detach().clone().requires_grad_(),
        model.means.detach().clone().requires_grad_(),
    )
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_saved_pairs_serve_a_repeated_backward():
    """The forward pass keeps its composited pairs for the backward pass; a second backward
    through the same graph (retain_graph) reads them again and gives the same gradients."""
    cam = CAMERAS["square"]
    model = dense_scene(200, seed=16, dtype=torch.float64).requires_grad_()
    out = render(model, cam, backend="native")
    loss = (out.image**2).sum() + out.alpha.sum()
    first = torch.autograd.grad(loss, list(model.tensors().values()), retain_graph=True)
    second = torch.autograd.grad(loss, list(model.tensors().values()))
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    with torch.no_grad():  # no pairs kept without a graph; same image
        assert torch.equal(render(model, cam, backend="native").image, out.image.detach())


def test_empty_and_invisible_scenes_backpropagate_zeros():
    cam = CAMERAS["square"]
    empty = render(GaussianModel.empty(dtype=torch.float32), cam, background=(0.1, 0.2, 0.3))
    torch.testing.assert_close(empty.image, torch.tensor([0.1, 0.2, 0.3]).expand(48, 48, 3))
    model = random_scene(5, seed=1, unseen=5).requires_grad_()
    out = render(model, cam, backend="native")
    out.image.sum().backward()
    assert torch.all(model.means.grad == 0) and torch.all(model.opacity_logits.grad == 0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_depth_order_matches_the_torch_renderers(dtype):
    """The compiled binning composites the Gaussians _select_pairs does, in its (stable) order."""
    cam = CAMERAS["square"]
    model = dense_scene(400, seed=2, dtype=dtype)
    with torch.no_grad():  # ties (stable order), culled and faint Gaussians
        model.means[10:20] = model.means[5]
        model.means[20:25, 1] = -5.0
        model.opacity_logits[25:40] = -8.0
    proj = project_gaussians(model.means, model.covariances(), cam)
    opac = model.opacities.detach()
    idx = torch.nonzero(proj.visible & (opac >= ALPHA_MIN)).squeeze(1)
    expected = idx[torch.argsort(proj.depths.detach()[idx], stable=True)]
    order = render_native.depth_order(proj, opac, cam.width, cam.height, 16, ALPHA_MIN)
    assert torch.equal(order, expected)
    assert 0 < order.numel() < 400 - 20


# --------------------------------------------------------------------------- choosing, fallback


@pytest.fixture
def fresh_loader(monkeypatch):
    """Forget the loaded extension (restored after the test)."""
    monkeypatch.setattr(render_native, "_module", None)
    monkeypatch.setattr(render_native, "_error", None)
    monkeypatch.setattr(render_native, "_warned", False)


def test_build_failure_falls_back_with_one_warning(monkeypatch, fresh_loader):
    def broken(verbose=False):
        raise RuntimeError("simulated: no C++ compiler")

    monkeypatch.setattr(render_native, "_compile", broken)
    monkeypatch.delenv(render_native.ENV_RENDERER, raising=False)
    cam = CAMERAS["square"]
    model = dense_scene(60, seed=9, dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="simulated: no C"):
        first = render(model, cam)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second render must not warn again
        second = render(model, cam)
    reference = render(model, cam, backend="torch")
    assert torch.equal(first.image, reference.image) and torch.equal(second.image, first.image)
    assert not render_native.available()
    assert "simulated" in render_native.build_error()
    with pytest.raises(RuntimeError, match="could not be built"):
        render(model, cam, backend="native")


def test_environment_variable_and_argument_choose_the_backend(monkeypatch):
    cam = CAMERAS["square"]
    model = dense_scene(40, seed=10, dtype=torch.float64)
    calls = []
    real = render_native.composite
    monkeypatch.setattr(render_native, "composite", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setenv(render_native.ENV_RENDERER, "torch")
    render(model, cam)
    assert calls == []
    render(model, cam, backend="native")  # the argument wins over the variable
    assert calls == [1]
    monkeypatch.setenv(render_native.ENV_RENDERER, "auto")
    render(model, cam)
    assert calls == [1, 1]
    monkeypatch.setenv(render_native.ENV_RENDERER, "fast")
    with pytest.raises(ValueError, match="backend"):
        render(model, cam)


def test_build_command_reports_the_cache_folder(capsys):
    assert render_native.main(["--build"]) == 0
    assert str(render_native.build_dir()) in capsys.readouterr().out
    empty = Projected(
        torch.zeros(0, 2),
        torch.zeros(0),
        torch.zeros(0, 2, 2),
        torch.zeros(0, 3),
        torch.zeros(0, dtype=torch.int64),
        torch.zeros(0, 4, dtype=torch.int64),
    )
    pairs = render_native.count_pairs(
        empty, torch.zeros(0), torch.zeros(0, 3), 8, 8, 16, (ALPHA_MAX, ALPHA_MIN, T_MIN)
    )
    assert pairs == 0  # fmt: skip


def test_a_stale_build_lock_does_not_hang_the_next_process():
    """A process killed mid-build leaves cpp_extension's ``lock`` file; the next one must not wait
    on it forever (it is removed under an flock that dies with its holder)."""
    import subprocess
    import sys

    if not render_native.available():
        pytest.skip("the native rasteriser cannot be built here")
    stale = render_native.build_dir() / "lock"
    stale.touch()
    code = (
        "from pcc.gaussians import render_native as r; raise SystemExit(0 if r.available() else 3)"
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=600, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert not stale.exists()
