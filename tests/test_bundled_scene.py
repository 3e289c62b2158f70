"""The bundled 3DGS scene (input_models/still_life): present, loadable, and as good as recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pcc.gaussians.train import evaluate_psnr
from pcc.io.datasets import load_dataset
from pcc.io.inria_model import find_model_ply, load_model, read_cameras_json, read_cfg_args

SCENE = Path(__file__).resolve().parents[1] / "input_models" / "still_life"


@pytest.fixture(scope="module")
def record() -> dict:
    path = SCENE / "model" / "bundled_eval.json"
    assert path.is_file(), f"{path} missing: run tools/make_bundled_scene.sh"
    return json.loads(path.read_text())


def test_bundled_model_meets_the_requirements(record):
    ply = find_model_ply(SCENE / "model")
    assert ply.parent.parent.name == "point_cloud" and ply.parent.name.startswith("iteration_")
    model = load_model(SCENE / "model")
    assert model.sh_degree == 3
    assert len(model) >= 20_000
    assert len(model) == record["n_gaussians"]
    assert torch.isfinite(model.means).all() and torch.isfinite(model.sh).all()
    assert record["test_psnr_all_views"] >= 30.0
    cfg = read_cfg_args(SCENE / "model" / "cfg_args")
    assert cfg["sh_degree"] == 3 and cfg["white_background"] is True
    cams = read_cameras_json(SCENE / "model" / "cameras.json")
    assert len(cams) == 60  # 48 training + 12 test views
    # the model plus its dataset stay small enough to commit
    total = sum(p.stat().st_size for p in SCENE.rglob("*") if p.is_file())
    assert total < 12 * 2**20


def test_bundled_model_renders_at_its_recorded_psnr(record):
    model = load_model(SCENE / record["model"])
    test = {
        c.name: c for c in load_dataset(SCENE / record["dataset"], "test", record["background"])
    }
    views = [test[name] for name in record["views"]]
    values = evaluate_psnr(model, views, record["background"])
    for got, want in zip(values, record["psnr"], strict=True):
        assert abs(got - want) < 0.1, (got, want)
