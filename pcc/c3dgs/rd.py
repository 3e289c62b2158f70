"""Rate-distortion curves of the c3dgs pipeline: real file sizes against test PSNR.

:func:`rd_curve` compresses one scene once per *point* (a dict of configuration overrides on a
preset, the names of :func:`pcc.c3dgs.presets.config_names`), writes each result in the chosen
format, reads it back, checks that it decodes to the in-memory model and evaluates the test views.
The cameras and the sensitivity are computed once and shared by all points (both depend only on
the scene and the image width). Targets are the dataset's images, or renders of the uncompressed
model for camera-less scenes (orbit views, :func:`pcc.c3dgs.pipeline.scene_cameras`).

:data:`SWEEPS` are the curves reported for issue 15: the codebook size (scene-relative for
``default``, absolute for ``paper``). :func:`storage_curve` is the cheap curve: one compression,
stored at the storage levels :data:`LEVELS` (bits per field, position grid). Regenerate a table
(and its rows as JSON) with::

    python -m pcc.c3dgs.rd input_models/still_life/model --data input_models/still_life/dataset \\
        --preset default --json out.json            # add --storage for storage_curve

Taught in ``notebooks/06_whole_pipeline.ipynb`` (which runs one point of it: the preset).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from pcc.c3dgs import presets
from pcc.c3dgs.pipeline import (
    background_for,
    compress,
    default_filename,
    evaluate,
    input_size,
    load_compressed,
    save_compressed,
    scene_cameras,
)
from pcc.c3dgs.sensitivity import compute_sensitivity
from pcc.io.atomic import write_text_atomic

#: Points of the reported curves, per preset (smallest file first).
SWEEPS: dict[str, list[dict[str, object]]] = {
    "default": [
        {"color.k_per_gaussians": r, "shape.k_per_gaussians": r} for r in (128, 64, 32, 16, 8)
    ],
    "paper": [{"color.k": k, "shape.k": k} for k in (256, 512, 1024, 2048, 4096)],
}


def _row(preset, overrides, size, in_bytes, before, after, decoded, seconds) -> dict:
    """One RD point: real file size against the decoded model's test scores."""
    grid = decoded.position_grid
    return {
        "preset": preset,
        "overrides": overrides,
        "bytes": size,
        "ratio": in_bytes / size,
        "psnr": after["psnr"],
        "psnr_before": None if before is None else before["psnr"],
        "delta_psnr": None if before is None else after["psnr"] - before["psnr"],
        "ssim": after["ssim"],
        "n_gaussians": len(decoded),
        "position_bits": None if grid is None else grid.bits,
        "seconds": round(seconds, 1),
    }


def rd_curve(
    input_path: str | Path,
    preset: str = "default",
    points: Sequence[dict[str, object]] | None = None,
    *,
    data_dir: str | Path | None = None,
    fmt: str = "pcc",
    common: dict[str, object] | None = None,
    white_background: bool | None = None,
    progress: bool | None = False,
    on_row=None,
) -> list[dict]:
    """One row per point: ``overrides``, ``bytes``, ``ratio`` (input PLY / file), ``psnr``,
    ``psnr_before`` (the uncompressed model; None when the targets are its own renders),
    ``delta_psnr`` (None then too), ``ssim``, ``n_gaussians``, ``seconds`` (compression).

    ``points`` default to ``SWEEPS[preset]``; ``common`` overrides are applied to every point
    (e.g. ``{"finetune.iterations": 300}``); ``on_row(row)`` is called as each point finishes.
    """
    input_path = Path(input_path)
    points = SWEEPS[preset] if points is None else list(points)
    from pcc.io.splat_formats import load_splat_any

    model = load_splat_any(input_path)
    in_bytes, _ = input_size(input_path)
    bg = background_for(input_path, white_background)
    shared: dict[int, tuple] = {}  # image width -> (train, test, source, before, sensitivity)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, point in enumerate(points):
            overrides = {**(common or {}), **point}
            cfg = presets.apply_overrides(presets.get_preset(preset), overrides)
            if fmt == "npz":
                cfg = replace(cfg, position_bits=None, position_min_psnr=None)
            cfg = replace(cfg, finetune=replace(cfg.finetune, background=bg))
            if cfg.max_image_width not in shared:
                train, test, source = scene_cameras(model, input_path, data_dir, cfg, bg)
                before = evaluate(model, test, bg) if source == "dataset" else None
                sens = compute_sensitivity(model, train, progress=progress)
                shared[cfg.max_image_width] = (train, test, before, sens)
            train, test, before, sens = shared[cfg.max_image_width]
            t = time.perf_counter()
            res = compress(model, train, cfg, progress=progress, sensitivity=sens)
            seconds = time.perf_counter() - t
            path = Path(tmp) / f"{i}_{default_filename(fmt)}"
            size = save_compressed(res.quantized, path, fmt)
            decoded = load_compressed(path)
            if not decoded.equal(res.quantized):
                raise RuntimeError(f"{path}: decoded model differs from the compressed model")
            after = evaluate(decoded.to_gaussian_model(), test, bg)
            rows.append(_row(preset, overrides, size, in_bytes, before, after, decoded, seconds))
            if on_row is not None:
                on_row(rows[-1])
    return rows


