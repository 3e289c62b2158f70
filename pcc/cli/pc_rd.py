"""``pcc pc rd [INPUT] --point MODEL[@STEP] ... [--json] [--out FILE]``: a learned-codec RD curve.

Every ``--point`` is one operating point: a bundled model name or checkpoint path, optionally
followed by ``@STEP``, a position quantisation step (>= 1; coarser grids for low rates). Each
point is compressed to real bytes, decompressed, checked against the encoder's reconstruction and
measured (bits per input point from the file size, D1/D2 PSNR, encode/decode seconds).

Without INPUT the canonical bunny is used (``../shared/data``) and the curve is compared with the
G-PCC v23 octree and trisoup anchors measured on it (BD-rate, BD-PSNR, PCHIP over the overlap).
Without ``--point`` the bundled hyperprior models are used. Taught in
``notebooks/14_rate_distortion.ipynb``.
"""

from __future__ import annotations

import json
from pathlib import Path

from pcc.errors import FormatError
from pcc.io.atomic import write_text_atomic


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "rd", help="rate-distortion curve of the learned codec", description=__doc__
    )
    p.add_argument(
        "input", nargs="?", default=None, help="cloud or mesh (default: canonical bunny)"
    )
    p.add_argument(
        "--point",
        action="append",
        default=None,
        metavar="MODEL[@STEP]",
        help="operating point (repeat); default: every bundled hyperprior model",
    )
    p.add_argument("--bits", type=int, default=10, help="voxel grid depth for float inputs (10)")
    p.add_argument("--mode", choices=("topk", "rd"), default="topk")
    p.add_argument("--metric", choices=("d1_psnr", "d2_psnr"), default="d1_psnr")
    p.add_argument("--out", default=None, help="also write the rows and BD numbers as JSON here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def parse_point(text: str) -> tuple[str, float]:
    """``"name"`` -> (name, 1.0); ``"name@2"`` -> (name, 2.0)."""
    model, sep, step = text.rpartition("@")
    if not sep:
        return text, 1.0
    try:
        value = float(step)
    except ValueError:
        raise ValueError(f"--point {text!r}: the step after '@' must be a number") from None
    if not value >= 1.0:
        raise ValueError(f"--point {text!r}: the quantisation step must be >= 1")
    return model, value


def run(args) -> int:
    from pcc.codec.evaluate import bd_summary, evaluate_curve
    from pcc.codec.registry import list_models

    if args.input is None:
        from pcc.pointcloud.canonical import BUNNY_ANCHORS, canonical_bunny, default_bunny_path

        coords, anchors, source = canonical_bunny(), BUNNY_ANCHORS, str(default_bunny_path())
    else:
        from pcc.cli.pc_compress import load_voxels

        coords, _, _ = load_voxels(args.input, args.bits)
        anchors, source = {}, str(args.input)
    texts = args.point or [m.name for m in list_models() if m.entropy_model == "hyperprior"]
    if not texts:
        raise FormatError(source, "no operating points: give --point MODEL[@STEP]")
    try:
        points = [parse_point(t) for t in texts]
    except ValueError as err:
        raise FormatError(source, str(err)) from None
    rows = evaluate_curve(coords, points, mode=args.mode)
    for row, text in zip(rows, texts):
        row["point"] = text
    rows.sort(key=lambda r: r["bpp"])
    result = {
        "input": source,
        "n_points": int(len(coords)),
        "metric": args.metric,
        "rows": rows,
        "bd": bd_summary(rows, anchors, args.metric) if anchors else {},
    }
    if args.out:
        write_text_atomic(Path(args.out), json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{source}: {len(coords)} points")
    print(
        f"{'model':<28} {'step':>5} {'bpp':>8} {'D1 dB':>7} {'D2 dB':>7} {'enc s':>6} {'dec s':>6}"
    )
    for r in rows:
        print(
            f"{r['model']:<28} {r['quant_step']:>5g} {r['bpp']:>8.4f} {r['d1_psnr']:>7.2f} "
            f"{r['d2_psnr']:>7.2f} {r['encode_s']:>6.1f} {r['decode_s']:>6.1f}"
        )
    for name, entry in result["bd"].items():
        rate = "n/a" if entry["bd_rate"] is None else f"{entry['bd_rate']:+.1f} %"
        gain = "n/a" if entry["bd_psnr"] is None else f"{entry['bd_psnr']:+.2f} dB"
        print(f"vs {name}: BD-rate {rate}, BD-PSNR {gain}, PSNR overlap {entry['psnr_overlap']}")
    return 0
