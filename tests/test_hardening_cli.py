"""Commands that read one file and write another refuse an output that is their input (same path,
a symlink or a hard link to it) with one clear error, and overwrite nothing (issue 14)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pcc.cli import main as cli_main


@pytest.fixture
def cloud(tmp_path):
    from pcc.io.pointcloud import PointCloud, write_point_cloud

    path = tmp_path / "cloud.ply"
    write_point_cloud(path, PointCloud(np.random.default_rng(0).uniform(0, 9, (50, 3))))
    return path


def _aliases(path):
    link = path.with_name("link" + path.suffix)
    link.symlink_to(path)
    hard = path.with_name("hard" + path.suffix)
    os.link(path, hard)
    return [path, link, hard]


def _refused(argv, capsys, src, before):
    code = cli_main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "refusing to overwrite the input" in err, err
    assert src.read_bytes() == before


def test_pc_convert_refuses_its_input(cloud, capsys):
    before = cloud.read_bytes()
    for out in _aliases(cloud):
        _refused(["pc", "convert", str(cloud), str(out)], capsys, cloud, before)
    assert cli_main(["pc", "convert", str(cloud), str(cloud.with_name("out.pcd"))]) == 0


def test_gs_convert_refuses_its_input_and_the_ply_of_a_model_folder(tmp_path, capsys):
    import torch

    from pcc.gaussians.model import GaussianModel
    from pcc.io.inria_model import write_model_dir

    g = torch.Generator().manual_seed(0)
    n = 20
    model = GaussianModel(
        means=torch.randn(n, 3, generator=g),
        log_scales=torch.randn(n, 3, generator=g) - 3,
        quats=torch.randn(n, 4, generator=g),
        opacity_logits=torch.randn(n, generator=g),
        sh=torch.randn(n, 1, 3, generator=g),
    )
    write_model_dir(tmp_path / "m", model, 7)
    ply = next((tmp_path / "m").rglob("point_cloud.ply"))
    before = ply.read_bytes()
    for out in _aliases(ply):
        _refused(["gs", "convert", str(ply), str(out)], capsys, ply, before)
    _refused(["gs", "convert", str(tmp_path / "m"), str(ply)], capsys, ply, before)


def test_pc_train_refuses_an_out_that_is_the_config(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("data: {}\n")
    before = config.read_bytes()
    for out in _aliases(config):
        _refused(["pc", "train", str(config), "--out", str(out)], capsys, config, before)


def test_pc_compress_and_decompress_refuse_their_input(cloud, tmp_path, capsys):
    before = cloud.read_bytes()
    for out in _aliases(cloud):
        _refused(["pc", "compress", str(cloud), "--out", str(out)], capsys, cloud, before)
    packed = tmp_path / "cloud.pccf"
    assert cli_main(["pc", "compress", str(cloud), "--out", str(packed)]) == 0
    capsys.readouterr()
    before = packed.read_bytes()
    _refused(["pc", "decompress", str(packed), "--out", str(packed)], capsys, packed, before)


def test_gs_train_refuses_to_write_into_its_dataset_folder(tmp_path, capsys):
    data = tmp_path / "scene"
    data.mkdir()
    (data / "transforms_train.json").write_text("{}")
    assert cli_main(["gs", "train", str(data), "--out", str(data)]) == 2
    assert "refusing to overwrite the input" in capsys.readouterr().err
    assert sorted(p.name for p in data.iterdir()) == ["transforms_train.json"]
