"""``pcc pc compress`` / ``pcc pc decompress`` on small files."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from conftest import voxel_sphere_shell

from pcc.cli import main
from pcc.io.pointcloud import PointCloud, read_point_cloud, write_point_cloud


def _rows(a) -> set:
    return {tuple(int(round(v)) for v in r) for r in np.asarray(a)}


def _run_json(capsys, argv) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _voxel_cloud() -> np.ndarray:
    return voxel_sphere_shell(20, 40, n=20000, seed=0)  # [M, 3] int64


def test_integer_cloud_round_trip_is_lossless(tmp_path, capsys):
    coords = _voxel_cloud()
    src = tmp_path / "cloud.ply"
    write_point_cloud(src, PointCloud(coords.astype(np.float64)), dtype="int32")
    out = tmp_path / "cloud.pcc"
    info = _run_json(
        capsys, ["pc", "compress", str(src), "--codec", "octree", "--out", str(out), "--json"]
    )
    assert info["input_points"] == len(coords)
    assert info["bytes"] == out.stat().st_size
    assert info["bpp"] == pytest.approx(8 * out.stat().st_size / len(coords))
    assert 0 < info["encode_seconds"] <= info["total_seconds"]  # codec alone, within the total
    dec = tmp_path / "dec.ply"
    info2 = _run_json(capsys, ["pc", "decompress", str(out), "--out", str(dec), "--json"])
    assert info2["codec"] == "octree" and info2["points"] == len(coords)
    assert _rows(read_point_cloud(dec).points) == _rows(coords)


def test_float_cloud_is_voxelised_and_restored_to_original_frame(tmp_path, capsys):
    rng = np.random.default_rng(1)
    points = rng.uniform(-3.0, 5.0, size=(3000, 3))
    src = tmp_path / "cloud.xyz"
    write_point_cloud(src, PointCloud(points))
    out = tmp_path / "c.pcc"
    info = _run_json(
        capsys, ["pc", "compress", str(src), "--out", str(out), "--bits", "8", "--json"]
    )
    assert info["transform"]["bits"] == 8
    dec = tmp_path / "orig.ply"
    _run_json(
        capsys, ["pc", "decompress", str(out), "--out", str(dec), "--original-frame", "--json"]
    )
    restored = read_point_cloud(dec).points
    scale = info["transform"]["scale"]
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(restored).query(read_point_cloud(src).points)
    # every input point is within half a voxel diagonal of a decoded point
    assert dist.max() <= np.sqrt(3) / 2 / scale + 1e-4


def test_lossy_quant_step_makes_a_smaller_file(tmp_path, capsys):
    coords = _voxel_cloud()
    src = tmp_path / "cloud.ply"
    write_point_cloud(src, PointCloud(coords.astype(np.float64)), dtype="int32")
    sizes = []
    for step in ("1", "2", "4"):
        out = tmp_path / f"q{step}.pcc"
        info = _run_json(
            capsys, ["pc", "compress", str(src), "--out", str(out), "--quant-step", step, "--json"]
        )
        sizes.append(info["bytes"])
    assert sizes[0] > sizes[1] > sizes[2]


def test_mesh_input_is_surface_sampled(tmp_path, capsys):
    mesh = tmp_path / "tet.off"
    mesh.write_text("OFF\n4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 1 3\n3 0 2 3\n3 1 2 3\n")
    out = tmp_path / "tet.pcc"
    info = _run_json(
        capsys, ["pc", "compress", str(mesh), "--out", str(out), "--bits", "6", "--json"]
    )
    assert info["input_points"] > 500  # far more voxels than the 4 vertices
    dec = tmp_path / "tet.ply"
    _run_json(capsys, ["pc", "decompress", str(out), "--out", str(dec), "--json"])
    assert len(read_point_cloud(dec).points) == info["input_points"]


def test_neural_codec_missing_gives_clear_error(tmp_path, capsys, monkeypatch):
    src = tmp_path / "cloud.ply"
    write_point_cloud(src, PointCloud(_voxel_cloud().astype(np.float64)), dtype="int32")
    monkeypatch.setitem(sys.modules, "pcc.codec.pipeline", None)  # import raises ImportError
    code = main(
        [
            "pc",
            "compress",
            str(src),
            "--codec",
            "neural",
            "--model",
            "x",
            "--out",
            str(tmp_path / "n.pcc"),
        ]
    )
    assert code == 2
    assert "neural codec is not available" in capsys.readouterr().err
    assert not (tmp_path / "n.pcc").exists()


def test_corrupt_or_missing_file_exits_with_message(tmp_path, capsys):
    bad = tmp_path / "bad.pcc"
    bad.write_bytes(b"PCCF" + b"\x00" * 30)
    assert main(["pc", "decompress", str(bad), "--out", str(tmp_path / "o.ply")]) == 2
    err = capsys.readouterr().err
    assert "bad.pcc" in err
    assert not (tmp_path / "o.ply").exists()
    assert main(["pc", "compress", str(tmp_path / "none.ply"), "--out", str(tmp_path / "x")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_neural_codec_round_trip_through_the_cli(tmp_path, capsys, tiny_hyperprior):
    """The CLI hands integer voxels to pcc.codec.pipeline and dispatches on the codec id."""
    from pcc.codec.checkpoint import save_checkpoint

    checkpoint = save_checkpoint(tmp_path / "tiny.pt", tiny_hyperprior)
    coords = _voxel_cloud()[:400]
    src = tmp_path / "cloud.ply"
    write_point_cloud(src, PointCloud(coords.astype(np.float64)), dtype="int32")
    out = tmp_path / "n.pcc"
    info = _run_json(
        capsys,
        [
            "pc",
            "compress",
            str(src),
            "--codec",
            "neural",
            "--model",
            str(checkpoint),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert info["codec"] == "neural" and info["bytes"] == out.stat().st_size
    dec = tmp_path / "n.ply"
    argv = ["pc", "decompress", str(out), "--out", str(dec), "--json"]
    info2 = _run_json(capsys, argv + ["--model", str(checkpoint)])
    assert info2["codec"] == "neural"
    assert len(read_point_cloud(dec).points) == info2["points"] > 0


def test_neural_codec_quant_step_and_original_frame(tmp_path, capsys, tiny_hyperprior):
    """``--quant-step`` reaches the neural codec, and its container keeps the voxelisation
    transform so ``--original-frame`` works as for the octree coder."""
    from pcc.codec.checkpoint import save_checkpoint

    checkpoint = str(save_checkpoint(tmp_path / "tiny.pt", tiny_hyperprior))
    rng = np.random.default_rng(1)
    v = rng.normal(size=(5000, 3))
    points = v / np.linalg.norm(v, axis=1, keepdims=True) * 3.0 + 10.0  # float sphere
    src = tmp_path / "sphere.ply"
    write_point_cloud(src, PointCloud(points), dtype="float32")
    sizes = {}
    for step in (1, 2):
        out = tmp_path / f"q{step}.pcc"
        argv = ["pc", "compress", str(src), "--codec", "neural", "--model", checkpoint]
        info = _run_json(
            capsys,
            argv + ["--bits", "7", "--quant-step", str(step), "--out", str(out), "--json"],
        )
        assert info["quant_step"] == step
        sizes[step] = info["bytes"]
        dec = tmp_path / f"q{step}.ply"
        argv = ["pc", "decompress", str(out), "--out", str(dec), "--original-frame", "--json"]
        _run_json(capsys, argv)
        vox = tmp_path / f"q{step}_voxels.ply"
        _run_json(capsys, ["pc", "decompress", str(out), "--out", str(vox), "--json"])
        decoded, voxels = read_point_cloud(dec).points, read_point_cloud(vox).points
        if step == 2:  # decoded voxels are on the coarse lattice, back on the input grid
            origin = voxels.min(axis=0)
            assert np.all((voxels - origin) % 2 == 0)
        # the original frame is the stored voxelisation transform applied to the voxels
        t = info["transform"]
        expected = voxels / t["scale"] + np.asarray(t["offset"])
        np.testing.assert_allclose(decoded, expected, rtol=1e-6, atol=1e-5)
    assert sizes[2] < sizes[1]
    bad = ["pc", "compress", str(src), "--codec", "neural", "--model", checkpoint]
    assert main(bad + ["--quant-step", "0.5", "--out", str(tmp_path / "x.pcc")]) == 2
    assert ">= 1" in capsys.readouterr().err


def test_lidar_codec_round_trip_through_the_cli(tmp_path, capsys):
    from pcc.pointcloud.lidar import synthetic_lidar_sweep

    pts = synthetic_lidar_sweep(0, n_beams=16, n_azimuth=512)
    records = np.concatenate([pts, np.full((len(pts), 1), 0.5)], axis=1).astype("<f4")
    src = tmp_path / "sweep.bin"
    records.tofile(src)
    out = tmp_path / "sweep.pcc"
    info = _run_json(
        capsys,
        ["pc", "compress", str(src), "--codec", "lidar", "--precision", "1cm", "--out", str(out)]
        + ["--bin-fields", "4", "--json"],
    )
    assert info["codec"] == "lidar" and info["bytes"] == out.stat().st_size
    assert info["ring_method"] in ("scan order", "clustered")
    dec = tmp_path / "dec.ply"
    back = _run_json(
        capsys, ["pc", "decompress", str(out), "--out", str(dec), "--original-frame", "--json"]
    )
    assert back["codec"] == "lidar"
    got = read_point_cloud(dec).points
    want = np.round(records[:, :3].astype(np.float64) / 0.01) * 0.01
    assert _rows(np.round(got / 0.01)) == _rows(np.round(want / 0.01))
    # near-lossless: a 2 cm error bound gives a smaller file
    out2 = tmp_path / "sweep2.pcc"
    info2 = _run_json(
        capsys,
        ["pc", "compress", str(src), "--codec", "lidar", "--precision", "0.01", "--out", str(out2)]
        + ["--max-error", "2cm", "--bin-fields", "4", "--json"],
    )
    assert info2["max_error_units"] == 2 and info2["bytes"] < info["bytes"]
    bad = ["pc", "compress", str(src), "--codec", "lidar", "--precision", "fast", "--out", "x"]
    assert main(bad) != 0
    assert "--precision 'fast' is not a length" in capsys.readouterr().err


def test_occupancy_codec_round_trip_through_the_cli(tmp_path, capsys):
    rng = np.random.default_rng(3)
    voxels = np.unique(rng.integers(0, 24, size=(600, 3)), axis=0).astype(np.float64)
    src = tmp_path / "vox.ply"
    write_point_cloud(src, PointCloud(voxels), dtype="int32")
    out = tmp_path / "vox.pcc"
    info = _run_json(
        capsys, ["pc", "compress", str(src), "--codec", "occupancy", "--out", str(out), "--json"]
    )
    assert info["codec"] == "occupancy" and info["bytes"] == out.stat().st_size
    assert info["coded_voxels"] == len(voxels)
    dec = tmp_path / "dec.ply"
    back = _run_json(capsys, ["pc", "decompress", str(out), "--out", str(dec), "--json"])
    assert back["codec"] == "occupancy" and back["points"] == len(voxels)
    assert _rows(read_point_cloud(dec).points) == _rows(voxels)
    lossy = ["pc", "compress", str(src), "--codec", "occupancy", "--quant-step", "2"]
    assert main(lossy + ["--out", str(tmp_path / "x.pcc")]) == 2
    assert "lossless" in capsys.readouterr().err
