"""The walk along a LiDAR ring: per-point prediction and residuals (for :mod:`pcc.pointcloud.lidar_codec`).

Points of a ring are visited in azimuth order; each is predicted from the state left by its
predecessor and coded as four small integers (the streams of the codec):

========== =======================================================================================
stream      value
========== =======================================================================================
steps       ``dk``: whole azimuth steps of the firing grid from the tracked azimuth ``psi_s``
            (1 on consecutive hits, more after lost returns); the predicted azimuth is
            ``psi = psi_s + dk step``
dominant    the coordinate along the ray's dominant axis (``x`` if ``|cos psi| >= |sin psi|``,
            else ``y``) minus ``round(rho_prev cos psi)`` (resp. ``sin``): the radius residual,
            ``rho_prev`` the previous point's horizontal range
tangential  the other coordinate minus ``round(o tan psi)`` (resp. ``cot``), ``o`` the decoded
            dominant coordinate: what the azimuth grid did not predict
height      ``z`` minus ``z_prev + round((rho - rho_prev) tan(elevation))``: the point stays on its
            laser's cone
========== =======================================================================================

After a point is known exactly, the tracked azimuth moves towards its true azimuth:
``psi_s = psi + alpha (atan2(y, x) - psi)``. ``alpha = 1`` follows every point (best when the
positions are fine, e.g. 1 mm); ``alpha < 1`` smooths the rounding noise of coarse positions
(1 cm) so the grid prediction stays clean. The encoder tries a few ``alpha`` and sends the best.

Each point depends on the exact previous one, so the walk is sequential: a plain Python loop over
floats (about 5 us per point), which is the same code in the encoder and the decoder
(:func:`walk`), so both make bit-identical predictions: the operations are IEEE ``+ - * /`` and
``sqrt`` (correctly rounded) and ``cos``/``sin``/``atan2`` from the C library; a last-bit
difference between two machines' libraries could only matter where a prediction is within one
ulp of a half-integer. Taught in ``notebooks/16_lidar.ipynb``.
"""

from __future__ import annotations

import math

import numpy as np

ALPHA_DEN = 16  # alpha is sent as an integer numerator over 16


def walk(
    points: np.ndarray | None,
    heads: np.ndarray,
    counts: np.ndarray,
    tan_q: np.ndarray,
    tan_bits: int,
    step: float,
    alpha_num: int,
    residuals: dict | None = None,
) -> tuple[np.ndarray, dict]:
    """Encode (``points [M, 3]`` sorted by ring then azimuth, ``residuals=None``) or decode
    (``points=None``, ``residuals`` = the four streams, each ``[M - R]``) the walk.

    ``heads [R, 3]`` are the first points of the rings, ``counts [R]`` their sizes,
    ``tan_q [R]`` the quantised ``tan(elevation)``. Returns ``(points [M, 3] int64, residuals)``.
    """
    encode = residuals is None
    alpha = alpha_num / ALPHA_DEN
    m = int(np.sum(counts))
    if encode:
        px, py, pz = (points[:, j].tolist() for j in range(3))
        k_out, o_out, t_out, z_out = [], [], [], []
    else:
        k_in = residuals["steps"].tolist()
        o_in = residuals["dominant"].tolist()
        t_in = residuals["tangential"].tolist()
        z_in = residuals["height"].tolist()
        px, py, pz = [0] * m, [0] * m, [0] * m
    scale = 1.0 / (1 << tan_bits)
    i = 0  # point index
    j = 0  # residual index (points after the heads)
    atan2, cos, sin, sqrt = math.atan2, math.cos, math.sin, math.sqrt
    for ring, count in enumerate(counts.tolist()):
        hx, hy, hz = (int(v) for v in heads[ring])
        if not encode:
            px[i], py[i], pz[i] = hx, hy, hz
        tan_e = int(tan_q[ring]) * scale
        state = atan2(hy, hx)
        rho_prev = sqrt(hx * hx + hy * hy)
        z_prev = hz
        i += 1
        for _ in range(count - 1):
            if encode:
                x, y, z = px[i], py[i], pz[i]
                k = round((atan2(y, x) - state) / step)
                k = k if k > 0 else 0
            else:
                k = k_in[j]
            psi = state + k * step
            c, s = cos(psi), sin(psi)
            if abs(c) >= abs(s):
                o_pred = round(rho_prev * c)
                if encode:
                    e_o = x - o_pred
                    e_t = y - round(x * s / c)
                else:
                    x = o_pred + o_in[j]
                    y = round(x * s / c) + t_in[j]
            else:
                o_pred = round(rho_prev * s)
                if encode:
                    e_o = y - o_pred
                    e_t = x - round(y * c / s)
                else:
                    y = o_pred + o_in[j]
                    x = round(y * c / s) + t_in[j]
            rho = sqrt(x * x + y * y)
            z_pred = z_prev + round((rho - rho_prev) * tan_e)
            if encode:
                k_out.append(k)
                o_out.append(e_o)
                t_out.append(e_t)
                z_out.append(z - z_pred)
            else:
                z = z_pred + z_in[j]
                px[i], py[i], pz[i] = x, y, z
            state = psi + alpha * (atan2(y, x) - psi) if alpha != 1.0 else atan2(y, x)
            rho_prev, z_prev = rho, z
            i += 1
            j += 1
    if encode:
        residuals = {
            "steps": np.asarray(k_out, np.int64),
            "dominant": np.asarray(o_out, np.int64),
            "tangential": np.asarray(t_out, np.int64),
            "height": np.asarray(z_out, np.int64),
        }
        return np.asarray(points, np.int64), residuals
    return np.stack([np.asarray(v, np.int64) for v in (px, py, pz)], 1).reshape(m, 3), residuals
