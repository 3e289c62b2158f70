"""Train the learned occupancy model on procedural shapes: ``python -m pcc.pointcloud.occupancy_train``.

Recipe (the bundled ``input_models/occupancy/occupancy_mlp.pt``; its README has the measured
times):

1. **Data.** ``--shapes`` random procedural shapes (:func:`pcc.pointcloud.shapes.random_shape_mesh`:
   spheres, tori, boxes, cylinders, superquadrics and unions of them, randomly rotated) placed in
   a 9- or 10-bit grid at a random size and sampled at 30 samples per voxel^2 like the canonical
   bunny (:mod:`pcc.pointcloud.canonical`), so the surfaces are dense and hole-free. No test cloud
   (bunny, ModelNet) is used. Each shape is *coded* once with the learned coder's traversal
   (:func:`pcc.pointcloud.occupancy_context.traverse`, so the adaptive count features are exactly
   those seen when coding) and a random ``--keep`` fraction of its child-bit symbols is kept with
   their features. The last shape(s) (``--val-shapes``) are held out for validation.
2. **Training.** :class:`pcc.pointcloud.occupancy_model.OccupancyMLP` (``--hidden`` units), binary
   cross-entropy in bits, Adam, cosine learning rate, ``--epochs`` passes, one CPU thread.
3. **Check.** The validation cross-entropy of the float model, of its quantised integer form and
   of the count models alone (what the octree coder would pay) are printed and stored in the
   checkpoint's ``meta``.

Taught in ``notebooks/17_learned_lossless.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from pcc.pointcloud.canonical import mesh_to_voxels
from pcc.pointcloud.occupancy_context import N_STATIC, traverse
from pcc.pointcloud.occupancy_model import (
    OccupancyMLP,
    QuantizedMLP,
    default_model_path,
    save_model,
)
from pcc.pointcloud.octree import build_octree
from pcc.pointcloud.shapes import random_shape_mesh


def training_shape(rng: np.random.Generator, samples_per_area: float = 30.0) -> np.ndarray:
    """One dense procedural training cloud ``[M, 3]`` int32 (9 or 10 bits, random size)."""
    verts, faces, _ = random_shape_mesh(rng)
    bits = 10 if rng.random() < 0.6 else 9
    top = (1 << bits) - 1
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    size = float(rng.uniform(0.15, 0.45) if bits == 10 else rng.uniform(0.3, 0.9)) * top
    scale = size / float((hi - lo).max())
    extent = (hi - lo) * scale
    offset = rng.uniform(0, np.maximum(top - extent, 0)) - lo * scale
    seed = int(rng.integers(2**31 - 1))
    return mesh_to_voxels(
        verts, faces, scale, offset, bits, samples_per_area=samples_per_area, seed=seed
    )


def collect(coords: np.ndarray, keep: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Code ``coords`` once and keep a random ``keep`` fraction of its symbols with features.

    Returns ``static`` uint8 ``[m, 367]``, ``dynamic`` int8 ``[m, 12]``, ``bits`` uint8 ``[m]``.
    """
    coords = np.asarray(coords, dtype=np.int64)
    q = coords - coords.min(axis=0)
    depth = max(1, int(q.max()).bit_length())
    levels = build_octree(q, depth)
    n_voxels = int(np.unpackbits(levels[-1]).sum())
    out = {"static": [], "dynamic": [], "bits": []}

    def record(level, nodes, k, static, dynamic):
        b = (levels[level][nodes] >> k) & 1
        sel = rng.random(b.size) < keep
        if sel.any():
            out["static"].append(static[sel])
            out["dynamic"].append(dynamic[sel].astype(np.int8))
            out["bits"].append(b[sel].astype(np.uint8))
        return b

    traverse(depth, n_voxels, record)
    return {k: np.concatenate(v) for k, v in out.items()}


def make_dataset(n_shapes: int, seed: int, keep: float, log=print) -> dict[str, np.ndarray]:
    """Symbols of ``n_shapes`` procedural shapes (see :func:`collect`), concatenated."""
    parts = []
    for i in range(n_shapes):
        rng = np.random.default_rng([seed, i])
        t = time.perf_counter()
        cloud = training_shape(rng)
        part = collect(cloud, keep, rng)
        parts.append(part)
        log(
            f"shape {i}: {len(cloud)} points, {part['bits'].size} symbols kept "
            f"({time.perf_counter() - t:.1f} s)"
        )
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def count_model_bits(data: dict[str, np.ndarray]) -> float:
    """Mean bits per symbol of the deepest count model alone (from its quantised logit)."""
    logit = data["dynamic"][:, 10].astype(np.float64) / 8.0
    p = np.clip(1.0 / (1.0 + np.exp(-logit)), 2.0**-16, 1 - 2.0**-16)
    b = data["bits"]
    return float(-np.mean(np.where(b == 1, np.log2(p), np.log2(1 - p))))


