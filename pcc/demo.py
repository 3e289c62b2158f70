"""``python -m pcc.demo``: the project's main job on bundled inputs, into a fresh output folder.

1. **3DGS compression, as a report**: ``notebooks/06_whole_pipeline.ipynb`` runs with papermill on
   the bundled still-life scene (``input_models/still_life``, trained by pcc's own trainer) at the
   ``default`` preset; the executed notebook is exported to HTML next to it, and a summary table
   (Gaussians, file sizes and ratio, test-view PSNR/SSIM before and after, step timings) is
   printed from its ``metrics.json``. Without papermill/nbconvert installed (the ``notebooks``
   extra) the same pipeline runs through :func:`pcc.c3dgs.pipeline.run` instead.
2. **Point-cloud geometry compression**: a procedural shape is coded losslessly by the octree coder
   and lossily by the bundled learned codec (``hyperprior-l0.1``); it prints bits per point and
   D1/D2 PSNR from the real bitstreams.
3. **The renderer on a procedural scene** (:func:`build_demo_scene`: a rainbow ring over a
   chequered floor around a glossy ball; a few hundred anisotropic Gaussians with SH degree 1):
   orbit views rendered with the PyTorch rasteriser, the scene written as an INRIA model directory.

Everything lands in ``--out`` (default ``output/demo-<timestamp>``; an existing non-empty folder is
refused, nothing is overwritten) with a ``summary.json``. The scene builder is reusable: notebooks
and tests use it as a tiny scene whose every Gaussian is known. Taught in
``notebooks/06_whole_pipeline.ipynb``.
"""

from __future__ import annotations

import argparse
import colorsys
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from pcc.gaussians.model import GaussianModel, rgb_to_sh_dc, rotation_to_quaternion
from pcc.io.cameras import Camera, orbit_cameras

DEMO_CENTER = (0.0, 0.0, 0.8)  # where the orbit cameras look (z is up)
LIGHT = np.array([0.45, -0.35, 0.82]) / np.linalg.norm([0.45, -0.35, 0.82])  # baked-in key light


