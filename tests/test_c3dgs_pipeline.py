"""The c3dgs pipeline end to end on a small generated scene, and the three CLI commands."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import random_scene

from pcc.c3dgs.pipeline import compress, evaluate, keep_threshold, scene_cameras
from pcc.c3dgs.presets import VQConfig, get_preset
from pcc.cli import main as cli_main
from pcc.io.gaussian_ply import read_gaussian_ply, write_gaussian_ply


def _scene(n=60, seed=0):
    return random_scene(n, seed)


def test_keep_threshold_from_fraction_or_absolute():
    imp = torch.arange(100, dtype=torch.float32)
    thr = keep_threshold(imp, VQConfig(keep_fraction=0.05))
    assert int((imp > thr).sum()) == 5
    assert keep_threshold(imp, VQConfig(keep_threshold=3.0, keep_fraction=0.5)) == 3.0
    assert keep_threshold(imp, VQConfig(keep_fraction=None)) == math.inf
    assert int((imp > keep_threshold(imp, VQConfig(keep_fraction=1.0))).sum()) == 100


@pytest.mark.parametrize("mode", ["all-kept", "none-kept"])
def test_compresses_when_every_or_no_gaussian_exceeds_the_threshold(tmp_path, mode):
    model = _scene()
    cfg = get_preset("tiny")
    thr = -1.0 if mode == "all-kept" else float("inf")
    cfg = replace(
        cfg,
        color=replace(cfg.color, keep_threshold=thr),
        shape=replace(cfg.shape, keep_threshold=thr),
        finetune=replace(cfg.finetune, iterations=2),
        orbit_views_train=2,
        orbit_views_test=1,
    )
    train, test, _ = scene_cameras(model, tmp_path / "none.ply", None, cfg)
    res = compress(model, train, cfg, progress=False)
    n = len(res.quantized)
    assert n == int(res.keep_mask.sum()) and n > 0
    if mode == "all-kept":
        assert res.colors.keep_mask.all() and res.quantized.color_dc.shape[0] == n
    else:
        assert not res.colors.keep_mask.any() and res.quantized.color_dc.shape[0] <= cfg.color.k
    assert math.isfinite(evaluate(res.to_gaussian_model(), test)["psnr"])


def test_finetune_callbacks_and_quality(tmp_path):
    model = _scene()
    cfg = get_preset("tiny")
    cfg = replace(cfg, finetune=replace(cfg.finetune, iterations=4), orbit_views_test=1)
    train, test, _ = scene_cameras(model, tmp_path / "none.ply", None, cfg)
    losses, frames = [], []
    res = compress(
        model,
        train,
        cfg,
        progress=False,
        loss_callback=lambda it, loss: losses.append(loss),
        render_every=2,
        render_camera=test[0],
        render_callback=lambda it, img: frames.append((it, img.shape)),
    )
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses)
    assert frames == [(2, (36, 48, 3)), (4, (36, 48, 3))]
    assert set(res.timings) >= {"sensitivity", "prune", "color_vq", "shape_vq", "finetune"}
    assert evaluate(res.to_gaussian_model(), test)["psnr"] > 20.0


def test_cli_compress_decompress_eval(tmp_path, capsys):
    ply = tmp_path / "scene.ply"
    write_gaussian_ply(ply, _scene(n=100))
    out = tmp_path / "out"
    code = cli_main(
        [
            "gs",
            "compress",
            str(ply),
            "--out",
            str(out),
            "--preset",
            "tiny",
            "--format",
            "pcc",
            "--no-progress",
            "--json",
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    metrics = json.loads((out / "metrics.json").read_text())
    assert printed == metrics
    comp = out / "point_cloud.pcc3dgs"
    assert metrics["compressed_bytes"] == comp.stat().st_size
    assert metrics["input_bytes"] == ply.stat().st_size
    assert metrics["ratio"] == pytest.approx(metrics["input_bytes"] / metrics["compressed_bytes"])
    assert metrics["format"] == "pcc"
    assert metrics["n_gaussians_before"] == 100
    assert 0 < metrics["n_gaussians_after"] <= 100
    assert metrics["psnr_before"] is None and metrics["ssim_before"] == pytest.approx(1.0)
    assert 15.0 < metrics["psnr_after"] < 100.0 and 0.5 < metrics["ssim_after"] <= 1.0
    for step in ("sensitivity", "color_vq", "shape_vq", "finetune", "encode", "total"):
        assert metrics["timings_s"][step] >= 0.0

    decoded = tmp_path / "decoded.ply"
    assert cli_main(["gs", "decompress", str(comp), "--out", str(decoded)]) == 0
    assert len(read_gaussian_ply(decoded)) == metrics["n_gaussians_after"]

    capsys.readouterr()
    assert (
        cli_main(
            [
                "gs",
                "eval",
                str(comp),
                "--reference",
                str(ply),
                "--views",
                "1",
                "--width",
                "32",
                "--json",
            ]
        )
        == 0
    )
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["n_views"] == 1 and 10.0 < ev["psnr"] < 100.0


def test_cli_reports_a_bad_input_cleanly(tmp_path, capsys):
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"not a ply")
    assert (
        cli_main(
            [
                "gs",
                "compress",
                str(bad),
                "--out",
                str(tmp_path / "o"),
                "--preset",
                "tiny",
                "--no-progress",
            ]
        )
        == 2
    )
    assert "bad.ply" in capsys.readouterr().err
    assert cli_main(["gs", "decompress", str(bad), "--out", str(tmp_path / "x.ply")]) == 2


@pytest.mark.slow
def test_real_splat_without_cameras_compresses_end_to_end(tmp_path, shared_data):
    ply = shared_data / "gaussian_splats" / "kacytran_3dgs_sh3" / "point_cloud_iter7000.ply"
    if not ply.is_file():
        pytest.skip("kacytran splat not in the shared data")
    from pcc.c3dgs.pipeline import run

    for fmt in ("npz", "pcc"):
        m = run(ply, tmp_path / fmt, preset="tiny", fmt=fmt, progress=False)
        assert m["targets"] == "uncompressed-renders"
        assert m["ratio"] > 12.0
        assert m["psnr_after"] > 25.0
        assert m["compressed_bytes"] == (tmp_path / fmt / Path(m["output"]).name).stat().st_size


def test_scene_cameras_use_cameras_json_of_a_model_dir(tmp_path):
    from pcc.io.cameras import orbit_cameras_for_points
    from pcc.io.inria_model import write_model_dir

    model = _scene(n=30)
    cams = orbit_cameras_for_points(model.means.numpy(), 9, 24, 18)
    write_model_dir(tmp_path / "m", model, 100, cameras=cams, cfg={"white_background": True})
    train, test, source = scene_cameras(model, tmp_path / "m", None, get_preset("tiny"))
    assert source == "uncompressed-renders"
    assert len(test) == 2 and len(train) == 7  # every 8th view is a test view
    assert all(c.image is not None and c.image.shape == (18, 24, 3) for c in train + test)
