"""Figures of notebook 13 (training the codec): rate/distortion curves drawn live while
:func:`pcc.codec.train.train` runs, the check that a resumed run continues identically, and the
validation metrics of the bundled checkpoints.

:class:`LiveCurves` is the trainer's ``callback``: it collects the per-step records and redraws
one figure in place through an IPython display handle (interactive Jupyter). In a batch run
(papermill, nbval, a script) it only collects, and ``figure()`` draws the final curves once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from visualisation.style import color

__all__ = [
    "LiveCurves",
    "plot_bundled_validation",
    "plot_resume_check",
    "plot_training_curves",
    "smooth",
]


def smooth(values: Sequence[float], window: int = 10) -> np.ndarray:
    """Trailing moving average over at most ``window`` values (same length as ``values``)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0 or window <= 1:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.size + 1)
    start = np.maximum(idx - window, 0)
    return (c[idx] - c[start]) / (idx - start)


_PANELS = (
    ("loss", "val_loss", "loss = D + lambda R", "loss per occupied voxel"),
    ("focal", "val_focal", "distortion D (focal loss)", "focal loss per occupied voxel"),
    ("bpov", "val_bpov", "rate R (estimated)", "bits per occupied voxel"),
    (None, "val_topk_recall", "top-k recall (validation)", "fraction of points recovered"),
)


def plot_training_curves(
    records: Sequence[Mapping[str, float]],
    total_steps: int | None = None,
    window: int = 10,
    title: str | None = None,
) -> Figure:
    """Four panels against the training step: loss, distortion (focal loss per occupied voxel),
    rate (estimated bits per occupied voxel) and validation top-k recall. Training values are
    drawn faint with a moving average of ``window`` steps on top; validation points as markers.

    ``records`` are the trainer's callback records (``step``, ``loss``, ``focal``, ``bpov`` and,
    on validation steps, ``val_*``).
    """
    fig, axes = plt.subplots(1, 4, figsize=(13.5, 3.4))
    steps = np.array([r["step"] for r in records], dtype=float)
    val = [r for r in records if "val_loss" in r]
    vsteps = np.array([r["step"] for r in val], dtype=float)
    for ax, (train_key, val_key, name, unit) in zip(axes, _PANELS, strict=True):
        if train_key is not None and len(records):
            values = np.array([r[train_key] for r in records], dtype=float)
            ax.plot(steps, values, color=color(0), alpha=0.25, lw=0.8)
            ax.plot(steps, smooth(values, window), color=color(0), lw=1.6, label="training")
        if val:
            ax.plot(
                vsteps,
                [r[val_key] for r in val],
                color=color(1),
                marker="o",
                ms=4,
                lw=1.2,
                label="validation",
            )
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("training step")
        ax.set_ylabel(unit)
        if total_steps:
            ax.set_xlim(0, total_steps)
        if train_key == "loss":
            ax.legend(fontsize=8)
    last = records[-1]["step"] if len(records) else 0
    fig.suptitle(title or f"Training the block codec: step {last}", fontsize=11)
    fig.tight_layout()
    return fig


class LiveCurves:
    """Trainer callback that keeps :func:`plot_training_curves` up to date in place.

    ``live=None`` redraws only where someone watches (an interactive Jupyter kernel, not a batch
    runner: :func:`pcc.progress.progress_enabled` decides); ``every`` = redraw period in steps
    (validation steps always redraw). Call ``figure()`` at the end for the final figure.
    """

    def __init__(
        self,
        total_steps: int | None = None,
        every: int = 10,
        live: bool | None = None,
        title: str | None = None,
    ):
        self.records: list[dict] = []
        self.total_steps = total_steps
        self.every = max(1, int(every))
        self.title = title
        if live is None:
            live = _interactive()
        self.live = bool(live)
        self._handle = None

    def __call__(self, record: Mapping[str, float]) -> None:
        self.records.append(dict(record))
        if self.live and (record["step"] % self.every == 0 or "val_loss" in record):
            self._redraw()

    def _redraw(self) -> None:
        try:
            from IPython.display import display
        except ImportError:  # no IPython: collect only
            self.live = False
            return
        fig = self.figure()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)

    def figure(self) -> Figure:
        """The curves of every record so far."""
        return plot_training_curves(self.records, self.total_steps, title=self.title)


def _interactive() -> bool:
    """True in an interactive Jupyter kernel (not papermill / nbval / a script)."""
    try:
        from pcc.progress import in_jupyter_kernel, run_by_batch_runner
    except ImportError:  # pragma: no cover - older pcc without the progress switch
        return False
    return in_jupyter_kernel() and not run_by_batch_runner()


