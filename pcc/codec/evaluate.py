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

Baselines measured the same way (real bytes, the same D1/D2): :func:`evaluate_octree_point` (the
lossy octree baseline: position quantisation + :mod:`pcc.pointcloud.octree_codec`) and
:func:`evaluate_draco_point` (Google Draco through the optional ``DracoPy``, geometry only).
:func:`bd_table` turns named curves into BD rows for D1 and D2, :func:`pareto_front` keeps the
operating points an encoder would choose, :func:`point_errors` gives every decoded point its
distance to the original (for pictures coloured by error) and :func:`cached_point` stores a row on
disk under a key of everything that determines it, so long evaluations (the full bunny) run once.
Taught in ``notebooks/14_rate_distortion.ipynb``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

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
from pcc.io.atomic import write_text_atomic
from pcc.metrics.bd import MIN_POINTS, bd_psnr, bd_rate
from pcc.metrics.pointcloud import evaluate_geometry, nn_sq_distances
from pcc.metrics.rate import pareto_front
from pcc.pointcloud.octree_codec import decode_octree, encode_octree

__all__ = [
    "fingerprint",
    "evaluate_point",
    "evaluate_curve",
    "evaluate_octree_point",
    "evaluate_draco_point",
    "draco_available",
    "bd_summary",
    "bd_table",
    "pareto_front",
    "point_errors",
    "cached_point",
    "rate_at_quality",
    "bit_savings",
]


def evaluate_point(
    coords: np.ndarray,  # [N, 3] non-negative ints
    model: str | os.PathLike | BlockCodec,
    *,
    quant_step: float = 1.0,
    peak: float | None = None,
    mode: str = "topk",
    normals: np.ndarray | None = None,  # [N, 3] of coords, else estimated (PCA)
    name: str | None = None,
    check: bool = True,
    keep_decoded: bool = False,
) -> dict:
    """Compress, decompress and measure one operating point (see the module docstring).

    Raises RuntimeError if the decoded cloud differs from the encoder's reconstruction (the
    bitstream would not be decodable by anyone else). ``check=False`` skips that comparison,
    which runs the synthesis transform a second time (the rate and the metrics are the same: they
    always come from the real bytes and the really decoded cloud). ``keep_decoded=True`` adds the
    decoded cloud ``[M, 3]`` as ``row["decoded"]``."""
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
    if check:
        expected = encoder_reconstruction(encoded, codec)
        if not np.array_equal(decoded, expected):
            raise RuntimeError(
                f"{resolved}: decoded cloud differs from the encoder's reconstruction"
            )
    metrics = evaluate_geometry(coords, decoded, peak, normals_a=normals)
    row = {
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
        "checked": bool(check),
    }
    if keep_decoded:
        row["decoded"] = decoded
    return row


def evaluate_curve(
    coords: np.ndarray,
    points: Iterable[tuple[str | os.PathLike | BlockCodec, float]],
    **options,
) -> list[dict]:
    """:func:`evaluate_point` for every ``(model, quant_step)``, in the order given."""
    return [evaluate_point(coords, m, quant_step=q, **options) for m, q in points]


def _peak(coords: np.ndarray, peak: float | None) -> float:
    return float(peak if peak is not None else (1 << int(coords.max()).bit_length()) - 1)


def evaluate_octree_point(
    coords: np.ndarray,  # [N, 3] non-negative ints
    quant_step: float = 1.0,
    *,
    peak: float | None = None,
    normals: np.ndarray | None = None,  # [N, 3]
    keep_decoded: bool = False,
) -> dict:
    """The lossy octree baseline at one position-quantisation step (G-PCC's
    ``positionQuantizationScale = 1 / quant_step``): real container bytes, decoded positions on
    the input grid (``round(q step) + origin``), the same metrics as :func:`evaluate_point`."""
    coords = np.asarray(coords)
    peak = _peak(coords, peak)
    encoded = encode_octree(coords, quant_step=quant_step)
    start = time.perf_counter()
    decoded = decode_octree(encoded.data).coords  # [M, 3] int32
    decode_s = time.perf_counter() - start
    metrics = evaluate_geometry(coords, decoded, peak, normals_a=normals)
    row = {
        "model": f"octree@{quant_step:g}",
        "codec": "octree",
        "quant_step": float(quant_step),
        "bytes": len(encoded.data),
        "bpp": encoded.bits_per_point,
        "estimated_bpp": encoded.estimated_bits / max(encoded.n_input, 1),
        "d1_psnr": metrics["d1_psnr"],
        "d2_psnr": metrics["d2_psnr"],
        "encode_s": encoded.encode_seconds,
        "decode_s": decode_s,
        "n_input": int(encoded.n_input),
        "n_decoded": int(len(decoded)),
        "peak": peak,
    }
    if keep_decoded:
        row["decoded"] = decoded
    return row


def draco_available() -> bool:
    """True when the optional ``DracoPy`` package imports."""
    try:
        import DracoPy  # noqa: F401
    except ImportError:
        return False
    return True


