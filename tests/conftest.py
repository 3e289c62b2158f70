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


# --------------------------------------------------------------------------- notebooks
NOTEBOOKS = REPO / "notebooks"
NOTEBOOK_REFS = REPO / "tests" / "notebook_refs"


def _run_notebook(name: str, timeout: int = 900) -> dict:
    """Execute the lesson ``name`` once at its test parameters and return its ``metrics.json``.

    The executed file is the nbval reference ``tests/notebook_refs/<name>.ipynb`` written by
    ``tools/notebook_refs.py`` (the notebook's cells plus papermill's injected test parameters,
    with the recorded outputs of the ``# NBVAL_CHECK_OUTPUT`` cells): ``pytest --nbval-lax`` runs
    every cell and compares the checked cells' text with the recording, after the
    ``nbval_sanitize.cfg`` rules. A reference whose cells differ from the notebook fails first.
    """
    import json
    import shutil
    import subprocess
    import sys

    import nbformat

    sys.path.insert(0, str(REPO / "tools"))
    try:
        from notebook_refs import cell_signature
    finally:
        sys.path.pop(0)

    src, ref = NOTEBOOKS / f"{name}.ipynb", NOTEBOOK_REFS / f"{name}.ipynb"
    assert src.is_file(), f"no notebook {src}"
    assert ref.is_file(), f"no reference {ref}: run tools/notebook_refs.py {name}"
    nb = nbformat.read(src, as_version=4)
    ref_nb = nbformat.read(ref, as_version=4)
    assert ref_nb.metadata.get("pcc", {}).get("source_signature") == cell_signature(nb), (
        f"{ref.name} is out of date with notebooks/{name}.ipynb: run tools/notebook_refs.py {name}"
    )
    out_dir = REPO / nb.metadata["pcc"]["test_parameters"]["out_dir"]
    shutil.rmtree(out_dir, ignore_errors=True)
    # one thread, as tools/notebook_refs.py records: printed numbers do not depend on the count
    env = dict(
        os.environ, MPLBACKEND="Agg", PCC_PROGRESS="0", PYTHONHASHSEED="0", OMP_NUM_THREADS="1"
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--nbval-lax",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        str(REPO / "nbval_sanitize.cfg"),
        f"--nbval-cell-timeout={timeout}",
        str(ref),
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, (
        f"notebook {name} failed under nbval:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    )
    metrics = out_dir / "metrics.json"
    assert metrics.is_file(), f"notebook {name} wrote no {metrics}"
    return json.loads(metrics.read_text())


@pytest.fixture
def run_notebook():
    """``run_notebook(name) -> dict``: execute a lesson at its test parameters (see above)."""
    return _run_notebook


def random_scene(n: int = 60, seed: int = 0, unseen: int = 0):
    """A random degree-3 ``GaussianModel`` of ``n`` Gaussians in ``[-1, 1]^3`` (seeded); the last
    ``unseen`` are moved far outside every camera, so no view sees them."""
    from pcc.gaussians.model import GaussianModel

    g = torch.Generator().manual_seed(seed)
    sh = 0.2 * torch.randn(n, 16, 3, generator=g)
    sh[:, 0] = 1.2 * torch.randn(n, 3, generator=g)
    means = torch.rand(n, 3, generator=g) * 2.0 - 1.0
    if unseen:
        means[-unseen:] = 40.0
    return GaussianModel(
        means=means,
        log_scales=torch.log(0.04 + 0.08 * torch.rand(n, 3, generator=g)),
        quats=torch.randn(n, 4, generator=g),
        opacity_logits=torch.randn(n, generator=g) + 1.0,
        sh=sh,
    )


def normal_gaussians(n: int, degree: int = 3, seed: int = 0, spread: float = 1.0):
    """A seeded ``GaussianModel`` with every raw parameter drawn from a standard normal (means
    scaled by ``spread``, log-scales shifted by -2): no activation is special-cased, so it suits
    round trips and shape checks, not rendering (see :func:`random_scene` for a renderable one)."""
    from pcc.gaussians.model import GaussianModel

    g = torch.Generator().manual_seed(seed)
    k = (degree + 1) ** 2
    return GaussianModel(
        means=torch.randn(n, 3, generator=g) * spread,
        log_scales=torch.randn(n, 3, generator=g) - 2,
        quats=torch.randn(n, 4, generator=g),
        opacity_logits=torch.randn(n, generator=g),
        sh=torch.randn(n, k, 3, generator=g),
    )


def voxel_sphere_shell(
    radius: float = 20.0, centre: float = 40.0, n: int | None = None, seed: int = 0
) -> np.ndarray:
    """Voxelised sphere surface ``[M, 3]`` int64, unique rows: ``n`` seeded points on the sphere
    rounded to voxels; by default ~20 samples per voxel^2, so the shell has no holes."""
    rng = np.random.default_rng(seed)
    n = int(20 * 4 * np.pi * radius**2) if n is None else n
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return np.unique(np.round(v * radius + centre).astype(np.int64), axis=0)


def sphere_shell_block(centre, radius: float, size: int = 32) -> np.ndarray:
    """Occupancy block ``[S, S, S]`` uint8 of the voxels within 0.87 (half a voxel diagonal) of
    the sphere ``|p - centre| = radius``: a spherical shell cut by the block."""
    grid = np.stack(np.meshgrid(*[np.arange(size)] * 3, indexing="ij"), -1).astype(float)
    return (np.abs(np.linalg.norm(grid - centre, axis=-1) - radius) < 0.87).astype(np.uint8)
