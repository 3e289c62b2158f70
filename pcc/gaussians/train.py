"""A small CPU trainer for 3D Gaussian Splatting (Kerbl et al., SIGGRAPH 2023).

What it does, following the reference trainer (``train.py`` + ``scene/gaussian_model.py``):

* initialisation from a point cloud (COLMAP ``points3D``, a NeRF folder's ``points3d.ply``), from
  random points in the cube ``[-1.3, 1.3]^3`` (INRIA's NeRF-synthetic fallback) or, our default
  when there are no points but the images have alpha masks, from random points of that cube that
  the masks carve out (:func:`carve_points`: far fewer Gaussians in empty space); isotropic
  scales from the 3 nearest neighbours, opacity 0.1, SH DC from the point colour;
* Adam (eps 1e-15) with INRIA's learning rates: means ``1.6e-4 * extent`` decaying log-linearly
  to ``1.6e-6 * extent`` over the run, SH DC 0.0025, higher SH bands 0.0025/20, opacity 0.05,
  scaling 0.005, rotation 0.001; ``extent`` is 1.1 x the largest distance of a camera centre from
  their mean (INRIA's ``getNerfppNorm``);
* one random training view per step (a shuffled stack, refilled when empty), loss
  ``L = (1 - 0.2) L1 + 0.2 (1 - SSIM)``;
* the active SH degree grows by one every ``sh_increase_interval`` steps up to the model's;
* adaptive density control (:mod:`pcc.gaussians.densify`): clone / split / prune every
  ``densify_interval`` steps between ``densify_from`` and ``densify_until``, opacity reset every
  ``opacity_reset_interval`` steps (and once at ``densify_from`` on a white background);
* a tqdm bar with loss and Gaussian count, test PSNR every ``test_every`` steps, checkpoints that
  resume bit-exactly, and the INRIA model directory as output.

**Schedule for short CPU runs.** INRIA trains 30 000 steps: densify from 500 to 15 000 every 100,
reset opacity every 3 000, raise the SH degree every 1 000. With ``s = iterations / 30000``
:meth:`TrainConfig.resolved` scales this to ``densify_from = max(500 s, densify_interval)``,
``densify_until = 15000 s`` (half the run), ``densify_interval = max(100 s, 25)``,
``sh_increase_interval = max(1000 s, 1)``; the opacity reset interval is ``6000 s`` (half as many
resets as INRIA: with tens instead of hundreds of views a short run needs the time between resets
to recover); runs shorter than 1000 steps (interval below 200) do not reset opacity at all. Every
value can be set explicitly.

Taught in ``notebooks/00_a_3dgs_scene.ipynb`` (a short run) and used to make the bundled
scene (``input_models/README.md``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch

from pcc.errors import FormatError
from pcc.gaussians.densify import DensifyStats, densify_and_prune, reset_opacity
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.optim import GaussianAdam, exponential_lr
from pcc.gaussians.quality import evaluate_views, photometric_loss_terms
from pcc.gaussians.render import render
from pcc.io.atomic import atomic_path, write_text_atomic
from pcc.io.cameras import Camera
from pcc.progress import progress_bar

__all__ = [
    "TrainConfig",
    "TrainResult",
    "train",
    "train_from_folder",
    "evaluate_psnr",
    "scene_extent",
    "initial_model",
    "carve_points",
    "mask_keep",
    "load_checkpoint",
    "PARAM_NAMES",
]

PARAM_NAMES = ("means", "log_scales", "quats", "opacity_logits", "sh_dc", "sh_rest")
CHECKPOINT_FORMAT = "pcc-3dgs-train-checkpoint"
MIN_RESET_INTERVAL = 200  # shorter scaled reset intervals disable the reset (no time to recover)


@dataclass
class TrainConfig:
    """Every hyper-parameter of :func:`train` (INRIA defaults; ``None`` = derived from the run
    length, see the module docstring)."""

    iterations: int = 3000
    sh_degree: int = 3
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    seed: int = 0
    # learning rates (INRIA arguments/__init__.py OptimizationParams)
    position_lr_init: float = 1.6e-4  # times the scene extent
    position_lr_final: float = 1.6e-6  # times the scene extent
    feature_lr: float = 0.0025
    rest_lr_divisor: float = 20.0
    opacity_lr: float = 0.05
    scaling_lr: float = 0.005
    rotation_lr: float = 0.001
    lambda_dssim: float = 0.2
    # adaptive density control
    densify_from: int | None = None
    densify_until: int | None = None
    densify_interval: int | None = None
    opacity_reset_interval: int | None = None
    sh_increase_interval: int | None = None
    grad_threshold: float = 0.0002
    percent_dense: float = 0.01
    min_opacity: float = 0.005
    max_screen_radius: float | None = None  # pixels; INRIA uses 20 at full resolution; off here
    max_gaussians: int | None = None  # cap on the count reached by densification (CPU budget)
    # initialisation
    init: str = "auto"  # auto | points | carve | random (see initial_model)
    n_random_points: int = 10_000
    random_cube: float = 1.3  # half-size of the random-initialisation cube
    init_opacity: float = 0.1
    # logging
    test_every: int = 500
    checkpoint_every: int = 0  # 0 = no checkpoints

    def resolved(self) -> TrainConfig:
        """A copy with the schedule filled in for ``iterations`` (module docstring)."""
        s = self.iterations / 30000.0
        interval = self.densify_interval or max(round(100 * s), 25)
        return replace(
            self,
            densify_interval=interval,
            densify_from=self.densify_from
            if self.densify_from is not None
            else max(round(500 * s), interval),
            densify_until=self.densify_until
            if self.densify_until is not None
            else round(15000 * s),
            opacity_reset_interval=self.opacity_reset_interval
            or (round(6000 * s) if 6000 * s >= MIN_RESET_INTERVAL else self.iterations + 1),
            sh_increase_interval=self.sh_increase_interval or max(round(1000 * s), 1),
            background=tuple(float(b) for b in self.background),
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["background"] = list(self.background)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if "background" in kw:
            kw["background"] = tuple(kw["background"])
        return cls(**kw)


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    model: GaussianModel
    iteration: int
    history: list[dict] = field(default_factory=list)  # one row per logged step
    test_psnr: float | None = None  # mean over test views at the end (None without test views)
    train_psnr: float | None = None  # mean over training views at the end
    seconds: float = 0.0
    model_dir: Path | None = None


# --------------------------------------------------------------------------- helpers
def scene_extent(cameras: list[Camera]) -> float:
    """INRIA's ``getNerfppNorm`` radius: 1.1 x the largest camera-centre distance from their mean."""
    centres = np.stack([c.center for c in cameras])  # [V, 3]
    dist = np.linalg.norm(centres - centres.mean(axis=0), axis=1)
    radius = 1.1 * float(dist.max())
    return radius if radius > 0 else 1.0


