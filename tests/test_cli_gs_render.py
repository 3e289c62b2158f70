"""``pcc gs render`` end to end on the procedural demo scene, and ``python -m pcc.demo``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from pcc.cli import main
from pcc.demo import build_demo_scene, demo_cameras, run_demo
from pcc.io.gaussian_ply import read_gaussian_ply, write_gaussian_ply
from pcc.io.inria_model import find_model_ply, load_model, read_cfg_args, write_model_dir
from pcc.io.nerf import write_nerf_synthetic

render_module = pytest.importorskip("pcc.gaussians.render")


def run_json(capsys, *argv) -> dict:
    assert main(["gs", "render", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def scene():
    return build_demo_scene()


def test_demo_scene_is_a_valid_model(scene):
    assert len(scene) == 704 and scene.sh_degree == 1
    assert torch.isfinite(scene.means).all()
    # Anisotropic: every Gaussian has a longest axis at least twice its shortest.
    s = scene.scales
    assert (s.max(dim=1).values >= 2 * s.min(dim=1).values).all()
    again = build_demo_scene()
    assert all(
        torch.equal(a, b) for a, b in zip(scene.tensors().values(), again.tensors().values())
    )


def test_render_orbit_views_of_a_ply(tmp_path, capsys, scene):
    ply = tmp_path / "scene.ply"
    write_gaussian_ply(ply, scene)
    out = tmp_path / "renders"
    report = run_json(capsys, ply, "--orbit", 2, "--size", "48x32", "--out", out)
    assert report["n_gaussians"] == 704 and report["sh_degree"] == 1
    assert report["n_images"] == 2 and report["cameras"] == "orbit"
    assert "psnr" not in report and report["seconds_per_frame"] > 0
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 2
    img = np.asarray(Image.open(pngs[0]))
    assert img.shape == (32, 48, 3)
    assert (img.max(axis=2) > 50).mean() > 0.1  # the scene is in view, not a black frame


def test_render_against_a_dataset_reports_psnr_ssim(tmp_path, capsys, scene):
    from pcc.gaussians.render import render

    cams = demo_cameras(4, 40, 30)[1:2]
    with torch.no_grad():
        images = [render(scene, c, background=(0, 0, 0)).image.clamp(0, 1) for c in cams]
    data = tmp_path / "data"
    write_nerf_synthetic(data, "test", cams, images)
    model_dir = tmp_path / "model"
    write_model_dir(model_dir, scene, 7)
    base = ["--data", data, "--background", "0,0,0"]
    report = run_json(capsys, model_dir, *base, "--out", tmp_path / "r1")
    assert report["cameras"] == "dataset" and report["n_images"] == 1
    assert report["psnr"] > 45.0  # identical up to 8-bit PNG quantisation
    assert report["ssim"] > 0.99
    degraded = run_json(capsys, model_dir, *base, "--sh-degree", 0, "--out", tmp_path / "r2")
    assert degraded["sh_degree"] == 0
    assert degraded["psnr"] < report["psnr"] - 3.0
    white = run_json(
        capsys, model_dir, "--data", data, "--background", "1,1,1", "--out", tmp_path / "r3"
    )
    assert white["psnr"] < 20.0  # the black ground truth background is now wrong


def test_render_model_dir_uses_its_cameras_json(tmp_path, capsys, scene):
    cams = demo_cameras(3, 36, 24)
    write_model_dir(tmp_path / "m", scene.with_sh_degree(0), 30)  # an older iteration
    write_model_dir(tmp_path / "m", scene, 100, cameras=cams, cfg={"white_background": True})
    assert find_model_ply(tmp_path / "m").parent.name == "iteration_100"
    assert load_model(tmp_path / "m").sh_degree == 1
    assert read_cfg_args(tmp_path / "m" / "cfg_args")["white_background"] is True
    report = run_json(capsys, tmp_path / "m", "--out", tmp_path / "r")
    assert report["cameras"] == "cameras.json" and report["n_images"] == 3
    img = np.asarray(Image.open(sorted((tmp_path / "r").glob("*.png"))[0]))
    assert img.shape == (24, 36, 3)
    assert (img[0, 0] == 255).all()  # cfg_args white_background -> white corners


def test_render_errors(tmp_path, capsys, scene):
    assert main(["gs", "render", str(tmp_path / "nope.ply"), "--out", str(tmp_path)]) == 2
    assert "nope.ply" in capsys.readouterr().err
    ply = tmp_path / "s.ply"
    write_gaussian_ply(ply, scene)
    assert main(["gs", "render", str(ply), "--sh-degree", "3", "--out", str(tmp_path)]) == 2
    assert "--sh-degree 3 not in 0..1" in capsys.readouterr().err
    for bad in (
        ["--size", "12by4"],
        ["--up", "0,0,0"],
        ["--background", "2,0,0"],
        ["--orbit", "0"],
    ):
        with pytest.raises(SystemExit):
            main(["gs", "render", str(ply), *bad, "--out", str(tmp_path)])


def test_render_refuses_to_write_over_its_input_or_into_the_dataset(tmp_path, capsys, scene):
    ply = tmp_path / "s.ply"
    write_gaussian_ply(ply, scene)
    before = ply.read_bytes()
    assert main(["gs", "render", str(ply), "--out", str(ply)]) == 2
    assert "refusing to overwrite the input" in capsys.readouterr().err
    assert ply.read_bytes() == before
    data = tmp_path / "data"
    data.mkdir()
    out = data / "renders"
    assert main(["gs", "render", str(ply), "--data", str(data), "--out", str(out)]) == 2
    assert "inside --data" in capsys.readouterr().err and not out.exists()


@pytest.mark.slow
def test_render_real_inria_scene(shared_data, tmp_path, capsys):
    ply = shared_data / "gaussian_splats/kacytran_3dgs_sh3/point_cloud_iter7000.ply"
    out = tmp_path / "r"
    report = run_json(capsys, ply, "--orbit", 1, "--size", "64x48", "--out", out)
    assert report["n_gaussians"] == 9080 and report["sh_degree"] == 3
    img = np.asarray(Image.open(next(out.glob("*.png"))))
    assert img.shape == (48, 64, 3) and img.max() > 100  # the splats are in view


def test_demo_writes_model_and_renders(tmp_path, scene):
    summary = run_demo(tmp_path / "demo", n_views=2, width=40, height=30)
    assert summary["n_gaussians"] == 704 and len(summary["renders"]) == 2
    back = read_gaussian_ply(summary["ply"])
    assert all(torch.equal(a, b) for a, b in zip(scene.tensors().values(), back.tensors().values()))
    for path in summary["renders"]:
        assert np.asarray(Image.open(path)).shape == (30, 40, 3)
    assert (tmp_path / "demo" / "model" / "cameras.json").is_file()
