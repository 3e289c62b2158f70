"""Figures for the point-cloud lessons: octree statistics, where the bits go, learned-codec blocks.

Functions take what ``pcc`` returns (``LevelStats`` lists from
:func:`pcc.pointcloud.octree_codec.encode_octree`, :class:`pcc.pointcloud.stats.OccupancyStats`,
occupancy grids, latent tensors, training histories) and return matplotlib Figures. 3D views of
clouds and voxels are in :mod:`visualisation.points3d`. Used by notebooks 10 and 11.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from visualisation.arrays import as_numpy
from visualisation.style import CMAPS, PALETTE

__all__ = [
    "children_per_node_figure",
    "latent_slices_figure",
    "level_bits_figure",
    "loss_comparison_figure",
    "occupancy_histogram_figure",
    "occupancy_slices_figure",
    "probability_histograms_figure",
    "score_bars_figure",
]


def level_bits_figure(
    levels_by_cloud: Mapping[str, Sequence],
    *,
    file_bits: Mapping[str, float] | None = None,
    title: str = "Where the octree coder's bits go, level by level",
    figsize: tuple[float, float] = (12.0, 4.0),
):
    """Three panels per octree level for one or more clouds (one line/bar group each).

    Args:
        levels_by_cloud: ``{name: [LevelStats, ...]}`` (``encode_octree(...).levels``).
        file_bits: optional ``{name: 8 * len(file)}``: the left panel then says which share of
            the file the levels hold (the rest is ANS padding and the container header).
    Returns:
        Figure with (a) real kbit per level (bars), (b) real bits per occupied node, (c) share of
        the stream per level (cumulative, %).
    """
    fig, axes = plt.subplots(1, 3, figsize=figsize)
    names = list(levels_by_cloud)
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        stats = list(levels_by_cloud[name])
        lv = np.array([s.level for s in stats])
        real = np.array([s.real_bits for s in stats], dtype=float)
        nodes = np.array([s.nodes for s in stats], dtype=float)
        colour = PALETTE[i % len(PALETTE)]
        label = name
        if file_bits is not None and name in file_bits:
            label = f"{name} (levels = {100 * real.sum() / file_bits[name]:.1f} % of file)"
        axes[0].bar(
            lv + (i - (len(names) - 1) / 2) * width, real / 1000, width, color=colour, label=label
        )
        axes[1].plot(lv, real / np.maximum(nodes, 1), "o-", color=colour, label=name)
        axes[2].plot(lv, 100 * np.cumsum(real) / max(real.sum(), 1), "o-", color=colour, label=name)
    axes[0].set_ylabel("real bits of the level (kbit)")
    axes[0].set_title("bits per level")
    axes[1].set_ylabel("bits per occupied node")
    axes[1].set_title("cost of one occupancy byte")
    axes[1].axhline(8, color="0.4", lw=1, ls="--")
    last = max((len(v) for v in levels_by_cloud.values()), default=1) - 1
    axes[1].text(last, 8.25, "8 bits = a raw byte", fontsize=9, color="0.3", ha="right")
    axes[1].set_ylim(0, 9.2)
    axes[2].set_ylabel("cumulative share of the stream (%)")
    axes[2].set_title("levels 0..l hold this much")
    axes[2].set_ylim(0, 102)
    for ax in axes:
        ax.set_xlabel("octree level (0 = root)")
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].legend(fontsize=9)
    axes[1].legend(fontsize=9)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


def children_per_node_figure(
    stats_by_cloud: Mapping[str, object],
    *,
    title: str = "Occupied children per octree node: surfaces ~4, isolated points 1",
    figsize: tuple[float, float] = (11.0, 4.0),
):
    """Mean occupied children per node, and share of single-child nodes, per level.

    Args:
        stats_by_cloud: ``{name: OccupancyStats}`` (:func:`pcc.pointcloud.stats.occupancy_stats`).
    """
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=figsize)
    for i, (name, st) in enumerate(stats_by_cloud.items()):
        lv = np.arange(len(st.nodes))
        colour = PALETTE[i % len(PALETTE)]
        ax0.plot(lv, st.children_per_node, "o-", color=colour, label=name)
        ax1.plot(lv, 100 * st.single_child_fraction, "o-", color=colour, label=name)
    for ref, text in ((1, "1: a lone point"), (4, "4: a surface"), (8, "8: solid")):
        ax0.axhline(ref, color="0.5", lw=0.8, ls=":")
        ax0.text(0, ref + 0.1, text, fontsize=9, color="0.3")
    ax0.set_ylim(0, 8.6)
    ax0.set_ylabel("occupied children per node")
    ax0.set_title("mean children per node")
    ax1.set_ylabel("nodes with a single child (%)")
    ax1.set_title("isolated branches")
    ax1.set_ylim(0, 102)
    for ax in (ax0, ax1):
        ax.set_xlabel("octree level (0 = root)")
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax1.legend(fontsize=9)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


def occupancy_histogram_figure(
    stats_by_cloud: Mapping[str, object],
    *,
    title: str = "How many of the 8 children are occupied, level by level",
    figsize: tuple[float, float] | None = None,
):
    """Heat maps (level x number of occupied children) of the share of nodes, one per cloud."""
    k = len(stats_by_cloud)
    fig, axes = plt.subplots(1, k, figsize=figsize or (4.2 * k + 1.0, 3.8), squeeze=False)
    im = None
    for ax, (name, st) in zip(axes[0], stats_by_cloud.items(), strict=True):
        share = 100 * st.histogram[:, 1:] / np.maximum(st.nodes[:, None], 1)
        im = ax.imshow(
            share.T, origin="lower", aspect="auto", cmap=CMAPS["sequential"], vmin=0, vmax=100
        )
        ax.set_xlabel("octree level (0 = root)")
        ax.set_ylabel("occupied children")
        ax.set_yticks(range(8), [str(i) for i in range(1, 9)])
        ax.set_title(name, fontsize=10)
        ax.grid(False)
    cb = fig.colorbar(im, ax=axes[0].tolist(), shrink=0.85)
    cb.set_label("share of the level's nodes (%)")
    fig.suptitle(title, fontsize=12)
    return fig


def occupancy_slices_figure(
    grids: Mapping[str, object],
    *,
    axis: int = 2,
    slices: Sequence[int] | None = None,
    n_slices: int = 4,
    title: str = "Block slices",
    cmaps: Mapping[str, str] | None = None,
    vmax: Mapping[str, float] | None = None,
    figsize_per: float = 2.2,
):
    """Rows of 2D slices through 3D grids (occupancy, probabilities, decoded occupancy, ...).

    Args:
        grids: ``{row name: [D, H, W] array}`` (all the same shape); a row's values are drawn
            with the ``cmaps[name]`` colour map (default viridis) in ``[0, vmax[name]]``
            (default 1).
        axis: the axis the slices cut (0, 1 or 2); ``slices`` their indices (default: the
            ``n_slices`` most occupied planes of the first grid).
    """
    arrays = {k: as_numpy(v, None).astype(np.float64) for k, v in grids.items()}
    first = next(iter(arrays.values()))
    if slices is None:
        mass = first.sum(axis=tuple(a for a in range(3) if a != axis))
        slices = sorted(np.argsort(mass)[::-1][:n_slices].tolist())
    rows, cols = len(arrays), len(slices)
    fig, axes = plt.subplots(
        rows, cols, figsize=(figsize_per * cols + 1.2, figsize_per * rows + 0.6), squeeze=False
    )
    axis_names = "xyz"
    other = [axis_names[a] for a in range(3) if a != axis]
    for r, (name, arr) in enumerate(arrays.items()):
        cmap = (cmaps or {}).get(name, CMAPS["sequential"])
        top = (vmax or {}).get(name, 1.0)
        im = None
        for c, s in enumerate(slices):
            ax = axes[r, c]
            im = ax.imshow(
                np.take(arr, s, axis=axis).T, origin="lower", cmap=cmap, vmin=0, vmax=top
            )
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if r == 0:
                ax.set_title(f"{axis_names[axis]} = {s}", fontsize=10)
            if c == 0:
                ax.set_ylabel(f"{name}\n{other[1]} (voxels)", fontsize=9)
            if r == rows - 1:
                ax.set_xlabel(f"{other[0]} (voxels)", fontsize=9)
        fig.colorbar(im, ax=axes[r].tolist(), shrink=0.9, pad=0.02)
    fig.suptitle(title, fontsize=12)
    return fig


def latent_slices_figure(
    y,
    *,
    channels: Sequence[int] | None = None,
    n_channels: int = 6,
    depth_index: int | None = None,
    title: str = "Latent channels (one depth slice each)",
    value_label: str = "latent value (quantisation steps)",
):
    """One 2D slice of several latent channels ``y [C, D, H, W]``, on a shared signed scale.

    Channels default to the ``n_channels`` with the largest energy; ``depth_index`` to the
    slice with the largest energy. Zero is white (``RdBu_r``), so sign and size read at a glance.
    """
    arr = as_numpy(y, None).astype(np.float64)
    if arr.ndim != 4:
        raise ValueError(f"y must be [C, D, H, W], got {list(arr.shape)}")
    energy = (arr**2).sum(axis=(1, 2, 3))
    if channels is None:
        channels = sorted(np.argsort(energy)[::-1][:n_channels].tolist())
    if depth_index is None:
        depth_index = int(np.argmax((arr[list(channels)] ** 2).sum(axis=(0, 2, 3))))
    lim = float(np.abs(arr[list(channels), depth_index]).max()) or 1.0
    k = len(channels)
    fig, axes = plt.subplots(1, k, figsize=(2.3 * k + 1.2, 2.9), squeeze=False)
    im = None
    for ax, ch in zip(axes[0], channels, strict=True):
        im = ax.imshow(
            arr[ch, depth_index].T, origin="lower", cmap=CMAPS["signed"], vmin=-lim, vmax=lim
        )
        ax.set_title(f"channel {ch}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    axes[0, 0].set_ylabel(f"depth slice {depth_index}\n(latent cells)", fontsize=9)
    cb = fig.colorbar(im, ax=axes[0].tolist(), shrink=0.9, pad=0.02)
    cb.set_label(value_label, fontsize=9)
    fig.suptitle(title, fontsize=12)
    return fig


def loss_comparison_figure(
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    metrics: Sequence[tuple[str, str]] = (("loss", "training loss (own scale)"),),
    x_key: str = "step",
    x_label: str = "training step",
    title: str = "Training runs side by side",
    log_y: Sequence[bool] | None = None,
):
    """Curves of several runs, one panel per metric.

    Args:
        histories: ``{run name: {x_key: [...], metric: [...], ...}}``.
        metrics: ``[(key, axis label with unit), ...]``: one panel each.
    """
    k = len(metrics)
    fig, axes = plt.subplots(1, k, figsize=(4.4 * k, 3.6), squeeze=False)
    for j, (key, label) in enumerate(metrics):
        ax = axes[0, j]
        for i, (name, h) in enumerate(histories.items()):
            if key in h:
                ax.plot(h[x_key], h[key], "-", color=PALETTE[i % len(PALETTE)], label=name, lw=1.6)
        ax.set_xlabel(x_label)
        ax.set_ylabel(label)
        if log_y is not None and log_y[j]:
            ax.set_yscale("log")
    axes[0, 0].legend(fontsize=9)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


def probability_histograms_figure(
    probabilities: Mapping[str, object],
    target,
    *,
    threshold: float = 0.5,
    bins: int = 40,
    title: str = "Predicted occupancy probability of occupied and empty voxels",
):
    """One panel per model: histograms of the predicted probability at truly occupied voxels and
    at empty ones (share of each group, log scale), with the decision threshold marked.

    Args:
        probabilities: ``{model name: probabilities [B, S, S, S]}``.
        target: ``[B, S, S, S]`` 0/1 occupancy.
    """
    t = as_numpy(target, None) > 0.5
    k = len(probabilities)
    fig, axes = plt.subplots(1, k, figsize=(4.6 * k, 3.6), squeeze=False, sharey=True)
    edges = np.linspace(0, 1, bins + 1)
    for ax, (name, p) in zip(axes[0], probabilities.items(), strict=True):
        p = as_numpy(p, None).astype(np.float64)
        for sel, label, colour in ((t, "occupied", PALETTE[1]), (~t, "empty", PALETTE[0])):
            share = np.histogram(p[sel], edges)[0] / max(int(sel.sum()), 1)
            ax.stairs(
                100 * share,
                edges,
                label=f"{label} ({int(sel.sum()):,} voxels)",
                color=colour,
                lw=1.8,
            )
        above = float((p[t] > threshold).mean()) if t.any() else 0.0
        ax.axvline(threshold, color="0.3", ls="--", lw=1)
        ax.set_title(
            f"{name}: {100 * above:.0f} % of occupied voxels above {threshold:g}", fontsize=10
        )
        ax.set_xlabel("predicted probability of occupancy")
        ax.set_yscale("log")
    axes[0, 0].set_ylabel("share of the group's voxels (%)")
    axes[0, 0].legend(fontsize=9)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


def score_bars_figure(
    scores: Mapping[str, Mapping[str, float]],
    *,
    ylabel: str = "score (%)",
    title: str = "Decoding scores",
    percent: bool = True,
):
    """Grouped bars: one group per metric, one bar per model (``{model: {metric: value}}``)."""
    models = list(scores)
    metrics = list(next(iter(scores.values())))
    fig, ax = plt.subplots(figsize=(1.6 * len(metrics) * max(1, len(models) / 2) + 2.5, 3.8))
    width = 0.8 / len(models)
    x = np.arange(len(metrics))
    for i, m in enumerate(models):
        vals = np.array([scores[m][k] for k in metrics], dtype=float) * (100 if percent else 1)
        bars = ax.bar(
            x + (i - (len(models) - 1) / 2) * width,
            vals,
            width,
            label=m,
            color=PALETTE[i % len(PALETTE)],
        )
        ax.bar_label(bars, fmt="%.0f" if percent else "%.3g", fontsize=9, padding=2)
    ax.set_xticks(x, metrics)
    ax.set_ylabel(ylabel)
    if percent:
        ax.set_ylim(0, 115)
    ax.legend(fontsize=9)
    ax.set_title(title, fontsize=12)
    fig.tight_layout()
    return fig
