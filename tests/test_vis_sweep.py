"""Smoke tests for visualisation.sweep: the curve, its labels, and failed runs left out openly."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from pcc.sweep import SweepRun, write_csv  # noqa: E402
from visualisation import sweep as vsw  # noqa: E402


def _rows():
    return [
        {"status": "ok", "k": 64, "size_bytes": 1000, "psnr": 28.0},
        {"status": "ok", "k": 256, "size_bytes": 3000, "psnr": 29.0},
        {"status": "failed", "k": 1024, "size_bytes": None, "psnr": None},
    ]


def test_axis_labels_carry_units():
    assert vsw.axis_label("size_bytes") == "file size (bytes)"
    assert vsw.axis_label("npz_bytes") == "npz (bytes)"
    assert vsw.axis_label("psnr_after") == "PSNR after compression (dB)"
    assert vsw.axis_label("timings_s.total") == "timings s.total"
    assert vsw.axis_label("encode_s") == "encode (s)"


def test_sweep_curve_plots_the_successful_runs():
    fig = vsw.sweep_curve(_rows(), "size_bytes", "psnr", label_by=["k"])
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [1000, 3000]
    assert ax.get_xlabel() == "file size (bytes)" and ax.get_ylabel() == "PSNR (dB)"
    assert "1 failed or incomplete run left out" in ax.get_title()
    assert [t.get_text() for t in ax.texts] == ["k=64", "k=256"]


def test_sweep_curve_one_line_per_group():
    rows = [
        {"k": k, "init": init, "size_bytes": k * 10, "psnr": 20 + k / 100}
        for k in (64, 256)
        for init in ("uniform", "kmeans++")
    ]
    fig = vsw.sweep_curve(rows, "k", "psnr", group_by="init")
    assert len(fig.axes[0].get_lines()) == 2
    assert fig.axes[0].get_legend() is not None


def test_sweep_curve_without_data_raises():
    with pytest.raises(ValueError):
        vsw.sweep_curve(_rows()[2:], "size_bytes", "psnr")


def test_plot_sweep_csv_writes_a_png(tmp_path):
    runs = [
        SweepRun(
            0, {"k": 64}, tmp_path / "a", status="ok", metrics={"size_bytes": 10, "psnr": 1.0}
        ),
        SweepRun(
            1, {"k": 128}, tmp_path / "b", status="ok", metrics={"size_bytes": 20, "psnr": 2.0}
        ),
    ]
    csv_path = write_csv(runs, tmp_path / "sweep.csv")
    png = vsw.plot_sweep_csv(csv_path, "size_bytes", "psnr", tmp_path / "s.png", label_by=["k"])
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_replot_redraws_an_earlier_sweep_without_running(tmp_path, capsys):
    from pcc.cli import main
    from pcc.sweep import SweepResult, write_json

    runs = [
        SweepRun(i, {"k": k}, tmp_path / f"r{i}", status="ok", metrics={"mse": 1.0 / k})
        for i, k in enumerate((64, 256, 1024))
    ]
    write_csv(runs, tmp_path / "sweep.csv")
    write_json(SweepResult(tmp_path / "nb.ipynb", tmp_path, runs), tmp_path / "sweep.json")
    argv = ["sweep", "--replot", str(tmp_path), "--x", "k", "--y", "mse", "--ylabel", "MSE (a.u.)"]
    assert main(argv, commands=[("sweep", vsw.register)]) == 0
    png = tmp_path / "sweep_mse_vs_k.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and str(png) in capsys.readouterr().out


def test_powers_of_two_get_a_base_two_axis():
    rows = [{"k": k, "mse": 1.0 / k} for k in (64, 256, 1024)]
    ax = vsw.sweep_curve(rows, "k", "mse").axes[0]
    assert ax.get_xscale() == "log" and "(log scale)" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["64", "256", "1024"]
