"""Figures of notebook 12 (entropy models): what each model reads, where the bits of a file go,
real sizes against the models' estimates, and where in the latent the context saves bits.

Every function takes plain data (arrays, dicts, :class:`pcc.codec.anatomy.CausalView`) and returns
a matplotlib Figure; nothing here computes a rate or a mask (that is :mod:`pcc.codec.anatomy`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from pcc.codec.anatomy import FUTURE, KNOWN, LABELS, LEAK, TARGET, USED, CausalView
from visualisation.style import PALETTE, color

# label -> colour: light grey (future), sky blue (decoded, unread), blue (read), black (target),
# vermillion (leak: never expected)
LABEL_COLOURS = {
    FUTURE: "#E8E8E8",
    KNOWN: PALETTE[5],
    USED: PALETTE[0],
    TARGET: "#000000",
    LEAK: PALETTE[3],
}
# one colour per entropy model in every figure (others: the palette in order)
MODEL_COLOURS = {
    "gaussian": "#999999",
    "hyperprior": PALETTE[0],
    "channel": PALETTE[2],
    "context": PALETTE[1],
    "attention": PALETTE[4],
    "hybrid": PALETTE[3],
}


def model_colour(name: str, i: int = 0) -> str:
    """Colour of an entropy model (by the first word of its name), else palette entry ``i``."""
    key = str(name).split("-")[0]
    return MODEL_COLOURS.get(key, color(i))


_CMAP = ListedColormap([LABEL_COLOURS[k] for k in sorted(LABEL_COLOURS)])
_NORM = BoundaryNorm(np.arange(-0.5, len(LABEL_COLOURS) + 0.5), _CMAP.N)

__all__ = [
    "LABEL_COLOURS",
    "MODEL_COLOURS",
    "animate_decoding",
    "model_colour",
    "plot_causal_matrices",
    "plot_causal_slices",
    "plot_context_savings",
    "plot_file_anatomy",
    "plot_kernel_mask",
    "plot_real_vs_estimate",
]


def _legend_handles(labels: Sequence[int]) -> list[Patch]:
    return [Patch(facecolor=LABEL_COLOURS[k], edgecolor="0.5", label=LABELS[k]) for k in labels]


def _present(views: Mapping[str, CausalView]) -> list[int]:
    """Labels that occur in any view (LEAK only when there is one)."""
    found = set()
    for v in views.values():
        found |= set(np.unique(v.labels).tolist())
    return [k for k in (FUTURE, KNOWN, USED, TARGET, LEAK) if k in found or k != LEAK]


def plot_causal_matrices(views: Mapping[str, CausalView], title: str | None = None) -> Figure:
    """One panel per model: the latent as a channel x raster-position matrix, coloured by what the
    model reads when it codes the target element (black).

    Columns run in the spatial decoding order (raster over D, H, W), so a spatial model's
    decoded part is everything left of the target's column; the channel model decodes slice by
    slice, so its decoded part is the rows above the target's slice.
    """
    if not views:
        raise ValueError("no views to plot")
    n = len(views)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.9 * rows + 0.9), squeeze=False)
    for ax, (name, view) in zip(axes.flat, views.items(), strict=False):
        matrix = view.by_position()  # [C, P]
        ax.imshow(matrix, cmap=_CMAP, norm=_NORM, aspect="auto", interpolation="nearest")
        ax.set_title(f"{name}: reads {view.used} of {view.decoded} decoded", fontsize=10)
        ax.set_xlabel("raster position (decoding order)")
        ax.set_ylabel("latent channel")
        ax.grid(False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    c, d, h, w = next(iter(views.values())).element
    fig.suptitle(
        title or f"What each entropy model reads to code channel {c} at position ({d}, {h}, {w})",
        fontsize=11,
    )
    fig.legend(
        handles=_legend_handles(_present(views)),
        loc="lower center",
        ncol=3,
        frameon=False,
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.1 if rows == 1 else 0.06, 1, 0.95))
    return fig


def plot_causal_slices(
    views: Mapping[str, CausalView], channel: int | None = None, title: str | None = None
) -> Figure:
    """Rows = models, columns = depth slices d of the latent grid: which spatial positions are
    decoded / read when the target is coded.

    ``channel=None`` summarises all channels of a position (the highest label wins: a position
    counts as read when any of its channels is read), otherwise one channel is drawn.
    """
    if not views:
        raise ValueError("no views to plot")
    first = next(iter(views.values()))
    depth = first.labels.shape[1]
    fig, axes = plt.subplots(
        len(views), depth, figsize=(1.7 * depth + 1.6, 1.75 * len(views) + 1.0), squeeze=False
    )
    for r, (name, view) in enumerate(views.items()):
        grid = view.labels.max(axis=0) if channel is None else view.labels[int(channel)]
        for d in range(depth):
            ax = axes[r, d]
            ax.imshow(grid[d], cmap=_CMAP, norm=_NORM, interpolation="nearest")
            ax.set_xticks(range(grid.shape[2]))
            ax.set_yticks(range(grid.shape[1]))
            ax.tick_params(labelsize=8, length=0)
            ax.grid(False)
            if r == 0:
                ax.set_title(f"depth d = {d}", fontsize=10)
            if r == len(views) - 1:
                ax.set_xlabel("w (latent voxel)")
            if d == 0:
                ax.set_ylabel(f"{name}\nh (latent voxel)", fontsize=9)
    c, d0, h0, w0 = first.element
    which = "any channel" if channel is None else f"channel {channel}"
    shape = "x".join(str(s) for s in first.labels.shape[1:])
    fig.suptitle(
        title
        or f"Positions of the {shape} latent ({which}) when channel {c} at "
        f"({d0}, {h0}, {w0}) is coded",
        fontsize=11,
    )
    fig.legend(handles=_legend_handles(_present(views)), loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    return fig


def plot_kernel_mask(mask: np.ndarray, title: str | None = None) -> Figure:
    """Slices of a causal k^3 convolution mask (1 = tap read, 0 = masked, centre outlined)."""
    mask = np.asarray(mask)
    if mask.ndim != 3 or len(set(mask.shape)) != 1:
        raise ValueError(f"expected a cubic mask [k, k, k], got {mask.shape}")
    k = mask.shape[0]
    fig, axes = plt.subplots(1, k, figsize=(1.55 * k + 0.6, 2.4), squeeze=False)
    cmap = ListedColormap([LABEL_COLOURS[FUTURE], LABEL_COLOURS[USED]])
    for i, ax in enumerate(axes[0]):
        ax.imshow(mask[i], cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"dz = {i - k // 2:+d}", fontsize=10)
        ax.set_xticks(range(k), [f"{j - k // 2:+d}" for j in range(k)], fontsize=8)
        ax.set_yticks(range(k), [f"{j - k // 2:+d}" for j in range(k)], fontsize=8)
        ax.set_xlabel("dx")
        if i == 0:
            ax.set_ylabel("dy")
        ax.grid(False)
        if i == k // 2:
            ax.add_patch(
                plt.Rectangle((k // 2 - 0.5, k // 2 - 0.5), 1, 1, fill=False, lw=2, ec="black")
            )
    taps = int(mask.sum())
    fig.suptitle(
        title or f"Type-A causal mask of a {k}^3 kernel: {taps} of {k**3} taps read (centre boxed)",
        fontsize=11,
    )
    fig.legend(
        handles=[
            Patch(facecolor=LABEL_COLOURS[USED], label="tap read (before the centre)"),
            Patch(facecolor=LABEL_COLOURS[FUTURE], edgecolor="0.5", label="masked"),
        ],
        loc="lower center",
        ncol=2,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.1, 1, 0.93))
    return fig


_PARTS = (
    ("framing", "container framing"),
    ("header", "JSON header"),
    ("block_octree", "block octree"),
    ("counts", "point counts"),
    ("latents", "latent stream (z + y)"),
)


def plot_file_anatomy(
    parts: Mapping[str, Mapping[str, int]], n_points: int, title: str | None = None
) -> Figure:
    """Stacked horizontal bars: the real bytes of each model's file by part, in bits per input
    point. ``parts[model]`` is :func:`pcc.codec.anatomy.container_breakdown` of its file."""
    if not parts:
        raise ValueError("no files to plot")
    names = list(parts)
    fig, ax = plt.subplots(figsize=(8.2, 0.55 * len(names) + 1.8))
    left = np.zeros(len(names))
    for i, (key, label) in enumerate(_PARTS):
        bpp = np.array([8.0 * parts[n].get(key, 0) / n_points for n in names])
        ax.barh(names, bpp, left=left, color=color(i), label=label, height=0.6)
        left += bpp
    for y, (n, total) in enumerate(zip(names, left, strict=True)):
        ax.text(total, y, f" {total:.3f} ({parts[n]['total']:,} B)", va="center", fontsize=9)
    ax.set_xlim(0, left.max() * 1.3)
    ax.invert_yaxis()
    ax.set_xlabel("bits per input point (real file)")
    ax.set_title(title or f"Where the bytes of each file go ({n_points:,} input points)")
    ax.legend(loc="lower right", fontsize=9)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def _bits_label(value: float, _pos=None) -> str:
    """Tick label of a bit count: 500, 2k, 50k, 1.2M."""
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def plot_real_vs_estimate(
    estimated_bits: Mapping[str, float], real_bits: Mapping[str, float], title: str | None = None
) -> Figure:
    """Log-log scatter of real stream bits against the model's -sum log2 p, with y = x.

    Left: the points; right: the relative difference (real / estimate - 1) in percent per model.
    """
    names = [n for n in estimated_bits if n in real_bits]
    if not names:
        raise ValueError("no common models")
    est = np.array([estimated_bits[n] for n in names], dtype=float)
    real = np.array([real_bits[n] for n in names], dtype=float)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.0), gridspec_kw={"width_ratios": [1.1, 1]})
    lo, hi = min(est.min(), real.min()) / 1.5, max(est.max(), real.max()) * 1.5
    ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, ls="--", label="real = estimate")
    for i, n in enumerate(names):
        ax.scatter(est[i], real[i], color=model_colour(n, i), s=40, zorder=3, label=n)
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(_bits_label))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("estimate -sum log2 p (bits)")
    ax.set_ylabel("real range-coded stream (bits)")
    ax.set_title("Latent stream: real size vs estimate")
    ax.legend(fontsize=8, loc="upper left")
    rel = 100.0 * (real / est - 1.0)
    colours = [model_colour(n, i) for i, n in enumerate(names)]
    bars = bx.barh(names, rel, color=colours, height=0.6)
    for b, r, e in zip(bars, rel, real - est, strict=True):
        bx.text(
            max(b.get_width(), 0.0),
            b.get_y() + b.get_height() / 2,
            f" {r:+.2f} % ({e:+.0f} bits)",
            va="center",
        )
    bx.axvline(0, color="black", lw=0.8)
    bx.set_xlim(min(0.0, rel.min()) * 1.5 - 0.1, max(rel.max(), 0.1) * 1.8)
    bx.invert_yaxis()
    bx.set_xlabel("real / estimate - 1 (%)")
    bx.set_title("Overhead of the real coder")
    bx.grid(axis="y", visible=False)
    fig.suptitle(title or "Real bitstreams cost what the models estimate, to within a few bytes")
    fig.tight_layout()
    return fig


def plot_context_savings(
    neighbours: Mapping[str, np.ndarray],
    saving: Mapping[str, np.ndarray],
    by_channel: Mapping[str, np.ndarray],
    reference: str = "hyperprior",
    title: str | None = None,
) -> Figure:
    """Left: per latent position, the bits a context model saves against ``reference`` (percent,
    summed over blocks and channels) against the number of decoded positions it reads there
    (``anatomy.positions_read``), with a least-squares line per model. Right: mean bits per
    element of y by channel (bars), showing which channels carry the information.

    ``neighbours[m]`` and ``saving[m]`` are arrays [P] (one entry per position) for each context
    model m; ``by_channel[m]`` is [C] for any model (the reference included).
    """
    if not saving or not by_channel:
        raise ValueError("need savings per position and bits per channel")
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 4.0), gridspec_kw={"width_ratios": [1, 1.1]})
    for i, (name, values) in enumerate(saving.items()):
        xs = np.asarray(neighbours[name], dtype=float).ravel()
        ys = np.asarray(values, dtype=float).ravel()
        c = model_colour(name, i + 1)
        ax.scatter(xs, ys, s=14, color=c, alpha=0.6, label=name)
        if np.ptp(xs) > 0:
            slope, icpt = np.polyfit(xs, ys, 1)
            grid = np.array([xs.min(), xs.max()])
            ax.plot(grid, slope * grid + icpt, color=c, lw=1.6)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("decoded positions the model reads")
    ax.set_ylabel(f"bits saved vs {reference} (%)")
    ax.set_title("More decoded neighbours, more bits saved")
    ax.legend(fontsize=8)
    names = list(by_channel)
    width = 0.8 / len(names)
    channels = np.arange(len(next(iter(by_channel.values()))))
    for i, name in enumerate(names):
        bx.bar(
            channels + (i - (len(names) - 1) / 2) * width,
            by_channel[name],
            width=width,
            color=model_colour(name, i),
            label=name,
        )
    bx.set_xlabel("latent channel")
    bx.set_ylabel("mean bits per element of y")
    bx.set_title("Few channels carry the information")
    bx.legend(fontsize=8)
    bx.grid(axis="x", visible=False)
    fig.suptitle(title or "Where the context models save bits", fontsize=11)
    fig.tight_layout()
    return fig


def animate_decoding(views: Sequence[CausalView], name: str = "", interval: int = 400):
    """FuncAnimation over a sequence of causal views (one per coded element, in decoding order):
    the depth slices of the latent grid with what is decoded and read at each step (all channels
    of a position summarised, as in :func:`plot_causal_slices`)."""
    from matplotlib.animation import FuncAnimation

    if not views:
        raise ValueError("no views to animate")
    depth = views[0].labels.shape[1]
    fig, axes = plt.subplots(1, depth, figsize=(1.9 * depth + 0.8, 3.5), squeeze=False)
    images = []
    for d, ax in enumerate(axes[0]):
        grid = views[0].labels.max(axis=0)
        images.append(ax.imshow(grid[d], cmap=_CMAP, norm=_NORM, interpolation="nearest"))
        ax.set_title(f"depth d = {d}", fontsize=10)
        ax.set_xticks(range(grid.shape[2]))
        ax.set_yticks(range(grid.shape[1]))
        ax.tick_params(labelsize=8, length=0)
        ax.set_xlabel("w (latent voxel)")
        ax.grid(False)
    axes[0, 0].set_ylabel("h (latent voxel)")
    title = fig.suptitle("", fontsize=11)
    fig.legend(
        handles=_legend_handles([FUTURE, KNOWN, USED, TARGET]),
        loc="lower center",
        ncol=2,
        frameon=False,
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.2, 1, 0.92))

    def draw(i: int):
        view = views[i]
        grid = view.labels.max(axis=0)
        for d, image in enumerate(images):
            image.set_data(grid[d])
        c, d0, h0, w0 = view.element
        title.set_text(
            f"{name} decoding: channel {c} at ({d0}, {h0}, {w0}) reads {view.used} of "
            f"{view.decoded} decoded elements"
        )
        return [*images, title]

    draw(0)
    return FuncAnimation(fig, draw, frames=len(views), interval=interval, blit=False)
