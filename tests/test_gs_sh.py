"""Spherical harmonics: constants, orthonormality, an independent (scipy) formulation, axis values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import torch

from pcc.gaussians.sh import (
    SH_C0,
    SH_C1,
    SH_C2,
    SH_C3,
    eval_sh,
    num_sh_coeffs,
    sh_basis,
    sh_to_color,
    view_directions,
)


def test_constants_equal_inria_literals():
    # The literals printed in INRIA's sh_utils.py / forward.cu.
    assert SH_C0 == pytest.approx(0.28209479177387814, abs=1e-16)
    assert SH_C1 == pytest.approx(0.4886025119029199, abs=1e-15)
    expect2 = [
        1.0925484305920792,
        -1.0925484305920792,
        0.31539156525252005,
        -1.0925484305920792,
        0.5462742152960396,
    ]
    expect3 = [
        -0.5900435899266435,
        2.890611442640554,
        -0.4570457994644658,
        0.3731763325901154,
        -0.4570457994644658,
        1.445305721320277,
        -0.5900435899266435,
    ]
    np.testing.assert_allclose(SH_C2, expect2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(SH_C3, expect3, rtol=0, atol=1e-14)


def _sphere_quadrature(n_theta: int = 16, n_phi: int = 32):
    """Gauss-Legendre in cos(theta) x uniform in phi: exact for the degree-6 products used here."""
    nodes, weights = np.polynomial.legendre.leggauss(n_theta)  # in cos(theta)
    phi = (np.arange(n_phi) + 0.5) * 2 * np.pi / n_phi
    ct, ph = np.meshgrid(nodes, phi, indexing="ij")
    st = np.sqrt(1 - ct**2)
    dirs = np.stack([st * np.cos(ph), st * np.sin(ph), ct], -1).reshape(-1, 3)
    w = (weights[:, None] * np.full(n_phi, 2 * np.pi / n_phi)[None, :]).reshape(-1)
    return torch.from_numpy(dirs), torch.from_numpy(w)


def test_basis_is_orthonormal_on_the_sphere():
    dirs, w = _sphere_quadrature()
    Y = sh_basis(dirs, 3)  # [P, 16]
    gram = (Y * w[:, None]).T @ Y
    np.testing.assert_allclose(gram.numpy(), np.eye(16), atol=1e-12)


def _real_sh_scipy(l: int, m: int, dirs: np.ndarray) -> np.ndarray:
    """Real SH with the Condon-Shortley phase kept, from scipy's complex Y_l^m."""
    theta = np.arccos(np.clip(dirs[:, 2], -1, 1))  # polar
    phi = np.arctan2(dirs[:, 1], dirs[:, 0])  # azimuth
    y = scipy.special.sph_harm_y(l, abs(m), theta, phi)
    if m > 0:
        return math.sqrt(2) * y.real
    if m < 0:
        return math.sqrt(2) * y.imag
    return y.real


