"""Shared fixtures: the optional `../shared/data` folder and a deterministic torch setup."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PCC_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of `../shared/data`; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


# Tests use small tensors: one intra-op thread avoids thread start-up overhead and oversubscription
# when the machine is shared, and keeps floating-point reductions in one order.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_thread():
    """Every test starts with one torch thread, whatever an earlier test (or a trainer that sets
    its own thread count) left behind."""
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002 - legacy global seed for code that uses it
    yield


TINY_CODEC = {"block_size": 32, "filters": [4, 8, 8], "latent_channels": 8}


@pytest.fixture(scope="session")
def tiny_hyperprior():
    """An untrained, small hyperprior block codec (seed 0, eval mode, coding tables built): enough
    to exercise containers and pipelines bit-exactly in milliseconds."""
    from pcc.codec.model import BlockCodec

    torch.manual_seed(0)
    codec = BlockCodec(TINY_CODEC, entropy_model="hyperprior").eval()
    codec.update(force=True)
    return codec


def wake_refinement(model, std: float = 0.3, seed: int = 5):
    """Give the zero-initialised last layers of the context refinements random weights.

    A fresh context / attention / hybrid model equals its hyperprior (the refinement's last layer
    starts at zero), so its context would not influence anything; tests that check how the
    context is used (causality, serial == parallel, leaks) wake it first. Returns the model.
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, param in sorted(model.named_parameters()):
            if param.numel() and not bool(param.any()):
                param.copy_(torch.randn(param.shape, generator=g) * std)
    return model
