"""The whole c3dgs pipeline on CPU: sensitivity -> pruning -> colour VQ -> shape VQ -> QAT -> storage.

Order and defaults follow c3dgs (Niedermayr et al., CVPR 2024, ``compress.py``; research brief
a.1-a.10). :func:`compress` returns every intermediate (masks, sensitivities, quantizers) so that
the notebooks ``01_sensitivity`` .. ``06_whole_pipeline`` can plot each step (the steps
themselves are :mod:`pcc.c3dgs.stages`); :func:`run` is what
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

from pcc.c3dgs import presets, stages
from pcc.c3dgs.compressed_model import IndexedGaussians, QuantizedGaussians
from pcc.c3dgs.presets import C3dgsConfig, get_preset
from pcc.c3dgs.prune import DensityPruneResult
from pcc.c3dgs.sensitivity import Sensitivity
from pcc.c3dgs.stages import (  # noqa: F401 - re-exported for callers of the old names
    FinetuneResult,
    PruneResult,
    SensitivityResult,
    VQStage,
    build_indexed,
    codebook_size,
    keep_threshold,
    quantize_colors,
    quantize_shapes,
    training_loss,
)
from pcc.c3dgs.storage_npz import load_npz, save_npz
from pcc.c3dgs.storage_pcc import MAGIC, SUFFIX, load_pcc, save_pcc
from pcc.errors import FormatError
from pcc.gaussians.model import GaussianModel
from pcc.gaussians.render import render
from pcc.io.atomic import write_text_atomic
from pcc.io.cameras import Camera
from pcc.io.scene_views import (
    background_from_cfg_args,
    camera_source,
    dataset_from_cfg_args,  # noqa: F401 - re-exported (its old address)
    load_views,
    orbit_train_test,
)
from pcc.timing import Timings

FORMATS = ("npz", "pcc")


# --------------------------------------------------------------------------- the pipeline
@dataclass
class CompressionResult:
    """Everything :func:`compress` produced (the stage results, for notebooks) and the final model."""

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
    sensitivity_result: SensitivityResult | None = None
    pruning: PruneResult | None = None
    finetuning: FinetuneResult | None = None

    def to_gaussian_model(self) -> GaussianModel:
        return self.quantized.to_gaussian_model()


def compress(
    model: GaussianModel,
    train_cameras: Sequence[Camera],
    config: C3dgsConfig | None = None,
    *,
    progress: bool | None = None,
    loss_callback: Callable[[int, float], None] | None = None,
    render_every: int = 0,
    render_camera: Camera | None = None,
    render_callback: Callable[[int, torch.Tensor], None] | None = None,
    sensitivity: Sensitivity | None = None,
    history_every: int = 0,
) -> CompressionResult:
    """Run the c3dgs pipeline on ``model`` with ``train_cameras`` (images needed for fine-tuning).

    The composition of :mod:`pcc.c3dgs.stages`, each step timed in ``result.timings`` (seconds):
    ``sensitivity`` (skipped when a precomputed ``sensitivity`` of this model and these cameras is
    passed), ``prune``, ``color_vq``, ``shape_vq``, ``finetune`` (with the guard; skipped when
    ``config.finetune.iterations == 0``), ``quantize``.
    """
    cfg = config or get_preset("default")
    torch.manual_seed(cfg.seed)
    timings = Timings()
    if len(model) == 0:
        raise ValueError("cannot compress an empty scene")
    if sensitivity is None:
        with timings("sensitivity"):
            sens = stages.sensitivity(model, train_cameras, cfg, progress=progress)
    else:
        if sensitivity.color.shape[0] != len(model):
            raise ValueError(
                f"sensitivity of {sensitivity.color.shape[0]} Gaussians for {len(model)}"
            )
        sens = stages.describe_sensitivity(sensitivity, cfg, len(train_cameras))
    with timings("prune"):
        pr = stages.prune(model, sens, cfg)
    with timings("color_vq"):
        colors = stages.quantize_colors(
            pr.model,
            pr.sensitivity.color_importance,
            cfg.color,
            cfg.seed,
            progress,
            history_every=history_every,
        )
    with timings("shape_vq"):
        shapes = stages.quantize_shapes(
            pr.model,
            pr.sensitivity.shape_importance,
            cfg.shape,
            cfg.seed,
            progress,
            history_every=history_every,
        )
    indexed0 = stages.build_indexed(pr.model, colors, shapes)
    ft = None
    indexed = indexed0
    if cfg.finetune.iterations > 0:
        with timings("finetune"):
            ft = stages.finetune(
                indexed0,
                train_cameras,
                cfg.finetune,
                guard=cfg.finetune_guard,
                guard_views=cfg.guard_views,
                render_every=render_every,
                render_camera=render_camera,
                progress=progress,
                loss_callback=loss_callback,
                render_callback=render_callback,
                bits=presets.quantization_bits(cfg),
            )
        indexed = ft.indexed
    with timings("quantize"):
        q = stages.quantize(indexed, cfg.sort_morton, config=cfg, cameras=train_cameras)
    density = None
    if pr.density_keep is not None:
        alive = pr.sensitivity_keep
        density = DensityPruneResult(
            pr.density_keep[alive],
            pr.neighbor_counts[alive],
            pr.density_threshold,
            pr.density_radius,
        )
    return CompressionResult(
        quantized=q,
        sensitivity=sens.raw,
        prune_mask=pr.sensitivity_keep,
        density=density,
        keep_mask=pr.keep,
        colors=colors,
        shapes=shapes,
        indexed_before_finetune=indexed0,
        indexed=indexed,
        timings=dict(timings),
        finetune_applied=ft is not None and ft.applied,
        sensitivity_result=sens,
        pruning=pr,
        finetuning=ft,
    )


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
    """A renderable model from a model dir, a ``.ply``, a c3dgs ``.npz`` or a ``.pcc3dgs``, or a
    viewer format (compressed PLY, SPZ, ``.splat``; :func:`pcc.io.splat_formats.load_splat_any`)."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in (".npz", SUFFIX):
        return load_compressed(path).to_gaussian_model()
    from pcc.io.splat_formats import load_splat_any

    return load_splat_any(path)  # INRIA dir/.ply, compressed PLY, SPZ, .splat


