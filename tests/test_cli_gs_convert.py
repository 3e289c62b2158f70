"""``pcc gs convert`` between the viewer formats, ``pcc gs decompress`` to any of them, and
``pcc gs render`` / ``load_any_model`` reading them."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch

from pcc.c3dgs.compressed_model import IndexedGaussians, finalize
from pcc.c3dgs.pipeline import load_any_model
from pcc.c3dgs.storage_pcc import save_pcc
from pcc.cli import main
from pcc.demo import build_demo_scene
from pcc.io.gaussian_ply import write_gaussian_ply
from pcc.io.splat_formats import detect_format, load_splat_any


def _run_json(capsys, *argv) -> dict:
    assert main([*map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def scene():
    return build_demo_scene()  # 704 Gaussians, SH degree 1


@pytest.mark.parametrize(
    "name, fmt, degree",
    [
        ("s.spz", "spz", 1),
        ("s.splat", "splat", 0),
        ("s.compressed.ply", "compressed-ply", 1),
        ("s.ply", "ply", 1),
    ],
)
def test_convert_from_an_inria_ply_to_each_format_and_back(
    tmp_path, capsys, scene, name, fmt, degree
):
    src = tmp_path / "in.ply"
    write_gaussian_ply(src, scene)
    report = _run_json(capsys, "gs", "convert", src, tmp_path / name)
    assert report["format"] == fmt and report["n_gaussians"] == len(scene)
    assert report["output_bytes"] == (tmp_path / name).stat().st_size
    assert report["ratio"] == pytest.approx(src.stat().st_size / report["output_bytes"])
    assert detect_format(tmp_path / name) == fmt
    back_ply = tmp_path / "back.ply"
    assert _run_json(capsys, "gs", "convert", tmp_path / name, back_ply)["format"] == "ply"
    back = load_splat_any(back_ply)
    assert len(back) == len(scene) and back.sh_degree == degree
    if fmt != "compressed-ply":  # (which reorders along a Morton curve)
        assert (back.means - scene.means).abs().max() < 1e-3


@pytest.mark.skipif(importlib.util.find_spec("zstandard") is None, reason="needs zstandard")
def test_convert_options_and_errors(tmp_path, capsys, scene):
    src = tmp_path / "in.ply"
    write_gaussian_ply(src, scene)
    out = tmp_path / "v4.spz"
    report = _run_json(capsys, "gs", "convert", src, out, "--spz-version", "4", "--sh-degree", "0")
    assert report["sh_degree"] == 0 and out.read_bytes()[:4] == b"NGSP"
    assert load_splat_any(out).sh_degree == 0
    named = tmp_path / "scene.bin"
    assert main(["gs", "convert", str(src), str(named), "--format", "splat"]) == 0
    assert named.stat().st_size == 32 * len(scene)
    capsys.readouterr()
    assert main(["gs", "convert", str(src), str(tmp_path / "x.txt")]) == 2
    assert "suffix" in capsys.readouterr().err
    (tmp_path / "bad.spz").write_bytes(b"NGSP" + bytes(10))
    assert main(["gs", "convert", str(tmp_path / "bad.spz"), str(tmp_path / "y.ply")]) == 2
    assert "bad.spz" in capsys.readouterr().err


def _pcc3dgs(path, n=200, deg=1):
    g = torch.Generator().manual_seed(0)
    k = (deg + 1) ** 2
    indexed = IndexedGaussians(
        means=torch.randn(n, 3, generator=g),
        opacity_logits=torch.randn(n, generator=g),
        log_magnitude=torch.randn(n, generator=g) - 3,
        color_table=0.3 * torch.randn(20, k, 3, generator=g),
        color_indices=torch.randint(0, 20, (n,), generator=g),
        scale_table=torch.rand(15, 3, generator=g),
        rotation_table=torch.randn(15, 4, generator=g),
        shape_indices=torch.randint(0, 15, (n,), generator=g),
    )
    save_pcc(finalize(indexed), path)


@pytest.mark.parametrize("name", ["d.spz", "d.splat", "d.compressed.ply", "d.ply"])
def test_decompress_writes_each_format_by_suffix(tmp_path, capsys, name):
    comp = tmp_path / "c.pcc3dgs"
    _pcc3dgs(comp)
    report = _run_json(capsys, "gs", "decompress", comp, "--out", tmp_path / name)
    assert report["n_gaussians"] == 200
    assert report["format"] == detect_format(tmp_path / name)
    dense = load_any_model(comp)
    back = load_any_model(tmp_path / name)
    assert len(back) == len(dense)
    # a c3dgs file converts too (c3dgs -> SPZ etc.), through the same loader
    assert _run_json(capsys, "gs", "convert", comp, tmp_path / ("c_" + name))["n_gaussians"] == 200


def test_render_reads_an_spz(tmp_path, capsys, scene):
    from pcc.io.spz import write_spz

    write_spz(tmp_path / "scene.spz", scene)
    report = _run_json(
        capsys,
        "gs",
        "render",
        tmp_path / "scene.spz",
        "--orbit",
        1,
        "--size",
        "32x24",
        "--out",
        tmp_path / "r",
    )
    assert report["n_gaussians"] == len(scene) and report["sh_degree"] == 1
    assert len(list((tmp_path / "r").glob("*.png"))) == 1


def test_compress_accepts_a_viewer_format(tmp_path, capsys, scene):
    from pcc.io.splat import write_splat

    src = tmp_path / "scene.splat"
    write_splat(src, scene.mask(torch.arange(0, len(scene), 6)))
    out = tmp_path / "out"
    argv = ["gs", "compress", str(src), "--out", str(out), "--preset", "tiny", "--no-progress"]
    assert main([*argv, "--format", "pcc", "--json"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["input_bytes"] == src.stat().st_size
    assert metrics["n_gaussians_before"] == len(range(0, len(scene), 6))
