"""The c3dgs pipeline (``pcc gs compress``) per stage, PyTorch renderer vs compiled renderer.

Runs :func:`pcc.c3dgs.pipeline.run` (what ``pcc gs compress`` calls: load, cameras, evaluation
before, sensitivity, pruning, colour and shape VQ, fine-tuning, quantisation, encode, decode,
evaluation after) twice on the same scene with the same configuration, once with every render
on the PyTorch tile renderer (``PCC_RENDERER=torch``, the "before") and once on the compiled
rasteriser (``PCC_RENDERER=native``, the "after"), one torch thread, and prints per stage the
wall seconds of both, their ratio (``speedup`` = torch / native), and the *process CPU seconds*
(:func:`time.process_time`) of both with their ratio: on a shared machine the CPU time is much
closer to what the stage would take on an idle core than the wall time, which also counts
waiting for the other jobs (memory-heavy stages still vary, see ``docs/timings.md``). Each run
is a fresh process, as a ``pcc gs compress`` is; the load average before and after each run is
recorded.

The stage timings are the pipeline's own (:class:`pcc.timing.Timings`, wall clock); for the CPU
column the pipeline's ``Timings`` is replaced, for the duration of the run only, by a subclass
that also accumulates :func:`time.process_time` under the same names.

Scenes (``SCENES``; a path to any model the pipeline reads works too):

* ``still_life``: the bundled scene (26,999 Gaussians) with its dataset (real target images).
* ``kacytran`` (9,080), ``guitar`` (90,854), ``biker`` (152,746) from
  ``../shared/data/gaussian_splats`` (or ``$PCC_SHARED_DATA``): no dataset, so orbit cameras
  with targets rendered from the uncompressed model (the preset's ``orbit_*`` sizes).
* ``guitar_half``: every second Gaussian of ``guitar`` (45,427), written to a temporary PLY: the
  shared data has no trained scene near 45k Gaussians.

As a :mod:`pcc.bench` module (``python -m pcc.bench pipeline``) it runs the bundled scene with a
shortened default preset (``BENCH_OVERRIDES``; ``--quick``: the ``tiny`` preset). The measured
before/after tables of ``docs/timings.md`` come from the command line::

    python -m pcc.bench.bench_pipeline still_life --preset default --set finetune.iterations=200

(``--markdown`` also prints the table as Markdown, ``--json FILE`` writes the rows and both
runs' metrics). Taught alongside ``notebooks/06_whole_pipeline.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch

from pcc.gaussians import render_native
from pcc.timing import Timings, timer

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PCC_SHARED_DATA", REPO.parent / "shared" / "data"))
_SPLATS = SHARED / "gaussian_splats"

#: name -> (model path, dataset folder or None, keep every n-th Gaussian)
SCENES: dict[str, tuple[Path, Path | None, int]] = {
    "still_life": (
        REPO / "input_models" / "still_life" / "model",
        REPO / "input_models" / "still_life" / "dataset",
        1,
    ),
    "kacytran": (_SPLATS / "kacytran_3dgs_sh3" / "point_cloud_iter7000.ply", None, 1),
    "guitar": (_SPLATS / "playcanvas_compressed_formats" / "guitar.compressed.ply", None, 1),
    "guitar_half": (_SPLATS / "playcanvas_compressed_formats" / "guitar.compressed.ply", None, 2),
    "biker": (_SPLATS / "playcanvas_compressed_formats" / "biker.spz", None, 1),
}

BACKENDS = ("torch", "native")  # before, after

#: ``make bench``: the bundled scene, default preset, with fewer VQ steps and fine-tuning
#: iterations so that both renderers finish in a few minutes
BENCH_OVERRIDES = {"color.steps": 20, "shape.steps": 20, "finetune.iterations": 40}


# --------------------------------------------------------------------------- CPU time per stage
class CpuTimings(Timings):
    """:class:`~pcc.timing.Timings` that also adds process CPU seconds to ``self.cpu[name]``.

    Every instance is appended to ``CpuTimings.created`` so that the caller can collect the CPU
    times of the ``Timings`` objects the pipeline makes internally.
    """

    created: list[CpuTimings] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cpu: dict[str, float] = {}
        CpuTimings.created.append(self)

    def __call__(self, name: str):
        return _wall_and_cpu(name, self)


@contextmanager
def _wall_and_cpu(name: str, timings: CpuTimings) -> Iterator[None]:
    start = time.process_time()
    try:
        with timer(name, timings):
            yield
    finally:
        timings.cpu[name] = timings.cpu.get(name, 0.0) + (time.process_time() - start)


@contextmanager
def _cpu_timed_pipeline() -> Iterator[list[CpuTimings]]:
    """Swap the pipeline's ``Timings`` for :class:`CpuTimings` inside the block (restored after)."""
    from pcc.c3dgs import pipeline

    CpuTimings.created = []
    original = pipeline.Timings
    pipeline.Timings = CpuTimings
    try:
        yield CpuTimings.created
    finally:
        pipeline.Timings = original