# --------------------------------------------------------------------------- evaluation
def evaluate(
    model: GaussianModel, cameras: Sequence[Camera], background=(0.0, 0.0, 0.0)
) -> dict[str, float]:
    """Mean PSNR and SSIM over ``cameras`` (each with ``.image``), as c3dgs's render_and_eval.

    Per-view numbers and images: :func:`pcc.c3dgs.stages.evaluate`.
    """
    v = stages.evaluate_views(model, cameras, background, keep_images=False, progress=False)
    return {"psnr": v.psnr_mean, "ssim": v.ssim_mean, "n_views": len(v.names)}


@torch.no_grad()
def with_rendered_targets(
    model: GaussianModel, cameras: Sequence[Camera], background=(0.0, 0.0, 0.0)
) -> list[Camera]:
    """Copies of ``cameras`` whose target images are renders of ``model`` (clamped to [0, 1])."""
    return [
        replace(c, image=render(model, c, background=background).image.clamp(0.0, 1.0), alpha=None)
        for c in cameras
    ]


def scene_cameras(
    model: GaussianModel,
    input_path: str | os.PathLike,
    data_dir: str | os.PathLike | None,
    cfg: C3dgsConfig,
    background=(0.0, 0.0, 0.0),
) -> tuple[list[Camera], list[Camera], str]:
    """Train and test cameras with target images, and where the targets come from.

    The cameras are chosen by :func:`pcc.io.scene_views.camera_source`:

    * ``data_dir`` given, or the dataset the model directory's ``cfg_args`` names: its train and
      test splits downscaled to ``cfg.max_image_width``; targets are the real images
      (``"dataset"``).
    * else a ``cameras.json`` next to the model: its views (every 8th for testing), targets
      rendered from the uncompressed model (``"uncompressed-renders"``).
    * else orbit cameras around the scene (:func:`pcc.io.scene_views.orbit_train_test`: train
      and test on different elevations/azimuths), targets rendered from the uncompressed model.
    """
    source = camera_source(input_path, data_dir)
    if source.kind != "orbit":
        train, test = (
            load_views(source, split, background=background, max_width=cfg.max_image_width)
            for split in ("train", "test")
        )
        if source.kind == "dataset":
            return train, test, "dataset"
    else:
        train, test = orbit_train_test(
            model.means.detach().numpy(),
            cfg.orbit_views_train,
            cfg.orbit_views_test,
            cfg.orbit_width,
            cfg.orbit_height,
        )
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


