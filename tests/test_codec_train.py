"""Training of the block codec: config, data, loss going down, checkpoints that resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import sphere_shell_block

from pcc.codec.checkpoint import load_codec, read_checkpoint
from pcc.codec.train import batch_indices, load_config, procedural_blocks, train
from pcc.errors import FormatError

TINY_MODEL = {
    "block_size": 32,
    "filters": [4, 8, 8],
    "latent_channels": 8,
    "entropy_model": "hyperprior",
}


def _blocks_npz(path, n=24, seed=0):
    """Spherical shells cut by a 32^3 block: a small, learnable data set."""
    rng = np.random.default_rng(seed)
    blocks = np.zeros((n, 32, 32, 32), np.uint8)
    for i in range(n):
        centre, radius = rng.uniform(0, 32, 3), rng.uniform(8, 30)
        blocks[i] = sphere_shell_block(centre, radius, 32)
    np.savez(path, blocks=blocks)
    return path


def _config(tmp_path, **training):
    config = load_config(
        None,
        [
            "data.source=npz",
            f"data.path={_blocks_npz(tmp_path / 'blocks.npz')}",
            "data.val_blocks=4",
            f"model={json.dumps(TINY_MODEL)}",
            "training.progress=false",
            "training.batch_size=2",
            "training.lr=0.002",
        ],
    )
    config["training"].update(training)
    return config


def test_config_defaults_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  lmbda: 4.0\nmodel:\n  entropy_model: context\n")
    config = load_config(path, ["training.steps=7", "data.shape_bits=[6]"])
    assert config["training"]["lmbda"] == 4.0
    assert config["training"]["steps"] == 7
    assert config["data"]["shape_bits"] == [6]
    assert config["model"]["entropy_model"] == "context"
    assert config["model"]["block_size"] == 32  # default filled in
    path.write_text("training:\n  lamda: 4.0\n")
    with pytest.raises(FormatError, match="unknown config key 'training.lamda'"):
        load_config(path)
    path.write_text("- just a list\n")
    with pytest.raises(FormatError, match="mapping"):
        load_config(path)
    with pytest.raises(ValueError, match="KEY=VALUE"):
        load_config(None, ["training.steps"])


def test_shipped_configs_load():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "configs" / "codec"
    files = sorted(folder.glob("*.yaml"))
    assert files
    for path in files:
        assert load_config(path)["model"]["block_size"] % 8 == 0


def test_batch_indices_cover_each_epoch_once_and_split_ranks():
    n, batch = 10, 2
    seen = np.concatenate([batch_indices(n, s, batch, 0, 1, seed=3) for s in range(5)])
    assert sorted(seen.tolist()) == list(range(n))  # one epoch = every block once
    assert np.array_equal(batch_indices(n, 4, batch, 0, 1, 3), batch_indices(n, 4, batch, 0, 1, 3))
    r0, r1 = batch_indices(n, 1, batch, 0, 2, 3), batch_indices(n, 1, batch, 1, 2, 3)
    assert not set(r0.tolist()) & set(r1.tolist())  # the two ranks see different blocks


def test_procedural_blocks_are_deterministic_and_dense_enough():
    a = procedural_blocks(6, 32, seed=5, shape_bits=(6,), min_points=40)
    b = procedural_blocks(6, 32, seed=5, shape_bits=(6,), min_points=40)
    assert a.shape == (6, 32, 32, 32) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert (a.reshape(6, -1).sum(1) >= 40).all()
    c = procedural_blocks(6, 32, seed=6, shape_bits=(6,), min_points=40)
    assert not np.array_equal(a, c)


def test_training_lowers_the_validation_loss(tmp_path):
    torch.manual_seed(0)
    config = _config(tmp_path, steps=25, val_every=1000, checkpoint_every=25)
    out = tmp_path / "run"
    # validation loss of the untrained model (0 steps) vs after 25 steps
    before = train({**config, "training": {**config["training"], "steps": 0}}, tmp_path / "r0")
    after = train(config, out)
    assert "val_loss" in after
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 25
    assert after["val_loss"] < 0.8 * before["val_loss"]


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    config = _config(tmp_path, steps=4, val_every=2, checkpoint_every=2)
    _, straight = train(config, tmp_path / "a", return_model=True)
    half = {**config, "training": {**config["training"], "steps": 2}}
    train(half, tmp_path / "b")
    assert read_checkpoint(tmp_path / "b" / "last.pt")["training"]["step"] == 2
    _, resumed = train(config, tmp_path / "b", resume=True, return_model=True)
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), name
    model, meta = load_codec(tmp_path / "b" / "model.pt")  # weights_only load of the export
    assert meta["steps"] == 4 and meta["lambda"] == config["training"]["lmbda"]
    assert "training" not in read_checkpoint(tmp_path / "b" / "model.pt")  # small export


def test_warm_start_copies_matching_weights(tmp_path):
    config = _config(tmp_path, steps=2, val_every=2, checkpoint_every=2)
    _, base = train(config, tmp_path / "base", return_model=True)
    other = json.loads(json.dumps(config))
    other["model"]["entropy_model"] = "gaussian"
    other["training"].update(steps=0, init_from=str(tmp_path / "base" / "model.pt"))
    _, warm = train(other, tmp_path / "warm", return_model=True)
    for name, p in warm.g_s.state_dict().items():
        assert torch.equal(p, base.g_s.state_dict()[name])


def test_lambda_warmup_ramps_linearly():
    from pcc.codec.train import _lmbda_at

    t = {"lmbda": 0.4, "lmbda_warmup": 100}
    assert [_lmbda_at(t, s) for s in (0, 50, 100, 500)] == [0.0, 0.2, 0.4, 0.4]
    assert _lmbda_at({"lmbda": 0.4, "lmbda_warmup": 0}, 0) == 0.4


def test_mixed_precision_option_trains(tmp_path):
    """``amp: true`` autocasts where the device supports it (bfloat16 on CPUs with it, float16 on
    CUDA, else off); the loss is computed in float32. It must train: the validation loss falls as
    far as in float32 (within 10 %), and with autocast on the weights differ from float32's."""
    from pcc.codec.train_setup import _cpu_supports_bf16

    config = _config(tmp_path, steps=12, val_every=1000, checkpoint_every=12)
    before = train({**config, "training": {**config["training"], "steps": 0}}, tmp_path / "r0")
    fp32, fp32_model = train(config, tmp_path / "fp32", return_model=True)
    amp_config = {**config, "training": {**config["training"], "amp": True}}
    amp, amp_model = train(amp_config, tmp_path / "amp", return_model=True)
    assert fp32["val_loss"] < 0.9 * before["val_loss"]  # 12 steps are enough to learn
    assert amp["val_loss"] < 0.9 * before["val_loss"]
    assert abs(amp["val_loss"] - fp32["val_loss"]) < 0.1 * fp32["val_loss"]
    weights = zip(fp32_model.state_dict().values(), amp_model.state_dict().values())
    same = all(torch.equal(p, q) for p, q in weights)
    assert same != _cpu_supports_bf16()  # autocast changed the arithmetic iff it ran