def test_basis_matches_scipy_complex_harmonics():
    rng = np.random.default_rng(1)
    d = rng.normal(size=(200, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    Y = sh_basis(torch.from_numpy(d), 3).numpy()
    for l in range(4):
        for m in range(-l, l + 1):
            k = l * l + l + m
            np.testing.assert_allclose(
                Y[:, k], _real_sh_scipy(l, m, d), atol=1e-12, err_msg=f"{l=} {m=}"
            )


def test_known_values_on_the_axes():
    axes = torch.eye(3, dtype=torch.float64)  # +x, +y, +z
    Y = sh_basis(torch.cat([axes, -axes]), 3)
    x, y, z, nx, ny, nz = Y
    # Band 1: -C1 y, C1 z, -C1 x.
    np.testing.assert_allclose(x[1:4].numpy(), [0, 0, -SH_C1], atol=1e-15)
    np.testing.assert_allclose(y[1:4].numpy(), [-SH_C1, 0, 0], atol=1e-15)
    np.testing.assert_allclose(z[1:4].numpy(), [0, SH_C1, 0], atol=1e-15)
    # Band 2 on the axes: only the zonal (2z^2 - x^2 - y^2) and (x^2 - y^2) terms survive.
    np.testing.assert_allclose(z[4:9].numpy(), [0, 0, 2 * SH_C2[2], 0, 0], atol=1e-15)
    np.testing.assert_allclose(x[4:9].numpy(), [0, 0, -SH_C2[2], 0, SH_C2[4]], atol=1e-15)
    np.testing.assert_allclose(y[4:9].numpy(), [0, 0, -SH_C2[2], 0, -SH_C2[4]], atol=1e-15)
    # Band 3: z(2z^2 - 3x^2 - 3y^2) at +z; x(x^2 - 3y^2) and x(4z^2 - x^2 - y^2) at +x.
    np.testing.assert_allclose(z[9:16].numpy(), [0, 0, 0, 2 * SH_C3[3], 0, 0, 0], atol=1e-15)
    np.testing.assert_allclose(x[9:16].numpy(), [0, 0, 0, 0, -SH_C3[4], 0, SH_C3[6]], atol=1e-15)
    # Parity: band l is multiplied by (-1)^l under d -> -d.
    for l in range(4):
        sl = slice(l * l, (l + 1) ** 2)
        for a, b in ((x, nx), (y, ny), (z, nz)):
            np.testing.assert_allclose(b[sl].numpy(), (-1) ** l * a[sl].numpy(), atol=1e-15)


def test_eval_sh_uses_only_the_active_degree():
    torch.manual_seed(3)
    sh = torch.randn(50, 16, 3, dtype=torch.float64)
    d = torch.nn.functional.normalize(torch.randn(50, 3, dtype=torch.float64), dim=1)
    full = eval_sh(sh, d, 3)
    manual = torch.einsum("nk,nkc->nc", sh_basis(d, 3), sh)
    torch.testing.assert_close(full, manual)
    for deg in range(4):
        k = num_sh_coeffs(deg)
        truncated = sh.clone()
        truncated[:, k:] = 0
        torch.testing.assert_close(eval_sh(sh, d, deg), eval_sh(truncated, d, 3))
    # degree 0 is the constant C0 * DC, whatever the direction
    torch.testing.assert_close(eval_sh(sh, d, 0), SH_C0 * sh[:, 0])


def test_eval_sh_gradients():
    sh = torch.randn(6, 16, 3, dtype=torch.float64, requires_grad=True)
    d = torch.nn.functional.normalize(torch.randn(6, 3, dtype=torch.float64), dim=1)
    d.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s, v: eval_sh(s, v, 3), (sh, d))


def test_color_clamp_option():
    sh = torch.zeros(2, 1, 3)
    sh[0, 0] = -3.0  # SH + 0.5 < 0
    sh[1, 0] = 1.0
    d = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    clamped = sh_to_color(sh, d, 0)
    raw = sh_to_color(sh, d, 0, clamp=False)
    assert torch.all(clamped[0] == 0)
    assert torch.all(raw[0] < 0)
    torch.testing.assert_close(raw[0], torch.full((3,), -3.0 * SH_C0 + 0.5))
    torch.testing.assert_close(clamped[1], raw[1])


def test_view_directions_are_unit_and_point_away_from_camera():
    means = torch.tensor([[0.0, 0.0, 5.0], [3.0, 4.0, 0.0]])
    d = view_directions(means, torch.zeros(3))
    torch.testing.assert_close(d, torch.tensor([[0.0, 0.0, 1.0], [0.6, 0.8, 0.0]]))


@pytest.mark.parametrize(
    "bad",
    [
        lambda: eval_sh(torch.zeros(4, 4, 3), torch.zeros(4, 3), 2),  # too few coefficients
        lambda: eval_sh(torch.zeros(4, 16, 3), torch.zeros(5, 3), 3),  # N mismatch
        lambda: sh_basis(torch.zeros(4, 3), 4),  # degree too high
        lambda: sh_basis(torch.zeros(4, 2), 1),  # not 3D
    ],
)
def test_bad_input_raises(bad):
    with pytest.raises(ValueError):
        bad()
