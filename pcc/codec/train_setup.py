"""Where the block codec trains: device choice, torch.distributed from torchrun, autocast (AMP).

Taught in ``notebooks/13_training.ipynb``.
"""

from __future__ import annotations

import os
from contextlib import nullcontext

import torch
import torch.distributed as dist

__all__ = ["distributed_setup", "pick_device", "amp_context"]


def distributed_setup(device: torch.device) -> tuple[int, int]:
    """Initialise torch.distributed from the torchrun environment; returns ``(rank, world)``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", "0"))
            return torch.device("cuda", local)
        return torch.device("cpu")
    return torch.device(name)


def amp_context(enabled: bool, device: torch.device):
    """Autocast where the device supports it: float16 on CUDA, bfloat16 on CPUs that have it."""
    if not enabled:
        return nullcontext()
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    if device.type == "cpu" and _cpu_supports_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext()


def _cpu_supports_bf16() -> bool:
    check = getattr(torch.backends.mkldnn, "is_available", lambda: False)
    try:
        return bool(check()) and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
