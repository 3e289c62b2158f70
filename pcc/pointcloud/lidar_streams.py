"""Entropy coding of the four per-point streams of the LiDAR codec, with contexts that look back.

The walk (:mod:`pcc.pointcloud.lidar_walk`) turns a sweep into four residual streams. They are
coded one after the other, each symbol by symbol with the adaptive coder
:class:`pcc.pointcloud.lidar_entropy.SeqEncoder`, because the best contexts depend on the
symbols just before (measured on KITTI 000008 at 1 mm: -0.26 bit per point on ``steps``,
-0.23 on ``dominant``, -0.19 on ``tangential`` against contexts from other streams only):

* ``steps`` ``dk``: how many points since the last half-step advance (``dk = 1``), capped at 7,
  and the previous ``dk`` (KITTI's HDL-64E slips half a step every ~7 firings, a rhythm this
  context learns);
* ``dominant`` (range residual): ``dk`` (a gap makes a jump likelier) and the size class of the
  previous range residual (rough and smooth surfaces come in runs);
* ``tangential``: the size class of this point's range residual and of the previous tangential
  residual;
* ``height``: the size class of this point's range residual and whether ``dk > 1``.

A stream's contexts depend only on residuals (never on reconstructed positions), so the decoder
decodes the four streams first and then runs the walk once. Taught in ``notebooks/16_lidar.ipynb``.
"""

from __future__ import annotations

import numpy as np

from pcc.pointcloud.lidar_entropy import SeqDecoder, SeqEncoder

POINT_STREAMS = ("steps", "dominant", "tangential", "height")
_EDGES = (1, 3, 9, 33, 129)
N_CTX = {"steps": 32, "dominant": 24, "tangential": 36, "height": 12}


def _cls(v: int) -> int:
    m = v if v >= 0 else -v
    c = 0
    for e in _EDGES:
        if m >= e:
            c += 1
        else:
            break
    return c


def _run(name: str, n: int, res: dict, get_or_put) -> list:
    """One pass over stream ``name`` computing contexts as it goes; ``get_or_put(i, ctx)``
    returns the value of symbol ``i`` (decoding it, or reading it when encoding)."""
    out = [0] * n
    if name == "steps":
        since, prev = 0, 1
        for i in range(n):
            v = get_or_put(i, (since if since < 7 else 7) * 4 + (prev if prev < 3 else 3))
            out[i] = v
            since = 0 if v == 1 else since + 1
            prev = v if v >= 0 else 0
        return out
    dk = res["steps"]
    dom = res.get("dominant")
    if name == "dominant":
        prev_c = 0
        for i in range(n):
            k = min(max(dk[i], 0), 3)
            v = get_or_put(i, k * 6 + prev_c)
            out[i] = v
            prev_c = _cls(v)
        return out
    if name == "tangential":
        prev_c = 0
        for i in range(n):
            v = get_or_put(i, _cls(dom[i]) * 6 + prev_c)
            out[i] = v
            prev_c = _cls(v)
        return out
    for i in range(n):  # height
        out[i] = get_or_put(i, _cls(dom[i]) * 2 + (1 if dk[i] > 1 else 0))
    return out


def encode_point_streams(res: dict) -> dict:
    """``{name: int64 [K]}`` residual streams -> ``{name: bytes}``."""
    lists = {k: res[k].tolist() for k in POINT_STREAMS}
    out = {}
    for name in POINT_STREAMS:
        enc = SeqEncoder(N_CTX[name])
        values = lists[name]

        def put(i, ctx, enc=enc, values=values):
            enc.put(values[i], ctx)
            return values[i]

        _run(name, len(values), lists, put)
        out[name] = enc.finish()
    return out


def decode_point_streams(data: dict, n: int) -> dict:
    """Inverse of :func:`encode_point_streams` for ``n`` points after the ring heads."""
    res: dict = {}
    for name in POINT_STREAMS:
        dec = SeqDecoder(data[name], N_CTX[name])
        res[name] = _run(name, n, res, lambda i, ctx, dec=dec: dec.get(ctx))
        dec.finish()
    return {k: np.asarray(v, np.int64) for k, v in res.items()}