def _shade(rgb: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Bake Lambertian shading into colours: ``rgb [N, 3] * (0.35 + 0.65 max(0, n . l))``."""
    lambert = np.clip(normals @ LIGHT, 0.0, None)[:, None]
    return rgb * (0.35 + 0.65 * lambert)


def _frames_from_axes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Right-handed rotation matrices whose first two columns are ``a`` and (orthogonalised) ``b``.

    Args:
        a, b: ``[N, 3]`` directions (not parallel).
    Returns:
        ``[N, 3, 3]``.
    """
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b - a * np.sum(a * b, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.stack([a, b, np.cross(a, b)], axis=2)


def _gaussians(means, frames, scales, rgb, opacity, sh1=None) -> GaussianModel:
    """Assemble Gaussians from activated values; ``sh1 [N, 3, 3]`` are the degree-1 coefficients."""
    means, frames, scales, rgb = (
        np.array(v, dtype=np.float64) for v in (means, frames, scales, rgb)
    )
    n = len(means)
    sh = torch.zeros(n, 4, 3)
    sh[:, 0] = rgb_to_sh_dc(torch.as_tensor(rgb, dtype=torch.float32))
    if sh1 is not None:
        sh[:, 1:] = torch.as_tensor(sh1, dtype=torch.float32)
    opacity = np.clip(np.broadcast_to(np.asarray(opacity, dtype=np.float64), (n,)), 1e-4, 1 - 1e-4)
    return GaussianModel(
        means=torch.as_tensor(means, dtype=torch.float32),
        log_scales=torch.log(torch.as_tensor(scales, dtype=torch.float32)),
        quats=rotation_to_quaternion(torch.as_tensor(frames, dtype=torch.float32)),
        opacity_logits=torch.as_tensor(np.log(opacity / (1 - opacity)), dtype=torch.float32),
        sh=sh,
    )


def build_demo_scene(
    n_ring: int = 72, n_tube: int = 4, n_ball: int = 160, floor_cells: int = 16, seed: int = 0
) -> GaussianModel:
    """A procedural Gaussian scene (z up): a rainbow ring standing over a chequered floor, with a
    glossy red ball at its centre.

    * floor: ``floor_cells^2`` flat discs on ``z = 0`` covering ``[-1.5, 1.5]^2``, chequered in
      squares of 2 x 2 discs;
    * ring: a torus (major radius 0.75, tube 0.1) in the x-z plane centred at ``(0, 0, 0.9)``,
      ``n_ring x n_tube`` Gaussians elongated along the ring, hue going round the ring;
    * ring and ball colours carry baked-in Lambertian shading from one fixed light (``LIGHT``);
    * ball: ``n_ball`` discs tangent to a sphere of radius 0.3 at the ring's centre (Fibonacci
      lattice), red with a degree-1 SH term that makes its top brighter seen from above.

    Returns a degree-1 :class:`GaussianModel` with ``n_ring * n_tube + n_ball + floor_cells^2``
    Gaussians (704 with the defaults). Deterministic for a given ``seed`` (small jitter only).
    """
    rng = np.random.default_rng(seed)
    parts = []

    # Floor: chequered flat discs.
    g = (np.arange(floor_cells) + 0.5) / floor_cells * 3.0 - 1.5
    gx, gy = np.meshgrid(g, g, indexing="ij")
    means = np.stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)], axis=1)
    square = np.arange(floor_cells) // 2
    checker = ((square[:, None] + square[None]) % 2).ravel()
    rgb = np.where(checker[:, None] == 1, [0.85, 0.85, 0.8], [0.25, 0.3, 0.35])
    n = len(means)
    frames = np.broadcast_to(np.eye(3), (n, 3, 3))
    cell = 3.0 / floor_cells
    scales = np.broadcast_to([cell * 0.5, cell * 0.5, 0.01], (n, 3))
    parts.append(_gaussians(means, frames, scales, rgb, 0.95))

    # Ring: a torus standing in the x-z plane, Gaussians stretched along the ring direction.
    major, minor, center = 0.75, 0.1, np.array([0.0, 0.0, 0.9])
    theta = np.repeat(np.arange(n_ring) * 2 * math.pi / n_ring, n_tube)
    phi = np.tile(np.arange(n_tube) * 2 * math.pi / n_tube, n_ring) + rng.uniform(
        -0.1, 0.1, n_ring * n_tube
    )
    radial = np.stack([np.cos(theta), np.zeros_like(theta), np.sin(theta)], axis=1)
    tangent = np.stack([-np.sin(theta), np.zeros_like(theta), np.cos(theta)], axis=1)
    normal = np.cos(phi)[:, None] * radial + np.sin(phi)[:, None] * np.array([0.0, 1.0, 0.0])
    means = center + major * radial + minor * normal
    frames = _frames_from_axes(tangent, normal)
    n = len(means)
    scales = np.broadcast_to(
        [major * 2 * math.pi / n_ring * 0.9, minor * 0.25, minor * 0.7], (n, 3)
    )
    rgb = np.array([colorsys.hsv_to_rgb(t / (2 * math.pi), 0.85, 0.95) for t in theta])
    rgb = _shade(rgb, normal)
    parts.append(_gaussians(means, frames, scales, rgb, 0.9))

    # Ball: discs tangent to a sphere (Fibonacci lattice), with a view-dependent sheen.
    k = np.arange(n_ball) + 0.5
    z = 1 - 2 * k / n_ball
    az = math.pi * (1 + math.sqrt(5)) * k
    dirs = np.stack([np.sqrt(1 - z * z) * np.cos(az), np.sqrt(1 - z * z) * np.sin(az), z], axis=1)
    radius = 0.3
    means = center + radius * dirs
    helper = np.where(np.abs(dirs[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    frames = _frames_from_axes(np.cross(dirs, helper), dirs)  # third axis is tangent
    frames = frames[:, :, [0, 2, 1]] * np.array([1.0, 1.0, -1.0])  # normal axis last, det +1
    disc = radius * math.sqrt(4 * math.pi / n_ball) * 0.6
    scales = np.broadcast_to([disc, disc, 0.008], (n_ball, 3))
    rgb = _shade(np.broadcast_to([0.95, 0.15, 0.1], (n_ball, 3)), dirs)
    sh1 = np.zeros((n_ball, 3, 3))
    sh1[:, 1] = 0.25 * np.clip(dirs[:, 2:3], 0, None)  # the C1 z band: brighter seen from above
    parts.append(_gaussians(means, frames, scales, rgb, 0.95, sh1))
    return GaussianModel.concat(parts)


def demo_cameras(n: int = 6, width: int = 256, height: int = 192) -> list[Camera]:
    """``n`` orbit cameras around the demo scene (radius 4.2, 25 degrees above the floor)."""
    return orbit_cameras(
        DEMO_CENTER,
        4.2,
        n,
        width,
        height,
        fov_x_deg=45.0,
        elevation_deg=25.0,
        start_azimuth_deg=30.0,
    )


def run_demo(out: str | Path, n_views: int = 6, width: int = 256, height: int = 192) -> dict:
    """Build, render and write the demo scene into ``out``; returns a summary dict."""
    from pcc.gaussians.render import render
    from pcc.io.gaussian_ply import read_gaussian_ply
    from pcc.io.inria_model import write_model_dir
    from pcc.io.nerf import save_png

    out = Path(out)
    model = build_demo_scene()
    cameras = demo_cameras(n_views, width, height)
    ply = write_model_dir(
        out / "model", model, iteration=0, cameras=cameras, cfg={"white_background": False}
    )
    back = read_gaussian_ply(ply)
    exact = all(
        torch.equal(a, b) for a, b in zip(model.tensors().values(), back.tensors().values())
    )
    if not exact:
        raise RuntimeError(f"{ply}: PLY round trip is not exact")
    renders, seconds = [], []
    with torch.no_grad():
        for cam in cameras:
            start = time.perf_counter()
            image = render(model, cam, background=(0.0, 0.0, 0.0)).image.clamp(0, 1)  # [H, W, 3]
            seconds.append(time.perf_counter() - start)
            path = out / "renders" / f"{cam.name}.png"
            save_png(path, image)
            renders.append(str(path))
    return {
        "n_gaussians": len(model),
        "sh_degree": model.sh_degree,
        "ply": str(ply),
        "ply_bytes": ply.stat().st_size,
        "cameras_json": str(out / "model" / "cameras.json"),
        "renders": renders,
        "seconds_per_frame": sum(seconds) / len(seconds),
    }


REPO = Path(__file__).resolve().parents[1]
BUNDLED_SCENE = REPO / "input_models" / "still_life"
WHOLE_PIPELINE = REPO / "notebooks" / "06_whole_pipeline.ipynb"


def fresh_output_dir(out: str | os.PathLike | None = None, prefix: str = "output/demo") -> Path:
    """The demo's output folder, created: ``out`` if given, else ``<prefix>-<YYYYmmdd-HHMMSS>``.

    Raises:
        FileExistsError: ``out`` exists and is not empty (a demo never overwrites a run).
    """
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path(f"{prefix}-{stamp}")
        out, i = base, 1
        while out.exists():
            i += 1
            out = Path(f"{base}-{i}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: exists and is not empty; choose a new --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def notebook_tools_available() -> bool:
    """True when papermill and nbconvert (the ``notebooks`` extra) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("papermill", "nbconvert"))


def run_notebook_report(
    notebook: str | os.PathLike,
    out: str | os.PathLike,
    parameters: dict | None = None,
    *,
    html: bool = True,
    timeout: float | None = None,
) -> dict:
    """Execute ``notebook`` with papermill into ``out`` and export it to HTML.

    The notebook's ``out_dir`` parameter is set to ``out/<notebook stem>`` (its figures, files
    and ``metrics.json`` go there); the executed notebook is ``out/<stem>.ipynb``, the report
    ``out/<stem>.html`` and papermill's log ``out/<stem>.log``. Papermill and nbconvert run as
    subprocesses of this interpreter with progress bars off.

    Returns ``{"metrics": <metrics.json>, "notebook": path, "html": path or None, "seconds": s}``.

    Raises:
        RuntimeError: the notebook failed (the message says in which cell and why) or wrote no
            ``metrics.json``, or the HTML export failed.
    """
    from pcc.sweep import error_summary, papermill_command

    notebook, out = Path(notebook), Path(out)
    stem = notebook.stem
    run_dir = out / stem
    params = {**(parameters or {}), "out_dir": str(run_dir.resolve())}
    params_file = out / f"{stem}.parameters.json"
    from pcc.io.atomic import write_text_atomic

    write_text_atomic(params_file, json.dumps(params, indent=2))
    executed = out / f"{stem}.ipynb"
    env = {**os.environ, "PCC_PROGRESS": "0", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    log_path = out / f"{stem}.log"
    start = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.run(
            papermill_command(notebook, executed, params_file, None, timeout),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        raise RuntimeError(f"{notebook.name} failed (log: {log_path}):\n{error_summary(text)}")
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        raise RuntimeError(f"{notebook.name} ran but wrote no {metrics_path}")
    report = None
    if html:
        cmd = [sys.executable, "-m", "nbconvert", "--to", "html", str(executed)]
        cmd += ["--output-dir", str(out)]
        conv = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if conv.returncode != 0:
            raise RuntimeError(f"HTML export of {executed} failed:\n{conv.stderr[-2000:]}")
        report = out / f"{stem}.html"
    return {
        "metrics": json.loads(metrics_path.read_text(encoding="utf-8")),
        "notebook": str(executed),
        "html": None if report is None else str(report),
        "seconds": seconds,
    }


#: The steps of a compression run in the order they happen (notebook 06 and ``pipeline.run``).
STEP_ORDER = (
    "load",
    "cameras",
    "evaluate_before",
    "eval_before",
    "sensitivity",
    "prune",
    "color_vq",
    "shape_vq",
    "finetune",
    "finetune_guard",
    "quantize",
    "encode",
    "decode",
    "evaluate_after",
    "eval_after",
)


def format_c3dgs_summary(metrics: dict) -> str:
    """The demo's table of a compression run's ``metrics.json`` (notebook 06 or ``run``).

    Rows: Gaussians, file size, bytes per Gaussian, test-view PSNR and SSIM, original vs
    compressed, with the ratio and the PSNR change; then the step timings in run order.
    """
    m = metrics
    size = m.get("size_bytes", m.get("compressed_bytes"))
    fmt_name = {"pcc": ".pcc3dgs", "npz": "npz"}.get(m.get("format"), m.get("format", "?"))
    rows = [
        ("", "original", "compressed", ""),
        ("Gaussians", f"{m['n_gaussians_before']:,}", f"{m['n_gaussians_after']:,}", ""),
        (
            "file size (bytes)",
            f"{m['input_bytes']:,}",
            f"{size:,}",
            f"{m['input_bytes'] / size:.1f}x smaller ({fmt_name})",
        ),
        (
            "bytes per Gaussian",
            f"{m['input_bytes'] / m['n_gaussians_before']:.1f}",
            f"{size / m['n_gaussians_after']:.1f}",
            "",
        ),
    ]
    if m.get("npz_bytes") and m.get("format") != "npz":
        rows.append(
            (
                "c3dgs npz (bytes)",
                "",
                f"{m['npz_bytes']:,}",
                f"{m['input_bytes'] / m['npz_bytes']:.1f}x smaller",
            )
        )
    pb, pa = m.get("psnr_before"), m["psnr_after"]
    rows.append(
        (
            "PSNR, test views (dB)",
            "-" if pb is None else f"{pb:.2f}",
            f"{pa:.2f}",
            "" if pb is None else f"{pa - pb:+.2f} dB",
        )
    )
    sb = m.get("ssim_before")
    rows.append(
        ("SSIM, test views", "-" if sb is None else f"{sb:.4f}", f"{m['ssim_after']:.4f}", "")
    )
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [
        f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip()
        for r in rows
    ]
    raw = {k: v for k, v in m.get("timings_s", {}).items() if k != "total"}
    known = [k for k in STEP_ORDER if k in raw]  # metrics.json sorts keys: restore run order
    timings = {k: raw[k] for k in known + sorted(set(raw) - set(known))}
    if timings:
        total = m.get("total_s", m.get("timings_s", {}).get("total", sum(timings.values())))
        steps = " | ".join(f"{k} {v:.1f}" for k, v in timings.items())
        lines.append(f"step timings (s): {steps} | total {total:.1f}")
    return "\n".join(lines)


def run_compression_demo(out: str | Path, preset: str = "default", progress: bool = True) -> dict:
    """Compress the bundled 3DGS scene with c3dgs; returns its ``metrics.json`` content."""
    from pcc.c3dgs.pipeline import load_any_model, run
    from pcc.gaussians.render import render
    from pcc.io.datasets import load_dataset
    from pcc.io.nerf import save_png

    out = Path(out)
    metrics = run(
        BUNDLED_SCENE / "model",
        out,
        data_dir=BUNDLED_SCENE / "dataset",
        preset=preset,
        fmt="pcc",
        progress=progress,
    )
    original = load_any_model(BUNDLED_SCENE / "model")
    decoded = load_any_model(next(out.glob("*.pcc3dgs")))
    camera = load_dataset(BUNDLED_SCENE / "dataset", "test", (1.0, 1.0, 1.0))[0]
    with torch.no_grad():
        for name, model in (("original", original), ("decoded", decoded)):
            image = render(model, camera, background=(1.0, 1.0, 1.0)).image.clamp(0, 1)
            save_png(out / f"test_view_{name}.png", image)  # [H, W, 3]
        save_png(out / "test_view_ground_truth.png", camera.image)
    return metrics


def run_pointcloud_demo(out: str | Path, model_name: str = "hyperprior-l0.1") -> dict:
    """Code a procedural shape with the octree coder (lossless) and the learned codec."""
    from pcc.codec.pipeline import compress_point_cloud, decompress_point_cloud
    from pcc.io.atomic import write_bytes_atomic
    from pcc.io.pointcloud import PointCloud, write_point_cloud
    from pcc.metrics.pointcloud import evaluate_geometry
    from pcc.metrics.rate import bits_per_point
    from pcc.pointcloud.octree_codec import compress_octree, decompress_octree
    from pcc.pointcloud.shapes import shape_at

    out = Path(out)
    coords = shape_at(2024, 0, bits=8)  # [N, 3] int32 voxels in a 256^3 grid
    write_point_cloud(out / "shape.ply", PointCloud(coords.astype(np.float64)), dtype="int32")
    result = {"n_points": len(coords), "grid_bits": 8}
    for codec, encode, decode in (
        ("octree", compress_octree, decompress_octree),
        ("neural", lambda c: compress_point_cloud(c, model_name), decompress_point_cloud),
    ):
        start = time.perf_counter()
        data = encode(coords)
        encode_s = time.perf_counter() - start
        start = time.perf_counter()
        decoded = decode(data)  # [M, 3]
        decode_s = time.perf_counter() - start
        write_bytes_atomic(out / f"shape.{codec}.bin", data)
        write_point_cloud(
            out / f"shape.{codec}.ply", PointCloud(decoded.astype(np.float64)), dtype="int32"
        )
        geometry = evaluate_geometry(
            PointCloud(coords.astype(np.float64)), PointCloud(decoded.astype(np.float64)), 255
        )
        result[codec] = {
            "bytes": len(data),
            "bpp": bits_per_point(data, len(coords)),
            "d1_psnr": geometry["d1_psnr"],
            "d2_psnr": geometry["d2_psnr"],
            "encode_s": encode_s,
            "decode_s": decode_s,
        }
    result["neural"]["model"] = model_name
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pcc.demo", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", default=None, help="a new output folder (default output/demo-<timestamp>)"
    )
    parser.add_argument(
        "--preset", default="default", choices=["tiny", "default", "paper"], help="c3dgs preset"
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="run the 3DGS pipeline through the library instead of notebook 06 (no HTML)",
    )
    parser.add_argument("--views", type=int, default=6, help="orbit views of the procedural scene")
    parser.add_argument("--size", default="256x192", help="render size WxH (256x192)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size must be WIDTHxHEIGHT, got {args.size!r}")
    try:
        out = fresh_output_dir(args.out)
    except FileExistsError as err:
        parser.error(str(err))
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))

    t0 = time.perf_counter()
    report = None
    if not args.no_report and notebook_tools_available():
        say(f"3DGS: running {WHOLE_PIPELINE.relative_to(REPO)} (preset {args.preset}) ...")
        report = run_notebook_report(WHOLE_PIPELINE, out, {"preset": args.preset})
        c3dgs = dict(report["metrics"], report_html=report["html"], notebook=report["notebook"])
    else:
        if not args.no_report:
            say(
                "3DGS: papermill/nbconvert not installed (pip install 'pcc[notebooks]'): "
                "running the pipeline without the HTML report"
            )
        c3dgs = run_compression_demo(out / "c3dgs", args.preset, progress=not args.json)
    c3dgs_s = time.perf_counter() - t0
    say("point clouds: octree and learned codec ...")
    pointcloud = run_pointcloud_demo(out / "pointcloud")
    say("renderer: procedural scene ...")
    renderer = run_demo(out / "procedural", args.views, width, height)
    summary = {
        "c3dgs": c3dgs,
        "pointcloud": pointcloud,
        "renderer": renderer,
        "seconds": {"c3dgs": round(c3dgs_s, 1), "total": round(time.perf_counter() - t0, 1)},
    }
    from pcc.io.atomic import write_text_atomic

    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2))
    if args.json:
        print(json.dumps(summary))
        return 0
    source = WHOLE_PIPELINE.relative_to(REPO) if report else "pcc.c3dgs.pipeline.run"
    print(
        f"\n== 3DGS compression of the bundled still-life scene ({source}, preset {args.preset}) =="
    )
    print(format_c3dgs_summary(c3dgs))
    if report:
        print(f"report: {report['html']}")
    p = pointcloud
    print(
        f"\n== Geometry compression of a procedural shape ({p['n_points']} voxels, 8-bit grid) =="
    )
    for codec in ("octree", "neural"):
        r = p[codec]
        print(
            f"{codec:7s} {r['bpp']:.3f} bpp  D1 {r['d1_psnr']:.2f} dB  D2 {r['d2_psnr']:.2f} dB  "
            f"encode {r['encode_s']:.2f} s  decode {r['decode_s']:.2f} s"
        )
    r = renderer
    print(f"\n== Renderer: procedural scene, {r['n_gaussians']} Gaussians ==")
    print(
        f"{len(r['renders'])} orbit views, {r['seconds_per_frame']:.2f} s per {width}x{height} frame"
    )
    print(
        f"\neverything is in {out}/ (summary.json, {'06_whole_pipeline.html, ' if report else ''}"
        f"{'06_whole_pipeline/' if report else 'c3dgs/'}, pointcloud/, procedural/); "
        f"{summary['seconds']['total']:.0f} s in total"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
