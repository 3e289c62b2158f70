"""Regenerate ``docs/results.md`` from measurements: ``python -m pcc.bench.results``
(``make results``).

Nothing in the page is typed by hand: every number comes from a run of the tools below, and the
page says when and on which machine.

1. **Benchmarks** (:mod:`pcc.bench`): for every benchmark module, the newest *full* (not
   ``--quick``) successful result found in ``output/bench-*/`` (``make bench`` writes them);
   benchmarks without one are run now (full size) into a fresh ``output/bench-<timestamp>/``.
   ``--bench DIR`` uses that folder only (and runs what it lacks).
2. **Codec rate-distortion on the canonical bunny**: the step-1 points of every bundled
   ``hyperprior-*`` and ``attention-*`` model come from the compare benchmark's rows for the
   10-bit bunny; the lower-rate points of the ladder (position quantisation step 2 for every
   model, step 4 for the two lowest-rate models, as ``tools/eval_codec_models.py``) are measured
   now with :func:`pcc.codec.evaluate.evaluate_point` (real files, decode checked against the
   encoder). The Pareto front of each ladder gives BD-rate / BD-PSNR against the G-PCC v23
   anchors of :data:`pcc.pointcloud.canonical.BUNNY_ANCHORS` (and the attention front against the
   hyperprior front); the six entropy models at lambda 0.1 are compared with the hyperprior curve
   at equal D1 (:func:`pcc.codec.evaluate.bit_savings`).
3. **c3dgs**: ``pcc gs compress`` on the bundled still-life scene (``input_models/still_life``),
   once per storage format (``--formats pcc,npz``), one torch thread; its ``metrics.json`` fills
   the table (``--c3dgs-from DIR`` reads ``DIR/c3dgs-<format>/metrics.json`` of an earlier run of
   the same command instead; the page then gives that run's command and date).

4. **c3dgs RD curves** (optional, slow: one full compression per point): the rows that
   ``python -m pcc.c3dgs.rd INPUT [--data DIR] --preset P --json FILE`` wrote, one table per
   ``--c3dgs-rd FILE`` (``make results RD="output/rd/default.json output/rd/paper.json"``).
Work files go to ``output/results-<timestamp>/`` (the c3dgs outputs and ``results.json`` with
everything the page shows; ``--render-only results.json`` rewrites the page from it). Measured
2026-12-03 on the 2-core machine shared with ~8 jobs (load average 7-11): the ladder points took
2.5 min, each c3dgs run 9-11 min (~2-3 min of CPU), the full benchmarks 43 min (~9 min of CPU).
So with a full ``make bench`` folder present ``make results`` takes ~7 min on idle cores (~25 min
under that load); without one, the benchmarks run first.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pcc.bench import available
from pcc.bench.runner import fresh_folder, load_run, machine_info, run_benchmarks
from pcc.io.atomic import write_text_atomic
from pcc.metrics.rate import pareto_front

__all__ = [
    "collect_benchmarks",
    "pareto",
    "ladder_points",
    "codec_rd",
    "run_c3dgs",
    "markdown_table",
    "render_page",
    "main",
]

REPO = Path(__file__).resolve().parents[2]
REAL_BUNNY = "bunny (10-bit)"  # the compare benchmark's name for the canonical cloud
SCENE = ("input_models/still_life/model", "input_models/still_life/dataset")


# ----------------------------------------------------------------------------- benchmarks


def _bench_folders(root: Path) -> list[Path]:
    folders = [p for p in root.glob("bench-*") if (p / "run.json").is_file()]
    return sorted(folders, key=lambda p: p.name, reverse=True)  # names sort by time


def _found_entry(run: dict, name: str, entry: dict, path) -> dict:
    """What a results table needs of benchmark ``name`` from one bench run folder."""
    return {
        "tables": run["tables"].get(name, {}),
        "folder": str(path),
        "date": run["date"],
        "seconds": entry["seconds"],
        "machine": run["machine"],
        "load_average_after": run.get("load_average_after"),
    }


def collect_benchmarks(
    names: list[str],
    *,
    root: str | os.PathLike = "output",
    folder: str | os.PathLike | None = None,
    run_missing: bool = True,
    quick: bool = False,
) -> dict[str, dict]:
    """``{name: {"tables", "folder", "date", "seconds", "machine"}}`` for each benchmark: the
    newest full, successful result under ``root/bench-*`` (or in ``folder`` only); the missing
    ones are run (full size) into a fresh bench folder when ``run_missing``. ``quick`` takes
    (and runs) ``--quick`` results instead: a smoke test of the page, not numbers to publish."""
    found: dict[str, dict] = {}
    folders = [Path(folder)] if folder is not None else _bench_folders(Path(root))
    for path in folders:
        run = load_run(path)
        if bool(run.get("quick")) != quick:
            continue
        for name, entry in run["benchmarks"].items():
            if name in names and name not in found and entry.get("status") == "ok":
                found[name] = _found_entry(run, name, entry, path)
    missing = [n for n in names if n not in found]
    if missing and run_missing:
        print(f"running the full benchmarks not found in a bench folder: {missing}", flush=True)
        out = Path(folder) if folder is not None else fresh_folder(root)
        path, _ = run_benchmarks(missing, quick=quick, out=out)
        run = load_run(path)
        for name in missing:
            entry = run["benchmarks"][name]
            if entry["status"] == "ok":
                found[name] = _found_entry(run, name, entry, path)
    return found


# ----------------------------------------------------------------------------- codec RD


def pareto(rows: list[dict], metric: str = "d1_psnr") -> list[dict]:
    """Rows no other row dominates (lower rate and higher ``metric``), by increasing rate."""
    return pareto_front(rows, metric, finite_only=False)


def _lmbda(name: str) -> float:
    match = re.search(r"-l([0-9.]+)$", name)
    return float(match.group(1)) if match else math.nan


def ladder_points(names: list[str]) -> list[tuple[str, float]]:
    """The lower-rate points of a ladder: every model at step 2, the two lowest-rate models
    (largest lambda) also at step 4 (step 1 comes from the compare benchmark)."""
    by_rate = sorted(names, key=_lmbda)  # small lambda = high rate
    return [(m, 2.0) for m in by_rate] + [(m, 4.0) for m in by_rate[-2:]]


def _point_row(row: dict, name: str, step: float) -> dict:
    keys = ("bpp", "estimated_bpp", "d1_psnr", "d2_psnr", "bytes")
    out = {k: row[k] for k in keys}
    out |= {"point": f"{name}@{step:g}", "model": name, "quant_step": step}
    out["encode_s"] = row["encode_s"] if "encode_s" in row else row["encode_ms"] / 1e3
    out["decode_s"] = row["decode_s"] if "decode_s" in row else row["decode_ms"] / 1e3
    return out


def codec_rd(compare_rows: list[dict], *, quick: bool = False) -> dict | None:
    """The bunny ladders, their fronts and BD numbers, and the six-model table (see the module
    docstring). None when the compare rows hold no 10-bit bunny (no ``../shared/data``)."""
    import numpy as np
    import torch

    from pcc.codec.evaluate import bd_summary, bit_savings, evaluate_point
    from pcc.metrics.pointcloud import estimate_normals
    from pcc.pointcloud.canonical import BUNNY_ANCHORS, canonical_bunny

    bunny_rows = [r for r in compare_rows if r["cloud"] == REAL_BUNNY and r["lmbda"] is not None]
    if not bunny_rows:
        return None
    families: dict[str, list[str]] = {"hyperprior": [], "attention": []}
    for r in bunny_rows:
        if r["entropy_model"] in families:
            families[r["entropy_model"]].append(r["codec"])
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        bunny = canonical_bunny()
        normals = estimate_normals(np.asarray(bunny, dtype=np.float64))
        ladders: dict[str, list[dict]] = {}
        for family, names in families.items():
            rows = [_point_row(r, r["codec"], 1.0) for r in bunny_rows if r["codec"] in names]
            for name, step in [] if quick else ladder_points(names):
                row = evaluate_point(bunny, name, quant_step=step, peak=1023.0, normals=normals)
                rows.append(_point_row(row, name, step))
                print(
                    f"  {name}@{step:g}: {row['bpp']:.4f} bpp, D1 {row['d1_psnr']:.2f} dB",
                    flush=True,
                )
            ladders[family] = sorted(rows, key=lambda r: r["bpp"])
    finally:
        torch.set_num_threads(old)
    hyper_front = pareto(ladders["hyperprior"])
    att_front = pareto(ladders["attention"])
    for row in ladders["attention"]:
        row["saved_vs_hyperprior_curve"] = bit_savings(row, hyper_front)
    six = []
    for r in bunny_rows:
        if math.isclose(r["lmbda"], 0.1):
            row = _point_row(r, r["codec"], 1.0)
            row["entropy_model"] = r["entropy_model"]
            row["saved_vs_hyperprior_curve"] = bit_savings(row, hyper_front)
            six.append(row)
    hyper_curve = [(r["bpp"], r["d1_psnr"]) for r in hyper_front]
    return {
        "points": len(bunny),
        "ladders": ladders,
        "fronts": {
            "hyperprior": [r["point"] for r in hyper_front],
            "attention": [r["point"] for r in att_front],
        },
        "bd": {
            "hyperprior front": bd_summary(hyper_front, BUNNY_ANCHORS),
            "attention front": bd_summary(
                att_front, {**BUNNY_ANCHORS, "hyperprior front": hyper_curve}
            ),
        },
        "six_models": sorted(six, key=lambda r: r["entropy_model"]),
    }


def baselines_bd(octree_tables: dict) -> dict | None:
    """BD numbers of the octree benchmark's lossy octree ladder and Draco against the G-PCC
    anchors, when that benchmark ran on the whole canonical bunny."""
    from pcc.codec.evaluate import bd_summary
    from pcc.pointcloud.canonical import BUNNY_ANCHORS

    lossless = octree_tables.get("lossless", [{}])
    if not lossless or lossless[0].get("cloud") != "canonical bunny (10-bit)":
        return None
    rd = octree_tables.get("rd", [])
    out = {}
    for label, prefix in (("pcc lossy octree", "octree"), ("Draco", "draco")):
        rows = [r for r in rd if r["codec"].startswith(prefix)]
        if rows:
            out[label] = bd_summary(rows, BUNNY_ANCHORS)
    return out


# ----------------------------------------------------------------------------- c3dgs


def run_c3dgs(
    out_dir: Path, formats: list[str], threads: int = 1, reuse: Path | None = None
) -> list[dict]:
    """``pcc gs compress`` on the bundled scene, once per format; the metrics of each run.

    With ``reuse``, a format whose ``reuse/c3dgs-<format>/metrics.json`` exists (an earlier run
    of the same command with ``--out reuse/c3dgs-<format>``) is read instead of run again."""
    model, data = (REPO / p for p in SCENE)
    results = []
    for fmt in formats:
        target = out_dir / f"c3dgs-{fmt}"
        cmd = [sys.executable, "-m", "pcc", "gs", "compress", str(model), "--data", str(data)]
        cmd += ["--out", str(target), "--format", fmt, "--threads", str(threads)]
        cmd += ["--no-progress", "--json"]
        earlier = None if reuse is None else Path(reuse) / f"c3dgs-{fmt}" / "metrics.json"
        if earlier is not None and earlier.is_file():
            metrics = json.loads(earlier.read_text())
            metrics["wall_s"] = None
            when = datetime.fromtimestamp(earlier.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M")
            shown = cmd[3:]
            shown[shown.index("--out") + 1] = str(earlier.parent)
            metrics["command"] = "pcc " + " ".join(shown).replace(str(REPO) + "/", "")
            metrics["command"] += f" (run {when} UTC)"
            print(f"c3dgs {fmt}: read {_rel(earlier)}", flush=True)
            results.append(metrics)
            continue
        print("$ pcc " + " ".join(cmd[3:]), flush=True)
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
            results.append({"format": fmt, "error": f"exit status {done.returncode}"})
            continue
        metrics = json.loads((target / "metrics.json").read_text())
        metrics["wall_s"] = time.perf_counter() - start
        metrics["command"] = "pcc " + " ".join(cmd[3:]).replace(str(REPO) + "/", "")
        results.append(metrics)
    return results


# ----------------------------------------------------------------------------- markdown


def _num(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        a = abs(value)
        if a >= 1000:
            return f"{value:,.0f}"
        if a >= 100:
            return f"{value:.1f}"
        if a >= 1:
            return f"{value:.2f}"
        if a >= 0.01 or a == 0:
            return f"{value:.4f}"
        return f"{value:.2g}"
    return str(value).replace("|", "/")


def markdown_table(rows: list[dict], columns: list[tuple[str, str]] | None = None) -> str:
    """Rows as a markdown table; ``columns`` = ``[(key, header), ...]`` (default: every key but
    file paths, in order of first appearance)."""
    if not rows:
        return "(no rows)"
    if columns is None:
        keys: list[str] = []
        for r in rows:
            keys += [k for k in r if k not in keys and k != "file"]
        columns = [(k, k) for k in keys]
    lines = ["| " + " | ".join(h for _, h in columns) + " |"]
    lines.append("|" + "---|" * len(columns))
    for r in rows:
        lines.append("| " + " | ".join(_num(r.get(k)) for k, _ in columns) + " |")
    return "\n".join(lines)


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:+.1f} %"


def _bd_table(bd: dict) -> str:
    lines = [
        "| curve | against | BD-rate (D1) | BD-PSNR (D1) | PSNR overlap |",
        "|---|---|---|---|---|",
    ]
    for curve, anchors in bd.items():
        for anchor, e in anchors.items():
            rate = "–" if e.get("bd_rate") is None else f"**{e['bd_rate']:+.1f} %**"
            gain = "–" if e.get("bd_psnr") is None else f"{e['bd_psnr']:+.2f} dB"
            ov = e.get("psnr_overlap")
            overlap = f"{ov[0]:.2f}-{ov[1]:.2f} dB" if ov else "none"
            error = str(e.get("error") or "")
            note = " (no rate overlap)" if "overlap" in error else (f" ({error})" if error else "")
            lines.append(f"| {curve} | {anchor} | {rate} | {gain}{note} | {overlap} |")
    return "\n".join(lines)


LADDER_COLUMNS = [
    ("point", "point"),
    ("bytes", "bytes"),
    ("bpp", "bpp (file)"),
    ("estimated_bpp", "bpp est."),
    ("d1_psnr", "D1 dB"),
    ("d2_psnr", "D2 dB"),
    ("encode_s", "enc s"),
    ("decode_s", "dec s"),
]


def _compare_section(entry: dict) -> list[str]:
    summary = entry["tables"].get("summary", [])
    clouds = entry["tables"].get("clouds", [])
    shapes = sorted({r["cloud"] for r in clouds if r["kind"] != "real"})
    real = sorted({r["cloud"] for r in clouds if r["kind"] == "real"})
    cols = [("codec", "codec")]
    for prefix, label in (("shapes", "shapes"), ("real", "bunny")):
        if any(f"{prefix}_bpp" in r for r in summary):
            cols += [
                (f"{prefix}_bpp", f"{label} bpp"),
                (f"{prefix}_d1_psnr", "D1 dB"),
                (f"{prefix}_d2_psnr", "D2 dB"),
                (f"{prefix}_encode_ms", "enc ms"),
                (f"{prefix}_decode_ms", "dec ms"),
                (f"{prefix}_x_octree", "× octree"),
            ]
    points = {r["cloud"]: r["points"] for r in clouds}
    out = [
        "## The learned codec against the lossless octree coder (`python -m pcc.bench compare`)",
        "",
        f"Every bundled model on held-out procedural shapes ({', '.join(shapes)}; "
        f"{sum(points[s] for s in shapes):,} points) and on "
        + (f"the real cloud {real[0]} ({points[real[0]]:,} points)" if real else "no real cloud")
        + ". bpp = 8 × size of the written file / input points; D1/D2 PSNR at the grid's peak "
        "(shapes: mean over the shapes); times in ms with one torch thread, summed over the "
        "shapes; × octree = how many times smaller than the lossless octree file of the same "
        "cloud. Every decode equals the encoder's reconstruction (checked by the benchmark).",
        "",
        markdown_table(summary, cols),
        "",
    ]
    return out


def _with_saved(rows: list[dict]) -> list[dict]:
    return [r | {"saved": _pct(r.get("saved_vs_hyperprior_curve"))} for r in rows]


def _ladder_section(rd: dict) -> list[str]:
    hyper, att = rd["ladders"]["hyperprior"], rd["ladders"]["attention"]
    six_cols = LADDER_COLUMNS[:1] + [("entropy_model", "entropy model")] + LADDER_COLUMNS[1:]
    return [
        "## Rate-distortion on the canonical bunny",
        "",
        f"The canonical 10-bit bunny ({rd['points']:,} points, peak 1023). Points = model @ "
        "position-quantisation step; real file sizes; every decode checked against the "
        "encoder's reconstruction. The curve of a family is the Pareto front of its points.",
        "",
        "### Hyperprior ladder",
        "",
        markdown_table(hyper, LADDER_COLUMNS),
        "",
        f"Front: {', '.join(rd['fronts']['hyperprior'])}.",
        "",
        "### Attention ladder (each model = the hyperprior of the same lambda + a causal "
        "attention context: same decoded cloud, fewer bits)",
        "",
        markdown_table(_with_saved(att), LADDER_COLUMNS + [("saved", "saved vs hyperprior curve")]),
        "",
        f'Front: {", ".join(rd["fronts"]["attention"])}. "saved" = fraction of bits saved '
        "against the hyperprior front at equal D1 (positive = fewer bits; – outside its range).",
        "",
        "### BD-rate and BD-PSNR (PCHIP over the PSNR overlap)",
        "",
        _bd_table(rd["bd"]),
        "",
        "### The six entropy models at lambda 0.1 (bunny, step 1)",
        "",
        markdown_table(
            _with_saved(rd["six_models"]), six_cols + [("saved", "saved vs hyperprior curve")]
        ),
        "",
    ]


def _c3dgs_section(runs: list[dict]) -> list[str]:
    rows = []
    for m in runs:
        if "error" in m:
            rows.append({"format": m["format"], "error": m["error"]})
            continue
        rows.append(
            {
                "format": m["format"],
                "input_mb": m.get("input_mb"),
                "compressed_mb": m.get("compressed_mb"),
                "ratio": m.get("ratio"),
                "gaussians": f"{m.get('n_gaussians_before'):,} → {m.get('n_gaussians_after'):,}",
                "bytes_per_gaussian": m.get("bytes_per_gaussian"),
                "psnr_before": m.get("psnr_before"),
                "psnr_after": m.get("psnr_after"),
                "ssim_before": m.get("ssim_before"),
                "ssim_after": m.get("ssim_after"),
                "wall_s": m.get("wall_s"),
            }
        )
    cols = [
        ("format", "format"),
        ("input_mb", "input MB"),
        ("compressed_mb", "file MB"),
        ("ratio", "ratio"),
        ("gaussians", "Gaussians"),
        ("bytes_per_gaussian", "bytes / Gaussian"),
        ("psnr_before", "PSNR before dB"),
        ("psnr_after", "PSNR after dB"),
        ("ssim_before", "SSIM before"),
        ("ssim_after", "SSIM after"),
        ("wall_s", "wall s"),
    ]
    if any("error" in r for r in rows):
        cols.append(("error", "error"))
    out = [
        "## c3dgs on the bundled scene (`pcc gs compress`)",
        "",
        "The still-life scene of `input_models/still_life` (INRIA PLY) compressed with the default "
        "preset; PSNR/SSIM on the dataset's held-out test views, before (the uncompressed model) "
        "and after (the decoded file); sizes are the files on disk.",
        "",
        markdown_table(rows, cols),
        "",
    ]
    stored = [m for m in runs if isinstance(m.get("attributes_bytes"), dict)]
    if stored:
        names: list[str] = []
        for m in stored:
            names += [k for k in m["attributes_bytes"] if k not in names]
        attr_rows = [
            {"attribute": n, **{m["format"]: m["attributes_bytes"].get(n) for m in stored}}
            for n in names
        ]
        attr_rows.append(
            {"attribute": "framing", **{m["format"]: m.get("framing_bytes") for m in stored}}
        )
        attr_rows.append(
            {"attribute": "**file**", **{m["format"]: m.get("compressed_bytes") for m in stored}}
        )
        out += ["Bytes per attribute in the file:", "", markdown_table(attr_rows), ""]
    timed = [m for m in runs if "timings_s" in m]
    if timed:
        steps: list[str] = []
        for m in timed:
            steps += [k for k in m["timings_s"] if k not in steps]
        step_rows = [
            {"step": s, **{m["format"]: m["timings_s"].get(s) for m in timed}} for s in steps
        ]
        out += [
            "Time per step (s, one torch thread):",
            "",
            markdown_table(step_rows),
            "",
            "Commands: " + "; ".join(f"`{m['command']}`" for m in timed),
            "",
        ]
    return out


BENCH_TITLES = {
    "kmeans": "k-means: ours vs scikit-learn vs faiss at equal distortion",
    "render": "Renderer: compiled vs PyTorch tile rasteriser (and the dense reference)",
    "octree": "Octree coder and Draco on the canonical bunny",
    "entropy": "Entropy models: scale lookup, windowed attention, coding speed",
    "lidar": "LiDAR codec vs the octree coder and G-PCC v23's figures (KITTI, nuScenes)",
    "occupancy": "Learned lossless occupancy coder vs the octree coder",
    "ply": "PLY reading and writing: pcc.io.ply vs plyfile",
}


def _bench_section(name: str, entry: dict) -> list[str]:
    title = BENCH_TITLES.get(name, name)
    out = [
        f"### {title} (`python -m pcc.bench {name}`)",
        "",
        f"From `{Path(entry['folder']).name}` ({entry['date']}, {entry['seconds']:.0f} s).",
        "",
    ]
    for table, rows in entry["tables"].items():
        out += [f"**{table}**", "", markdown_table(rows), ""]
    return out


def _rel(path: str | os.PathLike) -> str:
    """``path`` relative to the repository when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _machine_line(m: dict, load_after: list | None = None) -> str:
    load = m.get("load_average")
    load_text = f"; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}" if load else ""
    if load and load_after:
        load_text = (
            f"; load average (1 / 5 / 15 min) {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at "
            f"the start, {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} at the end"
        )
    return (
        f"{m.get('cpu')}, {m.get('cores')} logical cores, torch {m.get('torch')}, "
        f"numpy {m.get('numpy')}, Python {m.get('python')}, "
        f"{'CUDA' if m.get('cuda') else 'no GPU'}{load_text}"
    )