#: The scene's background colour (white if ``cfg_args`` says so): the one reader, in ``pcc.io``.
background_for = background_from_cfg_args


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
    progress: bool | None = None,
) -> dict:
    """``pcc gs compress``: load, choose cameras, compress, write the file and ``metrics.json``.

    Returns the metrics dict (also written to ``out_dir/metrics.json``): ``input_bytes``,
    ``compressed_bytes`` (size on disk), ``ratio = input_bytes / compressed_bytes``, ``format``,
    ``n_gaussians_before/after``, ``psnr_before/after`` and ``ssim_before/after`` on the test views
    (``*_before`` is null when the targets are renders of the uncompressed model itself), sizes in
    MB and MiB, and ``timings_s`` per step.
    """
    from pcc.io.splat_formats import load_splat_any as load_model

    t_total = time.perf_counter()
    input_path, out_dir = Path(input_path), Path(out_dir)
    cfg = config or get_preset(preset)
    if fmt == "npz":  # the c3dgs layout stores fp16 positions
        cfg = replace(cfg, position_bits=None, position_min_psnr=None)
    bg = background_for(input_path, white_background)
    cfg = replace(cfg, finetune=replace(cfg.finetune, background=bg))
    timings = Timings()
    with timings("load"):
        model = load_model(input_path)
        in_bytes, ply_path = input_size(input_path)
    source = camera_source(input_path, data_dir)
    data_used = source.path if source.kind == "dataset" else None
    with timings("cameras"):
        train, test, target_source = scene_cameras(model, input_path, data_used, cfg, bg)
    with timings("eval_before"):
        before = evaluate(model, test, bg)

    result = compress(model, train, cfg, progress=progress)
    timings.update(result.timings)
    path = out_dir / default_filename(fmt)
    with timings("encode"):
        stored = stages.store(result.quantized, path, fmt)
    with timings("decode"):
        decoded = load_compressed(path)
        if not decoded.equal(result.quantized):
            raise RuntimeError(f"{path}: decoded model differs from the in-memory compressed model")
    with timings("eval_after"):
        after = evaluate(decoded.to_gaussian_model(), test, bg)
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
        "position_bits": None if decoded.position_grid is None else decoded.position_grid.bits,
        "finetune_applied": result.finetune_applied,
        "psnr_before": _finite_or_none(before["psnr"]),
        "psnr_after": after["psnr"],
        "ssim_before": before["ssim"],
        "ssim_after": after["ssim"],
        "test_views": after["n_views"],
        "train_views": len(train),
        "targets": target_source,
        "targets_dataset": None if data_used is None else str(data_used),
        "targets_from_cfg_args": data_dir is None and data_used is not None,
        "streams_bytes": stored.streams,
        "attributes_bytes": stored.attributes,
        "framing_bytes": stored.framing,
        "config": presets.config_names(cfg),
        "background": list(bg),
        "timings_s": timings.rounded(),
    }
    write_text_atomic(out_dir / "metrics.json", json.dumps(metrics, indent=2))
    return metrics
