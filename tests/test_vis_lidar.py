"""Smoke tests of visualisation.lidar (Agg backend, tiny inputs)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from visualisation import lidar as vis  # noqa: E402


def test_range_image_and_calibration():
    rng = np.random.default_rng(0)
    az = rng.uniform(-40, 40, 500)
    ring = rng.integers(0, 8, 500)
    fig = vis.plot_range_image(az, ring, rng.uniform(2, 60, 500), bins=64)
    ax = fig.axes[0]
    assert ax.images and ax.get_xlabel() == "azimuth (degrees)"
    assert ax.images[0].get_array().shape == (8, 64)
    assert "range" in fig.axes[1].get_ylabel()
    plt.close(fig)
    fig = vis.plot_calibration(np.linspace(-20, 2, 8), np.linspace(-20, 2, 8))
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_ylabel() == "elevation (degrees)"
    plt.close(fig)


def test_stream_bits_rate_comparison_and_rd():
    cases = {"a": {"steps": 1.0, "dominant": 9.0, "height": 2.0}, "b": {"dominant": 5.0}}
    fig = vis.plot_stream_bits(cases)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "bits per point"
    assert len(ax.patches) == 3 * 2  # streams present x cases
    plt.close(fig)
    rows = [
        {"case": "x", "lidar (ours)": 13.9, "octree (ours)": 22.7, vis.GPCC: 14.0},
        {"case": "y", "lidar (ours)": 7.1, "octree (ours)": 10.8, vis.GPCC: None},
    ]
    fig = vis.plot_rate_comparison(rows)
    assert len(fig.axes[0].patches) == 5
    assert len(fig.axes[0].get_legend().get_texts()) == 3
    plt.close(fig)
    fig = vis.plot_rd([12.0, 9.0], [94.0, 82.0], [2, 10])
    assert fig.axes[0].get_ylabel() == "D1 PSNR (dB)"
    plt.close(fig)
