"""Octree coder speed and rate, and its RD curve next to Draco (geometry only), in one run.

Cloud: the canonical 10-bit bunny (:func:`pcc.pointcloud.canonical.canonical_bunny`, 458,477
points, cached under ``output/cache``); when the shared data is absent a stand-in is used and
named in the output (a voxelised sphere shell of radius 190 in the 1024 grid). ``--quick`` uses
the top quarter of the bunny (head and ears, ~115k points) to keep the smoke run short.

Printed: encode / decode points per second, real bits per input point (container size) next to
the estimate ``-sum log2 p``; then for the lossy octree baseline (G-PCC's
``positionQuantizationScale`` ladder, step = 1 / scale) and for Draco (DracoPy, point cloud,
geometry only, ``quantization_bits`` q, compression level 7) the rate and the symmetric D1 PSNR
(peak 1023, :func:`pcc.metrics.pointcloud.d1_psnr`). Times come from one run on a shared machine:
compare rows, not absolute numbers across runs.
Run: ``python -m pcc.bench octree [--quick]``; returns the tables ``lossless`` and ``rd`` (with
``x_lossless``: how many times smaller than the lossless octree file of the same run). Taught in
``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import time

import numpy as np

from pcc.metrics.pointcloud import d1_psnr
from pcc.pointcloud.octree_codec import decode_octree, encode_octree

PEAK = 1023.0
GPCC_SCALES = (0.9375, 0.875, 0.75, 0.5, 0.25, 0.125)  # r06..r01 for 10-bit sources


def _cloud(quick: bool) -> tuple[np.ndarray, str]:
    try:
        from pcc.pointcloud.canonical import canonical_bunny, default_bunny_path

        if default_bunny_path().is_file():
            coords = canonical_bunny()
            name = "canonical bunny (10-bit)"
            if quick:
                coords = coords[coords[:, 1] >= np.quantile(coords[:, 1], 0.75)]
                name = "canonical bunny, top quarter (y >= 75th percentile: head and ears)"
            return coords.astype(np.int64), name
    except (ImportError, OSError):
        pass
    rng = np.random.default_rng(0)
    radius = 95.0 if quick else 190.0
    v = rng.normal(size=(int(20 * 4 * np.pi * radius**2), 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    coords = np.unique(np.round(v * radius + 511.5).astype(np.int64), axis=0)
    return coords, f"STAND-IN sphere shell r={radius:g} (shared data absent)"


def _draco(coords: np.ndarray, bits: int) -> tuple[int, np.ndarray, float, float]:
    import DracoPy

    points = coords.astype(np.float32)
    start = time.perf_counter()
    data = DracoPy.encode(points, quantization_bits=bits, compression_level=7)
    t_enc = time.perf_counter() - start
    start = time.perf_counter()
    decoded = np.asarray(DracoPy.decode(data).points, dtype=np.float64).reshape(-1, 3)
    t_dec = time.perf_counter() - start
    return len(data), decoded, t_enc, t_dec


def main(quick: bool = False) -> dict[str, list[dict]]:
    """Print the lossless line and the RD table; return them as ``lossless`` and ``rd`` rows."""
    coords, name = _cloud(quick)
    n = len(coords)
    print(f"cloud: {name}, {n} points")

    encoded = encode_octree(coords)
    start = time.perf_counter()
    decoded = decode_octree(encoded.data)
    t_dec = time.perf_counter() - start
    exact = decoded.voxels.shape[0] == n and np.array_equal(
        np.unique(decoded.coords, axis=0), np.unique(coords, axis=0)
    )
    print(
        f"octree lossless: {len(encoded.data)} B, {encoded.bits_per_point:.4f} bpp real, "
        f"{encoded.estimated_bits / n:.4f} bpp estimated, exact={exact}"
    )
    print(
        f"  encode {encoded.encode_seconds:.2f} s ({n / encoded.encode_seconds / 1e3:.0f} kpts/s), "
        f"decode {t_dec:.2f} s ({n / t_dec / 1e3:.0f} kpts/s)"
    )
    lossless_bytes = len(encoded.data)
    lossless = {
        "cloud": name,
        "points": n,
        "bytes": lossless_bytes,
        "bpp": encoded.bits_per_point,
        "estimated_bpp": encoded.estimated_bits / n,
        "real_over_estimate": encoded.bits_per_point / (encoded.estimated_bits / n),
        "exact": bool(exact),
        "encode_s": encoded.encode_seconds,
        "decode_s": t_dec,
        "encode_kpts_s": n / encoded.encode_seconds / 1e3,
        "decode_kpts_s": n / t_dec / 1e3,
    }

    rows = []
    scales = GPCC_SCALES[::2] if quick else GPCC_SCALES
    for scale in scales:
        step = 1.0 / scale
        enc = encode_octree(coords, quant_step=step)
        start = time.perf_counter()
        dec = decode_octree(enc.data)
        t = time.perf_counter() - start
        rows.append(
            (f"octree step 1/{scale:g}", len(enc.data), d1_psnr(coords, dec.coords_float, PEAK),
             enc.encode_seconds, t)
        )  # fmt: skip
    try:
        import DracoPy  # noqa: F401

        for bits in (8, 9, 10) if quick else (7, 8, 9, 10, 11):
            size, dec, t_enc, t_dec_d = _draco(coords, bits)
            rows.append((f"draco q={bits}", size, d1_psnr(coords, dec, PEAK), t_enc, t_dec_d))
    except ImportError:
        print("DracoPy not installed: Draco rows skipped")
    print(
        f"{'codec':22s} {'bpp':>8s} {'D1 PSNR dB':>11s} {'enc s':>7s} {'dec s':>7s} "
        f"{'x lossless':>10s}"
    )
    print(
        f"{'octree lossless':22s} {encoded.bits_per_point:8.4f} {'inf':>11s} "
        f"{encoded.encode_seconds:7.2f} {t_dec:7.2f} {1.0:10.2f}"
    )
    rd = []
    for label, size, psnr, te, td in rows:
        bpp = 8 * size / n
        print(
            f"{label:22s} {bpp:8.4f} {psnr:11.2f} {te:7.2f} {td:7.2f} {lossless_bytes / size:10.2f}"
        )
        rd.append(
            {"codec": label, "bytes": size, "bpp": bpp, "d1_psnr": psnr, "encode_s": te,
             "decode_s": td, "x_lossless": lossless_bytes / size}
        )  # fmt: skip
    print("x lossless = lossless octree file / this file (how many times smaller)")
    return {"lossless": [lossless], "rd": rd}
