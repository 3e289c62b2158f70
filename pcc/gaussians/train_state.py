"""The 3DGS trainer's optimisation state: parameters by name, learning rates, checkpoints.

The trainer keeps the Gaussians as six per-row tensors in a
:class:`~pcc.gaussians.optim.GaussianAdam` under the names :data:`PARAM_NAMES` (SH DC and the
higher bands apart, because INRIA gives them different learning rates). A checkpoint is one
``torch.save`` dict of tensors and literals (``format``, ``version``, ``iteration``, the optimiser,
densification statistics, random generator, view stack, configuration, history, elapsed wall and
CPU seconds), written atomically and read with ``weights_only=True``; a resumed run continues
bit-exactly (fixed-step runs).

Taught in ``notebooks/00_a_3dgs_scene.ipynb`` (through :mod:`pcc.gaussians.train`).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from pcc.errors import FormatError
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.train_config import TrainConfig
from pcc.io.atomic import atomic_path

__all__ = [
    "PARAM_NAMES",
    "CHECKPOINT_FORMAT",
    "model_params",
    "assemble",
    "learning_rates",
    "save_checkpoint",
    "load_checkpoint",
]

PARAM_NAMES = ("means", "log_scales", "quats", "opacity_logits", "sh_dc", "sh_rest")
CHECKPOINT_FORMAT = "pcc-3dgs-train-checkpoint"


def model_params(model: GaussianModel) -> dict[str, torch.Tensor]:
    """The trainer's parameter dict of ``model`` (views, no copies)."""
    return {
        "means": model.means,  # [N, 3]
        "log_scales": model.log_scales,  # [N, 3]
        "quats": model.quats,  # [N, 4]
        "opacity_logits": model.opacity_logits,  # [N]
        "sh_dc": model.sh[:, :1],  # [N, 1, 3]
        "sh_rest": model.sh[:, 1:],  # [N, K-1, 3]
    }


def assemble(params: dict[str, torch.Tensor]) -> GaussianModel:
    """The :class:`GaussianModel` of a parameter dict (differentiable in its tensors)."""
    return GaussianModel(
        params["means"],
        params["log_scales"],
        params["quats"],
        params["opacity_logits"],
        torch.cat([params["sh_dc"], params["sh_rest"]], dim=1),
    )


def learning_rates(config: TrainConfig, extent: float) -> dict[str, float]:
    """Initial learning rate per parameter (the means' decays during the run)."""
    return {
        "means": config.position_lr_init * extent,
        "log_scales": config.scaling_lr,
        "quats": config.rotation_lr,
        "opacity_logits": config.opacity_lr,
        "sh_dc": config.feature_lr,
        "sh_rest": config.feature_lr / config.rest_lr_divisor,
    }


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Write a checkpoint dict atomically (the old file or the new one, never half of it)."""
    with atomic_path(Path(path)) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a training checkpoint written by the trainer (tensors and literals only)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FormatError(path, "checkpoint not found") from None
    except Exception as err:  # noqa: BLE001 - torch raises many kinds for corrupt files
        raise FormatError(path, f"not a readable checkpoint: {err}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise FormatError(path, f"not a {CHECKPOINT_FORMAT} file")
    return state
