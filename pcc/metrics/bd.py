"""Bjøntegaard delta rate and PSNR between two rate-distortion curves.

G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves", VCEG-M33 (2001):
fit ``log10(rate)`` as a function of PSNR for each codec, integrate both fits over the PSNR range
the two curves share, and turn the mean log-rate difference into a percentage:
``BD-rate = (10^((I_test - I_ref) / (hi - lo)) - 1) * 100``. BD-PSNR swaps the axes (mean PSNR
difference over the shared log-rate range).

Two interpolants: ``"pchip"`` (default; monotone piecewise-cubic Hermite, Fritsch & Carlson 1980,
integrated exactly; what MPEG's and GEOv2's reports use) and ``"cubic"`` (the classic VCEG-M33
least-squares cubic polynomial). Taught in ``notebooks/14_rate_distortion.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["bd_rate", "bd_psnr", "pchip_slopes", "pchip_integral", "MIN_POINTS"]

MIN_POINTS = 4


def pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fritsch–Carlson derivatives of the monotone cubic Hermite interpolant through ``(x, y)``.

    Interior: 0 where the neighbouring secants change sign (or one is 0), else the weighted
    harmonic mean ``(w1 + w2) / (w1 / m_{k-1} + w2 / m_k)`` with ``w1 = 2 h_k + h_{k-1}``,
    ``w2 = h_k + 2 h_{k-1}``. Ends: the shape-preserving three-point formula. Same result as
    ``scipy.interpolate.PchipInterpolator`` (tests compare them). ``x`` strictly increasing ``[n]``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    h = np.diff(x)
    m = np.diff(y) / h
    n = len(x)
    d = np.zeros(n)
    if n == 2:
        d[:] = m[0]
        return d
    for k in range(1, n - 1):
        if m[k - 1] * m[k] > 0:
            w1 = 2 * h[k] + h[k - 1]
            w2 = h[k] + 2 * h[k - 1]
            d[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k])
    d[0] = _edge_slope(h[0], h[1], m[0], m[1])
    d[-1] = _edge_slope(h[-1], h[-2], m[-1], m[-2])
    return d


def _edge_slope(h0: float, h1: float, m0: float, m1: float) -> float:
    d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    if np.sign(d) != np.sign(m0):
        return 0.0
    if np.sign(m0) != np.sign(m1) and abs(d) > abs(3 * m0):
        return 3 * m0
    return float(d)


def pchip_integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    """Exact integral over ``[lo, hi]`` (inside ``[x[0], x[-1]]``) of the PCHIP through ``(x, y)``.

    On ``[x_k, x_k+1]`` with ``t`` in ``[0, 1]`` the Hermite cubic is
    ``p(t) = h00 y0 + h10 h d0 + h01 y1 + h11 h d1``; its antiderivative is integrated in closed
    form between the clipped ends of every interval.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    d = pchip_slopes(x, y)
    total = 0.0
    for k in range(len(x) - 1):
        a, b = max(lo, x[k]), min(hi, x[k + 1])
        if b <= a:
            continue
        h = x[k + 1] - x[k]
        ta, tb = (a - x[k]) / h, (b - x[k]) / h
        total += h * (_hermite_antiderivative(tb, y[k], y[k + 1], d[k] * h, d[k + 1] * h)
                      - _hermite_antiderivative(ta, y[k], y[k + 1], d[k] * h, d[k + 1] * h))  # fmt: skip
    return total


def _hermite_antiderivative(t: float, y0: float, y1: float, s0: float, s1: float) -> float:
    """Integral from 0 to t of the Hermite cubic with end values y0, y1 and scaled slopes s0, s1."""
    t2, t3, t4 = t * t, t**3, t**4
    h00 = t4 / 2 - t3 + t  # integral of 2t^3 - 3t^2 + 1
    h10 = t4 / 4 - 2 * t3 / 3 + t2 / 2  # integral of t^3 - 2t^2 + t
    h01 = -t4 / 2 + t3  # integral of -2t^3 + 3t^2
    h11 = t4 / 4 - t3 / 3  # integral of t^3 - t^2
    return h00 * y0 + h10 * s0 + h01 * y1 + h11 * s1


def _prepare(
    rate: Sequence[float], psnr: Sequence[float], name: str
) -> tuple[np.ndarray, np.ndarray]:
    rate = np.asarray(rate, dtype=np.float64).ravel()
    psnr = np.asarray(psnr, dtype=np.float64).ravel()
    if rate.shape != psnr.shape:
        raise ValueError(f"{name}: {rate.size} rates but {psnr.size} PSNR values")
    if rate.size < MIN_POINTS:
        raise ValueError(f"{name}: BD needs at least {MIN_POINTS} RD points, got {rate.size}")
    if not (np.isfinite(rate).all() and np.isfinite(psnr).all()):
        raise ValueError(f"{name}: rates and PSNRs must be finite")
    if (rate <= 0).any():
        raise ValueError(f"{name}: rates must be positive (they are taken in log10)")
    return np.log10(rate), psnr


def _mean_over_overlap(xs: list[np.ndarray], ys: list[np.ndarray], method: str, what: str) -> float:
    """Mean of (curve 1 - curve 0) over the shared x range; each curve is y(x)."""
    lo = max(x.min() for x in xs)
    hi = min(x.max() for x in xs)
    if not hi > lo:
        raise ValueError(
            f"BD {what}: the two curves do not overlap ([{lo:.4g}, {hi:.4g}] is empty)"
        )
    integrals = []
    for x, y in zip(xs, ys):
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
        if method == "pchip":
            if (np.diff(x) <= 0).any():
                raise ValueError(f"BD {what}: repeated x values; PCHIP needs distinct points")
            integrals.append(pchip_integral(x, y, lo, hi))
        elif method == "cubic":
            poly = np.polynomial.Polynomial.fit(x, y, 3).convert()
            anti = poly.integ()
            integrals.append(float(anti(hi) - anti(lo)))
        else:
            raise ValueError(f"method must be 'pchip' or 'cubic', got {method!r}")
    return (integrals[1] - integrals[0]) / (hi - lo)


def bd_rate(
    rate_ref: Sequence[float],
    psnr_ref: Sequence[float],
    rate_test: Sequence[float],
    psnr_test: Sequence[float],
    *,
    method: str = "pchip",
) -> float:
    """BD-rate of ``test`` against ``ref`` in percent (negative = test needs fewer bits).

    Args:
        rate_*: rates (bits per point, kbps...; same unit for both), at least 4 points each.
        psnr_*: the matching PSNRs (dB).
        method: ``"pchip"`` (default) or ``"cubic"``.
    Raises:
        ValueError: fewer than 4 points, non-positive rates, or no PSNR overlap.
    """
    lr0, p0 = _prepare(rate_ref, psnr_ref, "reference")
    lr1, p1 = _prepare(rate_test, psnr_test, "test")
    delta = _mean_over_overlap([p0, p1], [lr0, lr1], method, "rate")
    return float((10.0**delta - 1.0) * 100.0)


def bd_psnr(
    rate_ref: Sequence[float],
    psnr_ref: Sequence[float],
    rate_test: Sequence[float],
    psnr_test: Sequence[float],
    *,
    method: str = "pchip",
) -> float:
    """BD-PSNR of ``test`` against ``ref`` in dB (positive = test is better), over the shared
    log10-rate range. Same arguments and errors as :func:`bd_rate`."""
    lr0, p0 = _prepare(rate_ref, psnr_ref, "reference")
    lr1, p1 = _prepare(rate_test, psnr_test, "test")
    return float(_mean_over_overlap([lr0, lr1], [p0, p1], method, "PSNR"))