def evaluate_draco_point(
    coords: np.ndarray,  # [N, 3]
    quantization_bits: int,
    *,
    compression_level: int = 7,
    peak: float | None = None,
    normals: np.ndarray | None = None,  # [N, 3]
    keep_decoded: bool = False,
) -> dict:
    """Google Draco (``DracoPy``, point-cloud mode, geometry only) at ``quantization_bits``
    (positions quantised to 2^q levels over the cloud's largest extent; lower q = fewer bits).
    The rate is the size of Draco's own buffer; the decoded positions are Draco's floats.
    Raises ImportError when DracoPy is not installed (see :func:`draco_available`)."""
    import DracoPy

    coords = np.asarray(coords)
    peak = _peak(coords, peak)
    points = coords.astype(np.float32)
    start = time.perf_counter()
    data = DracoPy.encode(
        points, quantization_bits=int(quantization_bits), compression_level=compression_level
    )
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decoded = np.asarray(DracoPy.decode(data).points, dtype=np.float64).reshape(-1, 3)
    decode_s = time.perf_counter() - start
    metrics = evaluate_geometry(coords, decoded, peak, normals_a=normals)
    row = {
        "model": f"draco-q{quantization_bits}",
        "codec": "draco",
        "quantization_bits": int(quantization_bits),
        "bytes": len(data),
        "bpp": 8.0 * len(data) / len(coords),
        "d1_psnr": metrics["d1_psnr"],
        "d2_psnr": metrics["d2_psnr"],
        "encode_s": encode_s,
        "decode_s": decode_s,
        "n_input": int(len(coords)),
        "n_decoded": int(len(decoded)),
        "peak": peak,
    }
    if keep_decoded:
        row["decoded"] = decoded
    return row


def bd_table(
    curves: dict[str, Sequence[dict]],
    references: dict[str, Sequence[dict]],
    metrics: Sequence[str] = ("d1_psnr", "d2_psnr"),
    min_overlap_db: float = 1.0,
) -> list[dict]:
    """BD-rate / BD-PSNR of every curve against every reference for every metric.

    ``curves`` and ``references`` map a name to rows (dicts with ``bpp`` and the metric keys).
    Returns one dict per (curve, reference, metric): ``codec``, ``reference``, ``metric``,
    ``bd_rate`` (%), ``bd_psnr`` (dB), ``psnr_overlap``, ``points`` and ``error`` when a value is
    undefined (fewer than 4 points, no overlap, or a PSNR overlap narrower than
    ``min_overlap_db``: an average over a sliver of the curves says nothing about them). A curve
    is not compared with itself; a reference lacking a metric (e.g. published anchors with D1
    only) is skipped for that metric; an empty curve (e.g. Draco not installed) is skipped."""
    out = []
    for metric in metrics:
        for name, rows in curves.items():
            for ref_name, ref_rows in references.items():
                if ref_name == name or not rows or not ref_rows or metric not in ref_rows[0]:
                    continue
                anchor = [(float(r["bpp"]), float(r[metric])) for r in ref_rows]
                entry = bd_summary(rows, {ref_name: anchor}, metric)[ref_name]
                overlap = entry["psnr_overlap"]
                if overlap is not None and overlap[1] - overlap[0] < min_overlap_db:
                    width = overlap[1] - overlap[0]
                    entry.update(bd_rate=None, bd_psnr=None)
                    entry["error"] = f"PSNR overlap {width:.2f} dB < {min_overlap_db:g} dB"
                out.append(
                    {
                        "codec": name,
                        "reference": ref_name,
                        "metric": metric,
                        "points": len(rows),
                        **entry,
                    }
                )
    return out


def point_errors(reference: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """Point-to-point error of every decoded point: the Euclidean distance (voxels) to its
    nearest reference point, the term D1 averages (B -> A direction). ``[N, 3]``, ``[M, 3]`` ->
    ``[M]`` float64."""
    sq, _ = nn_sq_distances(
        np.asarray(decoded, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    )
    return np.sqrt(sq)


def fingerprint(value) -> str:
    """A short SHA-1 of an array's bytes (with dtype and shape), a file's bytes (a Path) or a
    JSON-able value: a cache key part."""
    h = hashlib.sha1()
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.tobytes())
    elif isinstance(value, Path):
        h.update(value.read_bytes())
    else:
        h.update(json.dumps(value, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def cached_point(
    key: dict,
    compute: Callable[[], dict],
    cache_dir: str | os.PathLike | None = "output/cache/rd",
) -> dict:
    """``compute()`` once per ``key`` (a JSON-able dict naming everything the row depends on:
    cloud and model fingerprints, step, options); later calls read the stored row, which gains
    ``"cached": True``. ``cache_dir=None`` always computes. Rows are written atomically; arrays
    (``decoded``) are not stored."""
    if cache_dir is None:
        return compute()
    path = Path(cache_dir) / f"{fingerprint(key)}.json"
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            if stored.get("key") == json.loads(json.dumps(key, default=str)):
                return {**stored["row"], "cached": True}
        except (OSError, ValueError, KeyError):
            pass
    row = compute()
    plain = {k: v for k, v in row.items() if not isinstance(v, np.ndarray)}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps({"key": key, "row": plain}, default=str) + "\n")
    return {**row, "cached": False}


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
