"""The 3DGS training loop (:func:`train`): one random view per step, photometric loss, Adam,
adaptive density control, test PSNR, checkpoints, and the INRIA model directory as output.

The schedule (:mod:`pcc.gaussians.train_config`) is read on a *schedule step* ``v``: the step
number itself in a fixed-step run, ``floor(N x used / budget)`` under a time budget (``used``
counts the wall time so far plus the estimated final evaluation). A periodic event (densify, reset
opacity, raise the SH degree, test) happens in the step where ``v`` reaches a multiple of its
period, so a fixed-step run is exactly the step-counted INRIA loop.

Taught in ``notebooks/00_a_3dgs_scene.ipynb`` (through :mod:`pcc.gaussians.train`).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from pcc.gaussians.densify import DensifyStats, densify_and_prune, reset_opacity
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.optim import GaussianAdam, exponential_lr
from pcc.gaussians.quality import evaluate_views, photometric_loss_terms
from pcc.gaussians.render import render
from pcc.gaussians.train_config import TrainConfig, TrainResult
from pcc.gaussians.train_init import initial_model, scene_extent
from pcc.gaussians.train_state import (
    CHECKPOINT_FORMAT,
    assemble,
    learning_rates,
    load_checkpoint,
    model_params,
    save_checkpoint,
)
from pcc.gaussians.train_views import ViewPyramid
from pcc.io.atomic import write_text_atomic
from pcc.io.cameras import Camera
from pcc.progress import progress_bar

__all__ = ["train", "evaluate_psnr"]

EVAL_COST = 0.4  # a forward render costs about this fraction of a training step (reserve)


def evaluate_psnr(
    model: GaussianModel,
    cameras: list[Camera],
    background=(1.0, 1.0, 1.0),
    sh_degree: int | None = None,
) -> list[float]:
    """PSNR (dB) of the render of each camera against its ``image`` (one value per view)."""
    views = evaluate_views(
        model,
        cameras,
        background,
        keep_images=False,
        sh_degree=sh_degree,
        with_ssim=False,
        progress=False,
    )
    return [float(v) for v in views.psnr]


def _crossed(prev: int, now: int, period: int) -> bool:
    """Whether a multiple of ``period`` lies in ``(prev, now]``."""
    return period > 0 and now // period > prev // period


def train(
    train_cameras: list[Camera],
    config: TrainConfig | None = None,
    *,
    test_cameras: list[Camera] | None = None,
    init_points: tuple[np.ndarray, np.ndarray] | None = None,
    model_dir: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    progress: bool = True,
    source_path: str = "",
    stop_at: int | None = None,
    time_spent: float = 0.0,
) -> TrainResult:
    """Train Gaussians on ``train_cameras`` (each with ``image [H, W, 3]``) and return the model.

    Args:
        config: hyper-parameters (default :class:`TrainConfig`); on ``resume`` the checkpoint's
            configuration is used when ``config`` is None.
        test_cameras: views for the periodic and final test PSNR.
        init_points: ``(xyz [N, 3], rgb [N, 3] in [0, 1])`` for the initialisation.
        model_dir: where to write the INRIA model directory, ``training_log.json`` and
            ``checkpoints/chkpnt<iteration>.pth`` (every ``config.checkpoint_every`` steps).
        resume: a checkpoint to continue from (same views in the same order).
        stop_at: stop after this step (the schedule still uses ``config.iterations``); lets a
            test interrupt a run at a checkpoint.
        time_spent: seconds already used before this call (e.g. loading the images) that count
            against ``config.minutes``.
    """
    if not train_cameras:
        raise ValueError("train needs at least one training camera")
    for cam in train_cameras:
        if cam.image is None:
            raise ValueError(f"training camera {cam.name!r} has no image")
    test_cameras = list(test_cameras or [])
    state = load_checkpoint(resume) if resume is not None else None
    if config is None:
        config = TrainConfig.from_dict(state["config"]) if state is not None else TrainConfig()
    cfg = config.resolved()
    extent = scene_extent(train_cameras)
    bg = cfg.background
    white = all(b >= 1.0 for b in bg)
    model_dir = Path(model_dir) if model_dir is not None else None
    views = ViewPyramid(train_cameras)
    n_sched = cfg.iterations
    budget = None if cfg.minutes is None else 60.0 * cfg.minutes
    # the loop gets what loading left of the budget (at least 10 % of it)
    loop_budget = None if budget is None else max(budget - time_spent, 0.1 * budget)

    if state is None:
        model, init_how = initial_model(init_points, cfg, train_cameras, extent)
        opt = GaussianAdam(model_params(model), learning_rates(cfg, extent))
        stats = DensifyStats.zeros(len(opt))
        gen = torch.Generator().manual_seed(cfg.seed)
        stack: list[int] = []
        start, active_sh, history, elapsed, cpu_elapsed = 0, 0, [], 0.0, 0.0
        v_start, last_densify = 0, 0
    else:
        opt = GaussianAdam.from_state_dict(state["optimizer"])
        stats = DensifyStats.from_state_dict(state["stats"])
        gen = torch.Generator()
        gen.set_state(state["generator"])
        stack = [int(i) for i in state["view_stack"].tolist()]
        start, active_sh = int(state["iteration"]), int(state["active_sh_degree"])
        history, elapsed = list(state["history"]), float(state["seconds"])
        cpu_elapsed = float(state["cpu_seconds"])
        init_how = state["init"]
        v_start = int(state.get("schedule_step", start))
        last_densify = int(state.get("last_densify", 0))
    sh_max = assemble(opt.params).sh_degree

    def snapshot(iteration: int) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "version": 1,
            "iteration": iteration,
            "schedule_step": v,
            "last_densify": last_densify,
            "active_sh_degree": active_sh,
            "optimizer": opt.state_dict(),
            "stats": stats.state_dict(),
            "generator": gen.get_state(),
            "view_stack": torch.tensor(stack, dtype=torch.int64),
            "config": config.to_dict(),
            "history": history,
            "seconds": elapsed + (time.perf_counter() - t_start),
            "cpu_seconds": cpu_elapsed + (time.process_time() - c_start),
            "init": init_how,
        }

    end = n_sched if stop_at is None else min(stop_at, n_sched)
    if budget is not None and stop_at is None:
        end = None  # runs until the budget is used
    t_start, c_start = time.perf_counter(), time.process_time()
    bar = progress_bar(
        total=n_sched, initial=v_start, desc="3DGS training", progress=progress, leave=True
    )
    n_eval = len(train_cameras) + len(test_cameras)
    ema, step_seconds = None, None
    it, v = start, v_start
    while v < n_sched and (end is None or it < end):
        it += 1
        t_step, c_step = time.perf_counter(), time.process_time()
        v_prev = v
        if budget is None:
            v = it
        else:
            reserve = EVAL_COST * n_eval * (step_seconds or 0.0)
            if cfg.budget_clock == "cpu":
                used = cpu_elapsed + (time.process_time() - c_start) + reserve
            else:
                used = elapsed + (t_step - t_start) + reserve
            v = min(n_sched, max(v, math.floor(n_sched * used / loop_budget)))
        last = v >= n_sched or (end is not None and it >= end)
        opt.lrs["means"] = exponential_lr(
            v_prev, cfg.position_lr_init * extent, cfg.position_lr_final * extent, n_sched
        )
        if _crossed(v_prev, v, cfg.sh_increase_interval):
            active_sh = min(active_sh + 1, sh_max)
        if not stack:
            stack = torch.randperm(len(train_cameras), generator=gen).tolist()
        level = cfg.level_at(v_prev / n_sched)
        cam = views.view(stack.pop(), level)

        out = render(assemble(opt.params), cam, background=bg, sh_degree=active_sh)
        out.means2d.retain_grad()
        loss, l1 = photometric_loss_terms(out.image, cam.image, cfg.lambda_dssim)
        loss.backward()

        with torch.no_grad():
            event = None
            if v < cfg.densify_until:
                if out.means2d.grad is not None:  # None when nothing was visible
                    stats.update(out.means2d.grad, out.radii, cam.width, cam.height)
                # under a budget a slow machine takes few real steps per schedule period:
                # densify at most once per `densify_interval` real steps (always true when
                # the schedule counts real steps), so new Gaussians get steps to settle
                settled = it - last_densify >= cfg.densify_interval
                if v > cfg.densify_from and _crossed(v_prev, v, cfg.densify_interval) and settled:
                    last_densify = it
                    after_reset = v > cfg.opacity_reset_interval
                    counts = densify_and_prune(
                        opt,
                        stats,
                        grad_threshold=cfg.grad_threshold,
                        percent_dense=cfg.percent_dense,
                        extent=extent,
                        min_opacity=cfg.min_opacity,
                        prune_huge=after_reset,
                        max_screen_radius=cfg.max_screen_radius if after_reset else None,
                        generator=gen,
                        max_gaussians=cfg.max_gaussians,
                    )
                    stats = DensifyStats.zeros(len(opt))
                    event = {"densify": counts}
                resets = cfg.opacity_reset_interval <= n_sched
                if _crossed(v_prev, v, cfg.opacity_reset_interval) or (
                    resets and white and v_prev < cfg.densify_from <= v
                ):
                    reset_opacity(opt)
                    event = {**(event or {}), "opacity_reset": True}
        opt.step()
        opt.zero_grad()
        dt = time.perf_counter() - t_step
        if cfg.budget_clock == "cpu":
            dt = time.process_time() - c_step
        step_seconds = dt if step_seconds is None else 0.95 * step_seconds + 0.05 * dt

        lv = float(loss.detach())
        ema = lv if ema is None else 0.9 * ema + 0.1 * lv
        row = None
        if it % 10 == 0 or event or last:
            row = {"iteration": it, "loss": lv, "l1": float(l1.detach())}
            row.update({"n": len(opt), "sh": active_sh})
            if budget is not None or cfg.upscale_at:
                row.update({"schedule_step": v, "width": cam.width})
                row["seconds"] = round(elapsed + time.perf_counter() - t_start, 2)
            if event:
                row.update(event)
        test_now = _crossed(v_prev, v, cfg.test_every) or (v >= n_sched > v_prev)
        if test_cameras and cfg.test_every and test_now:
            vals = evaluate_psnr(assemble(opt.params).detach(), test_cameras, bg, active_sh)
            row = row or {"iteration": it, "loss": lv, "n": len(opt), "sh": active_sh}
            row["test_psnr"] = float(np.mean(vals))
            note = " (right after an opacity reset)" if event and "opacity_reset" in event else ""
            bar.write(
                f"[step {it}] test PSNR {row['test_psnr']:.2f} dB, {len(opt)} Gaussians{note}"
            )
        if row is not None:
            history.append(row)
        bar.set_postfix(loss=f"{ema:.4f}", n=len(opt), sh=active_sh, refresh=False)
        bar.update(v - v_prev)
        if model_dir is not None and cfg.checkpoint_every and it % cfg.checkpoint_every == 0:
            save_checkpoint(model_dir / "checkpoints" / f"chkpnt{it}.pth", snapshot(it))
    bar.close()
    seconds = elapsed + (time.perf_counter() - t_start)
    cpu_seconds = cpu_elapsed + (time.process_time() - c_start)
    finished = v >= n_sched

    model = assemble(opt.params).detach()
    result = TrainResult(
        model=model,
        iteration=it,
        history=history,
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        finished=finished,
    )
    if finished:
        if test_cameras:
            logged = history[-1] if history and history[-1]["iteration"] == it else {}
            result.test_psnr = logged.get("test_psnr")  # measured in the last step already
            if result.test_psnr is None:
                vals = evaluate_psnr(model, test_cameras, bg, active_sh)
                result.test_psnr = float(np.mean(vals))
        result.train_psnr = float(np.mean(evaluate_psnr(model, train_cameras, bg, active_sh)))
    if model_dir is not None:
        _write_outputs(
            model_dir, result, cfg, train_cameras, test_cameras, extent, init_how, source_path
        )
        result.model_dir = model_dir
    return result


def _write_outputs(
    model_dir: Path,
    result: TrainResult,
    cfg: TrainConfig,
    train_cameras: list[Camera],
    test_cameras: list[Camera],
    extent: float,
    init_how: str,
    source_path: str,
) -> None:
    """The INRIA model directory plus ``training_log.json``."""
    from pcc.io.inria_model import write_model_dir

    model, last = result.model, result.iteration
    white = all(b >= 1.0 for b in cfg.background)
    write_model_dir(
        model_dir,
        model,
        last,
        cameras=[c.without_image() for c in train_cameras + test_cameras],
        cfg={
            "source_path": str(source_path),
            "white_background": white,
            "eval": bool(test_cameras),
            "sh_degree": model.sh_degree,
            "iterations": cfg.iterations,
        },
    )
    log = {
        "iteration": last,
        "iterations": cfg.iterations,
        "finished": result.finished,
        "n_gaussians": len(model),
        "sh_degree": model.sh_degree,
        "test_psnr": result.test_psnr,
        "train_psnr": result.train_psnr,
        "n_train_views": len(train_cameras),
        "n_test_views": len(test_cameras),
        "image_size": [train_cameras[0].width, train_cameras[0].height],
        "extent": extent,
        "init": init_how,
        "seconds": round(result.seconds, 1),
        "cpu_seconds": round(result.cpu_seconds, 1),
        "threads": torch.get_num_threads(),
        "config": cfg.to_dict(),
        "history": result.history,
    }
    write_text_atomic(model_dir / "training_log.json", json.dumps(log, indent=1) + "\n")
