"""Every storage format of a scene, measured side by side: bytes, quality, encode/decode time.

For one scene, :func:`format_rows` writes the uncompressed model as an INRIA PLY, a ``.splat``,
a PlayCanvas compressed PLY and an SPZ (v3 and v4), compresses it once with the c3dgs pipeline
(:func:`pcc.c3dgs.pipeline.compress`) and stores that as a c3dgs ``.npz`` and a ``.pcc3dgs``,
then writes the decoded c3dgs model into each viewer format too ("c3dgs -> SPZ", ...). Each file
is read back with pcc's reader and rendered on the scene's test views:

* sizes are real file sizes; ``ratio_vs_ply`` is the INRIA PLY's size over the row's;
* PSNR/SSIM are means over the test views, against the dataset's images when the scene has a
  dataset, else against renders of the uncompressed model (then the INRIA PLY row is exact and
  its PSNR is reported as ``None``);
* encode and decode times are wall seconds of one write and one read in this run (the c3dgs
  rows' encode time is the storage step only, the compression itself is ``compress_s``).

Taught in ``notebooks/05_storage_and_evaluation.ipynb``; printed by ``python -m pcc.bench
formats``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from pcc.c3dgs.pipeline import (
    background_for,
    compress,
    evaluate,
    load_compressed,
    scene_cameras,
)
from pcc.c3dgs.presets import get_preset
from pcc.c3dgs.stages import store
from pcc.gaussians.model import GaussianModel
from pcc.io.cameras import Camera
from pcc.io.images import downscale_cameras
from pcc.io.splat_formats import load_splat_any, save_splat_any

__all__ = ["VIEWER_FORMATS", "viewer_formats", "format_rows", "scene_format_rows"]

# (row name, file suffix, writer options)
VIEWER_FORMATS: list[tuple[str, str, dict]] = [
    ("INRIA PLY", ".ply", {}),
    (".splat", ".splat", {}),
    ("compressed PLY", ".compressed.ply", {}),
    ("SPZ v3", ".spz", {"version": 3}),
    ("SPZ v4", "_v4.spz", {"version": 4}),
]


def viewer_formats() -> list[tuple[str, str, dict]]:
    """:data:`VIEWER_FORMATS` without SPZ v4 when the ``zstandard`` package is missing."""
    import importlib.util

    if importlib.util.find_spec("zstandard") is not None:
        return list(VIEWER_FORMATS)
    print("SPZ v4 rows skipped: the zstandard package is not installed")
    return [f for f in VIEWER_FORMATS if f[2].get("version") != 4]


def _timed(fn: Callable):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _quality(model: GaussianModel, cameras: Sequence[Camera], background) -> dict:
    q = evaluate(model, cameras, background)
    psnr = q["psnr"] if math.isfinite(q["psnr"]) else None
    return {"psnr": psnr, "ssim": q["ssim"]}


def format_rows(
    model: GaussianModel,
    test_cameras: Sequence[Camera],
    out_dir: str | os.PathLike,
    *,
    background=(0.0, 0.0, 0.0),
    compressed_path: str | os.PathLike | None = None,
    compress_s: float | None = None,
    scene: str = "scene",
) -> list[dict]:
    """Rows of the table for ``model`` (and, given ``compressed_path``, its c3dgs compression).

    Args:
        model: the uncompressed scene.
        test_cameras: views with target images (``Camera.image``) for PSNR/SSIM.
        out_dir: where the files are written (kept, so their sizes can be checked).
        compressed_path: a c3dgs ``.npz`` or ``.pcc3dgs`` of ``model``; its decoded model is
            stored in both c3dgs containers and in every viewer format.
        compress_s: seconds the c3dgs compression took (reported on the c3dgs rows).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    ply_bytes = None

    def add(name, pipeline, path, n, encode_s, decode_s, decoded):
        nonlocal ply_bytes
        size = Path(path).stat().st_size
        if ply_bytes is None:
            ply_bytes = size
        row = {
            "scene": scene,
            "pipeline": pipeline,
            "format": name,
            "n_gaussians": n,
            "bytes": size,
            "bytes_per_gaussian": size / n,
            "ratio_vs_ply": ply_bytes / size,
            **_quality(decoded, test_cameras, background),
            "encode_s": encode_s,
            "decode_s": decode_s,
            "compress_s": compress_s if pipeline == "c3dgs" else None,
            "file": str(path),
        }
        rows.append(row)

    formats = viewer_formats()

    def viewer_rows(source: GaussianModel, pipeline: str, prefix: str) -> None:
        for name, suffix, options in formats:
            path = out_dir / f"{prefix}{suffix}"
            _, enc = _timed(lambda: save_splat_any(source, path, **options))  # noqa: B023
            decoded, dec = _timed(lambda: load_splat_any(path))  # noqa: B023
            add(name, pipeline, path, len(decoded), enc, dec, decoded)

    viewer_rows(model, "none", scene)
    if compressed_path is not None:
        q, _ = _timed(lambda: load_compressed(compressed_path))
        for name, fmt, suffix in (("c3dgs npz", "npz", ".npz"), (".pcc3dgs", "pcc", ".pcc3dgs")):
            path = out_dir / f"{scene}_c3dgs{suffix}"
            _, enc = _timed(lambda: store(q, path, fmt))  # noqa: B023
            decoded, dec = _timed(lambda: load_compressed(path).to_gaussian_model())  # noqa: B023
            add(name, "c3dgs", path, len(decoded), enc, dec, decoded)
        dense = q.to_gaussian_model()
        dense = replace(dense, quats=dense.rotations)  # what `pcc gs decompress` writes
        viewer_rows(dense, "c3dgs", f"{scene}_c3dgs")
        for row in rows[-len(formats) :]:
            row["format"] = f"c3dgs -> {row['format']}"
    return rows


def scene_format_rows(
    input_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    preset: str = "default",
    eval_width: int = 200,
    max_views: int | None = None,
    scene: str | None = None,
    progress: bool | None = False,
) -> list[dict]:
    """:func:`format_rows` for a scene on disk, compressing it with c3dgs ``preset`` first.

    Test views: the dataset's test split (``data_dir``, or the one the model's ``cfg_args``
    names) downscaled to ``eval_width``, else orbit views with targets rendered from the
    uncompressed model (:func:`pcc.c3dgs.pipeline.scene_cameras`); at most ``max_views``.
    """
    from pcc.c3dgs.stages import store as store_q

    input_path, out_dir = Path(input_path), Path(out_dir)
    scene = scene or (input_path.stem if input_path.is_file() else input_path.name)
    model = load_splat_any(input_path)
    bg = background_for(input_path)
    cfg = get_preset(preset)
    cfg = replace(cfg, finetune=replace(cfg.finetune, background=bg))
    train, _, _ = scene_cameras(model, input_path, data_dir, cfg, bg)
    eval_cfg = replace(get_preset("default"), max_image_width=eval_width)
    _, test, _ = scene_cameras(model, input_path, data_dir, eval_cfg, bg)
    test = downscale_cameras(test, eval_width)[:max_views]  # orbit views may be wider
    result, compress_s = _timed(lambda: compress(model, train, cfg, progress=progress))
    out_dir.mkdir(parents=True, exist_ok=True)
    compressed = out_dir / f"{scene}_pipeline.pcc3dgs"
    store_q(result.quantized, compressed, "pcc")
    return format_rows(
        model,
        test,
        out_dir,
        background=bg,
        compressed_path=compressed,
        compress_s=compress_s,
        scene=scene,
    )
