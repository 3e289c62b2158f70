"""Smoke tests for visualisation.storage: byte and time figures, the Morton view, Markdown tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from visualisation import storage as vs  # noqa: E402


def test_size_bars_label_ratios():
    fig = vs.size_bars({"PLY": 1_000_000, "npz": 50_000, "pcc": 40_000}, n_gaussians={"pcc": 4000})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert any("20.0x smaller" in t for t in labels)
    assert any("25.0x smaller" in t and "10.0 B/Gaussian" in t for t in labels)
    assert "MB" in ax.get_ylabel()


def test_ply_attribute_bytes_adds_up():
    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity"]
    names += [f"scale_{i}" for i in range(3)] + [f"rot_{i}" for i in range(4)]
    out = vs.ply_attribute_bytes(names, 10, header_bytes=100)
    assert out["positions"] == 120 and out["rotation"] == 160 and out["header"] == 100
    assert sum(out.values()) == 4 * 10 * len(names) + 100


def test_byte_breakdown_panels():
    formats = {
        "npz": {"positions": 1000, "color_rest": 300, "opacity": 200, "framing": 50},
        "pcc": {"positions": 600, "color_rest": 280, "opacity": 190, "framing": 10},
    }
    fig = vs.byte_breakdown(formats, n_gaussians=100)
    assert isinstance(fig, Figure)
    left, right = fig.axes[:2]
    assert left.get_xscale() == "log" and "bytes" in left.get_xlabel()
    assert len(left.patches) == 8  # 4 attributes x 2 formats
    assert "%" in right.get_xlabel()
    assert [t.get_text().split("\n")[0] for t in right.get_yticklabels()] == ["npz", "pcc"]


def test_timing_bars_skip_total():
    fig = vs.timing_bars({"a": 1.0, "b": 3.0, "total": 4.0})
    ax = fig.axes[0]
    assert len(ax.patches) == 2
    assert ax.get_xlabel() == "wall-clock time (s)"
    assert "4.0 s" in ax.get_title()


def test_z_order_interleaves_bits():
    cells = vs._z_order_2d(1)
    assert cells.tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]]


def test_morton_order_panels():
    rng = np.random.default_rng(0)
    pts = rng.random((300, 3))
    order = np.lexsort(pts.T[::-1])
    fig = vs.morton_order(pts, order)
    assert len(fig.axes) == 5  # Z curve, before, after, histogram, colour bar
    assert all(ax.get_xlabel() for ax in fig.axes[:4])
    with pytest.raises(ValueError):
        vs.morton_order(pts, order[:10])


def test_markdown_table_formats_cells():
    text = vs.markdown_text(
        [{"view": "r_0", "psnr": 30.12345, "n": 1234, "x": None, "ok": True}], digits={"psnr": 2}
    )
    lines = text.splitlines()
    assert lines[0] == "| view | psnr | n | x | ok |"
    assert lines[2] == "| r_0 | 30.12 | 1,234 | — | yes |"
    assert vs.markdown_table([{"a": 1}])._repr_markdown_().startswith("| a |")