@contextmanager
def _renderer(backend: str) -> Iterator[None]:
    """``$PCC_RENDERER`` set to ``backend`` inside the block (the old value restored after)."""
    old = os.environ.get(render_native.ENV_RENDERER)
    os.environ[render_native.ENV_RENDERER] = backend
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(render_native.ENV_RENDERER, None)
        else:
            os.environ[render_native.ENV_RENDERER] = old


def native_sources_digest() -> str:
    """SHA-256 (first 12 hex digits) of the compiled rasteriser's C++ sources, to say which
    version of it a measurement used (the sources change while the renderer is developed)."""
    import hashlib

    h = hashlib.sha256()
    folder = Path(render_native.__file__).parent / "_csrc"
    for f in sorted(folder.glob("*")):
        if f.is_file():
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def _load() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None


# --------------------------------------------------------------------------- one run, two runs
def resolve_scene(scene: str) -> tuple[Path, Path | None, int]:
    """``(model path, dataset or None, keep every n-th)`` of a name in :data:`SCENES` or a path."""
    if scene in SCENES:
        path, data, step = SCENES[scene]
    else:
        path, data, step = Path(scene), None, 1
    if not path.exists():
        raise FileNotFoundError(f"{path}: scene {scene!r} not found")
    return path, data, step


@contextmanager
def _scene_input(path: Path, step: int) -> Iterator[Path]:
    """``path`` itself, or (``step > 1``) a temporary INRIA PLY of every ``step``-th Gaussian."""
    if step == 1:
        yield path
        return
    from pcc.io.gaussian_ply import write_gaussian_ply
    from pcc.io.splat_formats import load_splat_any

    model = load_splat_any(path)
    keep = torch.zeros(len(model), dtype=torch.bool)  # [N]
    keep[::step] = True
    with tempfile.TemporaryDirectory(prefix="pcc-bench-pipeline-") as tmp:
        out = Path(tmp) / f"{path.name.split('.')[0]}_every{step}.ply"
        write_gaussian_ply(out, model.mask(keep))
        yield out


def timed_run(
    input_path: Path,
    out_dir: Path,
    backend: str,
    *,
    data_dir: Path | None = None,
    preset: str = "default",
    overrides: dict[str, object] | None = None,
    fmt: str = "pcc",
) -> dict:
    """One :func:`pcc.c3dgs.pipeline.run` with every render on ``backend``, one torch thread.

    Returns ``{"backend", "started" (Unix time), "wall_s": {stage: s}, "cpu_s": {stage: s}, "load_before",
    "load_after", "metrics"}``; ``total`` is the whole run (CPU: around the call).
    """
    from pcc.c3dgs.pipeline import run
    from pcc.c3dgs.presets import apply_overrides, get_preset

    config = apply_overrides(get_preset(preset), overrides) if overrides else None
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _renderer(backend), _cpu_timed_pipeline() as created:
            used = render_native.resolve_backend(None, torch.device("cpu"))
            if used != backend:
                raise RuntimeError(
                    f"asked for the {backend} renderer, the pipeline would use {used}"
                )
            load_before = _load()
            started = time.time()
            cpu0 = time.process_time()
            metrics = run(
                input_path,
                out_dir,
                data_dir=data_dir,
                preset=preset,
                fmt=fmt,
                config=config,
                progress=False,
            )
            cpu_total = time.process_time() - cpu0
            load_after = _load()
    finally:
        torch.set_num_threads(threads)
    cpu: dict[str, float] = {}
    for t in created:
        cpu.update(t.cpu)
    cpu["total"] = cpu_total
    return {
        "backend": used,
        "started": started,
        "wall_s": dict(metrics["timings_s"]),
        "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "load_before": load_before,
        "load_after": load_after,
        "metrics": metrics,
    }


