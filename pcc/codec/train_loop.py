"""The block codec's training loop: focal + lambda * rate loss, validation, resumable checkpoints,
optional mixed precision, one process or several with torch DDP.

Loss (GEOv2 with lambda on the rate, see :mod:`pcc.codec.loss`): ``FL/N_occ + lambda*bits/N_occ``;
the entropy model's auxiliary (quantile) loss is added and its parameters have their own Adam
(GEOv2: main lr 1e-4, aux lr 1e-3). The learning rate and lambda are functions of the step alone
(:func:`lr_at`, :func:`_lmbda_at`) and so is the quantisation noise, so a resumed run continues
exactly where an uninterrupted one would be.

Taught in ``notebooks/13_training.ipynb``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import yaml
from tqdm.auto import tqdm

from pcc.codec.checkpoint import load_state_into, read_checkpoint, save_checkpoint
from pcc.codec.loss import rate_distortion_loss
from pcc.codec.model import BlockCodec
from pcc.codec.threshold import topk_occupancy
from pcc.codec.train_data import batch_indices, load_blocks
from pcc.codec.train_setup import amp_context, distributed_setup, pick_device
from pcc.errors import FormatError
from pcc.io.atomic import write_text_atomic

__all__ = ["train", "validate", "split_parameters", "lr_at"]


def split_parameters(
    model: BlockCodec, freeze: list[str] | tuple[str, ...] = ()
) -> tuple[list, list]:
    """(main, auxiliary) parameters: auxiliary = the factorized prior's quantiles (trained only
    by the aux loss, with their own optimiser, as in CompressAI / tfc). Parameters whose name
    starts with a ``freeze`` prefix (a module path such as ``"g_a"`` or ``"entropy.h_s"``) get
    ``requires_grad=False`` and are left out of both lists; a prefix that names no parameter is
    an error."""
    prefixes = tuple(str(p).rstrip(".") + "." for p in freeze)
    names = [n for n, _ in model.named_parameters()]
    unknown = [
        p for p, q in zip(freeze, prefixes, strict=True) if not any(n.startswith(q) for n in names)
    ]
    if unknown:
        modules = sorted({".".join(n.split(".")[:2]) for n in names})
        raise ValueError(
            f"training.freeze names no parameters: {unknown} (modules: {', '.join(modules)})"
        )
    main, aux = [], []
    for name, param in model.named_parameters():
        if name.startswith(prefixes):
            param.requires_grad_(False)
            continue
        (aux if name.endswith("quantiles") else main).append(param)
    return main, aux


def _to_blocks(array: np.ndarray, device: torch.device) -> torch.Tensor:  # [B,S,S,S] -> [B,1,S,S,S]
    return torch.from_numpy(array.astype(np.float32))[:, None].to(device)


@torch.no_grad()
def validate(model: BlockCodec, blocks: np.ndarray, config: dict, device: torch.device) -> dict:
    """Eval-mode loss terms on the validation blocks and the top-k voxel recall (fraction of a
    block's points recovered when keeping its ``k`` most likely voxels)."""
    was_training = model.training
    model.eval()
    t = config["training"]
    totals = {"focal": 0.0, "bits": 0.0, "occupied": 0, "hits": 0}
    for start in range(0, len(blocks), t["batch_size"]):
        x = _to_blocks(blocks[start : start + t["batch_size"]], device)
        out = model(x)
        terms = rate_distortion_loss(
            out["x_logits"], x, out["likelihoods"], t["lmbda"], t["alpha"], t["gamma"]
        )
        totals["focal"] += float(terms.distortion) * terms.occupied
        totals["bits"] += float(terms.bits_per_occupied) * terms.occupied
        totals["occupied"] += terms.occupied
        for i in range(x.shape[0]):
            k = int(x[i].sum().item())
            mask = topk_occupancy(out["x_logits"][i, 0].float().cpu(), k)
            totals["hits"] += int((mask & (x[i, 0].cpu() > 0.5)).sum().item())
    model.train(was_training)
    occ = max(totals["occupied"], 1)
    focal, bpov = totals["focal"] / occ, totals["bits"] / occ
    return {
        "val_loss": focal + t["lmbda"] * bpov,
        "val_focal": focal,
        "val_bpov": bpov,
        "val_topk_recall": totals["hits"] / occ,
    }


def _warm_start(model: BlockCodec, path: str) -> list[str]:
    """Copy every tensor of ``path`` whose name and shape match (transforms from another entropy
    model or lambda; GEOv2 c6's sequential warm start). Returns the names copied."""
    payload = read_checkpoint(path)
    own = model.state_dict()
    copied = [k for k, v in payload["model"].items() if k in own and own[k].shape == v.shape]
    if not copied:
        raise FormatError(path, "no tensor of this checkpoint fits the model (warm start)")
    own.update({k: payload["model"][k] for k in copied})
    model.load_state_dict(own)
    return copied


def train(
    config: dict,
    out_dir: str | os.PathLike,
    resume: bool = False,
    return_model: bool = False,
    callback: Callable[[dict], None] | None = None,
    stop_after: int | None = None,
):
    """Train a BlockCodec as configured; returns the final metrics (and the trained model, this
    process's replica, when ``return_model``).

    Writes to ``out_dir``: ``config.yaml``, ``last.pt`` (resumable: model, optimisers, step),
    ``model.pt`` (weights only, small: what gets bundled), ``log.jsonl`` (one line per validation).
    Runs under DDP when started by torchrun (``WORLD_SIZE`` > 1); only rank 0 writes files.

    ``callback(record)`` is called on rank 0 after every step with a dict: ``step``, ``loss``,
    ``focal`` (focal loss per occupied voxel), ``bpov`` (estimated bits per occupied voxel),
    ``lr``, ``lmbda``, ``elapsed_s`` and, on validation steps, the ``val_*`` metrics (live curves:
    :func:`visualisation.training.LiveCurves`). ``stop_after`` stops the run after that step as an
    interruption would, right after writing ``last.pt`` (no ``model.pt``); the schedule still
    follows ``training.steps``, and ``resume=True`` continues where it stopped.
    """
    t = config["training"]
    torch.set_num_threads(int(t["num_threads"]))
    device = pick_device(t["device"])
    rank, world = distributed_setup(device)
    out_dir = Path(out_dir)
    torch.manual_seed(int(t["seed"]))
    model = BlockCodec(config["model"]).to(device)
    arch = model.architecture
    train_blocks, val_blocks = load_blocks(config["data"], arch["block_size"])

    main_params, aux_params = split_parameters(model, t.get("freeze") or ())
    optimizer = torch.optim.Adam(main_params, lr=float(t["lr"]))
    aux_optimizer = torch.optim.Adam(aux_params, lr=float(t["aux_lr"])) if aux_params else None
    step, best = 0, math.inf
    last_path = out_dir / "last.pt"
    if resume and last_path.is_file():
        payload = load_state_into(last_path, model)
        state = payload.get("training")
        if state is None:
            raise FormatError(last_path, "checkpoint has no training state to resume from")
        optimizer.load_state_dict(state["optimizer"])
        if aux_optimizer is not None and state.get("aux_optimizer") is not None:
            aux_optimizer.load_state_dict(state["aux_optimizer"])
        step, best = int(state["step"]), float(state["best"])
    elif t["init_from"]:
        _warm_start(model, t["init_from"])

    net: torch.nn.Module = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    scaler = torch.amp.GradScaler("cuda") if (t["amp"] and device.type == "cuda") else None

    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))

    def save(kind: str, metrics: dict) -> None:
        meta = _meta(config, step, metrics, world)
        if kind == "last":
            if rank != 0:
                return
            training = {
                "optimizer": optimizer.state_dict(),
                "aux_optimizer": aux_optimizer.state_dict() if aux_optimizer else None,
                "step": step,
                "best": best,
            }
            save_checkpoint(last_path, model, meta, training)
        elif rank == 0:
            save_checkpoint(out_dir / f"{kind}.pt", model, meta)

    metrics: dict[str, Any] = {}
    steps = int(t["steps"])
    bar = tqdm(
        total=steps,
        initial=step,
        disable=not _show_progress(t["progress"], rank),
        dynamic_ncols=True,
    )
    if stop_after is not None and int(stop_after) < step:
        raise ValueError(f"stop_after={stop_after} is before the resumed step {step}")
    stop = steps if stop_after is None else min(steps, int(stop_after))
    started = time.perf_counter()
    net.train()
    while step < stop:
        idx = batch_indices(
            len(train_blocks), step, int(t["batch_size"]), rank, world, int(t["seed"])
        )
        x = _to_blocks(train_blocks[idx], device)
        torch.manual_seed(_step_seed(int(t["seed"]), rank, step))  # quantisation noise: resumable
        for group in optimizer.param_groups:  # a function of the step alone: resumable
            group["lr"] = lr_at(t, step)
        with amp_context(bool(t["amp"]), device):
            out = net(x)
        terms = rate_distortion_loss(
            out["x_logits"].float(),
            x,
            out["likelihoods"],
            _lmbda_at(t, step),
            t["alpha"],
            t["gamma"],
        )
        total = terms.loss + out["aux_loss"].float()
        optimizer.zero_grad(set_to_none=True)
        if aux_optimizer is not None:
            aux_optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(total).backward()
            scaler.unscale_(optimizer)
        else:
            total.backward()
        if t["grad_clip"]:
            torch.nn.utils.clip_grad_norm_(main_params, float(t["grad_clip"]))
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        if aux_optimizer is not None:
            aux_optimizer.step()
        step += 1
        bar.update(1)
        bar.set_postfix(
            loss=f"{terms.loss.item():.4f}",
            bpov=f"{float(terms.bits_per_occupied):.3f}",
            focal=f"{float(terms.distortion):.4f}",
        )
        record = {
            "step": step,
            "loss": terms.loss.item(),
            "focal": float(terms.distortion),
            "bpov": float(terms.bits_per_occupied),
            "lr": lr_at(t, step - 1),
            "lmbda": _lmbda_at(t, step - 1),
        }
        if step % int(t["val_every"]) == 0 or step == steps:
            metrics = {"step": step, "train_loss": terms.loss.item()}
            if rank == 0:
                metrics.update(validate(model, val_blocks, config, device))
                metrics["elapsed_s"] = round(time.perf_counter() - started, 1)
                with open(out_dir / "log.jsonl", "a", encoding="utf-8") as log:
                    log.write(json.dumps(metrics) + "\n")
                if metrics["val_loss"] < best:
                    best = metrics["val_loss"]
                    save("best", metrics)
            if world > 1:
                shared = [best]
                dist.broadcast_object_list(shared, src=0)
                best = shared[0]
        if step % int(t["checkpoint_every"]) == 0 or step == steps or step == stop:
            save("last", metrics)
        if callback is not None and rank == 0:
            record["elapsed_s"] = time.perf_counter() - started
            if metrics.get("step") == step:  # validated at this step
                record.update({k: v for k, v in metrics.items() if k.startswith("val_")})
            callback(record)
    bar.close()
    if step < steps:  # stopped early (stop_after): an interrupted run leaves only last.pt
        if world > 1:
            dist.barrier()
        return (metrics, model) if return_model else metrics
    if rank == 0 and "val_loss" not in metrics:  # e.g. steps = 0 or a resumed, finished run
        metrics = {"step": step, **validate(model, val_blocks, config, device)}
    if rank == 0:
        save("model", metrics)
    if world > 1:
        dist.barrier()
    return (metrics, model) if return_model else metrics


