"""The whole c3dgs pipeline on CPU: sensitivity -> pruning -> colour VQ -> shape VQ -> QAT -> storage.

Order and defaults follow c3dgs (Niedermayr et al., CVPR 2024, ``compress.py``; research brief
a.1-a.10). :func:`compress` returns every intermediate (masks, sensitivities, quantizers) so that
``notebooks/03_c3dgs_compression.ipynb`` can plot each step; :func:`run` is what
``pcc gs compress`` calls: it also chooses cameras, writes the file and ``metrics.json``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from pcc.c3dgs.compressed_model import IndexedGaussians, QuantizedGaussians, finalize
from pcc.c3dgs.features import (
    color_features,
    color_features_to_sh,
    covariance_to_rotation_scale,
    normalize_trace,
    shape_features,
)
from pcc.c3dgs.finetune import finetune
from pcc.c3dgs.presets import C3dgsConfig, VQConfig, get_preset
from pcc.c3dgs.prune import DensityPruneResult, density_prune_mask, sensitivity_prune_mask
from pcc.c3dgs.sensitivity import Sensitivity, compute_sensitivity
from pcc.c3dgs.storage_npz import load_npz, save_npz
from pcc.c3dgs.storage_pcc import MAGIC, SUFFIX, load_pcc, save_pcc
from pcc.c3dgs.vq import VectorQuantizer, quantize_features
from pcc.errors import FormatError
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.render import render
from pcc.io.atomic import write_text_atomic
from pcc.io.cameras import Camera, orbit_cameras_for_points
from pcc.metrics.image import psnr, ssim

FORMATS = ("npz", "pcc")


# --------------------------------------------------------------------------- VQ stages
def keep_threshold(importance: torch.Tensor, cfg: VQConfig) -> float:
    """The sensitivity above which a Gaussian keeps its exact features.

    ``cfg.keep_threshold`` if set (c3dgs's absolute "include" value); otherwise the value that
    keeps the ``cfg.keep_fraction`` most sensitive Gaussians; ``inf`` (keep none) if neither.
    """
    if cfg.keep_threshold is not None:
        return float(cfg.keep_threshold)
    n = importance.numel()
    if cfg.keep_fraction is None or n == 0 or cfg.keep_fraction <= 0:
        return math.inf
    n_keep = min(n, int(round(cfg.keep_fraction * n)))
    if n_keep == 0:
        return math.inf
    if n_keep >= n:
        return -math.inf
    return float(torch.sort(importance, descending=True).values[n_keep])


def codebook_size(n: int, cfg: VQConfig) -> int:
    """``cfg.k``, or with ``cfg.k_per_gaussians`` the power of two nearest ``n / ratio`` in
    ``[64, cfg.k]``."""
    if cfg.k_per_gaussians is None:
        return cfg.k
    target = max(n / cfg.k_per_gaussians, 1.0)
    return int(min(cfg.k, max(64, 2 ** round(math.log2(target)))))


def _vq(cfg: VQConfig, seed: int, n: int, normalize=None) -> VectorQuantizer:
    return VectorQuantizer(
        k=codebook_size(n, cfg),
        steps=cfg.steps,
        batch_size=cfg.batch_size,
        decay=cfg.decay,
        init=cfg.init,
        reseed_dead=cfg.reseed_dead,
        legacy_update=cfg.legacy_update,
        final_lloyd=cfg.final_lloyd,
        normalize=normalize,
        seed=seed,
    )


def _bar(desc: str, total: int, progress: bool):
    bar = tqdm(total=total, desc=desc, disable=not progress, leave=False)

    def update(step: int, err: float) -> None:
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(mse=f"{err:.3g}")
        if step == total:
            bar.close()

    return update


@dataclass
class VQStage:
    """Outcome of one VQ stage: the joined table, indices, keep mask, the fitted quantizer."""

    table: torch.Tensor  # [K' + n_keep, D]
    indices: torch.Tensor  # [N] int64
    keep_mask: torch.Tensor  # [N] bool
    threshold: float
    quantizer: VectorQuantizer


def quantize_colors(
    model: GaussianModel, importance: torch.Tensor, cfg: VQConfig, seed: int = 0, progress=True
) -> VQStage:
    """Colour VQ of c3dgs: the whole SH block (48-d at degree 3), weighted by colour importance."""
    thr = keep_threshold(importance, cfg)
    vq = _vq(cfg, seed, len(model))
    table, idx, keep = quantize_features(
        color_features(model).detach(), importance, thr, vq, _bar("colour VQ", cfg.steps, progress)
    )
    return VQStage(table, idx, keep, thr, vq)


def quantize_shapes(
    model: GaussianModel, importance: torch.Tensor, cfg: VQConfig, seed: int = 0, progress=True
) -> VQStage:
    """Shape VQ of c3dgs: trace-normalised covariances (6-d), centroids re-normalised each step."""
    thr = keep_threshold(importance, cfg)
    vq = _vq(cfg, seed + 1, len(model), normalize=normalize_trace)
    sigma_n, _ = shape_features(model)
    table, idx, keep = quantize_features(
        sigma_n.detach(), importance, thr, vq, _bar("shape VQ", cfg.steps, progress)
    )
    return VQStage(table, idx, keep, thr, vq)


def build_indexed(model: GaussianModel, colors: VQStage, shapes: VQStage) -> IndexedGaussians:
    """The indexed model: shape table rows converted back to rotation + unit scale (c3dgs a.6)."""
    quats, scales = covariance_to_rotation_scale(shapes.table)
    _, log_mag = shape_features(model)
    return IndexedGaussians(
        means=model.means.detach().clone(),
        opacity_logits=model.opacity_logits.detach().clone(),
        log_magnitude=log_mag.detach(),
        color_table=color_features_to_sh(colors.table, model.sh_degree).clone(),
        color_indices=colors.indices,
        scale_table=scales,
        rotation_table=quats,
        shape_indices=shapes.indices,
    )


# --------------------------------------------------------------------------- the pipeline
@dataclass
class CompressionResult:
    """Everything :func:`compress` produced (for notebooks) and the final quantised model."""

    quantized: QuantizedGaussians
    sensitivity: Sensitivity
    prune_mask: torch.Tensor  # [N_in] bool: kept by sensitivity pruning
    density: DensityPruneResult | None  # over the sensitivity-kept Gaussians
    keep_mask: torch.Tensor  # [N_in] bool: kept by both prunings
    colors: VQStage
    shapes: VQStage
    indexed_before_finetune: IndexedGaussians
    indexed: IndexedGaussians
    timings: dict[str, float] = field(default_factory=dict)
    finetune_applied: bool = False  # False: skipped, or undone by the guard

    def to_gaussian_model(self) -> GaussianModel:
        return self.quantized.to_gaussian_model()


def compress(
    model: GaussianModel,
    train_cameras: Sequence[Camera],
    config: C3dgsConfig | None = None,
    *,
    progress: bool = True,
    loss_callback: Callable[[int, float], None] | None = None,
    render_every: int = 0,
    render_camera: Camera | None = None,
    render_callback: Callable[[int, torch.Tensor], None] | None = None,
    sensitivity: Sensitivity | None = None,
) -> CompressionResult:
    """Run the c3dgs pipeline on ``model`` with ``train_cameras`` (images needed for fine-tuning).

    Steps (each timed in ``result.timings`` seconds): ``sensitivity`` (skipped when a
    precomputed ``sensitivity`` of this model and these cameras is passed), ``prune``,
    ``color_vq``, ``shape_vq``, ``finetune`` (skipped when ``config.finetune.iterations == 0``),
    ``quantize``.
    """
    cfg = config or get_preset("default")
    torch.manual_seed(cfg.seed)
    timings: dict[str, float] = {}
    if len(model) == 0:
        raise ValueError("cannot compress an empty scene")

    sens = sensitivity
    if sens is None:
        t = time.perf_counter()
        # black background whatever the scene's, as c3dgs's calc_importance
        sens = compute_sensitivity(model, train_cameras, progress=progress)
        timings["sensitivity"] = time.perf_counter() - t
    elif sens.color.shape[0] != len(model):
        raise ValueError(f"sensitivity of {sens.color.shape[0]} Gaussians for {len(model)}")

    t = time.perf_counter()
    prune_mask = sensitivity_prune_mask(sens.color_importance, cfg.prune_threshold)
    if not bool(prune_mask.any()):
        raise ValueError("pruning removed every Gaussian: no Gaussian is seen by any camera")
    keep = prune_mask.clone()
    density = None
    if cfg.density_prune:
        density = density_prune_mask(
            model.means[prune_mask], cfg.density_radius, cfg.density_std_factor
        )
        keep[torch.nonzero(prune_mask).flatten()[~density.keep]] = False
    pruned = model.detach().mask(keep)
    sens_kept = sens.mask(keep)
    timings["prune"] = time.perf_counter() - t

    t = time.perf_counter()
    colors = quantize_colors(pruned, sens_kept.color_importance, cfg.color, cfg.seed, progress)
    timings["color_vq"] = time.perf_counter() - t
    t = time.perf_counter()
    shapes = quantize_shapes(pruned, sens_kept.shape_importance, cfg.shape, cfg.seed, progress)
    timings["shape_vq"] = time.perf_counter() - t

    indexed0 = build_indexed(pruned, colors, shapes)
    indexed = indexed0
    if cfg.finetune.iterations > 0:
        t = time.perf_counter()
        indexed = finetune(
            indexed0,
            train_cameras,
            cfg.finetune,
            progress=progress,
            loss_callback=loss_callback,
            render_every=render_every,
            render_camera=render_camera,
            render_callback=render_callback,
        )
        timings["finetune"] = time.perf_counter() - t
        if cfg.finetune_guard:
            t = time.perf_counter()
            views = list(train_cameras)[:: max(1, len(train_cameras) // cfg.guard_views)]
            views = views[: cfg.guard_views]
            bg = cfg.finetune.background
            before = training_loss(finalize(indexed0, False).to_gaussian_model(), views, bg)
            after = training_loss(finalize(indexed, False).to_gaussian_model(), views, bg)
            timings["finetune_guard"] = time.perf_counter() - t
            if after > before:
                indexed = indexed0
    t = time.perf_counter()
    q = finalize(indexed, sort_morton=cfg.sort_morton)
    timings["quantize"] = time.perf_counter() - t
    return CompressionResult(
        quantized=q,
        sensitivity=sens,
        prune_mask=prune_mask,
        density=density,
        keep_mask=keep,
        colors=colors,
        shapes=shapes,
        indexed_before_finetune=indexed0,
        indexed=indexed,
        timings=timings,
        finetune_applied=indexed is not indexed0,
    )


def rate_distortion_sweep(
    model: GaussianModel,
    train_cameras: Sequence[Camera],
    test_cameras: Sequence[Camera],
    codebook_sizes: Sequence[int],
    config: C3dgsConfig | None = None,
    *,
    input_bytes: int | None = None,
    progress: bool = False,
) -> list[dict]:
    """Compress with every codebook size (colour and shape alike); one row per size.

    The sensitivity is computed once and shared. Each row holds ``k``, the real sizes of both
    formats (written to a temporary folder), the ratios against ``input_bytes`` when given,
    ``psnr``/``ssim`` on ``test_cameras`` and the compression time.
    """
    import tempfile

    cfg = config or get_preset("default")
    bg = cfg.finetune.background
    sens = compute_sensitivity(model, train_cameras, progress=progress)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in codebook_sizes:
            c = replace(cfg, color=replace(cfg.color, k=k), shape=replace(cfg.shape, k=k))
            t = time.perf_counter()
            res = compress(model, train_cameras, c, progress=progress, sensitivity=sens)
            secs = time.perf_counter() - t
            ev = evaluate(res.to_gaussian_model(), test_cameras, bg)
            row = {"k": k, "n_gaussians": len(res.quantized), "seconds": round(secs, 2)}
            for fmt in FORMATS:
                row[f"{fmt}_bytes"] = save_compressed(res.quantized, Path(tmp) / f"m.{fmt}", fmt)
                if input_bytes:
                    row[f"{fmt}_ratio"] = input_bytes / row[f"{fmt}_bytes"]
            row.update(psnr=ev["psnr"], ssim=ev["ssim"])
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- files
def default_filename(fmt: str) -> str:
    """``point_cloud.npz`` (c3dgs) or ``point_cloud.pcc3dgs`` (ours)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
    return "point_cloud.npz" if fmt == "npz" else f"point_cloud{SUFFIX}"


def save_compressed(q: QuantizedGaussians, path: str | os.PathLike, fmt: str) -> int:
    """Write ``q`` as ``fmt`` (``"npz"`` or ``"pcc"``); returns the size in bytes."""
    if fmt == "npz":
        return save_npz(q, path)
    if fmt == "pcc":
        return save_pcc(q, path)
    raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")


def load_compressed(path: str | os.PathLike) -> QuantizedGaussians:
    """Read either format, recognised by its first bytes (zip for npz, ``PCCGS`` for ours)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(5)
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    if head == MAGIC:
        return load_pcc(path)
    if head[:2] == b"PK":
        return load_npz(path)
    raise FormatError(path, "neither a c3dgs .npz nor a .pcc3dgs file")


def load_any_model(path: str | os.PathLike) -> GaussianModel:
    """A renderable model from a model dir, a ``.ply``, a c3dgs ``.npz`` or a ``.pcc3dgs``."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in (".npz", SUFFIX):
        return load_compressed(path).to_gaussian_model()
    from pcc.io.inria_model import load_model

    return load_model(path)


# --------------------------------------------------------------------------- evaluation
@torch.no_grad()
def training_loss(model: GaussianModel, cameras: Sequence[Camera], background, lambda_dssim=0.2):
    """Mean fine-tuning loss ``0.8 L1 + 0.2 (1 - SSIM)`` of ``model`` over ``cameras``."""
    from pcc.c3dgs.finetune import photometric_loss

    total = 0.0
    for cam in cameras:
        img = render(model, cam, background=background).image
        total += float(photometric_loss(img, cam.image.to(img.dtype), lambda_dssim))
    return total / max(len(cameras), 1)


@torch.no_grad()
def evaluate(
    model: GaussianModel, cameras: Sequence[Camera], background=(0.0, 0.0, 0.0)
) -> dict[str, float]:
    """Mean PSNR and SSIM over ``cameras`` (each with ``.image``), as c3dgs's render_and_eval."""
    ps, ss = [], []
    for cam in cameras:
        if cam.image is None:
            raise ValueError(f"camera {cam.name!r} has no target image")
        img = render(model, cam, background=background).image.clamp(0.0, 1.0)
        gt = cam.image.to(img.dtype)
        ps.append(float(psnr(img, gt)))
        ss.append(float(ssim(img, gt)))
    return {"psnr": sum(ps) / len(ps), "ssim": sum(ss) / len(ss), "n_views": len(ps)}


@torch.no_grad()
def with_rendered_targets(
    model: GaussianModel, cameras: Sequence[Camera], background=(0.0, 0.0, 0.0)
) -> list[Camera]:
    """Copies of ``cameras`` whose target images are renders of ``model`` (clamped to [0, 1])."""
    return [
        replace(c, image=render(model, c, background=background).image.clamp(0.0, 1.0), alpha=None)
        for c in cameras
    ]


def _downscale(cameras: Sequence[Camera], max_width: int) -> list[Camera]:
    out = []
    for c in cameras:
        if c.width > max_width:
            img = c.image
            small = c.scaled(max_width / c.width)
            if img is not None:
                x = img.permute(2, 0, 1)[None]
                x = torch.nn.functional.interpolate(
                    x, size=(small.height, small.width), mode="area"
                )
                small = replace(small, image=x[0].permute(1, 2, 0).contiguous())
            out.append(small)
        else:
            out.append(c)
    return out


def scene_cameras(
    model: GaussianModel,
    input_path: str | os.PathLike,
    data_dir: str | os.PathLike | None,
    cfg: C3dgsConfig,
    background=(0.0, 0.0, 0.0),
) -> tuple[list[Camera], list[Camera], str]:
    """Train and test cameras with target images, and where the targets come from.

    * ``data_dir`` given: the dataset's train and test splits (:func:`pcc.io.datasets.load_dataset`),
      downscaled to ``cfg.max_image_width``; targets are the real images (``"dataset"``).
    * else a ``cameras.json`` next to the model: its views (every 8th for testing), targets
      rendered from the uncompressed model (``"uncompressed-renders"``).
    * else orbit cameras around the scene (train and test on different elevations/azimuths),
      targets rendered from the uncompressed model.
    """
    if data_dir is not None:
        from pcc.io.datasets import load_dataset

        train = load_dataset(data_dir, "train", background=background)
        test = load_dataset(data_dir, "test", background=background)
        return (
            _downscale(train, cfg.max_image_width),
            _downscale(test, cfg.max_image_width),
            "dataset",
        )
    input_path = Path(input_path)
    cams_json = input_path / "cameras.json" if input_path.is_dir() else None
    if cams_json is not None and cams_json.is_file():
        from pcc.io.inria_model import read_cameras_json

        cams = _downscale(read_cameras_json(cams_json), cfg.max_image_width)
        test = cams[::8]
        train = [c for i, c in enumerate(cams) if i % 8] or cams
        return (
            with_rendered_targets(model, train, background),
            with_rendered_targets(model, test, background),
            "uncompressed-renders",
        )
    pts = model.means.detach().numpy()
    w, h = cfg.orbit_width, cfg.orbit_height
    train = orbit_cameras_for_points(pts, cfg.orbit_views_train // 2, w, h, elevation_deg=15.0)
    train += orbit_cameras_for_points(
        pts, cfg.orbit_views_train - len(train), w, h, elevation_deg=40.0
    )
    test = orbit_cameras_for_points(pts, cfg.orbit_views_test, w, h, elevation_deg=27.5)
    # rotate the test orbit by half a step so no test view coincides with a training view
    from pcc.io.cameras import orbit_cameras, scene_bounds

    lo, hi = scene_bounds(pts)
    center = (lo + hi) / 2.0
    dist = float(((test[0].center - center) ** 2).sum() ** 0.5)
    test = orbit_cameras(
        center,
        dist,
        cfg.orbit_views_test,
        w,
        h,
        elevation_deg=27.5,
        start_azimuth_deg=180.0 / cfg.orbit_views_test,
    )
    for i, c in enumerate(test):
        c.name = f"orbit_test_{i:03d}"
    return (
        with_rendered_targets(model, train, background),
        with_rendered_targets(model, test, background),
        "uncompressed-renders",
    )


def input_size(input_path: str | os.PathLike) -> tuple[int, Path]:
    """Bytes of the input PLY (the model directory's latest iteration, or the file itself)."""
    p = Path(input_path)
    if p.is_dir():
        from pcc.io.inria_model import find_model_ply

        p = find_model_ply(p)
    return p.stat().st_size, p


def _background_for(input_path: Path, white: bool | None) -> tuple[float, float, float]:
    if white is None:
        cfg_path = input_path / "cfg_args" if input_path.is_dir() else None
        white = False
        if cfg_path is not None and cfg_path.is_file():
            from pcc.io.inria_model import read_cfg_args

            white = bool(read_cfg_args(cfg_path).get("white_background", False))
    return (1.0, 1.0, 1.0) if white else (0.0, 0.0, 0.0)


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def run(
    input_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    preset: str = "default",
    fmt: str = "npz",
    config: C3dgsConfig | None = None,
    white_background: bool | None = None,
    progress: bool = True,
) -> dict:
    """``pcc gs compress``: load, choose cameras, compress, write the file and ``metrics.json``.

    Returns the metrics dict (also written to ``out_dir/metrics.json``): ``input_bytes``,
    ``compressed_bytes`` (size on disk), ``ratio = input_bytes / compressed_bytes``, ``format``,
    ``n_gaussians_before/after``, ``psnr_before/after`` and ``ssim_before/after`` on the test views
    (``*_before`` is null when the targets are renders of the uncompressed model itself), sizes in
    MB and MiB, and ``timings_s`` per step.
    """
    from pcc.io.inria_model import load_model

    t_total = time.perf_counter()
    input_path, out_dir = Path(input_path), Path(out_dir)
    cfg = config or get_preset(preset)
    bg = _background_for(input_path, white_background)
    cfg = replace(cfg, finetune=replace(cfg.finetune, background=bg))
    timings: dict[str, float] = {}
    t = time.perf_counter()
    model = load_model(input_path)
    in_bytes, ply_path = input_size(input_path)
    timings["load"] = time.perf_counter() - t
    t = time.perf_counter()
    train, test, target_source = scene_cameras(model, input_path, data_dir, cfg, bg)
    timings["cameras"] = time.perf_counter() - t
    t = time.perf_counter()
    before = evaluate(model, test, bg)
    timings["eval_before"] = time.perf_counter() - t

    result = compress(model, train, cfg, progress=progress)
    timings.update(result.timings)
    t = time.perf_counter()
    path = out_dir / default_filename(fmt)
    save_compressed(result.quantized, path, fmt)
    timings["encode"] = time.perf_counter() - t
    t = time.perf_counter()
    decoded = load_compressed(path)
    if not decoded.equal(result.quantized):
        raise RuntimeError(f"{path}: decoded model differs from the in-memory compressed model")
    timings["decode"] = time.perf_counter() - t
    t = time.perf_counter()
    after = evaluate(decoded.to_gaussian_model(), test, bg)
    timings["eval_after"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t_total

    size = path.stat().st_size
    metrics = {
        "input": str(ply_path),
        "output": str(path),
        "format": fmt,
        "preset": preset if config is None else "custom",
        "input_bytes": in_bytes,
        "compressed_bytes": size,
        "ratio": in_bytes / size,
        "compressed_mb": size / 1e6,
        "compressed_mib": size / 2**20,
        "input_mb": in_bytes / 1e6,
        "bytes_per_gaussian": size / max(len(decoded), 1),
        "n_gaussians_before": len(model),
        "n_gaussians_after": len(decoded),
        "codebook_color": int(
            result.colors.quantizer.k if result.colors.quantizer.centroids is not None else 0
        ),
        "codebook_shape": int(
            result.shapes.quantizer.k if result.shapes.quantizer.centroids is not None else 0
        ),
        "table_rows_color": int(decoded.color_dc.shape[0]),
        "table_rows_shape": int(decoded.scale_dir.shape[0]),
        "kept_exact_color": int(result.colors.keep_mask.sum()),
        "kept_exact_shape": int(result.shapes.keep_mask.sum()),
        "finetune_applied": result.finetune_applied,
        "psnr_before": _finite_or_none(before["psnr"]),
        "psnr_after": after["psnr"],
        "ssim_before": before["ssim"],
        "ssim_after": after["ssim"],
        "test_views": after["n_views"],
        "train_views": len(train),
        "targets": target_source,
        "background": list(bg),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    write_text_atomic(out_dir / "metrics.json", json.dumps(metrics, indent=2))
    return metrics