def read_c3dgs_rd(paths: list[str]) -> list[dict]:
    """The rows of each ``python -m pcc.c3dgs.rd --json`` file, with the file's name and date."""
    out = []
    for p in map(Path, paths):
        rows = json.loads(p.read_text())
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError(f"{p}: not a list of rows written by python -m pcc.c3dgs.rd --json")
        date = datetime.fromtimestamp(p.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
        out.append({"file": p.name, "date": date, "rows": rows})
    return out


def _c3dgs_rd_section(curves: list[dict]) -> list[str]:
    from pcc.c3dgs.rd import format_table

    out = [
        "## c3dgs rate-distortion curves (`python -m pcc.c3dgs.rd`)",
        "",
        "Each point is one full compression (real file, decoded and checked), scored on the test "
        "views (a camera-less scene: orbit views against renders of the uncompressed model, so "
        "PSNR is the fidelity to it); `delta` is against the uncompressed model. Made by "
        "`python -m pcc.c3dgs.rd INPUT [--data DIR] --preset P [--set ...] --json FILE`, put here by "
        '`make results RD="FILE ..."`; a table\'s name says what was swept, and its `point` '
        "column every setting that differs from the preset.",
        "",
    ]
    for c in curves:
        out += [f"**{c['file']}** ({c['date']})", "", format_table(c["rows"]), ""]
    return out


def render_page(data: dict) -> str:
    """The markdown of ``docs/results.md`` from what :func:`main` gathered."""
    lines = [
        "# Results",
        "",
        "<!-- Generated by `make results` (python -m pcc.bench.results). Do not edit by hand:",
        "     every number below comes from a run recorded in output/. -->",
        "",
        f"Generated {data['date']} on: {_machine_line(data['machine'])}.",
        "",
        "All times are wall-clock on that machine, which is shared with other jobs: compare the "
        "ratios within one table (measured side by side in one run), not absolute times across "
        "tables. Sizes are real files; estimates (`-sum log2 p`) are shown next to them, never "
        "instead.",
        "",
    ]
    sources = sorted(
        {
            (_rel(e["folder"]), e["date"], _machine_line(e["machine"], e.get("load_average_after")))
            for e in data["benchmarks"].values()
        }  # fmt: skip
    )
    if sources:
        lines += ["Benchmark runs used:", ""]
        lines += [f"* `{n}` ({d}): {m}" for n, d, m in sources]
        lines.append("")
    compare = data["benchmarks"].get("compare")
    if compare:
        lines += _compare_section(compare)
    else:
        lines += ["## The learned codec against the lossless octree coder", "", "(not run)", ""]
    rd = data.get("codec_rd")
    if rd:
        lines += _ladder_section(rd)
    else:
        lines += [
            "## Rate-distortion on the canonical bunny",
            "",
            "(skipped: the bunny of ../shared/data was not available to the compare benchmark)",
            "",
        ]
    if data.get("baselines_bd"):
        lines += [
            "### Classic baselines on the same bunny (from the octree benchmark)",
            "",
            _bd_table(data["baselines_bd"]),
            "",
        ]
    if data.get("c3dgs") is not None:
        lines += _c3dgs_section(data["c3dgs"])
    if data.get("c3dgs_rd"):
        lines += _c3dgs_rd_section(data["c3dgs_rd"])
    lines += ["## Benchmarks (`make bench`)", ""]
    others = [n for n in sorted(data["benchmarks"]) if n != "compare"]
    for name in others:
        lines += _bench_section(name, data["benchmarks"][name])
    missing = [n for n in data.get("benchmarks_expected", []) if n not in data["benchmarks"]]
    if missing:
        lines += [f"Not available (failed or not run): {', '.join(missing)}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pcc.bench.results", description=__doc__)
    parser.add_argument("--bench", help="use this bench folder only (run what it lacks)")
    parser.add_argument("--root", default="output", help="where bench folders are (output)")
    parser.add_argument("--out", default="docs/results.md", help="the page to write")
    parser.add_argument("--formats", default="pcc,npz", help="c3dgs storage formats to run")
    parser.add_argument("--no-c3dgs", action="store_true", help="leave out the c3dgs table")
    parser.add_argument(
        "--render-only",
        metavar="RESULTS_JSON",
        help="only rewrite the page from the results.json of an earlier run (no measurement)",
    )
    parser.add_argument(
        "--c3dgs-from",
        help="read FOLDER/c3dgs-<format>/metrics.json of earlier pcc gs compress runs if present",
    )
    parser.add_argument("--no-run", action="store_true", help="never run missing benchmarks")
    parser.add_argument(
        "--c3dgs-rd",
        action="append",
        default=[],
        metavar="ROWS_JSON",
        help="rows written by `python -m pcc.c3dgs.rd ... --json ROWS_JSON`: one RD table each",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="quick bench results and no extra ladder points (a smoke run, not for the docs)",
    )
    args = parser.parse_args(argv)
    if args.render_only:
        data = json.loads(Path(args.render_only).read_text())
        if args.c3dgs_rd:
            data["c3dgs_rd"] = read_c3dgs_rd(args.c3dgs_rd)
        write_text_atomic(Path(args.out), render_page(data))
        print(f"wrote {args.out} from {args.render_only}")
        return 0
    started = time.perf_counter()
    work = fresh_folder(args.root, "results")
    names = available()
    benchmarks = collect_benchmarks(
        names, root=args.root, folder=args.bench, run_missing=not args.no_run, quick=args.quick
    )
    data: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "benchmarks": benchmarks,
        "benchmarks_expected": names,
    }
    if "compare" in benchmarks:
        print("codec RD ladders on the canonical bunny", flush=True)
        data["codec_rd"] = codec_rd(benchmarks["compare"]["tables"]["clouds"], quick=args.quick)
    if "octree" in benchmarks:
        data["baselines_bd"] = baselines_bd(benchmarks["octree"]["tables"])
    if not args.no_c3dgs:
        formats = [f for f in args.formats.split(",") if f]
        reuse = Path(args.c3dgs_from) if args.c3dgs_from else None
        data["c3dgs"] = run_c3dgs(work, formats, reuse=reuse)
    if args.c3dgs_rd:
        data["c3dgs_rd"] = read_c3dgs_rd(args.c3dgs_rd)
    data["seconds"] = round(time.perf_counter() - started, 1)
    write_text_atomic(work / "results.json", json.dumps(data, indent=1, default=str) + "\n")
    page = render_page(data)
    write_text_atomic(Path(args.out), page)
    print(f"wrote {args.out} and {work}/results.json in {data['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