def _show_progress(progress: bool, rank: int) -> bool:
    """A tqdm bar on rank 0 when ``training.progress`` is on and stderr is a terminal (never in
    logs, notebooks or papermill runs: the notebooks draw live curves instead)."""
    if rank != 0 or not progress:
        return False
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def _lmbda_at(t: dict, step: int) -> float:
    """lambda at ``step``: a linear ramp from 0 over ``lmbda_warmup`` steps, then ``lmbda``.

    Without it the rate term wins at the start: it pushes y to zero before g_s has learned to
    use it, and the model settles on the prior (nothing coded, occupancy from the bias)."""
    warmup = int(t.get("lmbda_warmup") or 0)
    return float(t["lmbda"]) * (min(1.0, step / warmup) if warmup > 0 else 1.0)


def lr_at(t: dict, step: int) -> float:
    """Learning rate at ``step``: ``lr``, then a cosine decay to ``lr_final`` over the last
    ``lr_decay_steps`` of ``steps`` (no decay when ``lr_final`` is None or the length is 0).

    A function of the step only, so a resumed run follows the same schedule; extending ``steps``
    moves the decay to the new end."""
    lr, decay = float(t["lr"]), int(t.get("lr_decay_steps") or 0)
    if t.get("lr_final") is None or decay <= 0:
        return lr
    start = int(t["steps"]) - decay
    if step < start:
        return lr
    frac = min(1.0, (step - start) / decay)
    final = float(t["lr_final"])
    return final + 0.5 * (lr - final) * (1.0 + math.cos(math.pi * frac))


def _step_seed(seed: int, rank: int, step: int) -> int:
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0])


def _meta(config: dict, step: int, metrics: dict, world: int) -> dict:
    t = config["training"]
    return {
        "lambda": float(t["lmbda"]),
        "alpha": float(t["alpha"]),
        "gamma": float(t["gamma"]),
        "steps": int(step),
        "batch_size": int(t["batch_size"]) * world,
        "data": dict(config["data"]),
        "metrics": {k: float(v) for k, v in metrics.items()},
        "torch": str(torch.__version__),
    }
