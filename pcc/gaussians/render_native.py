"""The compiled CPU rasteriser: projection, tile binning and alpha compositing in C++, forward
and backward.

:func:`pcc.gaussians.render.render` uses it on CPU tensors when it can be built (``backend="auto"``,
the default). Three compiled steps, each a ``torch.autograd.Function`` with a hand-written
backward:

* :func:`project_model` / :func:`project`: the EWA projection of
  :func:`pcc.gaussians.projection.project_gaussians` in one pass per Gaussian, from the
  quaternion and log-scales (the covariance ``R diag(s^2) R^T`` is built and differentiated in
  C++), a covariance factor or a covariance (the PyTorch version stays the reference);
* :func:`composite`: steps 1-3 of :mod:`pcc.gaussians.render` from the per-Gaussian arrays
  ``[N, ...]``: picks the Gaussians to composite and sorts them by depth (stable, as the
  PyTorch renderer), computes each one's row spans of its ``alpha >= 1/255`` ellipse and bins it
  to the tiles those spans reach (about half its ``3 sigma`` rectangle), then composites tile by
  tile, front to back with INRIA's cut-offs. Tiles are handed out to ``torch.get_num_threads()``
  threads (OpenMP). When a backward pass can follow, the forward pass keeps the pairs it
  composited (8 bytes each: the pixel and ``exp(power)``; the PyTorch renderer keeps ~340) and
  the backward pass walks them back to front (INRIA's scheme), recovering each transmittance
  from the final one. Gradients come back in ``[N, ...]`` layout (zero rows for the others).

* :func:`sh_colors`: the view-dependent SH colours of :func:`pcc.gaussians.render.gaussian_colors`
  (degree 0-3, clamped or not), forward and backward in one pass per Gaussian.

The opacity sigmoid stays in PyTorch. The alpha test is evaluated with the same float operations as the PyTorch renderer,
so both composite the same pairs; transmittance and sums are kept in double. Tested against the
PyTorch renderer, images and every gradient, and by finite differences
(``tests/test_render_native.py``). Taught in ``notebooks/00_a_3dgs_scene.ipynb``.

The C++ sources (``_csrc``): ``composite.h`` (shared declarations), ``binning.cpp`` (depth
order, row spans, tile lists), ``composite_forward.cpp``, ``composite_backward.cpp``,
``projection.h`` with ``projection_forward.cpp`` / ``projection_backward.cpp``, ``parallel.h``
(how work is split between threads), ``sh.cpp`` (SH colours), ``bindings.cpp``. They are compiled with ``-fopenmp``:
``at::parallel_for`` is a header template whose OpenMP pragma is otherwise ignored (before
2026-12-04 every tile ran on one thread whatever ``torch.set_num_threads`` said).

Speed (``python -m pcc.bench render``, 2-core AMD EPYC while quiet, float32, CPU time, one
thread, ratios against the PyTorch renderer side by side in one run, 2026-12-04 03:58 UTC):
``biker.spz`` (152,746 Gaussians, 640x480, 4.9M pairs) 94 ms forward (14.9x), 178 ms
forward+backward (13.7x); ``kacytran_3dgs_sh3`` (9,080 Gaussians, 45.2M pairs at 640x480) 339 ms
forward (133 Mpairs/s), 755 ms forward+backward, 33.9x / 15.4x on the band of rows both renderers
can hold. The ratios move by 10-20% from run to run with the PyTorch renderer's time. Two
threads: 1.76x / 1.72x (biker) and 1.96x / 1.74x (kacytran) of one thread's pairs per second.
The previous version (projection and compositing only, pairs recomputed in the backward pass),
measured at load ~6.7: biker 132 ms forward (12.1x), 325 ms forward+backward (6.6x). Where biker
forward+backward spends its time (torch profiler, one thread): compositing forward (binning
included) ~50%, compositing backward ~30%, projection backward ~9%, projection ~4%, SH ~2%.

Building. The extension is compiled with ``torch.utils.cpp_extension.load`` (needs a C++ compiler
and ``ninja``) the first time it is needed, into a cache folder (``$PCC_NATIVE_BUILD_DIR``, else
``$XDG_CACHE_HOME/pcc/torch_extensions/<python, torch version>``); later processes reuse it
(an flock serialises concurrent builds). ``python -m pcc.gaussians.render_native --build``
builds it ahead of time (``make install``). A hash of every source and header is part of the
compiler flags, so editing a header also rebuilds. If it cannot be built, :func:`render` falls
back to the PyTorch renderer with one warning.

Choosing a renderer: ``render(..., backend="torch" | "native" | "auto")``, or the environment
variable ``PCC_RENDERER`` (same values) when the argument is not given.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import sys
import threading
import time
import warnings
from pathlib import Path

import torch

ENV_RENDERER = "PCC_RENDERER"
ENV_BUILD_DIR = "PCC_NATIVE_BUILD_DIR"
BACKENDS = ("auto", "native", "torch")
SOURCE_DIR = Path(__file__).resolve().parent / "_csrc"
EXTENSION_NAME = "pcc_rasterize"
# -ffp-contract=off: no fused multiply-adds, so the alpha test rounds like the PyTorch renderer.
# x86-64-v2 (SSE4.2, every x86-64 CPU since about 2009) gives single-instruction floor/ceil.
CFLAGS = ["-O3", "-ffp-contract=off"] + (
    ["-march=x86-64-v2"] if platform.machine().lower() in ("x86_64", "amd64") else []
)
# at::parallel_for is a header template: without -fopenmp its "#pragma omp parallel" is ignored
# and every tile runs on one thread. The extension then links the libgomp torch already loaded
# (same soname), so torch.set_num_threads applies to it.
OPENMP_FLAGS = ["-fopenmp"] if sys.platform.startswith("linux") else []

_lock = threading.Lock()
_module = None
_error: str | None = None
_warned = False


def build_dir() -> Path:
    """Where the compiled extension is cached (one folder per Python and torch version)."""
    if os.environ.get(ENV_BUILD_DIR):
        return Path(os.environ[ENV_BUILD_DIR])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = f"py{sys.version_info.major}{sys.version_info.minor}_torch{torch.__version__}"
    return cache / "pcc" / "torch_extensions" / tag.replace("+", "_")


def _ensure_ninja_on_path() -> None:
    """``cpp_extension`` runs ``ninja`` from PATH; the pip package may sit in a venv not on it."""
    if shutil.which("ninja"):
        return
    try:
        import ninja  # type: ignore[import-not-found]
    except ImportError:
        return
    os.environ["PATH"] = ninja.BIN_DIR + os.pathsep + os.environ.get("PATH", "")


def sources() -> list[Path]:
    """The extension's C++ files (every ``.cpp`` of ``_csrc``; the ``.h`` files are included)."""
    return sorted(SOURCE_DIR.glob("*.cpp"))


def source_hash() -> str:
    """Hash of every source and header: part of the compiler flags, so that a changed header
    also makes ``cpp_extension`` rebuild (it only hashes the ``.cpp`` files it is given)."""
    digest = hashlib.sha256()
    for path in sorted(SOURCE_DIR.glob("*.[ch]*")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _compile(verbose: bool = False):
    from torch.utils.cpp_extension import load

    _ensure_ninja_on_path()
    folder = build_dir()
    folder.mkdir(parents=True, exist_ok=True)
    # cpp_extension guards its build with a plain ``lock`` file that a killed process leaves
    # behind, after which every later load waits forever. Hold an flock (released by the kernel
    # when its holder dies) around the whole load: whoever holds it is the only builder, so a
    # ``lock`` file found then is stale and is removed.
    with open(folder / "pcc-build.flock", "a+b") as guard:
        _flock(guard)
        (folder / "lock").unlink(missing_ok=True)
        return load(
            name=EXTENSION_NAME,
            sources=[str(path) for path in sources()],
            extra_cflags=[*CFLAGS, *OPENMP_FLAGS, f"-DPCC_SOURCE_HASH={source_hash()}"],
            extra_ldflags=OPENMP_FLAGS,
            build_directory=str(folder),
            verbose=verbose,
        )


def _flock(file) -> None:
    """Exclusive lock on ``file`` until it is closed (no-op where ``fcntl`` does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: cpp_extension's own lock only
        return
    fcntl.flock(file.fileno(), fcntl.LOCK_EX)


def load_extension(verbose: bool = False):
    """The compiled module, building it if needed; ``None`` (and the reason in
    :func:`build_error`) if it cannot be built. Tried once per process."""
    global _module, _error
    with _lock:
        if _module is None and _error is None:
            try:
                _module = _compile(verbose)
            except Exception as exc:  # noqa: BLE001 - any build failure means "fall back"
                _error = f"{type(exc).__name__}: {exc}".strip()
        return _module


def build_error() -> str | None:
    """Why the extension could not be built (``None`` if it was, or was not tried yet)."""
    return _error


def available() -> bool:
    """True if the compiled rasteriser can be used (builds it on first call)."""
    return load_extension() is not None


def resolve_backend(backend: str | None, device: torch.device) -> str:
    """``"native"`` or ``"torch"`` for this call: the argument, else ``$PCC_RENDERER``, else auto.

    ``auto`` picks native on CPU when the extension builds, and warns once per process when it
    cannot. ``native`` on a non-CPU device or without the extension raises ``RuntimeError``.
    """
    global _warned
    choice = (backend or os.environ.get(ENV_RENDERER) or "auto").strip().lower()
    if choice not in BACKENDS:
        raise ValueError(f"renderer backend must be one of {BACKENDS}, got {choice!r}")
    if choice == "torch":
        return "torch"
    if torch.device(device).type != "cpu":
        if choice == "native":
            raise RuntimeError("the native renderer runs on the CPU only")
        return "torch"
    if load_extension() is not None:
        return "native"
    if choice == "native":
        raise RuntimeError(f"the native renderer could not be built: {_error}")
    if not _warned:
        _warned = True
        warnings.warn(
            "pcc: the compiled rasteriser could not be built, using the (slower) PyTorch "
            f"renderer. Reason: {_error}",
            RuntimeWarning,
            stacklevel=4,
        )
    return "torch"


class _Composite(torch.autograd.Function):
    """Per-Gaussian ``means2d [N, 2]``, ``conics [N, 3]``, ``opacities [N]``, ``colors [N, 3]``,
    ``depths [N]``, ``background [3]`` -> ``image [H, W, 3]``, ``alpha``, ``depth [H, W]``."""

    @staticmethod
    def forward(ctx, means2d, conics, opacities, colors, depths, background, rect, config):
        width, height, tile_size, consts, save_pairs = config
        out, ctx.pairs = load_extension().composite_forward(
            means2d, conics, opacities, colors, depths, rect, background,
            width, height, tile_size, *consts, save_pairs,
        )  # fmt: skip
        image, alpha, depth, t_final, _n_pairs, *binning = out
        ctx.save_for_backward(
            means2d, conics, opacities, colors, depths, rect, background, t_final, *binning
        )
        ctx.config = config
        return image, alpha, depth

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_image, grad_alpha, grad_depth):
        saved = ctx.saved_tensors
        means2d, conics, opacities, colors, depths, rect, background, t_final = saved[:8]
        binning = list(saved[8:])
        width, height, tile_size, consts, _ = ctx.config
        grads = [None] * 5
        if any(ctx.needs_input_grad[:5]):
            g = load_extension().composite_backward(
                means2d, conics, opacities, colors, depths, rect, binning, ctx.pairs, background,
                t_final, grad_image.contiguous(), grad_alpha.contiguous(),
                grad_depth.contiguous(), width, height, tile_size, *consts,
            )  # fmt: skip  # [N, 10]
            parts = g.split([2, 3, 1, 3, 1], dim=1)
            shapes = (means2d, conics, opacities, colors, depths)
            grads = [
                part.reshape(x.shape) if need else None
                for part, x, need in zip(parts, shapes, ctx.needs_input_grad[:5])
            ]
        grad_bg = None
        if ctx.needs_input_grad[5]:
            t = t_final.to(grad_image.dtype)  # [H * W]
            grad_bg = (grad_image.reshape(-1, 3) * t[:, None]).sum(0)
        return (*grads, grad_bg, None, None)


def _camera_vector(camera) -> torch.Tensor:
    """The camera as the 23 float64 values ``project_forward`` reads."""
    from pcc.gaussians.projection import LOW_PASS, NEAR_PLANE, RADIUS_SIGMAS, frustum_limits

    values = [
        *torch.as_tensor(camera.R, dtype=torch.float64).reshape(9).tolist(),
        *torch.as_tensor(camera.t, dtype=torch.float64).reshape(3).tolist(),
        camera.fx, camera.fy, camera.cx, camera.cy, *frustum_limits(camera),
        NEAR_PLANE, LOW_PASS, RADIUS_SIGMAS,
    ]  # fmt: skip
    return torch.tensor(values, dtype=torch.float64)


SHAPE_MODES = {"covariance": 0, "factor": 1, "rotation_scale": 2}


class _Project(torch.autograd.Function):
    """``means [N, 3]``, ``shape`` (``[N, 3, 3]`` covariance or factor, or ``[N, 7]`` quaternion
    and log-scales) -> ``means2d [N, 2]``, ``depths [N]``, ``conics [N, 3]`` (differentiable),
    ``cov2d [N, 3]``, ``radii [N]``, ``rect [N, 4]`` (not)."""

    @staticmethod
    def forward(ctx, means, shape, cam_vec, width, height, tile_size, mode):
        means2d, depths, cov2d, conics, radii, rect = load_extension().project_forward(
            means, shape, cam_vec, width, height, tile_size, mode
        )
        ctx.save_for_backward(means, shape, cov2d, cam_vec)
        ctx.config = (width, height, tile_size, mode)
        ctx.mark_non_differentiable(cov2d, radii, rect)
        return means2d, depths, conics, cov2d, radii, rect

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_means2d, g_depths, g_conics, _g_cov2d, _g_radii, _g_rect):
        means, shape, cov2d, cam_vec = ctx.saved_tensors
        width, height, tile_size, mode = ctx.config
        g_means, g_shape = load_extension().project_backward(
            means, shape, cov2d, cam_vec, g_means2d, g_depths, g_conics, width, height,
            tile_size, mode,
        )  # fmt: skip
        return (
            g_means if ctx.needs_input_grad[0] else None,
            g_shape if ctx.needs_input_grad[1] else None,
            None, None, None, None, None,
        )  # fmt: skip


def _project(means, shape, camera, tile_size: int, mode: str):
    from pcc.gaussians.projection import Projected

    means2d, depths, conics, cov2d, radii, rect = _Project.apply(
        means.contiguous(), shape.to(means.dtype).contiguous(), _camera_vector(camera),
        int(camera.width), int(camera.height), int(tile_size), SHAPE_MODES[mode],
    )  # fmt: skip
    a, b, c = cov2d.unbind(1)
    cov2d_full = torch.stack([torch.stack([a, b], -1), torch.stack([b, c], -1)], 1)  # [N, 2, 2]
    return Projected(means2d, depths, cov2d_full, conics, radii, rect)


def project(
    means: torch.Tensor, cov3d: torch.Tensor, camera, tile_size: int = 16, factor: bool = False
):
    """:func:`pcc.gaussians.projection.project_gaussians` in one compiled pass (same contract,
    differentiable w.r.t. ``means [N, 3]`` and ``cov3d [N, 3, 3]``). With ``factor=True``,
    ``cov3d`` is a factor ``F`` of the covariance ``F F^T`` (``R diag(s)`` of a Gaussian).

    Returns:
        :class:`pcc.gaussians.projection.Projected`.
    """
    n = means.shape[0]
    if means.shape != (n, 3) or cov3d.shape != (n, 3, 3):
        raise ValueError(
            f"means must be [N, 3] and cov3d [N, 3, 3]; got {tuple(means.shape)}, "
            f"{tuple(cov3d.shape)}"
        )
    return _project(means, cov3d, camera, tile_size, "factor" if factor else "covariance")


def project_model(
    means: torch.Tensor,  # [N, 3]
    quats: torch.Tensor,  # [N, 4] (w, x, y, z), normalised here
    log_scales: torch.Tensor,  # [N, 3]
    camera,
    tile_size: int = 16,
):
    """The projection of Gaussians given by their rotation and scales, with the covariance
    ``R diag(s^2) R^T`` of :meth:`pcc.gaussians.model.GaussianModel.covariances` built inside
    the compiled pass (and differentiated there: gradients reach ``quats`` and ``log_scales``
    without ``[N, 3, 3]`` tensors in PyTorch's graph).

    Returns:
        :class:`pcc.gaussians.projection.Projected`.
    """
    n = means.shape[0]
    if means.shape != (n, 3) or quats.shape != (n, 4) or log_scales.shape != (n, 3):
        raise ValueError(
            f"means, quats, log_scales must be [N, 3], [N, 4], [N, 3]; got "
            f"{tuple(means.shape)}, {tuple(quats.shape)}, {tuple(log_scales.shape)}"
        )
    shape = torch.cat([quats, log_scales], dim=1).to(means.dtype)  # [N, 7]
    return _project(means, shape, camera, tile_size, "rotation_scale")


class _SHColors(torch.autograd.Function):
    """``sh [N, K, 3]``, ``means [N, 3]`` -> ``colors [N, 3]`` (see :func:`sh_colors`)."""

    @staticmethod
    def forward(ctx, sh, means, center, degree, clamp):
        colors = load_extension().sh_forward(sh, means, center, degree, clamp)
        ctx.save_for_backward(sh, means, center)
        ctx.config = (degree, clamp)
        return colors

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_colors):
        sh, means, center = ctx.saved_tensors
        degree, clamp = ctx.config
        g_sh, g_means = load_extension().sh_backward(
            sh, means, center, degree, clamp, grad_colors.contiguous()
        )
        return (
            g_sh if ctx.needs_input_grad[0] else None,
            g_means if ctx.needs_input_grad[1] else None,
            None, None, None,
        )  # fmt: skip


def sh_colors(model, camera, sh_degree: int | None = None, clamp: bool = True) -> torch.Tensor:
    """:func:`pcc.gaussians.render.gaussian_colors` in one compiled pass: ``max(0, SH(d) + 0.5)``
    (or ``SH(d) + 0.5``) per Gaussian, ``d`` the unit vector from the camera centre to the mean;
    differentiable w.r.t. ``model.sh`` and ``model.means``.

    Returns:
        ``[N, 3]`` in the model's dtype.
    """
    degree = model.sh_degree if sh_degree is None else int(sh_degree)
    if not 0 <= degree <= model.sh_degree:
        raise ValueError(f"sh_degree {degree} not in 0..{model.sh_degree} (the model's degree)")
    center = torch.as_tensor(camera.center, dtype=torch.float64).reshape(3)
    sh = model.sh.to(model.means.dtype).contiguous()
    return _SHColors.apply(sh, model.means.contiguous(), center, degree, bool(clamp))


def composite(
    proj,  # pcc.gaussians.projection.Projected: means2d, conics, depths, tile_rect of N Gaussians
    opacities: torch.Tensor,  # [N]
    colors: torch.Tensor,  # [N, 3]
    background: torch.Tensor,  # [3]
    width: int,
    height: int,
    tile_size: int,
    consts: tuple[float, float, float],  # (ALPHA_MAX, ALPHA_MIN, T_MIN)
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Differentiable compositing of the projected Gaussians, front to back in view depth.

    Composites the Gaussians that are visible (non-empty tile rectangle) with opacity >= 1/255;
    the gradients reach every input row (zero for the others).

    Returns:
        ``image [H, W, 3]``, ``alpha [H, W]``, ``depth [H, W]`` in the inputs' dtype.
    """
    dtype = proj.means2d.dtype
    inputs = (
        proj.means2d.contiguous(),
        proj.conics.contiguous(),
        opacities.to(dtype).contiguous(),
        colors.to(dtype).contiguous(),
        proj.depths.contiguous(),
        background.to(dtype).contiguous(),
    )
    # The forward pass keeps its pairs (8 bytes each) only when a backward pass can follow.
    save_pairs = torch.is_grad_enabled() and any(t.requires_grad for t in inputs)
    config = (int(width), int(height), int(tile_size), tuple(float(c) for c in consts), save_pairs)
    return _Composite.apply(*inputs, proj.tile_rect.to(torch.int64).contiguous(), config)


def depth_order(
    proj, opacities: torch.Tensor, width: int, height: int, tile_size: int, alpha_min: float
):
    """The Gaussians :func:`composite` composites, front to back: ``[V]`` int64 indices
    (visible, opacity >= ``alpha_min``, stably sorted by view depth)."""
    return load_extension().visible_depth_order(
        opacities.detach().contiguous(), proj.depths.detach().contiguous(),
        proj.tile_rect.to(torch.int64).contiguous(), int(width), int(height), int(tile_size),
        float(alpha_min),
    )  # fmt: skip


def count_pairs(proj, opacities, colors, width, height, tile_size, consts) -> int:
    """Number of composited (pixel, Gaussian) pairs of a forward pass (for benchmarks)."""
    dtype = proj.means2d.dtype
    with torch.no_grad():
        out = load_extension().composite_forward(
            proj.means2d.detach().contiguous(), proj.conics.detach().contiguous(),
            opacities.detach().to(dtype).contiguous(), colors.detach().to(dtype).contiguous(),
            proj.depths.detach().contiguous(), proj.tile_rect.to(torch.int64).contiguous(),
            torch.zeros(3, dtype=dtype), int(width), int(height), int(tile_size), *consts, False,
        )  # fmt: skip
    return int(out[0][4])


def main(argv: list[str] | None = None) -> int:
    """``python -m pcc.gaussians.render_native --build``: compile (or find) the extension."""
    parser = argparse.ArgumentParser(prog="python -m pcc.gaussians.render_native")
    parser.add_argument("--build", action="store_true", help="build the extension now")
    parser.add_argument("--verbose", action="store_true", help="show the compiler output")
    args = parser.parse_args(argv)
    if not args.build:
        parser.print_help()
        return 0
    start = time.perf_counter()
    module = load_extension(verbose=args.verbose)
    seconds = time.perf_counter() - start
    if module is None:
        print(f"pcc: native rasteriser NOT built ({_error}); rendering will use PyTorch")
        return 1
    print(f"pcc: native rasteriser ready in {build_dir()} ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