def compare(
    scene: str,
    out_dir: str | os.PathLike,
    *,
    preset: str = "default",
    overrides: dict[str, object] | None = None,
    fmt: str = "pcc",
    backends: Sequence[str] = BACKENDS,
    native_first: bool = False,
) -> tuple[list[dict], dict[str, dict]]:
    """Run the pipeline on ``scene`` once per backend (PyTorch first), each in a fresh process
    (:func:`timed_run` in a ``spawn`` child); rows per stage + the runs.

    A row: ``stage``, ``<backend>_s`` and ``<backend>_cpu_s`` per backend, and with two backends
    ``speedup`` / ``speedup_cpu`` = first / second (torch / native). ``native_first`` runs the
    backends in the reverse order (same columns): a second run in the other order shows how much
    of a ratio is drift of the machine's load rather than the renderer.
    """
    path, data, step = resolve_scene(scene)
    if "native" in backends and not render_native.available():
        raise RuntimeError(f"native rasteriser unavailable: {render_native.build_error()}")
    runs: dict[str, dict] = {}
    with _scene_input(path, step) as model_path:
        for backend in reversed(backends) if native_first else backends:
            out = Path(out_dir) / f"{Path(scene).stem}-{backend}"
            kwargs = dict(data_dir=data, preset=preset, overrides=overrides, fmt=fmt)
            # a fresh interpreter per run, as `pcc gs compress` is: a second run in the same
            # process was measured up to 3x faster in the VQ stages, which do not render
            pool = multiprocessing.get_context("spawn").Pool(1)
            try:
                runs[backend] = pool.apply(timed_run, (model_path, out, backend), kwargs)
            finally:  # close + join (not terminate): the child exits cleanly
                pool.close()
                pool.join()
    runs = {b: runs[b] for b in backends}  # columns in the order asked, whatever ran first
    stages = list(runs[backends[0]]["wall_s"])
    rows = []
    for stage in stages:
        row: dict = {"scene": Path(scene).stem, "stage": stage}
        for b in backends:
            row[f"{b}_s"] = runs[b]["wall_s"].get(stage)
            row[f"{b}_cpu_s"] = runs[b]["cpu_s"].get(stage)
        if len(backends) == 2:
            a, b = backends
            row["speedup"] = _ratio(row[f"{a}_s"], row[f"{b}_s"])
            row["speedup_cpu"] = _ratio(row[f"{a}_cpu_s"], row[f"{b}_cpu_s"])
        rows.append(row)
    return rows, runs


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


# --------------------------------------------------------------------------- printing
def _fmt(x: float | None, width: int, digits: int = 2) -> str:
    return f"{'-':>{width}}" if x is None else f"{x:>{width}.{digits}f}"


def print_table(rows: list[dict], runs: dict[str, dict]) -> None:
    """Per stage: wall s and CPU s of each backend, and the torch / native ratios."""
    a, b = list(runs)[:2] if len(runs) >= 2 else (list(runs)[0], None)
    m = runs[a]["metrics"]
    print(
        f"\n{rows[0]['scene']}: {m['n_gaussians_before']} Gaussians, {m['train_views']} train / "
        f"{m['test_views']} test views, targets {m['targets']}, 1 thread"
    )
    for name, run in runs.items():
        rm = run["metrics"]
        print(
            f"  {name:>6}: load average {run['load_before']} -> {run['load_after']}; "
            f"{rm['compressed_bytes']} bytes, test PSNR {rm['psnr_after']:.3f} dB"
        )
    if b is None:
        print(f"{'stage':>12} {a + ' s':>10} {'CPU s':>10}")
        for r in rows:
            print(f"{r['stage']:>12} {_fmt(r[f'{a}_s'], 10)} {_fmt(r[f'{a}_cpu_s'], 10)}")
        return
    print(
        f"{'stage':>12} {a + ' s':>10} {b + ' s':>10} {'speed-up':>8} "
        f"{a + ' CPU s':>12} {b + ' CPU s':>12} {'CPU speed-up':>12}"
    )
    for r in rows:
        print(
            f"{r['stage']:>12} {_fmt(r[f'{a}_s'], 10)} {_fmt(r[f'{b}_s'], 10)} "
            f"{_fmt(r['speedup'], 7, 1)}x {_fmt(r[f'{a}_cpu_s'], 12)} "
            f"{_fmt(r[f'{b}_cpu_s'], 12)} {_fmt(r['speedup_cpu'], 11, 1)}x"
        )


