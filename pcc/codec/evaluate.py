"""Rate-distortion evaluation of the learned codec on a whole cloud: real files, timed encode and
decode, D1/D2 PSNR, and Bjøntegaard deltas against anchor curves.

One operating point = (model, position quantisation step). :func:`evaluate_point` compresses the
cloud to bytes, decompresses those bytes with a fresh decoder call, checks that the decoder
reproduced the encoder's own reconstruction, and measures

* ``bpp`` = 8 * file bytes / input points (the whole container: header, block octree, point
  counts, latent streams) and ``estimated_bpp`` (the entropy models' -sum log2 p of the latents);
* ``d1_psnr`` / ``d2_psnr`` at ``peak`` (:func:`pcc.metrics.pointcloud.evaluate_geometry`);
* ``encode_s`` / ``decode_s`` (wall seconds, model already loaded).

:func:`bd_summary` compares a curve with anchors such as
:data:`pcc.pointcloud.canonical.BUNNY_ANCHORS` (BD-rate and BD-PSNR, PCHIP over the overlap, and
the overlap itself so a reader can see how wide it is). ``pcc pc rd`` is the command-line front.
Taught in ``notebooks/09_codec_pipeline.ipynb``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from pcc.codec.model import BlockCodec
from pcc.codec.pipeline import (
    _resolve,
    bits_per_point,
    decompress_point_cloud,
    encode_point_cloud,
    encoder_reconstruction,
)
from pcc.metrics.bd import MIN_POINTS, bd_psnr, bd_rate
from pcc.metrics.pointcloud import evaluate_geometry

__all__ = ["evaluate_point", "evaluate_curve", "bd_summary", "rate_at_quality", "bit_savings"]


def evaluate_point(
    coords: np.ndarray,  # [N, 3] non-negative ints
    model: str | os.PathLike | BlockCodec,
    *,
    quant_step: float = 1.0,
    peak: float | None = None,
    mode: str = "topk",
    normals: np.ndarray | None = None,  # [N, 3] of coords, else estimated (PCA)
    name: str | None = None,
) -> dict:
    """Compress, decompress and measure one operating point (see the module docstring).

    Raises RuntimeError if the decoded cloud differs from the encoder's reconstruction (the
    bitstream would not be decodable by anyone else)."""
    codec, resolved = _resolve(model)
    coords = np.asarray(coords)
    n_input = int(len(np.unique(coords, axis=0)))
    peak = float(peak if peak is not None else (1 << int(coords.max()).bit_length()) - 1)
    start = time.perf_counter()
    encoded = encode_point_cloud(coords, codec, mode=mode, quant_step=quant_step)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decoded = decompress_point_cloud(encoded.data, codec)  # [M, 3]
    decode_s = time.perf_counter() - start
    expected = encoder_reconstruction(encoded, codec)
    if not np.array_equal(decoded, expected):
        raise RuntimeError(f"{resolved}: decoded cloud differs from the encoder's reconstruction")
    metrics = evaluate_geometry(coords, decoded, peak, normals_a=normals)
    return {
        "model": name or str(model if isinstance(model, (str, os.PathLike)) else resolved),
        "entropy_model": codec.architecture["entropy_model"],
        "quant_step": float(quant_step),
        "mode": mode,
        "bytes": len(encoded.data),
        "bpp": bits_per_point(encoded.data, n_input),
        "estimated_bpp": encoded.estimated_bits / n_input,
        "d1_psnr": metrics["d1_psnr"],
        "d2_psnr": metrics["d2_psnr"],
        "normals_source": metrics["normals_source"],
        "encode_s": encode_s,
        "decode_s": decode_s,
        "n_input": n_input,
        "n_decoded": int(len(decoded)),
        "n_blocks": len(encoded.blocks),
        "peak": peak,
        "threads": torch.get_num_threads(),
    }


def evaluate_curve(
    coords: np.ndarray,
    points: Iterable[tuple[str | os.PathLike | BlockCodec, float]],
    **options,
) -> list[dict]:
    """:func:`evaluate_point` for every ``(model, quant_step)``, in the order given."""
    return [evaluate_point(coords, m, quant_step=q, **options) for m, q in points]


def _overlap(a: Sequence[float], b: Sequence[float]) -> list[float] | None:
    lo, hi = max(min(a), min(b)), min(max(a), max(b))
    return [float(lo), float(hi)] if hi > lo else None


def bd_summary(
    rows: Sequence[dict],
    anchors: dict[str, Sequence[tuple[float, float]]],
    metric: str = "d1_psnr",
) -> dict[str, dict]:
    """BD-rate (%) and BD-PSNR (dB) of the curve ``rows`` (dicts with ``bpp`` and ``metric``)
    against each anchor ``name -> [(bpp, psnr), ...]``, with the PSNR and log-rate overlaps.
    A value is None (and ``error`` says why) when the curves have fewer than 4 points or do not
    overlap. Every row counts (no convex hull is taken: pass a Pareto front if that is wanted)."""
    rate = [float(r["bpp"]) for r in rows]
    psnr = [float(r[metric]) for r in rows]
    out = {}
    for name, anchor in anchors.items():
        a_rate = [float(p[0]) for p in anchor]
        a_psnr = [float(p[1]) for p in anchor]
        entry: dict = {
            "psnr_overlap": _overlap(a_psnr, psnr),
            "rate_overlap": _overlap(a_rate, rate),
            "bd_rate": None,
            "bd_psnr": None,
        }
        out[name] = entry
        if len(rows) < MIN_POINTS:
            entry["error"] = f"{len(rows)} points; BD needs {MIN_POINTS}"
            continue
        for key, fn in (("bd_rate", bd_rate), ("bd_psnr", bd_psnr)):
            try:
                entry[key] = fn(a_rate, a_psnr, rate, psnr)
            except ValueError as err:
                entry["error"] = str(err)
    return out


def rate_at_quality(rows: Sequence[dict], psnr: float, metric: str = "d1_psnr") -> float | None:
    """The rate a curve needs for ``psnr``: log10(bpp) interpolated linearly in PSNR between the
    curve's two neighbouring points (no extrapolation: None outside the curve's PSNR range)."""
    points = sorted((float(r[metric]), float(r["bpp"])) for r in rows)
    q = np.array([p for p, _ in points])
    lr = np.log10([b for _, b in points])
    if len(points) < 2 or not (q[0] <= psnr <= q[-1]) or (np.diff(q) <= 0).any():
        return None
    return float(10.0 ** np.interp(psnr, q, lr))


def bit_savings(row: dict, reference: Sequence[dict], metric: str = "d1_psnr") -> float | None:
    """Fraction of bits ``row`` saves against the ``reference`` curve *at equal distortion*:
    ``1 - bpp / rate_at_quality(reference, row[metric])`` (positive = fewer bits)."""
    rate = rate_at_quality(reference, float(row[metric]), metric)
    return None if rate is None else 1.0 - float(row["bpp"]) / rate
