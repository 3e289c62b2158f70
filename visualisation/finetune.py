"""Figures and animations of quantisation-aware fine-tuning.

Every function takes plain arrays (NumPy or torch) and RETURNS a matplotlib ``Figure`` or a
``FuncAnimation``; nothing is shown or saved here. Used by ``notebooks/04_finetuning.ipynb``.

* :func:`moving_average` - the trailing mean that turns a noisy one-view-per-step loss into a trend;
* :func:`plot_loss_curve` - the loss of every iteration, its moving average and reference levels;
* :func:`animate_renders` - one camera's renders during fine-tuning next to its ground truth;
* :func:`plot_before_after` - ground truth, before and after, with PSNR and error maps;
* :func:`plot_guard` - training loss before/after for one or more runs and the guard's decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from visualisation.arrays import as_image
from visualisation.style import CMAPS, PALETTE

__all__ = [
    "animate_renders",
    "moving_average",
    "plot_before_after",
    "plot_guard",
    "plot_loss_curve",
]


def _no_ticks(ax) -> None:
    """An image panel: no ticks, no grid, no frame."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def moving_average(values, window: int) -> np.ndarray:
    """Trailing mean over the last ``window`` values (fewer at the start).  # [len(values)]"""
    v = np.asarray(values, dtype=np.float64)
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if v.size == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    n = np.arange(1, v.size + 1)
    lo = np.maximum(n - window, 0)
    return (c[n] - c[lo]) / (n - lo)


def plot_loss_curve(
    losses,
    *,
    window: int = 20,
    levels: Mapping[str, float] | None = None,
    title: str = "Fine-tuning loss (one random training view per iteration)",
    ylabel: str = "loss 0.8·L1 + 0.2·(1 − SSIM) (0-1 scale)",
    figsize=(7.0, 4.2),
) -> Figure:
    """Per-iteration loss (thin), its ``window``-iteration moving average (thick) and levels.

    ``levels`` draws horizontal reference lines, e.g. ``{"before fine-tuning (mean over
    views)": 0.031}``.
    """
    v = np.asarray(losses, dtype=np.float64)
    it = np.arange(1, v.size + 1)
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(it, v, color=PALETTE[5], lw=0.8, alpha=0.7, label="loss per iteration")
    if v.size:
        w = min(window, v.size)
        ax.plot(
            it, moving_average(v, w), color=PALETTE[0], lw=2.2, label=f"moving average ({w} it.)"
        )
    for i, (name, y) in enumerate((levels or {}).items()):
        ax.axhline(
            y, color=PALETTE[(i + 1) % len(PALETTE)], ls="--", lw=1.3, label=f"{name}: {y:.4f}"
        )
    ax.set_xlabel("fine-tuning iteration")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper right")
    return fig