def plot_resume_check(
    reference: Sequence[Mapping[str, float]],
    resumed: Sequence[Mapping[str, float]],
    interrupted_at: int,
    key: str = "loss",
    title: str | None = None,
) -> Figure:
    """Left: the training ``key`` of an uninterrupted run and of a run resumed from its
    checkpoint at ``interrupted_at``; right: their absolute difference per step (0 = identical;
    drawn at 1e-12 on the log axis so that zeros stay visible)."""
    ref = {int(r["step"]): float(r[key]) for r in reference}
    res = {int(r["step"]): float(r[key]) for r in resumed}
    common = sorted(set(ref) & set(res))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 3.6))
    ax.plot(list(ref), list(ref.values()), color=color(0), lw=2.5, alpha=0.6, label="uninterrupted")
    ax.plot(list(res), list(res.values()), color=color(1), lw=1.2, ls="--", label="resumed")
    ax.axvline(interrupted_at, color="0.4", lw=1, ls=":", label=f"interrupted at {interrupted_at}")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"training {key} per occupied voxel")
    ax.set_title("Same curve after the restart")
    ax.legend(fontsize=8)
    diff = np.array([abs(ref[s] - res[s]) for s in common])
    floor = 1e-12
    bx.semilogy(common, np.maximum(diff, floor), color=color(2), marker=".", lw=1)
    bx.axhline(floor, color="0.6", lw=0.8, ls=":")
    bx.set_ylim(floor / 10, max(1.0, float(diff.max()) * 10) if diff.size else 1.0)
    bx.set_xlabel("training step")
    bx.set_ylabel(f"|difference of {key}| (floor 1e-12)")
    n_equal = int((diff == 0).sum())
    bx.set_title(f"{n_equal} of {len(common)} resumed steps bit-identical")
    fig.suptitle(title or "Resuming from a checkpoint continues the run exactly", fontsize=11)
    fig.tight_layout()
    return fig


def plot_bundled_validation(
    rows: Sequence[Mapping[str, object]], lmbda: float = 0.1, title: str | None = None
) -> Figure:
    """Validation metrics of bundled checkpoints (from their stored metadata).

    Left: validation distortion against rate, the models of one entropy model joined in order of
    lambda (a rate ladder, lambda written next to the first ladder's points). Right: the rate of
    every model trained at ``lmbda`` (equal distortion, different entropy models).
    Each row: ``name``, ``entropy_model``, ``lambda``, ``val_bpov``, ``val_focal``.
    """
    from visualisation.entropy import model_colour

    if not rows:
        raise ValueError("no checkpoints to plot")
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12.5, 4.6), gridspec_kw={"width_ratios": [1.35, 1]})
    families: dict[str, list[Mapping[str, object]]] = {}
    for r in rows:
        families.setdefault(str(r["entropy_model"]), []).append(r)
    ladders = [f for f, m in sorted(families.items()) if len(m) > 1]
    labelled = "hyperprior" if "hyperprior" in ladders else (ladders[0] if ladders else None)
    for i, (family, members) in enumerate(sorted(families.items())):
        members = sorted(members, key=lambda r: float(r["lambda"]))
        x = [float(r["val_bpov"]) for r in members]
        y = [float(r["val_focal"]) for r in members]
        c = model_colour(family, i)
        ax.plot(x, y, color=c, marker="o", lw=1.4 if len(x) > 1 else 0, label=family)
        if family == labelled:  # lambda next to one ladder only (no overlapping labels)
            for r, xi, yi in zip(members, x, y, strict=True):
                ax.annotate(
                    f"λ = {float(r['lambda']):g}",
                    (xi, yi),
                    textcoords="offset points",
                    xytext=(7, 2),
                    fontsize=9,
                    color=c,
                )
    ax.set_xscale("log")
    ax.set_xlabel("validation rate (estimated bits per occupied voxel, log)")
    ax.set_ylabel("validation distortion (focal loss per occupied voxel)")
    ax.set_title("Rate ladders: larger λ, fewer bits, more distortion", fontsize=10)
    ax.legend(fontsize=8)
    same = sorted(
        (r for r in rows if abs(float(r["lambda"]) - lmbda) < 1e-9),
        key=lambda r: float(r["val_bpov"]),
    )
    names = [str(r["entropy_model"]) for r in same]
    rates = [float(r["val_bpov"]) for r in same]
    bars = bx.barh(names, rates, color=[model_colour(n, i) for i, n in enumerate(names)])
    for b, r in zip(bars, same, strict=True):
        bx.text(
            b.get_width(),
            b.get_y() + b.get_height() / 2,
            f" {float(r['val_bpov']):.3f} (D {float(r['val_focal']):.3f})",
            va="center",
            fontsize=9,
        )
    bx.set_xlim(0, max(rates, default=1.0) * 1.45)
    bx.invert_yaxis()
    bx.set_xlabel("validation rate (bits per occupied voxel)")
    bx.set_title(f"The six entropy models at λ = {lmbda:g}", fontsize=10)
    bx.grid(axis="y", visible=False)
    fig.suptitle(title or "The bundled checkpoints on 128 held-out procedural blocks", fontsize=11)
    fig.tight_layout()
    return fig
