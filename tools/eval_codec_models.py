"""Evaluate the bundled learned-codec models: the numbers of input_models/codec/README.md.

    .venv/bin/python tools/eval_codec_models.py [--out output/codec/results.json] [--sections bunny,six,others]

1. The hyperprior ladder on the canonical bunny: every bundled ``hyperprior-l*`` model at
   position quantisation steps 1 and 2, and the two lowest-rate ones also at step 4. The RD curve
   is the Pareto front of those operating points (the encoder picks, per rate, the best model and
   step of the ladder); BD-rate / BD-PSNR against the G-PCC v23 octree and trisoup anchors.
2. The six entropy models at lambda 0.1 (same transforms and recipe), with the bits each saves
   against the hyperprior curve *at equal D1* (:func:`pcc.codec.evaluate.bit_savings`).
3. The attention ladder: every bundled ``attention-l*`` model (each trained on top of the
   ``hyperprior`` of the same lambda, whose reconstruction it shares) on the same ladder of
   steps; its Pareto front against the G-PCC anchors and against the hyperprior front.
4. A ModelNet mesh and a KITTI frame (when ../shared/data has them) with the hyperprior ladder.

Needs ../shared/data (the bunny mesh). One torch thread (the numbers in the README were timed
so). Writes the JSON and prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch

from pcc.codec.evaluate import bd_summary, bit_savings, evaluate_point
from pcc.codec.registry import list_models
from pcc.io.atomic import write_text_atomic
from pcc.metrics.rate import pareto_front
from pcc.pointcloud.canonical import (
    BUNNY_ANCHORS,
    canonical_bunny,
    canonical_kitti,
    canonical_modelnet,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "point_clouds"


def pareto(rows: list[dict], metric: str = "d1_psnr") -> list[dict]:
    """The Pareto front of ``rows`` (every row counts, as the published numbers were made)."""
    return pareto_front(rows, metric, finite_only=False)


def lmbda(name: str) -> float:
    match = re.search(r"-l([0-9.]+)$", name)
    return float(match.group(1)) if match else float("nan")


def ladder(hyper: list[str]) -> list[tuple[str, float]]:
    """Every model at steps 1 and 2; the two lowest-rate models also at step 4."""
    by_rate = sorted(hyper, key=lmbda)  # small lambda = high rate
    points = [(m, step) for step in (1.0, 2.0) for m in by_rate]
    return points + [(m, 4.0) for m in by_rate[-2:]]


def run_ladder(coords, points, peak=None, label=""):
    rows = []
    for model, step in points:
        row = evaluate_point(coords, model, quant_step=step, peak=peak)
        row["point"] = f"{model}@{step:g}"
        rows.append(row)
        print(
            f"{label} {row['point']:<24} {row['bpp']:.4f} bpp  D1 {row['d1_psnr']:.2f}  "
            f"D2 {row['d2_psnr']:.2f}  enc {row['encode_s']:.1f} s  dec {row['decode_s']:.1f} s",
            flush=True,
        )
    return sorted(rows, key=lambda r: r["bpp"])


def table(rows: list[dict], extra: str | None = None) -> str:
    head = "| point | bpp (file) | bpp est. | D1 dB | D2 dB | enc s | dec s |"
    sep = "|---|---|---|---|---|---|---|"
    if extra:
        head += f" {extra} |"
        sep += "---|"
    lines = [head, sep]
    for r in rows:
        line = (
            f"| {r['point']} | {r['bpp']:.4f} | {r['estimated_bpp']:.4f} | {r['d1_psnr']:.2f} | "
            f"{r['d2_psnr']:.2f} | {r['encode_s']:.1f} | {r['decode_s']:.1f} |"
        )
        if extra:
            value = r.get(extra)
            line += " n/a |" if value is None else f" {100 * value:+.1f} % |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="output/codec/results.json")
    parser.add_argument(
        "--sections",
        default="bunny,six,attention,others",
        help="comma-separated: bunny, six, attention, others",
    )
    parser.add_argument(
        "--bunny-json", default=None, help="reuse the bunny ladder of an earlier run's JSON"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    models = list_models()
    hyper = [m.name for m in models if m.entropy_model == "hyperprior"]
    result: dict = {"threads": 1}

    sections = set(args.sections.split(","))
    bunny = canonical_bunny()
    front: list[dict] = []
    if sections & {"bunny", "six", "attention"}:
        if args.bunny_json:
            rows = json.loads(Path(args.bunny_json).read_text())["bunny"]["rows"]
        else:
            rows = run_ladder(bunny, ladder(hyper), label="bunny")
        front = pareto(rows)
        step1 = [r for r in rows if r["quant_step"] == 1.0]
        result["bunny"] = {
            "rows": rows,
            "front": [r["point"] for r in front],
            "bd_front": bd_summary(front, BUNNY_ANCHORS),
            "bd_step1": bd_summary(pareto(step1), BUNNY_ANCHORS),
        }
        print("\n## Bunny hyperprior ladder\n" + table(rows))
        print("front:", result["bunny"]["front"])
        bd = {"front": result["bunny"]["bd_front"], "step1": result["bunny"]["bd_step1"]}
        print(json.dumps(bd, indent=1))

    if "six" in sections:
        reference = front
        six = []
        for m in models:
            if m.name.endswith("-l0.1"):
                row = evaluate_point(bunny, m.name)
                row["point"] = m.name
                row["savings_vs_hyperprior_curve"] = bit_savings(row, reference)
                six.append(row)
                print(f"six {m.name} {row['bpp']:.4f} {row['d1_psnr']:.2f}", flush=True)
        result["six_models"] = six
        print("\n## Six entropy models at lambda 0.1\n" + table(six, "savings_vs_hyperprior_curve"))

    if "attention" in sections:
        names = [m.name for m in models if m.entropy_model == "attention"]
        rows = run_ladder(bunny, ladder(names), label="attention")
        for row in rows:
            row["savings_vs_hyperprior_curve"] = bit_savings(row, front)
        att_front = pareto(rows)
        hyper_curve = [(r["bpp"], r["d1_psnr"]) for r in front]
        result["attention_ladder"] = {
            "rows": rows,
            "front": [r["point"] for r in att_front],
            "bd_front": bd_summary(att_front, {**BUNNY_ANCHORS, "hyperprior-front": hyper_curve}),
        }
        print("\n## Bunny attention ladder\n" + table(rows, "savings_vs_hyperprior_curve"))
        print("front:", result["attention_ladder"]["front"])
        print(json.dumps(result["attention_ladder"]["bd_front"], indent=1))

    if "others" in sections:
        others = {}
        candidates = sorted(SHARED.parent.glob("**/airplane_0002.off"))
        if candidates:
            mesh = candidates[0]
            coords = canonical_modelnet(mesh, bits=10)
            others["modelnet"] = {
                "file": str(mesh),
                "rows": run_ladder(coords, ladder(hyper), peak=1023, label="modelnet"),
            }
        kitti = sorted(SHARED.glob("**/000008.bin"))
        if kitti:
            coords = canonical_kitti(kitti[0], bits=12)
            others["kitti"] = {
                "file": str(kitti[0]),
                "rows": run_ladder(coords, ladder(hyper), peak=4095, label="kitti"),
            }
        result["others"] = others
        for name, entry in others.items():
            print(f"\n## {name}: {entry['file']}\n" + table(entry["rows"]))

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(Path(args.out), json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