def animate_renders(
    frames: Sequence,
    iterations: Sequence[int],
    *,
    target=None,
    psnrs: Sequence[float] | None = None,
    losses=None,
    title: str = "One camera during fine-tuning",
    interval: int = 300,
    panel_size: float = 3.0,
) -> FuncAnimation:
    """Animate renders ``F x [H, W, 3]`` taken at ``iterations [F]``.

    Next to the render: the ground truth ``target`` (static) and, if given, the loss curve with
    the frame's iteration marked. ``psnrs [F]`` (dB against the target) go into the frame title.
    """
    imgs = [as_image(f) for f in frames]
    its = np.asarray(iterations, dtype=np.int64)
    if len(imgs) == 0 or its.shape != (len(imgs),):
        raise ValueError(f"{len(imgs)} frames with {its.size} iteration numbers")
    has_target = target is not None
    has_loss = losses is not None and len(losses) > 0
    ncols = 1 + has_target + has_loss
    fig = Figure(
        figsize=(panel_size * ncols + 0.6 * has_loss, panel_size + 0.5), layout="constrained"
    )
    axes = list(np.atleast_1d(fig.subplots(1, ncols, squeeze=False)[0]))
    ax = axes.pop(0)
    im = ax.imshow(imgs[0])
    _no_ticks(ax)
    head = ax.set_title("")
    if has_target:
        ta = axes.pop(0)
        ta.imshow(as_image(target))
        _no_ticks(ta)
        ta.set_title("ground truth")
    marker = None
    if has_loss:
        la = axes.pop(0)
        lv = np.asarray(losses, dtype=np.float64)
        la.plot(np.arange(1, lv.size + 1), lv, color=PALETTE[5], lw=0.8, alpha=0.7)
        la.plot(
            np.arange(1, lv.size + 1),
            moving_average(lv, max(1, lv.size // 10)),
            color=PALETTE[0],
            lw=2,
        )
        la.set_xlabel("iteration")
        la.xaxis.set_major_locator(MaxNLocator(integer=True))
        la.set_ylabel("loss (0-1 scale)")
        la.set_title("training loss")
        (marker,) = la.plot([], [], "o", color=PALETTE[1], ms=8, mec="black")
    fig.suptitle(title)

    def update(i: int):
        im.set_data(imgs[i])
        text = f"iteration {its[i]}"
        if psnrs is not None:
            text += f": {psnrs[i]:.2f} dB"
        head.set_text(text)
        if marker is not None:
            s = int(its[i])
            marker.set_data([s], [lv[s - 1]]) if 1 <= s <= lv.size else marker.set_data([], [])
        return (im, head) if marker is None else (im, head, marker)

    update(0)
    return FuncAnimation(fig, update, frames=len(imgs), interval=interval, blit=False)


def plot_before_after(
    target,
    images: Mapping[str, object],
    *,
    psnrs: Mapping[str, float] | None = None,
    error_gain: float = 3.0,
    title: str = "Ground truth, before and after fine-tuning",
    panel_size: float = 3.2,
) -> Figure:
    """Top row: ground truth and each image of ``images`` (e.g. ``{"before": ..., "after": ...}``),
    with its PSNR from ``psnrs`` in the title. Bottom row: ``|image - ground truth|``, amplified by
    ``error_gain``, on a shared colour scale."""
    gt = as_image(target)
    n = len(images)
    fig = Figure(figsize=(panel_size * (n + 1) + 0.8, panel_size * 2 + 0.4), layout="constrained")
    axes = fig.subplots(2, n + 1, squeeze=False)
    axes[0, 0].imshow(gt)
    axes[0, 0].set_title("ground truth")
    axes[1, 0].axis("off")
    axes[1, 0].text(
        0.5,
        0.5,
        f"bottom row:\nmean abs. error\nover RGB, x {error_gain:g}",
        ha="center",
        va="center",
        fontsize=10,
        transform=axes[1, 0].transAxes,
    )
    im = None
    for j, (name, img) in enumerate(images.items(), start=1):
        a = as_image(img)
        if a.shape != gt.shape:
            raise ValueError(f"{name}: image {a.shape} vs ground truth {gt.shape}")
        axes[0, j].imshow(a)
        p = None if psnrs is None else psnrs.get(name)
        axes[0, j].set_title(name if p is None else f"{name}: {p:.2f} dB")
        err = np.abs(a - gt).mean(-1) * error_gain
        im = axes[1, j].imshow(np.clip(err, 0, 1), cmap=CMAPS["error"], vmin=0, vmax=1)
        axes[1, j].set_title(f"|{name} − ground truth|")
    for ax in axes.flat:
        _no_ticks(ax)
    if im is not None:
        fig.colorbar(
            im, ax=axes[1, 1:].tolist(), shrink=0.85, label=f"error x {error_gain:g} (0-1)"
        )
    fig.suptitle(title)
    return fig


def plot_guard(
    runs: Mapping[str, tuple[float, float, bool]],
    *,
    title: str = "The fine-tuning guard: keep the tuned model only if it lowers the loss",
    ylabel: str = "mean training loss over the guard views (0-1 scale)",
    figsize=(7.0, 4.2),
) -> Figure:
    """Grouped bars of the guard's loss before and after fine-tuning for every run.

    ``runs`` maps a label to ``(loss_before, loss_after, applied)``; each group is annotated with
    the decision ("kept tuned" or "reverted").
    """
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    labels = list(runs)
    x = np.arange(len(labels))
    w = 0.36
    before = np.array([runs[k][0] for k in labels], dtype=np.float64)
    after = np.array([runs[k][1] for k in labels], dtype=np.float64)
    ax.bar(x - w / 2, before, w, color=PALETTE[0], label="before fine-tuning")
    ax.bar(x + w / 2, after, w, color=PALETTE[1], label="after fine-tuning")
    top = float(np.nanmax(np.concatenate([before, after]))) if labels else 1.0
    for i, k in enumerate(labels):
        applied = bool(runs[k][2])
        ax.text(
            x[i],
            max(before[i], after[i]) + 0.04 * top,
            ("kept tuned" if applied else "reverted") + f"\n({after[i] - before[i]:+.4f})",
            ha="center",
            va="bottom",
            fontsize=10,
            color=PALETTE[2] if applied else PALETTE[3],
            fontweight="bold",
        )
    ax.set_xticks(x, labels)
    ax.set_ylim(0, top * 1.3)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper left")
    return fig
