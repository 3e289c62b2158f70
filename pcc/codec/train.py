"""Training of the block codec: YAML config, focal + lambda * rate loss, validation, resumable
checkpoints, optional mixed precision, one process or several with torch DDP.

Run one process::

    pcc pc train configs/codec/hyperprior.yaml --out output/codec/hp

or several (gloo on CPU, nccl on GPUs)::

    torchrun --nproc_per_node 2 -m pcc.codec.train configs/codec/hyperprior.yaml --out DIR

The config has three sections (see ``configs/codec/*.yaml`` and ``DEFAULT_CONFIG``):

* ``data``: where blocks come from (``procedural`` shapes from :mod:`pcc.pointcloud.dataset`, or
  an ``npz`` file holding ``blocks [N, S, S, S]`` uint8) and the validation split;
* ``model``: the architecture dict of :class:`pcc.codec.model.BlockCodec`;
* ``training``: lambda, focal alpha / gamma, steps, batch size (per process), learning rates
  (with an optional cosine decay to ``lr_final`` over the last ``lr_decay_steps``), validation /
  checkpoint periods, AMP, seed, threads, warm start (``init_from``) and frozen modules
  (``freeze``, e.g. ``[g_a, g_s]`` to train only the entropy model).

Loss (GEOv2 with lambda on the rate, see :mod:`pcc.codec.loss`): ``FL/N_occ + lambda*bits/N_occ``;
the entropy model's auxiliary (quantile) loss is added and its parameters have their own Adam
(GEOv2: main lr 1e-4, aux lr 1e-3). Batches are a deterministic function of (seed, step, rank), so
a resumed run sees the same data as an uninterrupted one.

Taught in ``notebooks/13_training.ipynb``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import yaml
from tqdm.auto import tqdm

from pcc.codec.checkpoint import load_state_into, read_checkpoint, save_checkpoint
from pcc.codec.loss import rate_distortion_loss
from pcc.codec.model import BlockCodec, normalise_architecture
from pcc.codec.threshold import topk_occupancy
from pcc.errors import FormatError
from pcc.io.atomic import atomic_path, write_text_atomic

DEFAULT_CONFIG: dict[str, Any] = {
    "data": {
        "source": "procedural",  # "procedural" (pcc.pointcloud.shapes) or "npz"
        "path": None,  # npz file with blocks [N, S, S, S] (source: npz)
        "train_blocks": 2048,  # procedural: size of the training pool
        "val_blocks": 64,
        "min_points": 32,  # procedural: discard blocks with fewer points
        "shape_bits": [7, 8],  # procedural: grid bits of the shapes (pool split evenly)
        "augment": "cube",  # procedural: grid symmetries (None, "up", "cube")
        "cache_dir": None,  # procedural: folder caching the generated pool (npz)
        "seed": 0,
    },
    "model": dict(normalise_architecture()),
    "training": {
        "lmbda": 1.0,
        "lmbda_warmup": 0,  # steps over which lambda ramps linearly from 0 (rate term off at start)
        "alpha": 0.75,
        "gamma": 2.0,
        "steps": 2000,
        "batch_size": 8,
        "lr": 1e-4,
        "lr_final": None,  # cosine decay from lr to lr_final over the last lr_decay_steps steps
        "lr_decay_steps": 0,
        "aux_lr": 1e-3,
        "grad_clip": 1.0,
        "val_every": 200,
        "checkpoint_every": 200,
        "amp": False,
        "device": "auto",
        "seed": 0,
        "num_threads": 1,
        "init_from": None,  # warm start: checkpoint whose matching weights initialise the model
        "freeze": [],  # parameter-name prefixes kept fixed, e.g. [g_a, g_s]: train the entropy model
        "progress": True,
    },
}


# ----------------------------------------------------------------------------- config


def _merge(base: dict, update: dict, where: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if key not in out:
            raise ValueError(f"unknown config key '{where}{key}'")
        if isinstance(out[key], dict) and key != "entropy_options":
            if not isinstance(value, dict):
                raise ValueError(f"config key '{where}{key}' must be a mapping")
            out[key] = _merge(out[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


def parse_override(text: str) -> dict:
    """``"training.steps=100"`` -> ``{"training": {"steps": 100}}`` (value parsed as YAML)."""
    if "=" not in text:
        raise ValueError(f"override {text!r} is not KEY=VALUE")
    key, value = text.split("=", 1)
    out: dict = {}
    node = out
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = yaml.safe_load(value)
    return out


def load_config(path: str | os.PathLike | None = None, overrides: list[str] = ()) -> dict:
    """Defaults, then the YAML file at ``path``, then ``KEY=VALUE`` overrides."""
    config = copy.deepcopy(DEFAULT_CONFIG)
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise FormatError(path, f"cannot read YAML config: {err}") from None
        if not isinstance(loaded, dict):
            raise FormatError(path, "config must be a mapping with data/model/training sections")
        try:
            config = _merge(config, loaded)
        except ValueError as err:
            raise FormatError(path, str(err)) from None
    for text in overrides:
        config = _merge(config, parse_override(text))
    config["model"] = normalise_architecture(config["model"])
    return config


# ----------------------------------------------------------------------------- data


def procedural_blocks(
    count: int,
    block_size: int,
    seed: int,
    shape_bits: tuple[int, ...] = (7, 8),
    min_points: int = 32,
    augment: str | None = "cube",
) -> np.ndarray:
    """``count`` occupancy blocks ``[count, S, S, S]`` uint8 cut from procedural shapes.

    The pool is split evenly over the grid sizes ``shape_bits``; for each, blocks come from
    :class:`pcc.pointcloud.dataset.ProceduralBlockDataset` (shapes of :mod:`pcc.pointcloud.shapes`
    cut into ``S^3`` blocks with at least ``min_points`` points, augmented by grid symmetries).
    A pure function of its arguments.
    """
    from pcc.pointcloud.dataset import ProceduralBlockDataset

    out = np.zeros((count, block_size, block_size, block_size), dtype=np.uint8)
    shares = np.array_split(np.arange(count), len(shape_bits))
    for part, (bits, rows) in enumerate(zip(shape_bits, shares)):
        source = ProceduralBlockDataset(
            block_size,
            shape_bits=int(bits),
            min_points=min_points,
            augment=augment,
            seed=int(seed) * 16 + part,
        )
        stream = source.iter_blocks()
        for row in rows:
            coords = next(stream)  # [n, 3] local coordinates
            out[row, coords[:, 0], coords[:, 1], coords[:, 2]] = 1
    return out


def load_blocks(data: dict, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation blocks ``[N, S, S, S]`` uint8 as configured in ``data``."""
    if data["source"] == "npz":
        path = data["path"]
        try:
            with np.load(path, allow_pickle=False) as f:
                blocks = np.asarray(f["blocks"], dtype=np.uint8)
        except (OSError, KeyError, ValueError) as err:
            raise FormatError(path, f"cannot read blocks: {err}") from None
        if blocks.ndim != 4 or blocks.shape[1:] != (block_size,) * 3:
            raise FormatError(path, f"blocks must be [N, {block_size}^3], got {blocks.shape}")
        n_val = int(data["val_blocks"])
        if len(blocks) <= n_val:
            raise FormatError(
                path, f"{len(blocks)} blocks leave none for training after {n_val} val"
            )
        return blocks[n_val:], blocks[:n_val]
    if data["source"] == "procedural":
        cache = _cache_path(data, block_size)
        if cache is not None and cache.is_file():
            with np.load(cache, allow_pickle=False) as f:
                return f["train"], f["val"]
        seed, bits, low = int(data["seed"]), tuple(data["shape_bits"]), int(data["min_points"])
        aug = data["augment"]
        train = procedural_blocks(int(data["train_blocks"]), block_size, seed, bits, low, aug)
        # validation shapes come from another seed: never seen in training
        val = procedural_blocks(int(data["val_blocks"]), block_size, seed + 1000, bits, low, aug)
        if cache is not None:
            with atomic_path(cache) as tmp:
                with open(tmp, "wb") as f:
                    np.savez_compressed(f, train=train, val=val)
        return train, val
    raise ValueError(f"unknown data source {data['source']!r} (procedural or npz)")


