"""The trainer's callback (live curves) and stop_after (an interruption that resume continues)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pcc.codec.checkpoint import read_checkpoint
from pcc.codec.train import load_config, train

TINY_MODEL = {"block_size": 32, "filters": [4, 8, 8], "latent_channels": 8}


def _config(tmp_path, steps=6):
    rng = np.random.default_rng(0)
    blocks = (rng.random((10, 32, 32, 32)) < 0.03).astype(np.uint8)
    np.savez(tmp_path / "blocks.npz", blocks=blocks)
    return load_config(
        None,
        [
            "data.source=npz",
            f"data.path={tmp_path / 'blocks.npz'}",
            "data.val_blocks=2",
            f"model={json.dumps(TINY_MODEL)}",
            f"training.steps={steps}",
            "training.batch_size=2",
            "training.val_every=2",
            "training.checkpoint_every=2",
            "training.lmbda_warmup=4",
            "training.progress=false",
            "training.device=cpu",
        ],
    )


def test_callback_gets_every_step_and_the_validations(tmp_path):
    records = []
    metrics = train(_config(tmp_path), tmp_path / "run", callback=records.append)
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    for r in records:
        assert {"loss", "focal", "bpov", "lr", "lmbda", "elapsed_s"} <= set(r)
        assert np.isfinite(r["loss"]) and r["bpov"] > 0
    validated = [r["step"] for r in records if "val_loss" in r]
    assert validated == [2, 4, 6]
    assert records[-1]["val_loss"] == pytest.approx(metrics["val_loss"])
    assert [r["lmbda"] for r in records[:3]] == pytest.approx([0.0, 0.25, 0.5])  # the ramp
    logged = [
        json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    ]
    assert [r["val_loss"] for r in logged] == [r["val_loss"] for r in records if "val_loss" in r]


def test_stop_after_then_resume_equals_an_uninterrupted_run(tmp_path):
    config = _config(tmp_path)
    full = []
    train(config, tmp_path / "full", callback=full.append)
    part = []
    train(config, tmp_path / "cut", callback=part.append, stop_after=3)
    assert [r["step"] for r in part] == [1, 2, 3]
    assert (tmp_path / "cut" / "last.pt").is_file()
    assert not (tmp_path / "cut" / "model.pt").exists()  # an interrupted run: no final export
    assert read_checkpoint(tmp_path / "cut" / "last.pt")["training"]["step"] == 3
    rest = []
    train(config, tmp_path / "cut", resume=True, callback=rest.append)
    assert [r["step"] for r in rest] == [4, 5, 6]
    assert [r["loss"] for r in part + rest] == [r["loss"] for r in full]
    a = read_checkpoint(tmp_path / "full" / "model.pt")["model"]
    b = read_checkpoint(tmp_path / "cut" / "model.pt")["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="stop_after"):
        train(config, tmp_path / "cut", resume=True, stop_after=2)


def test_no_progress_bar_off_a_terminal(tmp_path, capsys):
    config = _config(tmp_path, steps=2)
    config["training"]["progress"] = True  # asked for, but stderr is captured: no bar
    train(config, tmp_path / "run")
    assert "it/s" not in capsys.readouterr().err
