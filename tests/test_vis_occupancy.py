"""Smoke tests of visualisation.occupancy (Agg backend, tiny inputs)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from visualisation import occupancy as vis  # noqa: E402


def test_bits_per_level_bars():
    fig = vis.plot_bits_per_level([0, 1, 2], {"octree": [10, 200, 3000], "learned": [9, 180, 2500]})
    ax = fig.axes[0]
    assert len(ax.patches) == 6
    assert ax.get_ylabel() == "real bits of the level (kbit)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["octree", "learned"]
    plt.close(fig)


def test_calibration_diagram_bins_what_it_is_given():
    rng = np.random.default_rng(0)
    p = rng.random(2000)
    bits = (rng.random(2000) < p).astype(np.uint8)
    fig = vis.plot_calibration(p, bits, n_bins=10)
    ax, axc = fig.axes
    x, y = ax.lines[1].get_data()
    assert len(x) == 10 and np.all(np.abs(x - y) < 0.15)  # calibrated input lies near the diagonal
    assert sum(b.get_height() for b in axc.patches) == 2000
    plt.close(fig)
