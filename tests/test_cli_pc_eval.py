"""The point-cloud CLI commands: eval, convert, voxelize, blocks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pcc.cli import main
from pcc.io.pointcloud import PointCloud, read_point_cloud, write_point_cloud


def _voxel_cloud(tmp_path, name="a.ply", shift=(0, 0, 0)):
    rng = np.random.default_rng(0)
    coords = np.unique(rng.integers(0, 1024, (2000, 3)), axis=0) + np.asarray(shift)
    path = tmp_path / name
    write_point_cloud(path, PointCloud(coords.astype(np.float64)), dtype="int32")
    return path


def test_eval_json(tmp_path, capsys):
    a = _voxel_cloud(tmp_path)
    b = _voxel_cloud(tmp_path, "b.ply", shift=(1, 0, 0))
    bitstream = tmp_path / "b.bin.pcc"
    bitstream.write_bytes(b"\0" * 500)
    rc = main(
        ["pc", "eval", str(a), str(b), "--peak", "1023", "--json", "--compressed", str(bitstream)]
    )
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("d1_psnr", "d2_psnr", "chamfer", "hausdorff", "d1_mse", "normals_source"):
        assert key in res
    assert res["d1_psnr"] == pytest.approx(10 * math.log10(3 * 1023**2))
    assert res["bpp"] == pytest.approx(8 * 500 / res["n_a"])


def test_eval_identical_and_text(tmp_path, capsys):
    a = _voxel_cloud(tmp_path)
    assert main(["pc", "eval", str(a), str(a), "--peak", "1023", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["d1_psnr"] is None and res["d2_psnr"] is None  # inf is null in strict JSON
    assert main(["pc", "eval", str(a), str(a), "--peak", "1023"]) == 0
    assert "D1 PSNR inf dB" in capsys.readouterr().out


def test_eval_bad_input(tmp_path, capsys):
    a = _voxel_cloud(tmp_path)
    (tmp_path / "bad.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 5\n")
    assert main(["pc", "eval", str(a), str(tmp_path / "bad.ply"), "--peak", "1023"]) == 2
    assert "bad.ply" in capsys.readouterr().err


def test_convert_voxelize_blocks(tmp_path, capsys):
    src = tmp_path / "c.xyz"
    rng = np.random.default_rng(1)
    write_point_cloud(src, PointCloud(rng.uniform(-3, 3, (5000, 3))))
    assert main(["pc", "convert", str(src), str(tmp_path / "c.pcd"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["points"] == 5000
    assert len(read_point_cloud(tmp_path / "c.pcd")) == 5000
    vox = tmp_path / "v.ply"
    assert main(["pc", "voxelize", str(tmp_path / "c.pcd"), str(vox), "--bits", "7", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    coords = read_point_cloud(vox).points
    assert info["voxels"] == len(coords) and coords.max() == 127 and coords.min() == 0
    out = tmp_path / "blocks"
    assert (
        main(["pc", "blocks", str(vox), "--block-bits", "5", "--top", "4", "--out", str(out)]) == 0
    )
    index = json.loads((out / "blocks.json").read_text())
    assert index["blocks"] == 4 and len(list(out.glob("block_*.ply"))) == 4
    counts = [e["points"] for e in index["index"]]
    assert counts == sorted(counts, reverse=True)
    first = read_point_cloud(out / index["index"][0]["file"]).points
    assert len(first) == counts[0] and first.max() < 32
    # a non-voxelised cloud is refused with a clear message
    assert main(["pc", "blocks", str(src), "--out", str(tmp_path / "x")]) == 2
    assert "voxelize" in capsys.readouterr().err


def test_voxelize_mesh(shared_data, tmp_path, capsys):
    mesh = shared_data / "point_clouds/modelnet_off/chair/chair_0002.off"
    out = tmp_path / "chair.ply"
    args = ["pc", "voxelize", str(mesh), str(out), "--bits", "6", "--points", "20000", "--json"]
    assert main(args) == 0
    info = json.loads(capsys.readouterr().out)
    coords = read_point_cloud(out).points
    assert info["samples"] == 20000 and len(coords) == info["voxels"] > 300
    assert coords.max() == 63


def test_voxelize_mesh_without_faces_uses_vertices(tmp_path, capsys):
    path = tmp_path / "pts.off"
    path.write_text("OFF\n3 0 0\n0 0 0\n1 0 0\n0 2 0\n")
    out = tmp_path / "v.ply"
    assert main(["pc", "voxelize", str(path), str(out), "--bits", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["voxels"] == 3
    np.testing.assert_array_equal(read_point_cloud(out).points, [[0, 0, 0], [0, 15, 0], [8, 0, 0]])
