"""Trainer speed: the same short 3DGS training run with the compiled and the PyTorch renderer.

Table ``trainer`` (one thread, float32, CPU): for each dataset, ``pcc.gaussians.train.train`` runs
a fixed number of steps twice, once per renderer backend (``PCC_RENDERER=native`` / ``torch``),
with the same seed, views and settings (test PSNR off, so only training steps are timed).
Columns: steps, Gaussians at the end, loop wall and CPU seconds per backend, milliseconds of CPU
per step, ``speedup`` = PyTorch CPU time / native CPU time (CPU time is what the run would take
on an idle core; wall times are recorded too), and the training-view PSNR each run reached (the
two renderers round differently, so the runs drift apart a little).

Datasets: the bundled still-life scene (``input_models/still_life/dataset``, 48 views at
128x128, 10k initial points) and, when ``../shared/data`` has it, the real phone capture
``image_sets/mouse_phone_pinhole`` (COLMAP, 49 training views at 250 px wide, 4,443 SfM points
plus the background sphere). Quick mode: 20 steps of the bundled scene only.

Run: ``python -m pcc.bench train [--quick]``. The trainer is taught in
``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "input_models" / "still_life" / "dataset"
CAPTURE = REPO.parent / "shared" / "data" / "image_sets" / "mouse_phone_pinhole"


def _run(views, test, points, steps: int, backend: str) -> dict:
    from pcc.gaussians.train import TrainConfig, evaluate_psnr, train

    old = os.environ.get("PCC_RENDERER")
    os.environ["PCC_RENDERER"] = backend
    try:
        cfg = TrainConfig(iterations=steps, test_every=0, seed=0)
        result = train(views, cfg, init_points=points, stop_at=steps, progress=False)
        psnr = float(np.mean(evaluate_psnr(result.model, views, cfg.background)))
    finally:
        if old is None:
            os.environ.pop("PCC_RENDERER", None)
        else:
            os.environ["PCC_RENDERER"] = old
    return {
        "wall_s": result.seconds,
        "cpu_s": result.cpu_seconds,
        "n": len(result.model),
        "psnr": psnr,
    }


def main(quick: bool = False) -> list[dict]:
    from pcc.gaussians.train import load_training_views
    from pcc.io.datasets import load_initial_points

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cases = [("still_life (bundled, 128 px)", BUNDLED, None, 20 if quick else 300)]
    if not quick:
        if (CAPTURE / "sparse").is_dir():
            cases.append(("mouse_phone_pinhole (250 px)", CAPTURE, 250, 100))
        else:
            print(f"skipped the real capture: {CAPTURE} not found")
    rows = []
    head = (
        f"{'dataset':30s} {'steps':>5s} {'gaussians':>9s} {'native s':>9s} {'torch s':>9s} "
        f"{'native ms/step':>14s} {'torch ms/step':>13s} {'speedup':>7s} {'PSNR nat/torch':>15s}"
    )
    print("trainer, one thread, CPU seconds of the training loop")
    print(head)
    try:
        for name, folder, width, steps in cases:
            views, test = load_training_views(folder, resolution=width)
            points = load_initial_points(folder)
            nat = _run(views, test, points, steps, "native")
            ref = _run(views, test, points, steps, "torch")
            row = {
                "dataset": name,
                "steps": steps,
                "gaussians_native": nat["n"],
                "gaussians_torch": ref["n"],
                "native_cpu_s": round(nat["cpu_s"], 2),
                "torch_cpu_s": round(ref["cpu_s"], 2),
                "native_wall_s": round(nat["wall_s"], 2),
                "torch_wall_s": round(ref["wall_s"], 2),
                "native_ms_per_step": round(1000 * nat["cpu_s"] / steps, 1),
                "torch_ms_per_step": round(1000 * ref["cpu_s"] / steps, 1),
                "speedup": round(ref["cpu_s"] / max(nat["cpu_s"], 1e-9), 2),
                "train_psnr_native_db": round(nat["psnr"], 2),
                "train_psnr_torch_db": round(ref["psnr"], 2),
            }
            rows.append(row)
            print(
                f"{name:30s} {steps:5d} {nat['n']:9d} {nat['cpu_s']:9.1f} {ref['cpu_s']:9.1f} "
                f"{row['native_ms_per_step']:14.1f} {row['torch_ms_per_step']:13.1f} "
                f"{row['speedup']:7.2f} {nat['psnr']:7.2f}/{ref['psnr']:.2f}"
            )
    finally:
        torch.set_num_threads(threads)
    return rows
