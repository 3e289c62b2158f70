"""The demo: a fresh folder per run, notebook 06 as an HTML report with a summary table, and the
point-cloud part on real bitstreams."""

from __future__ import annotations

import math
import re

import nbformat
import pytest

from pcc.demo import (
    WHOLE_PIPELINE,
    format_c3dgs_summary,
    fresh_output_dir,
    run_notebook_report,
    run_pointcloud_demo,
)


def test_pointcloud_demo_codes_a_shape_with_both_codecs(tmp_path):
    result = run_pointcloud_demo(tmp_path)
    assert result["n_points"] > 1000
    octree, neural = result["octree"], result["neural"]
    # Sizes are the real bitstream files on disk.
    assert octree["bytes"] == (tmp_path / "shape.octree.bin").stat().st_size
    assert neural["bytes"] == (tmp_path / "shape.neural.bin").stat().st_size
    # The octree coder is lossless; the learned codec is lossy but close, and cheaper.
    assert octree["d1_psnr"] == math.inf
    assert 45.0 < neural["d1_psnr"] < math.inf
    assert neural["bpp"] < octree["bpp"]


def test_every_demo_gets_a_fresh_folder(tmp_path):
    first = fresh_output_dir(prefix=str(tmp_path / "demo"))
    assert re.fullmatch(r"demo-\d{8}-\d{6}", first.name) and first.is_dir()
    (first / "summary.json").write_text("{}")
    second = fresh_output_dir(prefix=str(tmp_path / "demo"))
    assert second != first  # same second: a suffix, never the used folder
    with pytest.raises(FileExistsError):
        fresh_output_dir(first)
    assert (first / "summary.json").read_text() == "{}"


def test_the_demo_runs_the_whole_pipeline_notebook():
    nb = nbformat.read(WHOLE_PIPELINE, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert 'preset = "default"' in params.source and "out_dir =" in params.source


def _notebook(path, body: str):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('out_dir = "unused"\npreset = "default"')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def test_a_notebook_report_has_its_metrics_and_html(tmp_path):
    body = (
        "import json, pathlib\n"
        "p = pathlib.Path(out_dir); p.mkdir(parents=True, exist_ok=True)\n"
        "print('ran with preset', preset)\n"
        "(p / 'metrics.json').write_text(json.dumps({'preset': preset, 'psnr_after': 30.0}))\n"
    )
    nb = _notebook(tmp_path / "lesson.ipynb", body)
    out = tmp_path / "demo"
    out.mkdir()
    report = run_notebook_report(nb, out, {"preset": "tiny"})
    assert report["metrics"] == {"preset": "tiny", "psnr_after": 30.0}
    assert (out / "lesson" / "metrics.json").is_file()  # out_dir was pointed into the demo folder
    html = (out / "lesson.html").read_text()
    assert "ran with preset tiny" in html  # the executed outputs are in the report


def test_a_failing_notebook_stops_the_demo_with_its_error(tmp_path):
    nb = _notebook(tmp_path / "broken.ipynb", "raise RuntimeError('codebook exploded')")
    out = tmp_path / "demo"
    out.mkdir()
    with pytest.raises(RuntimeError, match="codebook exploded"):
        run_notebook_report(nb, out, html=False)


METRICS = {
    "format": "pcc",
    "n_gaussians_before": 26999,
    "n_gaussians_after": 26987,
    "input_bytes": 6697282,
    "size_bytes": 237742,
    "npz_bytes": 326401,
    "psnr_before": 30.5613,
    "psnr_after": 30.3855,
    "ssim_before": 0.97559,
    "ssim_after": 0.97475,
    "timings_s": {"color_vq": 4.1, "finetune": 116.7, "sensitivity": 6.96},  # sorted, as saved
    "total_s": 130.0,
}


def test_summary_table_reports_sizes_quality_and_timings():
    text = format_c3dgs_summary(METRICS)
    lines = text.splitlines()
    size_row = next(line for line in lines if line.startswith("file size"))
    assert "6,697,282" in size_row and "237,742" in size_row and "28.2x smaller" in size_row
    assert "20.5x smaller" in next(line for line in lines if line.startswith("c3dgs npz"))
    psnr_row = next(line for line in lines if line.startswith("PSNR"))
    assert "30.56" in psnr_row and "30.39" in psnr_row and "-0.18 dB" in psnr_row
    assert lines[-1] == (
        "step timings (s): sensitivity 7.0 | color_vq 4.1 | finetune 116.7 | total 130.0"
    )


def test_summary_table_without_a_reference_quality():
    """Targets rendered from the uncompressed model give no PSNR 'before': shown as a dash."""
    m = dict(METRICS, psnr_before=None, ssim_before=None, format="npz")
    m["compressed_bytes"] = m.pop("size_bytes")
    text = format_c3dgs_summary(m)
    psnr_row = next(line for line in text.splitlines() if line.startswith("PSNR"))
    assert " - " in psnr_row and "dB" not in psnr_row.split("30.39")[1]
    assert "c3dgs npz" not in text