def mask_keep(cameras: list[Camera], xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which points ``xyz [M, 3]`` survive carving by the cameras' alpha masks -> ``(keep [M]
    bool, mean colour [M, 3])``: a point is kept when it is seen by at least one view and no view
    sees it on a pixel with alpha < 0.5."""
    ok = np.ones(len(xyz), dtype=bool)
    colour = np.zeros((len(xyz), 3))
    seen = np.zeros(len(xyz))
    for cam in cameras:
        if cam.alpha is None:
            continue
        uv, z = cam.project(xyz)
        j, i = np.floor(uv[:, 0]).astype(np.int64), np.floor(uv[:, 1]).astype(np.int64)
        inside = (z > 0) & (j >= 0) & (j < cam.width) & (i >= 0) & (i < cam.height)
        a = np.zeros(len(xyz))
        a[inside] = cam.alpha.numpy()[i[inside], j[inside]]
        ok &= ~(inside & (a < 0.5))
        colour[inside] += cam.image.numpy()[i[inside], j[inside]]
        seen += inside
    keep = ok & (seen > 0)
    return keep, colour / np.maximum(seen, 1)[:, None]


def carve_points(
    cameras: list[Camera], n: int, cube: float = 1.3, seed: int = 0, max_batches: int = 40
) -> tuple[np.ndarray, np.ndarray]:
    """Random points in ``[-cube, cube]^3`` that every view's alpha mask sees as object.

    Space carving (Kutulakos & Seitz, "A theory of shape by space carving", IJCV 2000) with the
    masks NeRF-synthetic images carry: a candidate is rejected when it projects inside a view
    onto a pixel with alpha < 0.5. Survivors get the mean colour of the pixels they project to.
    INRIA starts such scenes from points in the whole cube; most of those lie in empty space and
    cost a CPU renderer dearly until they are pruned. Returns ``(xyz [M, 3], rgb [M, 3])``,
    ``M <= n`` (fewer if the masks leave little volume).
    """
    rng = np.random.default_rng(seed)
    kept_xyz, kept_rgb, total = [], [], 0
    for _ in range(max_batches):
        cand = rng.uniform(-cube, cube, size=(100_000, 3))
        sel, colour = mask_keep(cameras, cand)
        kept_xyz.append(cand[sel])
        kept_rgb.append(colour[sel])
        total += int(sel.sum())
        if total >= n:
            break
    xyz = np.concatenate(kept_xyz)[:n]
    rgb = np.concatenate(kept_rgb)[:n].astype(np.float32)
    return xyz, rgb


def initial_model(
    points: tuple[np.ndarray, np.ndarray] | None,
    config: TrainConfig,
    cameras: list[Camera] | None = None,
) -> tuple[GaussianModel, str]:
    """The starting Gaussians, by ``config.init``:

    * ``points``: at ``points = (xyz [N, 3], rgb [N, 3] in [0, 1])`` (COLMAP / points3d.ply);
    * ``carve``: at random points that the ``cameras``' alpha masks keep (:func:`carve_points`);
    * ``random``: at random points in the cube ``[-1.3, 1.3]^3`` with grey colours (INRIA);
    * ``auto``: ``points`` if given, else ``carve`` if every camera has a mask, else ``random``.

    Returns ``(model, description)``.
    """
    if config.init not in ("auto", "points", "random", "carve"):
        raise ValueError(f"init must be auto, points, carve or random, got {config.init!r}")
    if config.init == "points" and points is None:
        raise ValueError("init='points' but the dataset has no initial points")
    masked = bool(cameras) and all(c.alpha is not None for c in cameras)
    if config.init == "carve" and not masked:
        raise ValueError("init='carve' needs training cameras with alpha masks")
    mode = config.init
    if mode == "auto":
        mode = "points" if points is not None else ("carve" if masked else "random")
    n = int(config.n_random_points)
    if mode == "carve":
        xyz_np, rgb_np = carve_points(cameras, n, config.random_cube, config.seed + 1)
        if len(xyz_np) < 16:
            mode = "random"
        else:
            xyz, rgb = torch.as_tensor(xyz_np), torch.as_tensor(rgb_np)
            how = f"{len(xyz_np)} random points carved by {len(cameras)} masks"
    if mode == "random":
        gen = torch.Generator().manual_seed(config.seed + 1)
        xyz = (torch.rand(n, 3, generator=gen, dtype=torch.float64) * 2 - 1) * config.random_cube
        rgb = 0.5 + 0.1 * (torch.rand(n, 3, generator=gen) - 0.5)
        how = f"{n} random points in [-{config.random_cube}, {config.random_cube}]^3"
    elif mode == "points":
        xyz = torch.as_tensor(np.asarray(points[0], dtype=np.float64))
        rgb = torch.as_tensor(np.asarray(points[1], dtype=np.float32))
        if xyz.ndim != 2 or xyz.shape[1] != 3 or rgb.shape != xyz.shape or xyz.shape[0] == 0:
            raise ValueError(f"initial points must be [N, 3] with N > 0, got {tuple(xyz.shape)}")
        how = f"{xyz.shape[0]} points from the dataset"
    # duplicate points would get zero-distance scales: drop exact duplicates
    _, idx = np.unique(xyz.numpy(), axis=0, return_index=True)
    order = np.sort(idx)
    xyz, rgb = xyz[order], rgb[order]
    model = GaussianModel.from_points(
        xyz.float(), rgb.float(), sh_degree=config.sh_degree, opacity=config.init_opacity
    )
    return model, how


def _model_params(model: GaussianModel) -> dict[str, torch.Tensor]:
    return {
        "means": model.means,
        "log_scales": model.log_scales,
        "quats": model.quats,
        "opacity_logits": model.opacity_logits,
        "sh_dc": model.sh[:, :1],
        "sh_rest": model.sh[:, 1:],
    }


def _assemble(params: dict[str, torch.Tensor]) -> GaussianModel:
    return GaussianModel(
        params["means"],
        params["log_scales"],
        params["quats"],
        params["opacity_logits"],
        torch.cat([params["sh_dc"], params["sh_rest"]], dim=1),
    )


def _learning_rates(config: TrainConfig, extent: float) -> dict[str, float]:
    return {
        "means": config.position_lr_init * extent,
        "log_scales": config.scaling_lr,
        "quats": config.rotation_lr,
        "opacity_logits": config.opacity_lr,
        "sh_dc": config.feature_lr,
        "sh_rest": config.feature_lr / config.rest_lr_divisor,
    }


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


# --------------------------------------------------------------------------- checkpoints
def _save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a training checkpoint written by :func:`train` (tensors and literals only)."""
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