def _features(data: dict[str, np.ndarray], idx: np.ndarray) -> torch.Tensor:
    x = np.concatenate(
        [data["static"][idx].astype(np.float32), data["dynamic"][idx].astype(np.float32)], axis=1
    )
    return torch.from_numpy(x)  # [n, 379]


def evaluate(model: OccupancyMLP, data: dict[str, np.ndarray]) -> tuple[float, float]:
    """Mean bits per symbol of the float model and of its quantised integer form."""
    n = data["bits"].size
    total_f, total_q = 0.0, 0.0
    q = QuantizedMLP(model)
    with torch.no_grad():
        for s in range(0, n, 65536):
            idx = np.arange(s, min(n, s + 65536))
            y = torch.from_numpy(data["bits"][idx].astype(np.float32))
            z = model(_features(data, idx))
            total_f += float(
                torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="sum")
            )
            p = np.clip(
                q.probability(data["static"][idx], data["dynamic"][idx]), 2.0**-16, 1 - 2.0**-16
            )
            b = data["bits"][idx]
            total_q += float(-np.sum(np.where(b == 1, np.log(p), np.log(1 - p))))
    return total_f / n / math.log(2), total_q / n / math.log(2)


def train(
    data: dict[str, np.ndarray],
    val: dict[str, np.ndarray],
    *,
    hidden: int = 96,
    epochs: int = 12,
    batch: int = 1024,
    lr: float = 2e-3,
    seed: int = 0,
    log=print,
) -> OccupancyMLP:
    """Fit an :class:`OccupancyMLP` to the symbols (binary cross-entropy, Adam, cosine lr)."""
    torch.manual_seed(seed)
    model = OccupancyMLP(hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = data["bits"].size
    steps = epochs * (n // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1))
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        t = time.perf_counter()
        order = rng.permutation(n)
        running = 0.0
        model.train()
        for s in range(n // batch):
            idx = np.sort(order[s * batch : (s + 1) * batch])
            y = torch.from_numpy(data["bits"][idx].astype(np.float32))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model(_features(data, idx)), y
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += float(loss.detach())
        model.eval()
        vf, vq = evaluate(model, val)
        log(
            f"epoch {epoch}: train {running / max(n // batch, 1) / math.log(2):.4f} bits/symbol, "
            f"val {vf:.4f} (quantised {vq:.4f}) [{time.perf_counter() - t:.0f} s]"
        )
    return model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_model_path())
    parser.add_argument("--shapes", type=int, default=40)
    parser.add_argument("--val-shapes", type=int, default=3)
    parser.add_argument("--keep", type=float, default=0.1)
    parser.add_argument("--hidden", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-cache", type=Path, default=None, help="npz of collected symbols")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    if args.data_cache is not None and args.data_cache.is_file():
        with np.load(args.data_cache) as z:
            data = {k[6:]: z[k] for k in z.files if k.startswith("train_")}
            val = {k[4:]: z[k] for k in z.files if k.startswith("val_")}
    else:
        data = make_dataset(args.shapes, args.seed, args.keep)
        val = make_dataset(args.val_shapes, args.seed + 1000, args.keep)
        if args.data_cache is not None:
            args.data_cache.parent.mkdir(parents=True, exist_ok=True)
            arrays = {f"train_{k}": v for k, v in data.items()}
            arrays |= {f"val_{k}": v for k, v in val.items()}
            np.savez(args.data_cache, **arrays)
    t_data = time.perf_counter() - t0
    print(f"data: {data['bits'].size} train / {val['bits'].size} val symbols ({t_data:.0f} s)")
    baseline = count_model_bits(val)
    print(f"count model alone on val: {baseline:.4f} bits/symbol")
    t1 = time.perf_counter()
    model = train(
        data,
        val,
        hidden=args.hidden,
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        seed=args.seed,
    )
    t_train = time.perf_counter() - t1
    vf, vq = evaluate(model, val)
    meta = {
        "recipe": vars(args) | {"out": str(args.out), "data_cache": str(args.data_cache)},
        "train_symbols": int(data["bits"].size),
        "val_symbols": int(val["bits"].size),
        "val_bits_per_symbol": vf,
        "val_bits_per_symbol_quantised": vq,
        "val_bits_per_symbol_count_model": baseline,
        "data_seconds": t_data,
        "train_seconds": t_train,
        "n_static": N_STATIC,
    }
    save_model(model, args.out, meta)
    print(json.dumps(meta, indent=1, default=str))


if __name__ == "__main__":
    main()