def markdown_table(rows: list[dict], backends: Sequence[str] = BACKENDS) -> str:
    """The rows of :func:`compare` as a Markdown table (seconds, ratios)."""
    a, b = backends
    lines = [
        f"| stage | {a} s | {b} s | speed-up | {a} CPU s | {b} CPU s | CPU speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = [
            _fmt(r[f"{a}_s"], 0),
            _fmt(r[f"{b}_s"], 0),
            _fmt(r["speedup"], 0, 1) + "x",
            _fmt(r[f"{a}_cpu_s"], 0),
            _fmt(r[f"{b}_cpu_s"], 0),
            _fmt(r["speedup_cpu"], 0, 1) + "x",
        ]
        stage = f"**{r['stage']}**" if r["stage"] == "total" else r["stage"]
        lines.append(f"| {stage} | " + " | ".join(c.strip() for c in cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- entry points
def main(quick: bool = False, out_dir: str | os.PathLike | None = None) -> list[dict] | None:
    """``python -m pcc.bench pipeline``: the bundled scene, both renderers (quick: ``tiny``)."""
    if not render_native.available():
        print(f"native rasteriser unavailable ({render_native.build_error()}): nothing to compare")
        return None
    preset, overrides = ("tiny", None) if quick else ("default", BENCH_OVERRIDES)
    print(f"c3dgs pipeline on still_life, preset {preset}, overrides {overrides}")
    with tempfile.TemporaryDirectory(prefix="pcc-bench-pipeline-") as tmp:
        rows, runs = compare("still_life", out_dir or tmp, preset=preset, overrides=overrides)
    print_table(rows, runs)
    return rows


def _parse_set(values: Sequence[str]) -> dict[str, object]:
    from pcc.c3dgs.presets import parse_set

    return parse_set(list(values))


def cli(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m pcc.bench.bench_pipeline",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("scene", help=f"one of {sorted(SCENES)} or a model path")
    p.add_argument("--preset", default="default")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--format", default="pcc", choices=("pcc", "npz"))
    p.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    p.add_argument(
        "--native-first", action="store_true", help="run the native renderer first (same columns)"
    )
    p.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    p.add_argument("--json", default=None, help="write rows, runs and settings to this file")
    p.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    args = p.parse_args(argv)
    overrides = _parse_set(args.overrides)
    digest = native_sources_digest()  # before the runs build or load the extension
    with tempfile.TemporaryDirectory(prefix="pcc-bench-pipeline-") as tmp:
        rows, runs = compare(
            args.scene,
            args.out or tmp,
            preset=args.preset,
            overrides=overrides or None,
            fmt=args.format,
            backends=tuple(args.backends),
            native_first=args.native_first,
        )
    print_table(rows, runs)
    print(f"native rasteriser sources: {digest}")
    if args.markdown and len(args.backends) == 2:
        print()
        print(markdown_table(rows, args.backends))
    if args.json:
        from pcc.bench.runner import machine_info
        from pcc.io.atomic import write_text_atomic

        doc = {
            "scene": args.scene,
            "preset": args.preset,
            "overrides": overrides,
            "format": args.format,
            "native_first": args.native_first,
            "machine": machine_info(),
            "native_sources": digest,
            "rows": rows,
            "runs": runs,
        }
        write_text_atomic(args.json, json.dumps(doc, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