# --------------------------------------------------------------------------- the loop
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

    if state is None:
        model, init_how = initial_model(init_points, cfg, train_cameras)
        opt = GaussianAdam(_model_params(model), _learning_rates(cfg, extent))
        stats = DensifyStats.zeros(len(opt))
        gen = torch.Generator().manual_seed(cfg.seed)
        stack: list[int] = []
        start, active_sh, history, elapsed, cpu_elapsed = 0, 0, [], 0.0, 0.0
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
    sh_max = _assemble(opt.params).sh_degree

    def snapshot(iteration: int) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "version": 1,
            "iteration": iteration,
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

    end = cfg.iterations if stop_at is None else min(stop_at, cfg.iterations)
    t_start, c_start = time.perf_counter(), time.process_time()
    bar = progress_bar(
        total=cfg.iterations, initial=start, desc="3DGS training", progress=progress, leave=True
    )
    ema = None
    for it in range(start + 1, end + 1):
        opt.lrs["means"] = exponential_lr(
            it - 1, cfg.position_lr_init * extent, cfg.position_lr_final * extent, cfg.iterations
        )
        if it % cfg.sh_increase_interval == 0:
            active_sh = min(active_sh + 1, sh_max)
        if not stack:
            stack = torch.randperm(len(train_cameras), generator=gen).tolist()
        cam = train_cameras[stack.pop()]

        out = render(_assemble(opt.params), cam, background=bg, sh_degree=active_sh)
        out.means2d.retain_grad()
        loss, l1 = photometric_loss_terms(out.image, cam.image, cfg.lambda_dssim)
        loss.backward()

        with torch.no_grad():
            event = None
            if it < cfg.densify_until:
                if out.means2d.grad is not None:  # None when nothing was visible
                    stats.update(out.means2d.grad, out.radii, cam.width, cam.height)
                if it > cfg.densify_from and it % cfg.densify_interval == 0:
                    counts = densify_and_prune(
                        opt,
                        stats,
                        grad_threshold=cfg.grad_threshold,
                        percent_dense=cfg.percent_dense,
                        extent=extent,
                        min_opacity=cfg.min_opacity,
                        prune_huge=it > cfg.opacity_reset_interval,
                        max_screen_radius=cfg.max_screen_radius
                        if it > cfg.opacity_reset_interval
                        else None,
                        generator=gen,
                        max_gaussians=cfg.max_gaussians,
                    )
                    stats = DensifyStats.zeros(len(opt))
                    event = {"densify": counts}
                resets = cfg.opacity_reset_interval <= cfg.iterations
                if it % cfg.opacity_reset_interval == 0 or (
                    resets and white and it == cfg.densify_from
                ):
                    reset_opacity(opt)
                    event = {**(event or {}), "opacity_reset": True}
        opt.step()
        opt.zero_grad()

        lv = float(loss.detach())
        ema = lv if ema is None else 0.9 * ema + 0.1 * lv
        row = None
        if it % 10 == 0 or event or it == end:
            row = {
                "iteration": it,
                "loss": lv,
                "l1": float(l1.detach()),
                "n": len(opt),
                "sh": active_sh,
            }
            if event:
                row.update(event)
        if test_cameras and cfg.test_every and (it % cfg.test_every == 0 or it == cfg.iterations):
            vals = evaluate_psnr(_assemble(opt.params).detach(), test_cameras, bg, active_sh)
            row = row or {"iteration": it, "loss": lv, "n": len(opt), "sh": active_sh}
            row["test_psnr"] = float(np.mean(vals))
            note = " (right after an opacity reset)" if event and "opacity_reset" in event else ""
            bar.write(
                f"[step {it}] test PSNR {row['test_psnr']:.2f} dB, {len(opt)} Gaussians{note}"
            )
        if row is not None:
            history.append(row)
        bar.set_postfix(loss=f"{ema:.4f}", n=len(opt), sh=active_sh, refresh=False)
        bar.update(1)
        if model_dir is not None and cfg.checkpoint_every and it % cfg.checkpoint_every == 0:
            _save_checkpoint(model_dir / "checkpoints" / f"chkpnt{it}.pth", snapshot(it))
    bar.close()
    seconds = elapsed + (time.perf_counter() - t_start)
    cpu_seconds = cpu_elapsed + (time.process_time() - c_start)
    last = max(start, end)

    model = _assemble(opt.params).detach()
    result = TrainResult(model=model, iteration=last, history=history, seconds=seconds)
    if last == cfg.iterations:
        if test_cameras:
            logged = history[-1] if history and history[-1]["iteration"] == last else {}
            result.test_psnr = logged.get("test_psnr")  # measured in the last step already
            if result.test_psnr is None:
                vals = evaluate_psnr(model, test_cameras, bg, active_sh)
                result.test_psnr = float(np.mean(vals))
        result.train_psnr = float(np.mean(evaluate_psnr(model, train_cameras, bg, active_sh)))
    if model_dir is not None:
        from pcc.io.inria_model import write_model_dir

        write_model_dir(
            model_dir,
            model,
            last,
            cameras=[c.without_image() for c in train_cameras + test_cameras],
            cfg={
                "source_path": str(source_path),
                "white_background": white,
                "eval": bool(test_cameras),
                "sh_degree": sh_max,
                "iterations": cfg.iterations,
            },
        )
        log = {
            "iteration": last,
            "iterations": cfg.iterations,
            "n_gaussians": len(model),
            "sh_degree": sh_max,
            "test_psnr": result.test_psnr,
            "train_psnr": result.train_psnr,
            "n_train_views": len(train_cameras),
            "n_test_views": len(test_cameras),
            "image_size": [train_cameras[0].width, train_cameras[0].height],
            "extent": extent,
            "init": init_how,
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu_seconds, 1),
            "threads": torch.get_num_threads(),
            "config": cfg.to_dict(),
            "history": history,
        }
        write_text_atomic(model_dir / "training_log.json", json.dumps(log, indent=1) + "\n")
        result.model_dir = model_dir
    return result


