"""Distributed data-parallel training on 2 CPU processes (gloo): the replicas stay identical."""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from pcc.codec.train import load_config, train

TINY_MODEL = {"block_size": 32, "filters": [4, 8, 8], "latent_channels": 8}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, config: dict, out_dir: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    _, model = train(config, out_dir, return_model=True)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save(state, os.path.join(out_dir, f"replica{rank}.pt"))
    torch.distributed.destroy_process_group()


@pytest.mark.slow
@pytest.mark.parametrize("entropy_model", ["hyperprior"])
def test_two_cpu_processes_keep_identical_replicas(tmp_path, entropy_model):
    rng = np.random.default_rng(0)
    blocks = (rng.random((12, 32, 32, 32)) < 0.03).astype(np.uint8)
    np.savez(tmp_path / "blocks.npz", blocks=blocks)
    model = dict(TINY_MODEL, entropy_model=entropy_model)
    config = load_config(
        None,
        [
            "data.source=npz",
            f"data.path={tmp_path / 'blocks.npz'}",
            "data.val_blocks=2",
            f"model={json.dumps(model)}",
            "training.steps=3",
            "training.batch_size=2",
            "training.val_every=3",
            "training.checkpoint_every=3",
            "training.lr=0.01",
            "training.progress=false",
            "training.device=cpu",
        ],
    )
    torch.manual_seed(config["training"]["seed"])
    from pcc.codec.model import BlockCodec

    initial = BlockCodec(config["model"]).state_dict()
    out = tmp_path / "run"
    out.mkdir()
    mp.spawn(_worker, args=(2, _free_port(), config, str(out)), nprocs=2, join=True)
    r0 = torch.load(out / "replica0.pt", weights_only=True)
    r1 = torch.load(out / "replica1.pt", weights_only=True)
    assert r0.keys() == r1.keys() == initial.keys()
    for name in r0:
        assert torch.equal(r0[name], r1[name]), f"replicas differ in {name}"
    changed = [n for n in r0 if not torch.equal(r0[n], initial[n])]
    assert any(n.startswith("g_a.") for n in changed) and any(n.startswith("g_s.") for n in changed)
    # rank 0 wrote the checkpoints; the global batch was 2 processes x 2 blocks
    meta = torch.load(out / "model.pt", weights_only=True)["meta"]
    assert meta["batch_size"] == 4 and meta["steps"] == 3
