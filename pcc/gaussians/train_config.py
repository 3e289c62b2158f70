"""The 3DGS trainer's settings (:class:`TrainConfig`) and what it returns (:class:`TrainResult`).

**Schedule for short CPU runs.** INRIA trains 30 000 steps: densify from 500 to 15 000 every 100,
reset opacity every 3 000, raise the SH degree every 1 000. With ``s = iterations / 30000``
:meth:`TrainConfig.resolved` scales this to ``densify_from = max(500 s, densify_interval)``,
``densify_until = 15000 s`` (half the run), ``densify_interval = max(100 s, 25)``,
``sh_increase_interval = max(1000 s, 1)``; the opacity reset interval is ``6000 s`` (half as many
resets as INRIA: with tens instead of hundreds of views a short run needs the time between resets
to recover); runs shorter than 1000 steps (interval below 200) do not reset opacity at all. Every
value can be set explicitly.

**Time budget.** With ``minutes`` set, the run stops when that much wall time is used, and the
schedule above runs on *progress* instead of steps: ``iterations`` becomes the schedule's nominal
length ``N``, and a step taken when a fraction ``p`` of the budget is used counts as step
``floor(p N)`` of that schedule (learning-rate decay, densification window and period, opacity
resets, SH degree, resolution stages). A fixed-step run is the special case ``p = step / N``.

**Coarse to fine.** ``upscale_at = (p1, p2, ...)`` trains at ``2^-k`` of the image size first,
doubling the resolution at each progress fraction ``p_i`` (e.g. ``(0.15, 0.35)``: quarter size
until 15 % of the run, half size until 35 %, then full size). Coarse steps cost a fraction of a
full-size step, so a time budget buys more of them.

Taught in ``notebooks/00_a_3dgs_scene.ipynb`` (through :mod:`pcc.gaussians.train`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from pcc.gaussians.model import GaussianModel

__all__ = ["TrainConfig", "TrainResult", "MIN_RESET_INTERVAL"]

MIN_RESET_INTERVAL = 200  # shorter scaled reset intervals disable the reset (no time to recover)


@dataclass
class TrainConfig:
    """Every hyper-parameter of :func:`pcc.gaussians.train.train` (INRIA defaults; ``None`` =
    derived from the run length, see the module docstring)."""

    iterations: int = 3000
    sh_degree: int = 3
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    seed: int = 0
    # time budget (wall minutes of the training loop; None = run `iterations` steps)
    minutes: float | None = None
    # what the budget counts: "wall" seconds, or "cpu" seconds of this process (on one thread,
    # what an idle core would need: a machine-load-independent budget for measurements)
    budget_clock: str = "wall"
    # coarse-to-fine: progress fractions at which the resolution doubles (empty = full size)
    upscale_at: tuple[float, ...] = ()
    # learning rates (INRIA arguments/__init__.py OptimizationParams)
    position_lr_init: float = 1.6e-4  # times the scene extent
    position_lr_final: float = 1.6e-6  # times the scene extent
    feature_lr: float = 0.0025
    rest_lr_divisor: float = 20.0
    opacity_lr: float = 0.05
    scaling_lr: float = 0.005
    rotation_lr: float = 0.001
    lambda_dssim: float = 0.2
    # adaptive density control
    densify_from: int | None = None
    densify_until: int | None = None
    densify_interval: int | None = None
    opacity_reset_interval: int | None = None
    sh_increase_interval: int | None = None
    grad_threshold: float = 0.0002
    percent_dense: float = 0.01
    min_opacity: float = 0.005
    max_screen_radius: float | None = None  # pixels; INRIA uses 20 at full resolution; off here
    max_gaussians: int | None = None  # cap on the count reached by densification (CPU budget)
    # initialisation
    init: str = "auto"  # auto | points | carve | random (see initial_model)
    n_random_points: int = 10_000
    random_cube: float = 1.3  # half-size of the random-initialisation cube
    init_opacity: float = 0.1
    # points on a sphere around the scene for the background of captures without masks
    # (None: auto = 0 when every camera has an alpha mask, else `n_random_points`)
    shell_points: int | None = None
    shell_radius: float = 2.0  # times the scene extent, around the camera centroid
    # logging
    test_every: int = 500
    checkpoint_every: int = 0  # 0 = no checkpoints

    def resolved(self) -> TrainConfig:
        """A copy with the schedule filled in for ``iterations`` (module docstring)."""
        if self.iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {self.iterations}")
        if self.minutes is not None and not self.minutes > 0:
            raise ValueError(f"minutes must be > 0, got {self.minutes}")
        if self.budget_clock not in ("wall", "cpu"):
            raise ValueError(f"budget_clock must be 'wall' or 'cpu', got {self.budget_clock!r}")
        ups = tuple(float(p) for p in self.upscale_at)
        if any(not 0.0 < p < 1.0 for p in ups) or list(ups) != sorted(ups):
            raise ValueError(f"upscale_at must be increasing fractions in (0, 1), got {ups}")
        s = self.iterations / 30000.0
        interval = self.densify_interval or max(round(100 * s), 25)
        return replace(
            self,
            upscale_at=ups,
            densify_interval=interval,
            densify_from=self.densify_from
            if self.densify_from is not None
            else max(round(500 * s), interval),
            densify_until=self.densify_until
            if self.densify_until is not None
            else round(15000 * s),
            opacity_reset_interval=self.opacity_reset_interval
            or (round(6000 * s) if 6000 * s >= MIN_RESET_INTERVAL else self.iterations + 1),
            sh_increase_interval=self.sh_increase_interval or max(round(1000 * s), 1),
            background=tuple(float(b) for b in self.background),
        )

    def level_at(self, progress: float) -> int:
        """Resolution level at ``progress`` in [0, 1]: 0 = full size, k = ``2^-k`` of it."""
        return sum(1 for p in self.upscale_at if progress < p)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["background"] = list(self.background)
        d["upscale_at"] = list(self.upscale_at)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for key in ("background", "upscale_at"):
            if key in kw:
                kw[key] = tuple(kw[key])
        return cls(**kw)


@dataclass
class TrainResult:
    """What :func:`pcc.gaussians.train.train` returns."""

    model: GaussianModel
    iteration: int
    history: list[dict] = field(default_factory=list)  # one row per logged step
    test_psnr: float | None = None  # mean over test views at the end (None without test views)
    train_psnr: float | None = None  # mean over training views at the end
    seconds: float = 0.0
    model_dir: Path | None = None
    cpu_seconds: float = 0.0
    finished: bool = False  # the schedule (or the time budget) ran to its end
