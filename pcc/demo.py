"""``python -m pcc.demo --out output/demo``: the project's main job on bundled inputs.

1. **3DGS compression**: the bundled still-life scene (``input_models/still_life``, trained by
   pcc's own trainer) goes through the c3dgs pipeline (:func:`pcc.c3dgs.pipeline.run`) into the
   entropy-coded ``.pcc3dgs`` format; it prints the size ratio and the test-view PSNR/SSIM before
   and after, and writes a test view rendered from the original and from the decoded file.
2. **Point-cloud geometry compression**: a procedural shape is coded losslessly by the octree coder
   and lossily by the bundled learned codec (``hyperprior-l0.1``); it prints bits per point and
   D1/D2 PSNR from the real bitstreams.
3. **The renderer on a procedural scene** (:func:`build_demo_scene`: a rainbow ring over a
   chequered floor around a glossy ball; a few hundred anisotropic Gaussians with SH degree 1):
   orbit views rendered with the PyTorch rasteriser, the scene written as an INRIA model directory.

Everything lands in ``--out`` with a ``summary.json``. The scene builder is reusable: notebooks and
tests use it as a tiny scene whose every Gaussian is known. Taught in
``notebooks/01_gaussian_splatting.ipynb``.
"""

from __future__ import annotations

import argparse
import colorsys
import json
import math
import sys
import time
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
            "bpp": 8 * len(data) / len(coords),
            "d1_psnr": geometry["d1_psnr"],
            "d2_psnr": geometry["d2_psnr"],
            "encode_s": encode_s,
            "decode_s": decode_s,
        }
    result["neural"]["model"] = model_name
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pcc.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="output/demo", help="output folder (default output/demo)")
    parser.add_argument(
        "--preset", default="default", choices=["tiny", "default", "paper"], help="c3dgs preset"
    )
    parser.add_argument("--views", type=int, default=6, help="orbit views of the procedural scene")
    parser.add_argument("--size", default="256x192", help="render size WxH (256x192)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size must be WIDTHxHEIGHT, got {args.size!r}")
    out = Path(args.out)
    summary = {
        "c3dgs": run_compression_demo(out / "c3dgs", args.preset, progress=not args.json),
        "pointcloud": run_pointcloud_demo(out / "pointcloud"),
        "renderer": run_demo(out / "procedural", args.views, width, height),
    }
    from pcc.io.atomic import write_text_atomic

    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2))
    if args.json:
        print(json.dumps(summary))
        return 0
    c = summary["c3dgs"]
    print("\n== 3DGS compression of the bundled still-life scene (c3dgs, .pcc3dgs) ==")
    print(
        f"{c['n_gaussians_before']} -> {c['n_gaussians_after']} Gaussians; "
        f"{c['input_bytes']:,} B -> {c['compressed_bytes']:,} B ({c['ratio']:.1f}x)"
    )
    print(
        f"test views: PSNR {c['psnr_before']:.2f} -> {c['psnr_after']:.2f} dB, "
        f"SSIM {c['ssim_before']:.4f} -> {c['ssim_after']:.4f}"
    )
    p = summary["pointcloud"]
    print(
        f"\n== Geometry compression of a procedural shape ({p['n_points']} voxels, 8-bit grid) =="
    )
    for codec in ("octree", "neural"):
        r = p[codec]
        print(
            f"{codec:7s} {r['bpp']:.3f} bpp  D1 {r['d1_psnr']:.2f} dB  D2 {r['d2_psnr']:.2f} dB  "
            f"encode {r['encode_s']:.2f} s  decode {r['decode_s']:.2f} s"
        )
    r = summary["renderer"]
    print(f"\n== Renderer: procedural scene, {r['n_gaussians']} Gaussians ==")
    print(
        f"{len(r['renders'])} orbit views, {r['seconds_per_frame']:.2f} s per {width}x{height} frame"
    )
    print(f"\neverything is in {out}/ (summary.json, c3dgs/, pointcloud/, procedural/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