def _cache_path(data: dict, block_size: int) -> Path | None:
    """Where a procedural pool is cached (``data.cache_dir``; None disables the cache)."""
    if not data.get("cache_dir"):
        return None
    keys = ("train_blocks", "val_blocks", "min_points", "shape_bits", "augment", "seed")
    text = json.dumps({k: data[k] for k in keys} | {"block_size": block_size}, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Path(data["cache_dir"]) / f"blocks_{digest}.npz"


def batch_indices(n: int, step: int, batch: int, rank: int, world: int, seed: int) -> np.ndarray:
    """Indices of this rank's batch at ``step``: epochs are seeded permutations of ``range(n)``,
    the global batch ``batch * world`` is cut in ``world`` slices (deterministic, resumable)."""
    global_batch = batch * world
    start = step * global_batch
    out = []
    while len(out) < global_batch:
        epoch, offset = divmod(start + len(out), n)
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        take = min(global_batch - len(out), n - offset)
        out.extend(perm[offset : offset + take].tolist())
    return np.asarray(out[rank * batch : (rank + 1) * batch])


# ----------------------------------------------------------------------------- distributed


def _distributed_setup(device: torch.device) -> tuple[int, int]:
    """Initialise torch.distributed from the torchrun environment; returns ``(rank, world)``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", "0"))
            return torch.device("cuda", local)
        return torch.device("cpu")
    return torch.device(name)


def _amp_context(enabled: bool, device: torch.device):
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


# ----------------------------------------------------------------------------- training


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
    device = _pick_device(t["device"])
    rank, world = _distributed_setup(device)
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
        with _amp_context(bool(t["amp"]), device):
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


def main(argv: list[str] | None = None) -> int:
    """``python -m pcc.codec.train CONFIG --out DIR [--resume] [--set KEY=VALUE ...]`` (torchrun)."""
    parser = argparse.ArgumentParser(description="Train a pcc block codec")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_from_args(args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML config with data/model/training sections")
    parser.add_argument("--out", required=True, help="output folder (checkpoints, log)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value"
    )
    parser.add_argument("--json", action="store_true", help="print the final metrics as JSON")


def run_from_args(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.set)
    metrics = train(config, args.out, resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(metrics) if args.json else f"done: {metrics}")
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
