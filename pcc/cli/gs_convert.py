"""``pcc gs convert``: convert a Gaussian scene between the formats viewers open.

Input: an INRIA model directory or ``.ply``, a PlayCanvas/SuperSplat ``.compressed.ply``, an SPZ
(v2/v3/v4), an antimatter15 ``.splat``, or a c3dgs ``.npz`` / ``.pcc3dgs``. Output, by suffix:
``.ply`` (INRIA), ``.compressed.ply``, ``.spz`` or ``.splat`` (see :mod:`pcc.io.splat_formats`
for what each keeps and loses).

Examples::

    pcc gs convert input_models/still_life/model still_life.spz
    pcc gs convert output/c3dgs/point_cloud.pcc3dgs scene.compressed.ply --json
    pcc gs convert scene.spz scene.ply

Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "convert",
        help="convert a 3DGS scene between INRIA .ply, .compressed.ply, .spz and .splat",
        description=(
            "Convert a Gaussian scene. Input: INRIA model directory or .ply, .compressed.ply, "
            ".spz, .splat, c3dgs .npz or .pcc3dgs. Output format from the suffix of OUT: .ply, "
            ".compressed.ply, .spz or .splat (or --format)."
        ),
    )
    p.add_argument("input", help="scene to read (model directory or file)")
    p.add_argument("output", help="file to write (.ply, .compressed.ply, .spz, .splat)")
    p.add_argument(
        "--format",
        choices=["ply", "compressed-ply", "spz", "splat"],
        help="output format (default: from the output suffix)",
    )
    p.add_argument(
        "--sh-degree", type=int, help="keep SH bands up to this degree (default: all the input has)"
    )
    p.add_argument(
        "--spz-version",
        type=int,
        choices=[2, 3, 4],
        default=3,
        help="SPZ version to write (3: gzip, Niantic's default, read by most SPZ viewers; "
        "4: zstd streams, needed by the PlayCanvas engine's SPZ parser)",
    )
    p.add_argument(
        "--no-sort",
        action="store_true",
        help="compressed PLY: keep the input order instead of sorting along a Morton curve",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=main)


def _input_bytes(path: Path) -> int:
    if path.is_dir():
        from pcc.io.inria_model import find_model_ply

        return find_model_ply(path).stat().st_size
    return path.stat().st_size


def main(args) -> int:
    from pcc.c3dgs.pipeline import load_any_model
    from pcc.errors import FormatError
    from pcc.io.atomic import refuse_same_file
    from pcc.io.splat_formats import format_for_output, save_splat_any

    src, dst = Path(args.input), Path(args.output)
    refuse_same_file(src, dst, "output")
    if src.is_dir():  # a model folder: its point_cloud.ply is the input file
        from pcc.io.inria_model import find_model_ply

        try:
            refuse_same_file(find_model_ply(src), dst, "output")
        except FormatError:
            pass  # no model PLY found: load_any_model reports it below
    try:
        fmt = format_for_output(dst, args.format)
    except ValueError as err:
        raise FormatError(dst, str(err)) from None
    start = time.perf_counter()
    model = load_any_model(src)
    read_s = time.perf_counter() - start
    if args.sh_degree is not None:
        if not 0 <= args.sh_degree <= 3:
            raise FormatError(src, f"--sh-degree {args.sh_degree} is not in 0..3")
        model = model.with_sh_degree(min(args.sh_degree, model.sh_degree))
    options = {}
    if fmt == "spz":
        options["version"] = args.spz_version
    elif fmt == "compressed-ply":
        options["sort"] = not args.no_sort
    start = time.perf_counter()
    save_splat_any(model, dst, fmt=fmt, **options)
    write_s = time.perf_counter() - start
    in_bytes, out_bytes = _input_bytes(src), dst.stat().st_size
    report = {
        "input": str(src),
        "output": str(dst),
        "format": fmt,
        "n_gaussians": len(model),
        "sh_degree": model.sh_degree if fmt in ("ply", "spz", "compressed-ply") else 0,
        "input_bytes": in_bytes,
        "output_bytes": out_bytes,
        "bytes_per_gaussian": out_bytes / len(model),
        "ratio": in_bytes / out_bytes,
        "read_s": round(read_s, 3),
        "write_s": round(write_s, 3),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"{dst}: {fmt}, {len(model)} Gaussians, {out_bytes} bytes "
            f"({report['bytes_per_gaussian']:.1f} B/Gaussian; input {in_bytes} bytes, "
            f"ratio {report['ratio']:.2f}x)"
        )
    return 0
