"""Smoke tests of the performance figures (``visualisation/perf.py``)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from visualisation import perf  # noqa: E402


def test_variants_vs_size_with_crossover_and_mark():
    rows = [
        {"tokens": t, "a_ms": t * 0.1, "b_ms": t * t * 1e-3, "a_mib": t, "b_mib": t * t / 100}
        for t in (8, 64, 512)
    ]
    fig = perf.variants_vs_size(
        rows,
        "tokens",
        [({"a": "a_ms", "b": "b_ms"}, "time (ms)"), ({"a": "a_mib", "b": "b_mib"}, "MiB")],
        xlabel="tokens",
        crossovers=[100, None],
        marks={64: "codec"},
        title="t",
    )
    left, right = fig.axes
    assert left.get_ylabel() == "time (ms)" and right.get_xlabel() == "tokens"
    assert left.get_xscale() == "log" and left.get_yscale() == "log"
    assert len(left.get_lines()) == 4  # two series, the mark and the crossover
    assert len(right.get_lines()) == 3
    plt.close(fig)


def test_bar_figures():
    masks = [
        {"kernel": k, "loop_ms": 1.0, "vectorised_ms": 0.5, "conv_forward_ms": 5.0} for k in (3, 5)
    ]
    consts = [
        {"elements": n, "precomputed_gain_pct": 1.0, "noise_pct": 2.0, "max_gain_pct": 0.5}
        for n in (8192, 131072)
    ]
    precision = [
        {
            "stage": "g_s",
            "batch": 2,
            "dtype": "bfloat16",
            "fp32_ms": 10,
            "autocast_ms": 5,
            "speedup": 2.0,
        }
    ]
    throughput = [
        {"codec": "x", "bpp": 0.3, "encode_pts_per_s": 1e5, "decode_pts_per_s": 3e4},
        {"codec": "y", "bpp": 1.0, "encode_pts_per_s": 2e5, "decode_pts_per_s": 2e5},
    ]
    figs = [
        (perf.mask_bars(masks), 6),
        (perf.constants_bars(consts), 6),
        (perf.precision_bars(precision), 2),
        (perf.throughput_bars(throughput), 4),
    ]
    for fig, bars in figs:
        ax = fig.axes[0]
        assert len(ax.patches) == bars
        assert ax.get_xlabel() or ax.get_ylabel()
        assert ax.get_title()
        plt.close(fig)
    ax = perf.throughput_bars(throughput).axes[0]
    assert "points per second" in ax.get_xlabel() and ax.get_xscale() == "log"
