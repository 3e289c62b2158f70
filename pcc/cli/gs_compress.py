"""``pcc gs compress``: compress a 3DGS scene with the c3dgs pipeline (CPU).

INPUT is an INRIA model directory or a 3DGS ``.ply``. Cameras: ``--data`` (a NeRF-synthetic or
COLMAP dataset; targets are its images), else the dataset named by the model directory's
``cfg_args`` (``source_path``) if it exists, else the model directory's ``cameras.json``, else orbit
cameras around the scene; without a dataset the targets are renders of the uncompressed model.
The command prints which targets it used.

Every knob of :class:`~pcc.c3dgs.presets.C3dgsConfig` can be set on top of ``--preset``: from a
YAML file (``--config FILE.yaml``, flat dotted names or nested ``color: {k: 2048}``) and/or with
repeated ``--set NAME=VALUE`` (applied after the file). Names are those of the notebooks'
``parameters`` cells: ``color.k`` (or ``color_k``), ``shape.keep_fraction``,
``finetune.iterations``, ``prune_threshold``, ``density_prune``, ... ``--set help=1`` lists them.
Writes ``OUT_DIR/point_cloud.npz`` (c3dgs layout) or ``OUT_DIR/point_cloud.pcc3dgs`` (our
entropy-coded format) and ``OUT_DIR/metrics.json``.

Example::

    pcc gs compress input_models/still_life/model --data input_models/still_life/dataset \\
        --out output/c3dgs --preset default --format pcc --json
    pcc gs compress input_models/still_life/model --out output/c3dgs-k256 \
        --set color.k=256 --set shape.k=256 --set finetune.iterations=100

Taught in ``notebooks/06_whole_pipeline.ipynb``.
"""

from __future__ import annotations

import json
import sys

import torch

from pcc.c3dgs.pipeline import FORMATS
from pcc.c3dgs.presets import PRESETS


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compress",
        help="compress a 3DGS model with c3dgs (sensitivity, pruning, VQ, fine-tuning, storage)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("input", help="INRIA model directory or a 3DGS .ply file")
    p.add_argument("--out", required=True, help="output folder (file + metrics.json)")
    p.add_argument("--data", help="dataset folder (NeRF-synthetic or COLMAP) with training images")
    p.add_argument("--preset", choices=sorted(PRESETS), default="default", help="(default)")
    p.add_argument("--format", choices=FORMATS, default="npz", help="npz (c3dgs) or pcc (ours)")
    p.add_argument(
        "--config", metavar="FILE.yaml", help="YAML file of configuration overrides (on the preset)"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one knob, e.g. color.k=2048 or finetune.iterations=100 (repeatable)",
    )
    bg = p.add_mutually_exclusive_group()
    bg.add_argument("--white-background", dest="white", action="store_true", default=None)
    bg.add_argument("--black-background", dest="white", action="store_false")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(func=main)


def build_config(preset: str, config_file: str | None, overrides: list[str]):
    """The preset with the file's and the ``--set`` overrides applied (ConfigError if bad)."""
    from pcc.c3dgs.presets import (
        ConfigError,
        apply_overrides,
        config_names,
        get_preset,
        load_config_file,
        parse_set,
    )

    if any(o.split("=", 1)[0].strip() == "help" for o in overrides):
        names = config_names(get_preset(preset))
        raise ConfigError(
            "configuration names (preset values): "
            + ", ".join(f"{k}={v}" for k, v in sorted(names.items()))
        )
    values: dict[str, object] = {}
    if config_file:
        values.update(load_config_file(config_file))
    values.update(parse_set(overrides))
    cfg = get_preset(preset)
    if not values:
        return cfg, False
    try:
        return apply_overrides(cfg, values), True
    except ConfigError as err:
        where = f" (from {config_file})" if config_file else ""
        raise ConfigError(f"{err}{where}") from None


def main(args) -> int:
    from pcc.c3dgs.pipeline import run

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg, custom = build_config(args.preset, args.config, args.overrides)
    metrics = run(
        args.input,
        args.out,
        data_dir=args.data,
        preset=args.preset,
        fmt=args.format,
        config=cfg if custom else None,
        white_background=args.white,
        progress=False if args.no_progress else None,
    )
    if args.json:
        print(f"targets: {_describe_targets(metrics)}", file=sys.stderr)
        print(json.dumps(metrics))
    else:
        print(f"targets: {_describe_targets(metrics)}")
        psnr_after = metrics["psnr_after"]
        print(
            f"{metrics['output']}: {metrics['compressed_bytes']} bytes, ratio "
            f"{metrics['ratio']:.1f}x, {metrics['n_gaussians_before']} -> "
            f"{metrics['n_gaussians_after']} Gaussians, test PSNR {psnr_after:.2f} dB"
        )
    return 0


def _describe_targets(metrics: dict) -> str:
    if metrics.get("targets_dataset"):
        how = " (named by the model's cfg_args)" if metrics.get("targets_from_cfg_args") else ""
        return f"images of the dataset {metrics['targets_dataset']}{how}"
    return "renders of the uncompressed model (no dataset given or found)"