#: Storage levels of :func:`storage_curve` (coarsest first); the third is the ``default`` preset's.
LEVELS: list[dict[str, object]] = [
    {
        "bits_opacity": 4,
        "bits_log_magnitude": 5,
        "bits_color_rest": 4,
        "bits_color_dc": 6,
        "bits_rotation": 6,
        "bits_scale_dir": 6,
        "position_bits": 10,
    },
    {
        "bits_opacity": 5,
        "bits_log_magnitude": 5,
        "bits_color_rest": 4,
        "bits_color_dc": 7,
        "bits_rotation": 7,
        "bits_scale_dir": 7,
        "position_bits": 11,
    },
    {},
    {"bits_opacity": 6, "bits_log_magnitude": 7, "bits_color_rest": 6, "position_bits": 13},
    {"bits_opacity": 8, "bits_log_magnitude": 8, "bits_color_rest": 8, "position_bits": 14},
    {
        "bits_opacity": 8,
        "bits_log_magnitude": 8,
        "bits_color_rest": 8,
        "position_bits": None,
        "position_min_psnr": None,
    },
]


def storage_curve(
    input_path: str | Path,
    preset: str = "default",
    levels: Sequence[dict[str, object]] | None = None,
    *,
    data_dir: str | Path | None = None,
    common: dict[str, object] | None = None,
    white_background: bool | None = None,
    progress: bool | None = False,
    on_row=None,
) -> list[dict]:
    """Compress once, then store the fine-tuned model at several storage levels.

    The codebooks and the fine-tuning (simulating the preset's levels) are those of one run of
    ``preset`` (+ ``common``); each level (overrides of ``bits_*`` / ``position_*`` only) is then
    quantised, written as ``.pcc3dgs``, decoded and evaluated. Much cheaper than
    :func:`rd_curve` (one fine-tuning instead of one per point), at the price that only the
    preset's own level was fine-tuned for. Rows as :func:`rd_curve`, plus ``attributes``.
    """
    from pcc.c3dgs import stages

    input_path = Path(input_path)
    levels = LEVELS if levels is None else list(levels)
    storage_names = {"position_bits", "position_min_psnr"}
    for level in levels:
        bad = [k for k in level if not (k.startswith("bits_") or k in storage_names)]
        if bad:
            raise presets.ConfigError(f"storage levels may only set bits_* / position_*: {bad}")
    from pcc.io.splat_formats import load_splat_any

    model = load_splat_any(input_path)
    in_bytes, _ = input_size(input_path)
    bg = background_for(input_path, white_background)
    cfg = presets.apply_overrides(presets.get_preset(preset), dict(common or {}))
    cfg = replace(cfg, finetune=replace(cfg.finetune, background=bg))
    train, test, source = scene_cameras(model, input_path, data_dir, cfg, bg)
    before = evaluate(model, test, bg) if source == "dataset" else None
    t = time.perf_counter()
    res = compress(model, train, cfg, progress=progress)
    seconds = time.perf_counter() - t
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, level in enumerate(levels):
            level_cfg = presets.apply_overrides(cfg, level)
            q = stages.quantize(res.indexed, cfg.sort_morton, config=level_cfg, cameras=train)
            stored = stages.store(q, Path(tmp) / f"{i}.pcc3dgs", "pcc")
            decoded = load_compressed(stored.path)
            if not decoded.equal(q):
                raise RuntimeError(f"{stored.path}: decoded model differs from the stored one")
            after = evaluate(decoded.to_gaussian_model(), test, bg)
            rows.append(
                _row(
                    preset,
                    {**(common or {}), **level},
                    stored.file_bytes,
                    in_bytes,
                    before,
                    after,
                    decoded,
                    seconds,
                )
                | {"attributes": stored.attributes}
            )
            if on_row is not None:
                on_row(rows[-1])
    return rows


def format_table(rows: Sequence[dict]) -> str:
    """A markdown table of :func:`rd_curve` rows."""
    lines = [
        "| preset | point | bytes | ratio | test PSNR (dB) | delta (dB) | Gaussians | position bits |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        point = ", ".join(f"{k}={v}" for k, v in r["overrides"].items())
        delta = "-" if r["delta_psnr"] is None else f"{r['delta_psnr']:+.3f}"
        lines.append(
            f"| {r['preset']} | {point} | {r['bytes']:,} | {r['ratio']:.1f}x | "
            f"{r['psnr']:.2f} | {delta} | {r['n_gaussians']:,} | {r['position_bits'] or 'fp16'} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m pcc.c3dgs.rd INPUT [--data DIR] [--preset P] [--set NAME=VALUE] [--json F]``."""
    import torch

    parser = argparse.ArgumentParser(prog="python -m pcc.c3dgs.rd", description=__doc__)
    parser.add_argument("input", help="INRIA model directory or 3DGS .ply")
    parser.add_argument("--data", default=None, help="dataset folder (else orbit views)")
    parser.add_argument("--preset", default="default", choices=sorted(SWEEPS))
    parser.add_argument("--format", default="pcc", choices=("pcc", "npz"))
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument(
        "--storage", action="store_true", help="one compression stored at LEVELS (storage_curve)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    common = presets.parse_set(args.set)
    report = lambda row: print(json.dumps(row), flush=True)  # noqa: E731
    if args.storage:
        rows = storage_curve(
            args.input, args.preset, data_dir=args.data, common=common, on_row=report
        )
    else:
        rows = rd_curve(
            args.input,
            args.preset,
            data_dir=args.data,
            fmt=args.format,
            common=common,
            on_row=report,
        )
    print(format_table(rows))
    if args.json:
        write_text_atomic(args.json, json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
