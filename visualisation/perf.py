"""Performance figures for ``notebooks/15_performance.ipynb``: time and memory of two variants
against problem size, crossovers, small-gain bars with their noise floor, throughput.

Inputs are the row dicts of :mod:`pcc.bench.bench_codec_ops`; every function returns a
matplotlib ``Figure``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from visualisation.style import PALETTE

__all__ = [
    "variants_vs_size",
    "mask_bars",
    "constants_bars",
    "precision_bars",
    "throughput_bars",
]


def variants_vs_size(
    rows: Sequence[Mapping],
    x: str,
    panels: Sequence[tuple[Mapping[str, str], str]],
    *,
    xlabel: str,
    title: str | None = None,
    crossovers: Sequence[float | None] | None = None,
    marks: Mapping[float, str] | None = None,
    logx: bool = True,
    logy: bool = True,
    panel_size: tuple[float, float] = (5.2, 4.0),
):
    """One panel per ``(series, ylabel)`` in ``panels``; ``series`` maps a legend label to the
    row key plotted against ``rows[i][x]``. ``crossovers[i]`` (optional) draws a dotted vertical
    line in panel i; ``marks`` draws labelled grey lines at given x (e.g. the codec's size)."""
    rows = sorted(rows, key=lambda r: r[x])
    xs = np.array([float(r[x]) for r in rows])
    fig, axes = plt.subplots(
        1, len(panels), figsize=(panel_size[0] * len(panels), panel_size[1]), squeeze=False
    )
    for p_i, (ax, (series, ylabel)) in enumerate(zip(axes[0], panels)):
        for i, (label, key) in enumerate(series.items()):
            ys = np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows])
            ax.plot(xs, ys, marker="os^D"[i % 4], color=PALETTE[i % len(PALETTE)], label=label)
        for pos, text in (marks or {}).items():
            ax.axvline(pos, color="grey", lw=1.0, ls="-.")
            ax.annotate(
                text,
                (pos, 0.04),
                xycoords=("data", "axes fraction"),
                rotation=90,
                va="bottom",
                ha="right",
                fontsize=9,
                color="dimgrey",
            )
        if crossovers is not None and p_i < len(crossovers) and crossovers[p_i] is not None:
            ax.axvline(crossovers[p_i], color="black", lw=1.0, ls=":")
            ax.annotate(
                f" crossover ~{crossovers[p_i]:g}",
                (crossovers[p_i], 0.04),
                xycoords=("data", "axes fraction"),
                ha="left",
                fontsize=9,
            )
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def mask_bars(rows: Sequence[Mapping], *, title: str | None = None, figsize=(7.0, 4.0)):
    """Grouped bars per kernel size: loop mask, vectorised mask and one masked-conv forward (ms,
    log scale): a mask is made once per layer, a forward runs for every batch."""
    keys = (("loop mask", "loop_ms"), ("vectorised mask", "vectorised_ms"))
    keys += (("one conv forward", "conv_forward_ms"),)
    fig, ax = plt.subplots(figsize=figsize)
    idx = np.arange(len(rows))
    width = 0.8 / len(keys)
    for i, (label, key) in enumerate(keys):
        ax.bar(
            idx + (i - 1) * width,
            [float(r[key]) for r in rows],
            width * 0.95,
            label=label,
            color=PALETTE[i],
        )
    ax.set_xticks(idx, [f"{r['kernel']}^3" for r in rows])
    ax.set_yscale("log")
    ax.set_xlabel("mask / kernel size (weight 128 x 64 channels)")
    ax.set_ylabel("time (ms, log scale)")
    ax.set_title(title or "Mask creation is tiny next to the convolution it masks")
    ax.legend()
    fig.tight_layout()
    return fig


