"""Figures of notebook 16 (LiDAR sweeps): the rings as a range image, the estimated calibration,
where the bits of a ``"lidar"`` file go, the rate against other coders and the near-lossless
RD curve.

Every function takes plain data (arrays, dicts of numbers) and returns a matplotlib Figure;
nothing here codes or measures (that is :mod:`pcc.pointcloud.lidar_codec` and
:mod:`pcc.bench.bench_lidar`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from visualisation.style import CMAPS, PALETTE, apply_style

# one colour per stream of the codec in every figure
STREAM_COLOURS = {
    "rings": PALETTE[7],
    "direct": "#999999",
    "steps": PALETTE[1],
    "dominant": PALETTE[0],
    "tangential": PALETTE[2],
    "height": PALETTE[4],
}
GPCC = "G-PCC v23 (published TMC13 figures)"
CODER_COLOURS = {"lidar (ours)": PALETTE[0], "octree (ours)": PALETTE[1], GPCC: PALETTE[2]}


def plot_range_image(
    azimuth_deg: np.ndarray,
    ring: np.ndarray,
    range_m: np.ndarray,
    *,
    bins: int = 720,
    step_deg: float | None = None,
    title: str = "The sweep as a range image: one row per laser ring",
) -> Figure:
    """Rings as rows (top ring first), azimuth as columns, colour = range in metres (log scale).

    ``azimuth_deg``, ``ring`` (0 = top), ``range_m``: ``[N]`` each. ``step_deg``, the firing
    step, sets one column per firing (else ``bins`` columns). Cells without a return are left
    white: the gaps (sky, lost echoes, the camera crop) are visible as such.
    """
    apply_style()
    n_rings = int(ring.max()) + 1 if ring.size else 1
    lo, hi = (float(azimuth_deg.min()), float(azimuth_deg.max())) if ring.size else (0.0, 1.0)
    if step_deg:
        bins = max(2, int(round((hi - lo) / step_deg)) + 1)
    col = np.clip(((azimuth_deg - lo) / max(hi - lo, 1e-9) * (bins - 1)).astype(int), 0, bins - 1)
    image = np.full((n_rings, bins), np.nan)
    image[ring, col] = range_m
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.06 * n_rings + 1.5)))
    im = ax.imshow(
        image,
        aspect="auto",
        interpolation="nearest",
        cmap=CMAPS["sequential"],
        norm=LogNorm(vmin=max(float(np.nanmin(image)), 0.1), vmax=float(np.nanmax(image)))
        if np.isfinite(image).any()
        else None,
        extent=(lo, hi, n_rings - 0.5, -0.5),
    )
    ax.set_xlabel("azimuth (degrees)")
    ax.set_ylabel("laser ring (0 = top)")
    ax.set_title(title)
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="horizontal range (m)", pad=0.01)
    return fig


def plot_calibration(
    est_deg: np.ndarray,
    true_deg: np.ndarray | None = None,
    *,
    title: str = "Laser elevations estimated from the sweep",
) -> Figure:
    """Estimated elevation per ring (degrees, ``[R]``) and, if given, the true ones ``[R]``."""
    apply_style()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    idx = np.arange(len(est_deg))
    if true_deg is not None:
        ax.plot(idx, true_deg, "o", mfc="none", ms=8, color=PALETTE[1], label="sensor (truth)")
    ax.plot(idx, est_deg, ".", ms=6, color=PALETTE[0], label="estimated (sent in the file)")
    ax.set_xlabel("ring (sorted by elevation)")
    ax.set_ylabel("elevation (degrees)")
    ax.set_title(title)
    ax.legend()
    return fig


def plot_stream_bits(
    cases: Mapping[str, Mapping[str, float]],
    *,
    title: str = "Where the bits go: bits per point in each stream (the header adds ~0.1)",
) -> Figure:
    """Stacked horizontal bars: for each case (e.g. ``"KITTI 1 mm"``), bits per point per stream."""
    apply_style()
    names = list(cases)
    streams = [s for s in STREAM_COLOURS if any(cases[c].get(s, 0) > 0 for c in names)]
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(names) + 1.6))
    left = np.zeros(len(names))
    for s in streams:
        vals = np.array([cases[c].get(s, 0.0) for c in names])
        ax.barh(names, vals, left=left, color=STREAM_COLOURS[s], label=s)
        for i, v in enumerate(vals):
            if v >= 0.9:
                ax.text(left[i] + v / 2, i, f"{v:.1f}", ha="center", va="center", color="white")
        left += vals
    for i, total in enumerate(left):
        ax.text(total + 0.1, i, f"{total:.2f}", va="center")
    ax.invert_yaxis()
    ax.set_xlabel("bits per point")
    ax.set_xlim(0, left.max() * 1.12 if len(left) else 1)
    ax.set_title(title)
    ax.legend(ncol=len(streams), loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False)
    return fig


def plot_rate_comparison(
    rows: Sequence[Mapping],
    *,
    title: str = "Lossless rate: the LiDAR codec against the octree coder and G-PCC",
) -> Figure:
    """Grouped bars. ``rows``: ``{"case": str, "lidar (ours)": bpp, "octree (ours)": bpp,
    GPCC: bpp or None}``; a missing G-PCC figure leaves its bar out."""
    apply_style()
    coders = list(CODER_COLOURS)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    x = np.arange(len(rows))
    width = 0.8 / len(coders)
    for j, coder in enumerate(coders):
        for i, row in enumerate(rows):
            v = row.get(coder)
            if v is None:
                continue
            xpos = x[i] + (j - (len(coders) - 1) / 2) * width
            ax.bar(xpos, v, width, color=CODER_COLOURS[coder], label=coder if i == 0 else None)
            ax.text(xpos, v + 0.2, f"{v:.1f}", ha="center", fontsize=8)
    handles, labels = ax.get_legend_handles_labels()
    seen = dict(zip(labels, handles, strict=True))
    top = max((v for r in rows for c in coders if (v := r.get(c)) is not None), default=1.0)
    ax.set_ylim(0, 1.3 * top)  # headroom: the one-row legend sits above the tallest bar
    ax.legend(seen.values(), seen.keys(), loc="upper center", ncol=len(seen), fontsize=9)
    ax.set_xticks(x, [r["case"] for r in rows])
    ax.set_ylabel("bits per point (real file size)")
    ax.set_title(title)
    return fig


def plot_rd(
    bpp: Sequence[float],
    psnr_db: Sequence[float],
    max_error_mm: Sequence[float],
    *,
    title: str = "Near-lossless: rate against D1 PSNR",
) -> Figure:
    """Rate (bits per point) against D1 PSNR (dB) of the near-lossless ladder, points labelled
    with the maximum error per coordinate in millimetres."""
    apply_style()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(bpp, psnr_db, "o-", color=PALETTE[0])
    for b, p, e in zip(bpp, psnr_db, max_error_mm, strict=True):
        ax.annotate(f"{e:g} mm", (b, p), textcoords="offset points", xytext=(5, -12), fontsize=8)
    ax.set_xlabel("bits per point")
    ax.set_ylabel("D1 PSNR (dB)")
    ax.set_title(title)
    return fig
