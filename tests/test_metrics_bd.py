"""Bjøntegaard delta: known answers (pc_codec.md (d)), PCHIP vs scipy, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator

from pcc.metrics.bd import bd_psnr, bd_rate, pchip_integral, pchip_slopes

RATE = [0.12, 0.25, 0.5, 1.1]
PSNR = [58.0, 62.5, 66.0, 69.0]


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_known_answers(method):
    double = [2 * r for r in RATE]
    assert bd_rate(RATE, PSNR, double, PSNR, method=method) == pytest.approx(100.0, abs=1e-9)
    assert bd_rate(RATE, PSNR, [r / 2 for r in RATE], PSNR, method=method) == pytest.approx(-50.0)
    assert bd_rate(RATE, PSNR, RATE, PSNR, method=method) == pytest.approx(0.0, abs=1e-12)
    assert bd_psnr(RATE, PSNR, RATE, [p + 1 for p in PSNR], method=method) == pytest.approx(1.0)
    assert bd_psnr(RATE, PSNR, RATE, PSNR, method=method) == pytest.approx(0.0, abs=1e-12)
    # at double rate the same PSNR: BD-PSNR is negative, BD-rate positive
    assert bd_psnr(RATE, PSNR, double, PSNR, method=method) < 0


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_linear_curves_analytic(method):
    # psnr = c + s * log10(rate): a +delta dB shift saves 10^(-delta / s) - 1 of the rate
    s, c, delta = 9.0, 70.0, 1.5
    rates = np.array([0.1, 0.2, 0.45, 0.9, 1.6])
    ref = c + s * np.log10(rates)
    test = ref + delta
    expected = (10 ** (-delta / s) - 1) * 100
    assert bd_rate(rates, ref, rates, test, method=method) == pytest.approx(expected, rel=1e-9)
    assert bd_psnr(rates, ref, rates, test, method=method) == pytest.approx(delta, rel=1e-9)


def test_order_of_points_does_not_matter():
    r2 = [0.2, 0.35, 0.7, 1.3]
    p2 = [59.0, 63.0, 66.5, 70.0]
    a = bd_rate(RATE, PSNR, r2, p2)
    b = bd_rate(RATE[::-1], PSNR[::-1], r2[::-1], p2[::-1])
    assert a == pytest.approx(b)
    assert -100 < a < 100


def test_pchip_matches_scipy():
    rng = np.random.default_rng(0)
    for _ in range(30):
        x = np.sort(rng.uniform(0, 10, 6))
        y = rng.normal(size=6)
        ref = PchipInterpolator(x, y)
        np.testing.assert_allclose(pchip_slopes(x, y), ref.derivative()(x), atol=1e-12)
        lo, hi = np.sort(rng.uniform(x[0], x[-1], 2))
        assert pchip_integral(x, y, lo, hi) == pytest.approx(ref.integrate(lo, hi), abs=1e-12)


def test_pchip_and_cubic_differ_on_curved_data():
    # a kinked curve: the monotone PCHIP and the least-squares cubic give different results
    r2 = [0.1, 0.3, 0.5, 1.5]
    p2 = [58.5, 64.5, 66.0, 68.0]
    a = bd_rate(RATE, PSNR, r2, p2, method="pchip")
    b = bd_rate(RATE, PSNR, r2, p2, method="cubic")
    assert math.isfinite(a) and math.isfinite(b) and abs(a - b) > 0.1


def test_errors():
    with pytest.raises(ValueError, match="at least 4"):
        bd_rate(RATE[:3], PSNR[:3], RATE, PSNR)
    with pytest.raises(ValueError, match="do not overlap"):
        bd_rate(RATE, PSNR, RATE, [p + 20 for p in PSNR])
    with pytest.raises(ValueError, match="positive"):
        bd_rate([0, 1, 2, 3], PSNR, RATE, PSNR)
    with pytest.raises(ValueError, match="method"):
        bd_rate(RATE, PSNR, RATE, PSNR, method="linear")
    with pytest.raises(ValueError, match="rates but"):
        bd_psnr(RATE, PSNR[:3], RATE, PSNR)


def test_bd_rate_matches_scipy_reference():
    rng = np.random.default_rng(2)
    for _ in range(10):
        r0 = np.sort(rng.uniform(0.05, 2.0, 5))
        r1 = np.sort(rng.uniform(0.05, 2.0, 5))
        p0 = np.sort(rng.uniform(55, 72, 5))
        p1 = np.sort(rng.uniform(55, 72, 5))
        lo, hi = max(p0[0], p1[0]), min(p0[-1], p1[-1])
        if hi <= lo:
            continue
        i0 = PchipInterpolator(p0, np.log10(r0)).integrate(lo, hi)
        i1 = PchipInterpolator(p1, np.log10(r1)).integrate(lo, hi)
        expected = (10 ** ((i1 - i0) / (hi - lo)) - 1) * 100
        assert bd_rate(r0, p0, r1, p1) == pytest.approx(expected, rel=1e-9, abs=1e-9)
