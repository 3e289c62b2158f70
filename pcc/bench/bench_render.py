"""Renderer speed: the compiled rasteriser against the PyTorch tile renderer, side by side.

Tables (all float32 on the CPU; times are medians after a warm-up call, for both renderers, in
milliseconds of *process CPU time*, which on a shared machine is closer to the time the frame
would take on an idle core; wall times and the 1-minute load average are recorded too):

* ``real_scenes``: one thread, forward and forward+backward (``loss = image.sum() + alpha.sum()``),
  native vs PyTorch on two real INRIA-trained scenes from ``../shared/data`` (skipped if absent):
  ``kacytran_3dgs_sh3`` (9,080 Gaussians, SH degree 3, large low-opacity splats) and
  ``biker.spz`` (152,746 Gaussians, SH degree 0), both at 640x480 from a made-up viewpoint.
  ``pairs`` counts composited (pixel, Gaussian) pairs, ``*_mpairs_s`` millions of pairs per
  second, ``speedup`` = PyTorch time / native time. The PyTorch renderer keeps about 340 bytes per
  pair for its backward pass, so when a frame has more than ``TORCH_PAIR_LIMIT`` pairs both
  renderers are compared on a centred band of whole tile rows of the same view (``frame``
  says which rows) and the native renderer is also timed on the full frame (``native_full_*``).
* ``threads``: native only, full frames, 1 and 2 threads: wall times, pairs per second of wall
  time, and ``scaling`` = pairs/s at that thread count over pairs/s at one thread (it needs two
  idle cores to reach 2; on a machine where other jobs keep both cores busy it falls below 1,
  as torch's own parallel operators then wait for descheduled threads).
* ``synthetic``: a "trained-like" synthetic scene (sphere + ground plane) at a few sizes.
* ``vs_dense``: both renderers against the dense per-Gaussian reference
  (:mod:`pcc.gaussians.render_reference`), with the largest image difference.

Measured 2026-12-04 03:58 UTC on the 2-core AMD EPYC while it was quiet (load average 1.3 on 2
cores; CPU-time ratios, one thread):

===================  =========  ==============  ====================  ==========
scene                pass       native ms       Mpairs/s native / PT  speed-up
===================  =========  ==============  ====================  ==========
kacytran (band)      forward    41              134.5 / 3.96          33.9x
kacytran (band)      fwd+bwd    111             49.3 / 3.20           15.4x
biker (153k)         forward    94              52.3 / 3.51           14.9x
biker (153k)         fwd+bwd    178             27.8 / 2.03           13.7x
===================  =========  ==============  ====================  ==========

The ratios move by 10-20% between runs with the PyTorch renderer's time (a run two minutes
earlier: 41.3x / 25.0x / 13.3x / 11.5x; at load ~6.7: 31.0x / 14.5x / 13.3x / 11.2x). Native
full frames: kacytran 339 ms forward (133 Mpairs/s), 755 ms forward+backward. Two threads,
pairs/s of wall time over one thread's: kacytran 1.96x forward / 1.74x forward+backward, biker
1.76x / 1.72x (before the per-Gaussian loops went parallel for scenes under 262,144 Gaussians,
biker reached 1.28x / 1.40x). On a loaded machine (load ~6.7) two threads gave no gain (0.4-1.0x):
there was no free core. The previous renderer (session 5), at load ~6.7: biker 132 ms forward
(12.1x) and 325 ms forward+backward (6.6x); kacytran 26.9x / 14.3x, full frame 396 / 1164 ms.

Run: ``python -m pcc.bench render [--quick]`` (quick: 160x120 frames, fewer rows). Taught
alongside ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from pcc.gaussians import render_native
from pcc.gaussians.model import GaussianModel, rgb_to_sh_dc
from pcc.gaussians.projection import project_gaussians
from pcc.gaussians.render import (
    ALPHA_MAX,
    ALPHA_MIN,
    T_MIN,
    gaussian_colors,
    render,
)
from pcc.gaussians.render_reference import render_reference
from pcc.io.cameras import Camera, make_camera

TORCH_PAIR_LIMIT = 6_000_000  # above this, compare on a band of the frame (PyTorch memory)


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


def _time(fn, repeats: int, warmup: bool = True) -> tuple[float, float]:
    """Median ``(wall, cpu)`` time of ``fn()`` in ms (after one warm-up call if ``warmup``)."""
    if warmup:
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - w0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def _forward(model, cam, backend):
    with torch.no_grad():
        return render(model, cam, backend=backend)


def _forward_backward(model, cam, backend):
    out = render(model, cam, backend=backend)
    (out.image.sum() + out.alpha.sum()).backward()
    for t in model.tensors().values():
        t.grad = None


PASSES = (("forward", _forward), ("fwd+bwd", _forward_backward))


def count_pairs(model: GaussianModel, cam: Camera, tile_size: int = 16) -> int:
    """Composited (pixel, Gaussian) pairs of one frame (the same for both renderers)."""
    with torch.no_grad():
        proj = project_gaussians(model.means, model.covariances(), cam, tile_size)
        consts = (ALPHA_MAX, ALPHA_MIN, T_MIN)
        return render_native.count_pairs(
            proj, model.opacities, gaussian_colors(model, cam), cam.width, cam.height,
            tile_size, consts,
        )  # fmt: skip


def band(cam: Camera, rows: int) -> tuple[Camera, int]:
    """The centred band of ``rows`` pixel rows (whole 16-pixel tile rows) of ``cam``'s frame,
    as a camera of its own (principal point shifted), and its first row."""
    rows = max(16, min(cam.height, rows // 16 * 16))
    y0 = (cam.height - rows) // 2 // 16 * 16
    crop = dataclasses.replace(cam, height=rows, cy=cam.cy - y0, image=None, alpha=None)
    return crop, y0


def _shared_root() -> Path:
    default = Path(__file__).resolve().parents[3] / "shared" / "data"
    return Path(os.environ.get("PCC_SHARED_DATA", default))


def real_scenes(size: tuple[int, int]) -> list[tuple[str, GaussianModel, Camera]]:
    """The two shared INRIA-trained scenes with their bench viewpoints (absent ones skipped)."""
    root = _shared_root() / "gaussian_splats"
    w, h = size
    scenes = []
    ply = root / "kacytran_3dgs_sh3" / "point_cloud_iter7000.ply"
    if ply.exists():
        from pcc.io.gaussian_ply import read_gaussian_ply

        model = read_gaussian_ply(ply)
        centre = model.means.median(0).values.double().numpy()
        cam = make_camera(centre + np.array([0.0, -600.0, 150.0]), centre, w, h, fov_x_deg=60.0)
        scenes.append(("kacytran_3dgs_sh3", model, cam))
    else:
        print(f"(skipped: {ply} not found)")
    spz = root / "playcanvas_compressed_formats" / "biker.spz"
    if spz.exists():
        from pcc.io.spz import read_spz

        model = read_spz(spz)
        x = model.means.double().numpy()
        centre = np.median(x, axis=0)
        spread = float(np.quantile(np.linalg.norm(x - centre, axis=1), 0.9))
        eye = np.array([0.4, -0.1, -1.0]) / np.linalg.norm([0.4, -0.1, -1.0])
        cam = make_camera(centre + 2.0 * spread * eye, centre, w, h, fov_x_deg=60.0, up=(0, -1, 0))
        scenes.append(("biker", model, cam))
    else:
        print(f"(skipped: {spz} not found)")
    return scenes


def _real_rows(scenes, repeats: int) -> list[dict]:
    print(f"\nnative vs PyTorch renderer, 1 thread, float32, ms of CPU time (wall); {_load()}")
    header = (
        f"{'scene':>18} {'N':>7} {'frame':>22} {'pass':>8} {'pairs':>10} {'native':>15} "
        f"{'PyTorch':>17} {'Mpair/s':>13} {'speed-up':>8}"
    )
    print(header)
    rows = []
    for name, model, cam in scenes:
        model = model.detach().requires_grad_()
        full_pairs = count_pairs(model, cam)
        test_cam, y0, frame = cam, 0, f"{cam.width}x{cam.height}"
        if full_pairs > TORCH_PAIR_LIMIT:
            rows_wanted = int(cam.height * TORCH_PAIR_LIMIT / full_pairs)
            test_cam, y0 = band(cam, rows_wanted)
            frame = f"rows {y0}-{y0 + test_cam.height - 1} of {cam.width}x{cam.height}"
        pairs = count_pairs(model, test_cam)
        for label, fn in PASSES:
            nat = _time(lambda f=fn, m=model, c=test_cam: f(m, c, "native"), repeats)
            ref = _time(lambda f=fn, m=model, c=test_cam: f(m, c, "torch"), 1)
            full = (
                nat
                if test_cam is cam
                else _time(lambda f=fn, m=model, c=cam: f(m, c, "native"), repeats)
            )
            row = {
                "scene": name, "n": len(model), "frame": frame, "pass": label, "pairs": pairs,
                "native_cpu_ms": nat[1], "native_ms": nat[0],
                "torch_cpu_ms": ref[1], "torch_ms": ref[0],
                "native_mpairs_s": pairs / nat[1] / 1e3, "torch_mpairs_s": pairs / ref[1] / 1e3,
                "speedup": ref[1] / nat[1], "speedup_wall": ref[0] / nat[0],
                "native_full_pairs": full_pairs, "native_full_cpu_ms": full[1],
                "native_full_ms": full[0], "native_full_mpairs_s": full_pairs / full[1] / 1e3,
                "load_1min": os.getloadavg()[0],
            }  # fmt: skip
            rows.append(row)
            print(
                f"{name:>18} {len(model):>7} {frame:>22} {label:>8} {pairs:>10} "
                f"{nat[1]:>7.0f} ({nat[0]:>5.0f}) {ref[1]:>8.0f} ({ref[0]:>6.0f}) "
                f"{row['native_mpairs_s']:>5.1f}/{row['torch_mpairs_s']:<5.2f} "
                f"{row['speedup']:>7.1f}x"
            )
            if test_cam is not cam:
                print(
                    f"{'':>18} {'':>7} {'native, full frame':>22} {label:>8} {full_pairs:>10} "
                    f"{full[1]:>7.0f} ({full[0]:>5.0f}) {'':>17} "
                    f"{row['native_full_mpairs_s']:>5.1f}"
                )
    return rows


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min)"


def _thread_rows(scenes, repeats: int) -> list[dict]:
    print(f"\nnative renderer, full frames, 1 and 2 threads ({_load()} before)")
    print(
        f"{'scene':>18} {'threads':>7} {'pairs':>10} {'forward wall (CPU) ms':>22} "
        f"{'Mpair/s':>8} {'fwd+bwd wall (CPU) ms':>22} {'Mpair/s':>8} {'scaling':>13}"
    )
    rows = []
    for name, model, cam in scenes:
        model = model.detach().requires_grad_()
        pairs = count_pairs(model, cam)
        times = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            times[threads] = [
                _time(lambda f=fn, m=model, c=cam: f(m, c, "native"), repeats) for _, fn in PASSES
            ]
        torch.set_num_threads(1)
        for threads, (fwd, both) in times.items():
            # scaling: pairs per second of wall time at this thread count over one thread's.
            s_fwd = times[1][0][0] / fwd[0]
            s_both = times[1][1][0] / both[0]
            row = {
                "scene": name, "threads": threads, "pairs": pairs,
                "forward_ms": fwd[0], "forward_cpu_ms": fwd[1],
                "forward_mpairs_s": pairs / fwd[0] / 1e3,
                "fwd_bwd_ms": both[0], "fwd_bwd_cpu_ms": both[1],
                "fwd_bwd_mpairs_s": pairs / both[0] / 1e3,
                "scaling_forward": s_fwd, "scaling_fwd_bwd": s_both,
                "load_1min": os.getloadavg()[0],
            }  # fmt: skip
            rows.append(row)
            print(
                f"{name:>18} {threads:>7} {pairs:>10} {fwd[0]:>11.0f} ({fwd[1]:>8.0f}) "
                f"{row['forward_mpairs_s']:>8.1f} {both[0]:>11.0f} ({both[1]:>8.0f}) "
                f"{row['fwd_bwd_mpairs_s']:>8.1f} {s_fwd:>5.2f}x/{s_both:.2f}x"
            )
    print(f"({_load()} after)")
    return rows


def _synthetic_rows(quick: bool, repeats: int) -> list[dict]:
    configs = [(64, 2_000), (128, 10_000)] if quick else [(128, 10_000), (256, 50_000)]
    print("\nsynthetic scene, 1 thread, CPU ms: native / PyTorch")
    print(f"{'size':>8} {'N':>7} {'pairs':>9} {'forward':>22} {'fwd+bwd':>22}")
    rows = []
    for size, n in configs:
        model = surface_scene(n).requires_grad_()
        cam = bench_camera(size)
        pairs = count_pairs(model, cam)
        cells = []
        row = {"size": size, "n": n, "pairs": pairs}
        for label, fn in PASSES:
            nat = _time(lambda f=fn, m=model, c=cam: f(m, c, "native"), repeats)[1]
            ref = _time(lambda f=fn, m=model, c=cam: f(m, c, "torch"), repeats)[1]
            key = "forward" if label == "forward" else "fwd_bwd"
            row.update({f"{key}_native_cpu_ms": nat, f"{key}_torch_cpu_ms": ref,
                        f"{key}_speedup": ref / nat})  # fmt: skip
            cells.append(f"{nat:>6.1f} / {ref:>6.1f} {ref / nat:>5.1f}x")
        rows.append(row)
        print(f"{size:>4}x{size:<3} {n:>7} {pairs:>9} {cells[0]:>22} {cells[1]:>22}")
    return rows


def _dense_rows(quick: bool, repeats: int) -> list[dict]:
    size, n = (32, 300) if quick else (64, 1_500)
    model = surface_scene(n, seed=1).requires_grad_()
    cam = bench_camera(size)
    with torch.no_grad():
        ref_img = render_reference(model, cam).image
        err = {b: float((render(model, cam, backend=b).image - ref_img).abs().max())
               for b in ("native", "torch")}  # fmt: skip
    print(f"\nvs dense reference at {size}x{size}, N = {n}, 1 thread, CPU ms")
    print(f"{'':>8} {'native':>9} {'PyTorch':>9} {'dense':>9} {'vs native':>9} {'vs PyTorch':>10}")
    rows = []
    for label, fn in PASSES:
        t_nat = _time(lambda f=fn, m=model, c=cam: f(m, c, "native"), repeats)[1]
        t_tile = _time(lambda f=fn: f(model, cam, "torch"), repeats)[1]

        def dense(f=fn):
            if f is _forward:
                with torch.no_grad():
                    render_reference(model, cam)
            else:
                out = render_reference(model, cam)
                (out.image.sum() + out.alpha.sum()).backward()
                for t in model.tensors().values():
                    t.grad = None

        t_ref = _time(dense, max(1, repeats // 2))[1]
        print(
            f"{label:>8} {t_nat:>9.1f} {t_tile:>9.1f} {t_ref:>9.1f} {t_ref / t_nat:>8.0f}x "
            f"{t_ref / t_tile:>9.0f}x"
        )
        rows.append(
            {"pass": label, "size": size, "n": n, "native_cpu_ms": t_nat, "tile_cpu_ms": t_tile,
             "dense_cpu_ms": t_ref, "speedup": t_ref / t_tile, "speedup_native": t_ref / t_nat,
             "max_abs_diff": err["torch"], "max_abs_diff_native": err["native"]}
        )  # fmt: skip
    return rows


def main(quick: bool = False) -> dict[str, list[dict]]:
    """Print the tables; return them as ``real_scenes``, ``threads``, ``synthetic``,
    ``vs_dense``."""
    if not render_native.available():
        print(f"native rasteriser unavailable ({render_native.build_error()}): nothing to compare")
        return {}
    repeats = 2 if quick else 3
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        scenes = real_scenes((160, 120) if quick else (640, 480))
        real = _real_rows(scenes, repeats)
        threads = _thread_rows(scenes, repeats)
        synthetic = _synthetic_rows(quick, repeats)
        vs_dense = _dense_rows(quick, repeats)
        return {"real_scenes": real, "threads": threads, "synthetic": synthetic,
                "vs_dense": vs_dense}  # fmt: skip
    finally:
        torch.set_num_threads(before)


if __name__ == "__main__":
    main()
