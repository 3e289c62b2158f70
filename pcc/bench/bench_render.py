"""Renderer speed: forward and forward+backward ms/frame, and the speed-up over the dense reference.

Scene: a synthetic "trained-like" scene (Gaussians on a unit sphere and a ground plane, sizes
from the surface spacing, SH degree 3), seen by a 50-degree camera, so that pixels see a few to a
few dozen Gaussians as in a trained 3DGS model. Times are medians of several runs, measured with
``torch.set_num_threads(t)`` for each thread count ``t`` listed; the machine may be shared, so
compare rows of one run rather than absolute numbers across runs. The cpu column (process
time, all threads) is the robust one on a shared machine; note that with 2 threads on a machine
whose cores are busy, torch's intra-op threads spend much of their time waiting, so the 1-thread
rows are then the faster ones.
Run: ``python -m pcc.bench render [--quick]``; returns the tables ``tile``, ``real_scene`` and
``vs_dense`` (``speedup``: dense reference time over the tile renderer's, same run). Taught
alongside ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from pcc.gaussians.model import GaussianModel, rgb_to_sh_dc
from pcc.gaussians.projection import project_gaussians
from pcc.gaussians.render import _select_pairs, render
from pcc.gaussians.render_reference import render_reference
from pcc.io.cameras import Camera, make_camera


def surface_scene(n: int, seed: int = 0) -> GaussianModel:
    """``n`` Gaussians on a unit sphere (half) and a 4x4 ground plane at z = -1 (half).

    Scales follow the mean spacing of the samples (like INRIA's kNN initialisation), with
    log-normal jitter; opacities ``sigmoid(N(1, 1))``; random degree-3 SH around random colours.
    """
    g = torch.Generator().manual_seed(seed)
    n_sphere = n // 2
    d = torch.randn(n_sphere, 3, generator=g)
    sphere = d / d.norm(dim=1, keepdim=True)
    plane = torch.rand(n - n_sphere, 3, generator=g) * 4 - 2
    plane[:, 2] = -1.0
    spacing = math.sqrt((4 * math.pi + 16.0) / n)
    log_scales = math.log(0.6 * spacing) + 0.3 * torch.randn(n, 3, generator=g)
    sh = torch.randn(n, 16, 3, generator=g) * 0.15
    sh[:, 0] = rgb_to_sh_dc(torch.rand(n, 3, generator=g))
    return GaussianModel(
        means=torch.cat([sphere, plane]),
        log_scales=log_scales,
        quats=torch.randn(n, 4, generator=g),
        opacity_logits=torch.randn(n, generator=g) + 1.0,
        sh=sh,
    )


def bench_camera(size: int) -> Camera:
    return make_camera((0.0, -4.5, 1.5), (0.0, 0.0, -0.3), size, size, fov_x_deg=50.0)


def _time(fn, repeats: int) -> tuple[float, float]:
    """Median ``(wall, cpu)`` time of ``fn()`` in ms after one warm-up call.

    CPU time (all threads of this process) is less sensitive to other jobs on a shared machine;
    with one thread it is the time the frame would take on an idle core.
    """
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - w0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def _forward(render_fn, model, cam):
    with torch.no_grad():
        return render_fn(model, cam)


def _forward_backward(render_fn, model, cam):
    out = render_fn(model, cam)
    (out.image.sum() + out.alpha.sum()).backward()
    for t in model.tensors().values():
        t.grad = None


def _pairs(model: GaussianModel, cam: Camera) -> int:
    with torch.no_grad():
        proj = project_gaussians(model.means, model.covariances(), cam)
        return _select_pairs(proj, model.opacities, cam.width, cam.height, 16).pixel.numel()


def _real_scene_row(quick: bool, repeats: int) -> dict | None:
    """The shared INRIA-trained scene (9,080 Gaussians, low opacities, large splats), if present."""
    root = Path(
        os.environ.get("PCC_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
    )
    path = root / "gaussian_splats" / "kacytran_3dgs_sh3" / "point_cloud_iter7000.ply"
    if not path.exists():
        print(f"\n(real scene skipped: {path} not found)")
        return None
    from pcc.io.gaussian_ply import read_gaussian_ply

    model = read_gaussian_ply(path).requires_grad_()
    centre = model.means.detach().median(0).values.double().numpy()
    w, h = (80, 60) if quick else (160, 120)
    cam = make_camera(centre + np.array([0.0, -600.0, 150.0]), centre, w, h, fov_x_deg=60.0)
    fwd = _time(lambda: _forward(render, model, cam), repeats)
    both = _time(lambda: _forward_backward(render, model, cam), repeats)
    pairs = _pairs(model, cam)
    print(
        f"\nreal INRIA scene ({path.parent.name}, N = {len(model)}) at {w}x{h}, 1 thread: "
        f"{pairs} pairs, forward {fwd[0]:.1f} ({fwd[1]:.1f}) ms, "
        f"fwd+bwd {both[0]:.1f} ({both[1]:.1f}) ms"
    )
    return {
        "scene": path.parent.name,
        "n": len(model),
        "width": w,
        "height": h,
        "pairs": pairs,
        "forward_ms": fwd[0],
        "forward_cpu_ms": fwd[1],
        "fwd_bwd_ms": both[0],
        "fwd_bwd_cpu_ms": both[1],
        "backward_over_forward": (both[1] - fwd[1]) / fwd[1],
    }


def main(quick: bool = False) -> dict[str, list[dict]]:
    """Print the three tables; return them as ``tile``, ``real_scene`` and ``vs_dense`` rows."""
    configs = (
        [(64, 2_000), (128, 10_000)]
        if quick
        else [
            (128, 10_000),
            (128, 20_000),
            (128, 50_000),
            (256, 10_000),
            (256, 50_000),
        ]
    )
    thread_counts = [1] if quick else [1, 2]
    repeats = 2 if quick else 3
    before = torch.get_num_threads()
    try:
        tile: list[dict] = []
        print("tile renderer (float32, CPU), median ms/frame: wall (cpu)")
        print(f"{'threads':>7} {'size':>8} {'N':>7} {'pairs':>9} {'forward':>17} {'fwd+bwd':>17}")
        for threads in thread_counts:
            torch.set_num_threads(threads)
            for size, n in configs:
                model = surface_scene(n).requires_grad_()
                cam = bench_camera(size)
                fwd = _time(lambda m=model, c=cam: _forward(render, m, c), repeats)
                both = _time(lambda m=model, c=cam: _forward_backward(render, m, c), repeats)
                pairs = _pairs(model, cam)
                print(
                    f"{threads:>7} {size:>4}x{size:<3} {n:>7} {pairs:>9} "
                    f"{fwd[0]:>8.1f} ({fwd[1]:>6.1f}) {both[0]:>8.1f} ({both[1]:>6.1f})"
                )
                tile.append(
                    {"threads": threads, "size": size, "n": n, "pairs": pairs,
                     "forward_ms": fwd[0], "forward_cpu_ms": fwd[1], "fwd_bwd_ms": both[0],
                     "fwd_bwd_cpu_ms": both[1],
                     "backward_over_forward": (both[1] - fwd[1]) / fwd[1]}
                )  # fmt: skip

        torch.set_num_threads(1)
        real = _real_scene_row(quick, repeats)

        size, n = (32, 300) if quick else (64, 1_500)
        model = surface_scene(n, seed=1).requires_grad_()
        cam = bench_camera(size)
        with torch.no_grad():
            err = (render(model, cam).image - render_reference(model, cam).image).abs().max()
        rows = []
        for label, fn in (("forward", _forward), ("fwd+bwd", _forward_backward)):
            t_tile = _time(lambda f=fn: f(render, model, cam), repeats)[1]
            t_ref = _time(lambda f=fn: f(render_reference, model, cam), max(1, repeats // 2))[1]
            rows.append((label, t_tile, t_ref))
        print(
            f"\nvs dense reference at {size}x{size}, N = {n}, 1 thread, cpu ms "
            f"(max |image diff| = {err:.1e})"
        )
        print(f"{'':>8} {'tile':>9} {'dense':>9} {'speed-up':>9}")
        vs_dense = []
        for label, t_tile, t_ref in rows:
            print(f"{label:>8} {t_tile:>9.1f} {t_ref:>9.1f} {t_ref / t_tile:>8.1f}x")
            vs_dense.append(
                {"pass": label, "size": size, "n": n, "tile_cpu_ms": t_tile,
                 "dense_cpu_ms": t_ref, "speedup": t_ref / t_tile, "max_abs_diff": float(err)}
            )  # fmt: skip
        return {"tile": tile, "real_scene": [real] if real else [], "vs_dense": vs_dense}
    finally:
        torch.set_num_threads(before)


if __name__ == "__main__":
    main()