# --------------------------------------------------------------------------- from a folder
def load_training_views(
    data_dir: str | os.PathLike,
    *,
    background=(1.0, 1.0, 1.0),
    resolution: int | None = None,
    scale: float | None = None,
    train_split: str = "train",
    test_split: str | None = "test",
    holdout: int = 8,
) -> tuple[list[Camera], list[Camera]]:
    """Training and test views of a NeRF-synthetic or COLMAP folder.

    ``resolution`` (target image width in pixels) or ``scale`` down-scales the images. NeRF: the
    test views come from ``transforms_<test_split>.json``; when that file is absent (or
    ``test_split`` is None) every ``holdout``-th training view (index % holdout == 0, INRIA's
    ``llffhold``) is held out instead. COLMAP: INRIA's every-8th-image split.
    """
    from pcc.io.datasets import detect_dataset, load_dataset

    data_dir = Path(data_dir)
    kind = detect_dataset(data_dir)
    if resolution is not None:
        probe = load_dataset(
            data_dir, train_split, background, 1.0, max_images=1, load_images=False
        )
        scale = resolution / probe[0].width
    scale = 1.0 if scale is None else float(scale)
    if kind == "colmap":
        train = load_dataset(data_dir, "train", background, scale)
        test = load_dataset(data_dir, "test", background, scale)
        return train, test
    views = load_dataset(data_dir, train_split, background, scale)
    if test_split is not None and (data_dir / f"transforms_{test_split}.json").is_file():
        return views, load_dataset(data_dir, test_split, background, scale)
    if holdout <= 1 or len(views) < 2:
        return views, []
    test = [v for i, v in enumerate(views) if i % holdout == 0]
    train = [v for i, v in enumerate(views) if i % holdout != 0]
    return train, test


def train_from_folder(
    data_dir: str | os.PathLike,
    model_dir: str | os.PathLike | None,
    config: TrainConfig | None = None,
    *,
    resolution: int | None = None,
    scale: float | None = None,
    train_split: str = "train",
    test_split: str | None = "test",
    holdout: int = 8,
    resume: str | os.PathLike | None = None,
    progress: bool = True,
) -> TrainResult:
    """Load a dataset folder (:func:`load_training_views`), its initial points, and :func:`train`."""
    from pcc.io.datasets import load_initial_points

    if config is None and resume is not None:
        config = TrainConfig.from_dict(load_checkpoint(resume)["config"])
    config = config or TrainConfig()
    train_views, test_views = load_training_views(
        data_dir,
        background=config.background,
        resolution=resolution,
        scale=scale,
        train_split=train_split,
        test_split=test_split,
        holdout=holdout,
    )
    points = load_initial_points(data_dir) if config.init != "random" else None
    return train(
        train_views,
        config,
        test_cameras=test_views,
        init_points=points,
        model_dir=model_dir,
        resume=resume,
        progress=progress,
        source_path=str(data_dir),
    )