def test_learning_rate_schedule_is_a_function_of_the_step():
    from pcc.codec.train import lr_at

    t = {"lr": 1e-3, "lr_final": 1e-4, "lr_decay_steps": 100, "steps": 300}
    assert lr_at(t, 0) == lr_at(t, 199) == lr_at(t, 200) == 1e-3  # constant until the decay
    assert lr_at(t, 250) == pytest.approx(0.5 * (1e-3 + 1e-4))  # cosine midpoint
    assert lr_at(t, 300) == pytest.approx(1e-4) and lr_at(t, 400) == pytest.approx(1e-4)
    values = [lr_at(t, s) for s in range(200, 301)]
    assert all(a >= b for a, b in zip(values, values[1:]))  # monotone decay
    assert lr_at({"lr": 1e-3, "lr_final": None, "lr_decay_steps": 100, "steps": 300}, 299) == 1e-3


def test_resume_follows_the_learning_rate_schedule(tmp_path, monkeypatch):
    """A run with a decaying lr that crashes after its step-2 checkpoint and is resumed ends with
    the same weights as an uninterrupted run (the lr is recomputed from the step)."""
    import pcc.codec.train_loop as train_module  # the loop looks _lmbda_at up here

    config = _config(tmp_path, steps=4, val_every=2, checkpoint_every=2, lr_final=1e-4)
    config["training"]["lr_decay_steps"] = 3
    _, straight = train(config, tmp_path / "a", return_model=True)

    real_lmbda = train_module._lmbda_at  # called once per training step, with the step index

    def crash_on_third_step(t, step):
        if step == 2:
            raise KeyboardInterrupt
        return real_lmbda(t, step)

    monkeypatch.setattr(train_module, "_lmbda_at", crash_on_third_step)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "b")
    monkeypatch.setattr(train_module, "_lmbda_at", real_lmbda)
    assert read_checkpoint(tmp_path / "b" / "last.pt")["training"]["step"] == 2
    _, resumed = train(config, tmp_path / "b", resume=True, return_model=True)
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), name
    constant = json.loads(json.dumps(config))
    constant["training"]["lr_final"] = None  # the schedule is applied: weights differ without it
    _, flat = train(constant, tmp_path / "c", return_model=True)
    assert not torch.equal(
        flat.g_s.state_dict()["to_logits.weight"], straight.g_s.state_dict()["to_logits.weight"]
    )


def test_freeze_keeps_the_transforms_fixed(tmp_path):
    """``training.freeze: [g_a, g_s]`` trains only the entropy model: the transforms of the warm
    start come out unchanged, the entropy model does not."""
    config = _config(tmp_path, steps=2, val_every=2, checkpoint_every=2)
    _, base = train(config, tmp_path / "base", return_model=True)
    other = json.loads(json.dumps(config))
    other["training"].update(
        steps=3, init_from=str(tmp_path / "base" / "model.pt"), freeze=["g_a", "g_s"]
    )
    _, tuned = train(other, tmp_path / "tuned", return_model=True)
    for module in ("g_a", "g_s"):
        for name, p in getattr(tuned, module).state_dict().items():
            assert torch.equal(p, getattr(base, module).state_dict()[name]), f"{module}.{name}"
    changed = [
        n
        for n, p in tuned.entropy.state_dict().items()
        if not torch.equal(p, base.entropy.state_dict()[n])
    ]
    assert changed
    other["training"]["freeze"] = ["g_x"]
    with pytest.raises(ValueError, match="g_x"):
        train(other, tmp_path / "bad")