def constants_bars(rows: Sequence[Mapping], *, title: str | None = None, figsize=(7.0, 4.0)):
    """Per tensor size: the measured gain of a precomputed log(2) (%) next to the A/A noise
    (the same variant timed twice) and, when the rows have ``max_gain_pct``, the most it can
    save (the cost of computing the constant alone): a gain inside the noise is not a gain."""
    fig, ax = plt.subplots(figsize=figsize)
    idx = np.arange(len(rows))
    series = [
        ("measured gain of precomputing log(2)", "precomputed_gain_pct", PALETTE[0]),
        ("noise (same code timed twice)", "noise_pct", PALETTE[5]),
    ]
    if rows and "max_gain_pct" in rows[0]:
        series.append(("upper bound: cost of computing log(2)", "max_gain_pct", PALETTE[2]))
    width = 0.8 / len(series)
    # a very noisy round would squash every other bar: the axis stops at a few times the
    # largest gain / bound and taller bars are clipped, their value written on top
    small = [abs(float(r[k])) for r in rows for _, k, _ in series if k != "noise_pct"]
    top = max(12.0, 3.0 * max(small, default=0.0))
    for i, (label, key, color) in enumerate(series):
        values = [float(r[key]) for r in rows]
        x = idx + (i - (len(series) - 1) / 2) * width
        ax.bar(x, np.minimum(values, top), width * 0.95, color=color, label=label)
        for xi, v in zip(x, values):
            if v > top:
                ax.annotate(
                    f"{v:.0f} %",
                    (xi, top),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=9,
                )
    ax.set_ylim(top=top * 1.12)
    ax.axhline(5.0, color=PALETTE[3], ls="--", lw=1.2, label='the seed\'s "~5 %"')
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(idx, [f"{int(r['elements']):,}" for r in rows])
    ax.set_xlabel("likelihood elements per rate evaluation")
    ax.set_ylabel("time difference (%)")
    ax.set_title(title or "A precomputed constant vs measurement noise")
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    fig.tight_layout()
    return fig


def precision_bars(rows: Sequence[Mapping], *, title: str | None = None, figsize=(6.5, 4.0)):
    """fp32 vs autocast time per stage (ms), the speed-up written on top."""
    fig, ax = plt.subplots(figsize=figsize)
    idx = np.arange(len(rows))
    fp32 = [float(r["fp32_ms"]) for r in rows]
    low = [float(r["autocast_ms"]) for r in rows]
    dtype = rows[0]["dtype"] if rows else "low"
    ax.bar(idx - 0.2, fp32, 0.38, color=PALETTE[0], label="float32")
    ax.bar(idx + 0.2, low, 0.38, color=PALETTE[1], label=f"autocast {dtype}")
    for i, r in enumerate(rows):
        ax.annotate(
            f"x{float(r['speedup']):.2f}",
            (i + 0.2, low[i]),
            textcoords="offset points",
            xytext=(0, 3),
            ha="center",
            fontsize=9,
        )
    ax.set_xticks(idx, [f"{r['stage']}\n({r['batch']} blocks)" for r in rows])
    ax.set_ylabel("time per call (ms)")
    ax.set_title(title or "Mixed precision on this CPU")
    ax.legend()
    fig.tight_layout()
    return fig


def throughput_bars(rows: Sequence[Mapping], *, title: str | None = None, figsize=(7.5, 4.0)):
    """Encode and decode points per second per codec (log scale), bits per point in the tick
    labels."""
    fig, ax = plt.subplots(figsize=figsize)
    idx = np.arange(len(rows))
    enc = [float(r["encode_pts_per_s"]) for r in rows]
    dec = [float(r["decode_pts_per_s"]) for r in rows]
    ax.barh(idx - 0.2, enc, 0.38, color=PALETTE[0], label="encode")
    ax.barh(idx + 0.2, dec, 0.38, color=PALETTE[2], label="decode")
    ax.set_yticks(idx, [f"{r['codec']}\n{float(r['bpp']):.3f} bpp" for r in rows])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("input points per second (log scale)")
    ax.set_title(title or "Throughput on one cloud")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig
