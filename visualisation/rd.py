"""Rate-distortion figures: RD curves (measured codecs and published anchors), BD-rate bars and
point-to-point error distributions.

Inputs are the plain rows of :mod:`pcc.codec.evaluate` (dicts with ``bpp``, ``d1_psnr``,
``d2_psnr``), anchor tuples ``(bpp, psnr)`` such as
:data:`pcc.pointcloud.canonical.BUNNY_ANCHORS`, and the dicts of
:func:`pcc.codec.evaluate.bd_table`. Every function returns a matplotlib ``Figure``.
Taught in ``notebooks/14_rate_distortion.ipynb``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from visualisation.style import PALETTE

__all__ = ["METRIC_LABELS", "rd_curves", "bd_bars", "error_histograms"]

METRIC_LABELS = {
    "d1_psnr": "D1 PSNR (dB)",
    "d2_psnr": "D2 PSNR (dB)",
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _metric_label(metric: str, peak: float | None) -> str:
    label = METRIC_LABELS.get(metric, metric)
    return label if peak is None else label.replace("(dB)", f"(dB, peak {peak:g})")


def rd_curves(
    curves: Mapping[str, Sequence[Mapping]],
    *,
    metrics: Sequence[str] = ("d1_psnr", "d2_psnr"),
    anchors: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    anchor_metric: str = "d1_psnr",
    peak: float | None = None,
    log_rate: bool = True,
    title: str | None = None,
    annotate: Mapping[str, str] | None = None,
    panel_size: tuple[float, float] = (5.6, 4.2),
):
    """One panel per metric: quality vs rate for every named curve (solid, filled markers) and
    every anchor (dashed, open markers; drawn only in the ``anchor_metric`` panel, since
    published anchors usually give one metric).

    ``curves``: name -> rows (sorted by rate here); ``annotate``: curve name -> the row key whose
    value labels each point (e.g. ``"label"``). Returns the Figure (``fig.axes`` one per metric).
    """
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(panel_size[0] * len(metrics), panel_size[1]), squeeze=False
    )
    for ax, metric in zip(axes[0], metrics):
        for i, (name, rows) in enumerate(curves.items()):
            rows = sorted(
                (r for r in rows if np.isfinite(float(r[metric]))), key=lambda r: r["bpp"]
            )
            if not rows:
                continue
            x = [float(r["bpp"]) for r in rows]
            y = [float(r[metric]) for r in rows]
            color = PALETTE[i % len(PALETTE)]
            ax.plot(x, y, marker=_MARKERS[i % len(_MARKERS)], color=color, label=name, lw=1.6)
            key = (annotate or {}).get(name)
            if key:
                for r, xi, yi in zip(rows, x, y):
                    ax.annotate(
                        str(r.get(key, "")),
                        (xi, yi),
                        textcoords="offset points",
                        xytext=(5, -6),
                        ha="left",
                        va="top",
                        fontsize=9,
                        color=color,
                    )
        if anchors and metric == anchor_metric:
            for j, (name, points) in enumerate(anchors.items()):
                pts = sorted(points)
                color = PALETTE[(len(curves) + j) % len(PALETTE)]
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    ls="--",
                    marker=_MARKERS[(len(curves) + j) % len(_MARKERS)],
                    mfc="white",
                    color=color,
                    label=f"{name} (published)",
                    lw=1.4,
                )
        if log_rate:
            ax.set_xscale("log")
        ax.set_xlabel("rate (bits per input point, real file size)")
        ax.set_ylabel(_metric_label(metric, peak))
        ax.set_title(
            METRIC_LABELS.get(metric, metric).split(" (")[0] + ": higher and further left is better"
        )
        ax.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def bd_bars(
    rows: Sequence[Mapping],
    *,
    reference: str | None = None,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
):
    """Horizontal bars of BD-rate (%) per codec, one bar per metric, from
    :func:`pcc.codec.evaluate.bd_table` rows against one ``reference`` (default: the first
    reference named in the rows). Undefined values (no overlap, too few points) are shown as
    "n/a". Negative = fewer bits than the reference at equal quality."""
    if not rows:
        raise ValueError("no BD rows")
    reference = reference or rows[0]["reference"]
    rows = [r for r in rows if r["reference"] == reference]
    codecs = list(dict.fromkeys(r["codec"] for r in rows))
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    fig, ax = plt.subplots(figsize=figsize or (7.0, 0.9 + 0.55 * len(codecs) * len(metrics)))
    height = 0.8 / len(metrics)
    for m_i, metric in enumerate(metrics):
        for c_i, codec in enumerate(codecs):
            match = [r for r in rows if r["codec"] == codec and r["metric"] == metric]
            if not match:
                continue
            value = match[0]["bd_rate"]
            y = c_i + (m_i - (len(metrics) - 1) / 2) * height
            label = METRIC_LABELS.get(metric, metric).split(" (")[0] if c_i == 0 else None
            if value is None:
                ax.text(0, y, "  n/a", va="center", fontsize=9)
                continue
            ax.barh(y, value, height=height * 0.9, color=PALETTE[m_i % len(PALETTE)], label=label)
            ax.text(
                value,
                y,
                f" {value:+.1f} % ",
                va="center",
                ha="left" if value >= 0 else "right",
                fontsize=9,
            )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(codecs)), codecs)
    ax.invert_yaxis()
    values = [r["bd_rate"] for r in rows if r["bd_rate"] is not None] + [0.0]
    span = max(values) - min(values)
    ax.set_xlim(min(values) - 0.3 * span - 5, max(values) + 0.3 * span + 5)
    ax.set_xlabel(f"BD-rate vs {reference} (%; negative = fewer bits at equal PSNR)")
    ax.set_title(title or f"Bits saved against {reference} at equal quality")
    ax.legend(loc="best")
    fig.tight_layout()
    return fig


def error_histograms(
    errors: Mapping[str, np.ndarray],
    *,
    units: str = "voxels",
    title: str | None = None,
    quantile: float = 0.999,
    figsize: tuple[float, float] = (6.5, 4.0),
):
    """Distribution of the point-to-point error of every decoded point, one line per codec: the
    fraction of decoded points whose error is at least x (a complementary CDF, log y; on a voxel
    grid errors take the discrete values sqrt(k), which a CCDF shows without binning artefacts).
    The x range ends at the largest ``quantile`` of the codecs; the legend gives each codec's mean
    and maximum, so rare far outliers are not lost."""
    fig, ax = plt.subplots(figsize=figsize)
    tops = [float(np.quantile(e, quantile)) for e in errors.values() if len(e)]
    top = max(max(tops, default=1.0), 1.0)
    for i, (name, err) in enumerate(errors.items()):
        err = np.sort(np.asarray(err, dtype=np.float64))
        if not len(err):
            continue
        values, first = np.unique(err, return_index=True)
        at_least = 1.0 - first / len(err)  # share of points with error >= value
        ax.step(
            np.append(values, top),
            np.append(at_least, at_least[-1]),
            where="post",
            color=PALETTE[i % len(PALETTE)],
            lw=1.8,
            label=f"{name}: mean {err.mean():.2f}, max {err.max():.1f}",
        )
    ax.set_xlim(0, top)
    ax.set_yscale("log")
    ax.set_xlabel(f"error: distance to the nearest original point ({units})")
    ax.set_ylabel("fraction of decoded points with at least this error")
    ax.set_title(title or "Point-to-point error of the decoded points")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig
