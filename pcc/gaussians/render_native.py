"""The compiled CPU rasteriser: tile binning and alpha compositing in C++, forward and backward.

:func:`pcc.gaussians.render.render` uses it on CPU tensors when it can be built (``backend="auto"``,
the default). Two compiled steps, each a ``torch.autograd.Function`` with a hand-written backward:

* :func:`project`: the EWA projection of :func:`pcc.gaussians.projection.project_gaussians` in
  one pass per Gaussian (the PyTorch version stays the reference it is tested against);
* :func:`composite`: steps 1-3 of :mod:`pcc.gaussians.render` (which pixels each Gaussian covers,
  front-to-back compositing with INRIA's cut-offs, and its gradient). Tiles are handed out to
  ``torch.get_num_threads()`` threads; each walks its depth-ordered list of Gaussians over the
  pixels inside their ``alpha >= 1/255`` ellipses. The backward pass walks the lists back to
  front (INRIA's scheme), recovering each transmittance from the final one, so no pairs are
  stored.

Covariances, SH colours and the gather of the visible Gaussians stay in PyTorch (autograd goes
through them). The alpha test is evaluated with the same float operations as the PyTorch renderer,
so both composite the same pairs; transmittance and sums are kept in double. Tested against the
PyTorch renderer, images and every gradient, and by finite differences
(``tests/test_render_native.py``). Taught in ``notebooks/00_a_3dgs_scene.ipynb``.

Building. The extension is compiled with ``torch.utils.cpp_extension.load`` (needs a C++ compiler
and ``ninja``) the first time it is needed, into a cache folder (``$PCC_NATIVE_BUILD_DIR``, else
``$XDG_CACHE_HOME/pcc/torch_extensions/<python, torch version>``); later processes reuse it.
``python -m pcc.gaussians.render_native --build`` builds it ahead of time (``make install``).
If it cannot be built, :func:`render` falls back to the PyTorch renderer with one warning.

Choosing a renderer: ``render(..., backend="torch" | "native" | "auto")``, or the environment
variable ``PCC_RENDERER`` (same values) when the argument is not given.
"""

from __future__ import annotations

import argparse
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
SOURCE = Path(__file__).resolve().parent / "_csrc" / "rasterize.cpp"
EXTENSION_NAME = "pcc_rasterize"
# -ffp-contract=off: no fused multiply-adds, so the alpha test rounds like the PyTorch renderer.
# x86-64-v2 (SSE4.2, every x86-64 CPU since about 2009) gives single-instruction floor/ceil.
CFLAGS = ["-O3", "-ffp-contract=off"] + (
    ["-march=x86-64-v2"] if platform.machine().lower() in ("x86_64", "amd64") else []
)

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
            sources=[str(SOURCE)],
            extra_cflags=CFLAGS,
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
    """``table [V, 10]``, ``background [3]`` -> ``image [H, W, 3]``, ``alpha``, ``depth [H, W]``."""

    @staticmethod
    def forward(ctx, table, background, rect, width, height, tile_size, consts):
        ext = load_extension()
        image, alpha, depth, t_final, n_contrib, _ = ext.composite_forward(
            table, rect, background, width, height, tile_size, *consts
        )
        ctx.save_for_backward(table, rect, background, t_final, n_contrib)
        ctx.config = (width, height, tile_size, consts)
        return image, alpha, depth

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_image, grad_alpha, grad_depth):
        table, rect, background, t_final, n_contrib = ctx.saved_tensors
        width, height, tile_size, consts = ctx.config
        grad_table = grad_bg = None
        if ctx.needs_input_grad[0]:
            grad_table = load_extension().composite_backward(
                table, rect, background, t_final, n_contrib,
                grad_image.contiguous(), grad_alpha.contiguous(), grad_depth.contiguous(),
                width, height, tile_size, *consts,
            )  # fmt: skip
        if ctx.needs_input_grad[1]:
            t = t_final.to(grad_image.dtype)  # [H * W]
            grad_bg = (grad_image.reshape(-1, 3) * t[:, None]).sum(0)
        return grad_table, grad_bg, None, None, None, None, None


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


class _Project(torch.autograd.Function):
    """``means [N, 3]``, ``cov3d [N, 3, 3]`` -> ``means2d [N, 2]``, ``depths [N]``,
    ``conics [N, 3]`` (differentiable), ``cov2d [N, 3]``, ``radii [N]``, ``rect [N, 4]`` (not)."""

    @staticmethod
    def forward(ctx, means, cov3d, cam_vec, width, height, tile_size, factor):
        means2d, depths, cov2d, conics, radii, rect = load_extension().project_forward(
            means, cov3d, cam_vec, width, height, tile_size, factor
        )
        ctx.save_for_backward(means, cov3d, cov2d, cam_vec)
        ctx.config = (width, height, tile_size, factor)
        ctx.mark_non_differentiable(cov2d, radii, rect)
        return means2d, depths, conics, cov2d, radii, rect

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_means2d, g_depths, g_conics, _g_cov2d, _g_radii, _g_rect):
        means, cov3d, cov2d, cam_vec = ctx.saved_tensors
        width, height, tile_size, factor = ctx.config
        g_means, g_cov = load_extension().project_backward(
            means, cov3d, cov2d, cam_vec, g_means2d, g_depths, g_conics, width, height,
            tile_size, factor,
        )  # fmt: skip
        return (
            g_means if ctx.needs_input_grad[0] else None,
            g_cov if ctx.needs_input_grad[1] else None,
            None, None, None, None, None,
        )  # fmt: skip


def project(
    means: torch.Tensor, cov3d: torch.Tensor, camera, tile_size: int = 16, factor: bool = False
):
    """:func:`pcc.gaussians.projection.project_gaussians` in one compiled pass (same contract,
    differentiable w.r.t. ``means [N, 3]`` and ``cov3d [N, 3, 3]``). With ``factor=True``,
    ``cov3d`` is a factor ``F`` of the covariance ``F F^T`` (``R diag(s)`` of a Gaussian), which
    saves building and differentiating the ``[N, 3, 3]`` covariances in PyTorch.

    Returns:
        :class:`pcc.gaussians.projection.Projected`.
    """
    from pcc.gaussians.projection import Projected

    n = means.shape[0]
    if means.shape != (n, 3) or cov3d.shape != (n, 3, 3):
        raise ValueError(
            f"means must be [N, 3] and cov3d [N, 3, 3]; got {tuple(means.shape)}, "
            f"{tuple(cov3d.shape)}"
        )
    means2d, depths, conics, cov2d, radii, rect = _Project.apply(
        means.contiguous(), cov3d.to(means.dtype).contiguous(), _camera_vector(camera),
        int(camera.width), int(camera.height), int(tile_size), bool(factor),
    )  # fmt: skip
    a, b, c = cov2d.unbind(1)
    cov2d_full = torch.stack([torch.stack([a, b], -1), torch.stack([b, c], -1)], 1)  # [N, 2, 2]
    return Projected(means2d, depths, cov2d_full, conics, radii, rect)


def composite(
    table: torch.Tensor,  # [V, 10] (u, v, conic a, b, c, opacity, r, g, b, depth), depth order
    rect: torch.Tensor,  # [V, 4] int64 tile rectangles
    background: torch.Tensor,  # [3]
    width: int,
    height: int,
    tile_size: int,
    consts: tuple[float, float, float],  # (ALPHA_MAX, ALPHA_MIN, T_MIN)
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Differentiable compositing of the table's Gaussians (front to back in table order).

    Returns:
        ``image [H, W, 3]``, ``alpha [H, W]``, ``depth [H, W]`` in the table's dtype.
    """
    return _Composite.apply(
        table.contiguous(),
        background.to(table.dtype).contiguous(),
        rect.to(torch.int64).contiguous(),
        int(width),
        int(height),
        int(tile_size),
        tuple(float(c) for c in consts),
    )


def count_pairs(table, rect, width, height, tile_size, consts) -> int:
    """Number of composited (pixel, Gaussian) pairs of a forward pass (for benchmarks)."""
    with torch.no_grad():
        out = load_extension().composite_forward(
            table.detach().contiguous(), rect.contiguous(),
            torch.zeros(3, dtype=table.dtype), width, height, tile_size, *consts,
        )  # fmt: skip
    return int(out[5])


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
