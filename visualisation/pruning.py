"""Figures of notebook ``02_pruning``: which Gaussians pruning removes and what it costs.

All functions take arrays / tensors (or :mod:`pcc.c3dgs.stages` dataclasses) and return a
matplotlib ``Figure`` or a plotly ``Figure``; nothing is shown or saved here.

* :func:`kept_vs_pruned_3d` / :func:`kept_vs_pruned_3d_static` - kept and removed Gaussians;
* :func:`neighbor_count_histogram` - density pruning's neighbour counts and its threshold tau;
* :func:`psnr_vs_pruned` - test PSNR against the fraction pruned, several strategies, with
  single operating points (e.g. density pruning) as markers;
* :func:`prune_counts` - how many Gaussians each step leaves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from visualisation.arrays import as_numpy
from visualisation.style import PALETTE

__all__ = [
    "kept_vs_pruned_3d",
    "kept_vs_pruned_3d_static",
    "neighbor_count_histogram",
    "prune_counts",
    "psnr_vs_pruned",
]

_COLORS = {True: PALETTE[5], False: PALETTE[3]}  # sky blue kept, vermillion pruned


def _stack(kept, removed, max_points: int | None, seed: int):
    """Points, labels, relative sizes and a note on what is shown.

    Every pruned Gaussian is shown (they are the point of the figure); kept ones are sub-sampled
    at random so the total stays within ``max_points``. Pruned markers are drawn larger when they
    are few (under 1 % of the cloud) so single points stay visible.
    """
    k, r = as_numpy(kept).reshape(-1, 3), as_numpy(removed).reshape(-1, 3)
    n_k, n_r = len(k), len(r)
    rng = np.random.default_rng(seed)
    note = ""
    if max_points is not None and n_k + n_r > max_points:
        if n_r > max_points:
            r = r[np.sort(rng.choice(n_r, max_points, replace=False))]
            k = k[:0]
            note = f"showing {len(r):,} of {n_r:,} pruned, no kept"
        else:
            k = k[np.sort(rng.choice(n_k, max_points - n_r, replace=False))]
            note = f"all pruned and {len(k):,} of {n_k:,} kept shown"
    pts = np.concatenate([k, r], axis=0)
    labels = np.concatenate([np.ones(len(k), bool), np.zeros(len(r), bool)])
    big = 4.0 if n_r < 0.01 * max(n_k + n_r, 1) else 1.8
    sizes = np.where(labels, 1.0, big)
    return pts, labels, sizes, note, n_k, n_r


def _title(title, n_k, n_r, note) -> str:
    text = title or f"{n_r:,} of {n_k + n_r:,} Gaussians pruned (vermillion)"
    return f"{text}<br>{note}" if note else text


def _kept_vs_pruned_kwargs(kept, removed, title, max_points, seed, kwargs, newline) -> dict:
    pts, labels, sizes, note, n_k, n_r = _stack(kept, removed, max_points, seed)
    kwargs = dict(kwargs)
    kwargs.setdefault("units", "world units")
    return {
        "points": pts,
        "categories": labels,
        "category_names": {True: "kept, shown" if note else "kept", False: "pruned"},
        "category_colors": _COLORS,
        "sizes": sizes,
        "max_points": None,
        "show_count": False,
        "title": _title(title, n_k, n_r, note).replace("<br>", newline),
        **kwargs,
    }


def kept_vs_pruned_3d(
    kept_positions,
    removed_positions,
    *,
    title: str | None = None,
    max_points: int | None = 30_000,
    seed: int = 0,
    **kwargs,
):
    """Interactive plotly scatter: kept Gaussians (sky blue) and every pruned one (vermillion)."""
    from visualisation.points3d import points3d

    args = _kept_vs_pruned_kwargs(
        kept_positions, removed_positions, title, max_points, seed, kwargs, "<br>"
    )
    return points3d(args.pop("points"), **args)


def kept_vs_pruned_3d_static(
    kept_positions,
    removed_positions,
    *,
    title: str | None = None,
    max_points: int | None = 20_000,
    seed: int = 0,
    **kwargs,
):
    """Static matplotlib version of :func:`kept_vs_pruned_3d` (for PNGs and reports)."""
    from visualisation.points3d import points3d_static

    args = _kept_vs_pruned_kwargs(
        kept_positions, removed_positions, title, max_points, seed, kwargs, "\n"
    )
    fig = points3d_static(args.pop("points"), **args)
    # draw the pruned Gaussians on top (matplotlib 3D otherwise orders whole collections by depth)
    for ax in fig.axes:
        if hasattr(ax, "computed_zorder"):
            ax.computed_zorder = False
            for coll in ax.collections:
                if str(coll.get_label()).startswith("pruned"):
                    coll.set_zorder(5)
    return fig


def neighbor_count_histogram(
    counts, threshold: float, radius: float, *, units: str = "world units", title: str | None = None
) -> Figure:
    """Histogram of neighbours within ``radius`` per Gaussian, with the pruning threshold tau.

    ``counts [N]`` as in :class:`pcc.c3dgs.stages.PruneResult` (``-1`` = not counted, left out).
    Gaussians right of tau sit in over-dense clumps and are removed.
    """
    c = as_numpy(counts, np.int64).ravel()
    c = c[c >= 0]
    fig = Figure(figsize=(6.8, 4.0), layout="constrained")
    ax = fig.subplots()
    top = int(c.max()) if c.size else 1
    edges = np.arange(-0.5, top + 1.5, max(1, (top + 1) // 60))
    below = c[c <= threshold]
    above = c[c > threshold]
    ax.hist(below, bins=edges, color=PALETTE[5], label=f"kept: {below.size:,}")
    ax.hist(above, bins=edges, color=PALETTE[3], label=f"pruned: {above.size:,}")
    ax.axvline(threshold, color="0.2", ls="--", lw=1.5, label=f"tau = {threshold:.1f} neighbours")
    ax.set_xlabel(f"neighbours within r = {radius:.3g} {units}")
    ax.set_ylabel("Gaussians")
    ax.legend(fontsize=9)
    ax.set_title(title or "Density pruning removes Gaussians in crowded clumps")
    return fig


def psnr_vs_pruned(
    curves: Sequence,
    *,
    baseline_psnr: float | None = None,
    points: Mapping[str, tuple[float, float]] | None = None,
    title: str | None = None,
) -> Figure:
    """Test PSNR against the percentage of Gaussians pruned.

    ``curves``: :class:`pcc.c3dgs.stages.PruningCurve` objects (one line each); ``points``: single
    operating points ``{label: (fraction pruned, psnr)}`` drawn as large markers;
    ``baseline_psnr``: the unpruned model (dotted line). Notebook 02's wording of
    :func:`visualisation.sensitivity.removal_curves`.
    """
    from visualisation.sensitivity import removal_curves

    return removal_curves(
        curves,
        baseline_psnr=baseline_psnr,
        points=points,
        title=title or "How much can be pruned before the image suffers?",
        xlabel="Gaussians pruned (%)",
        ylabel="test-view PSNR (dB), no fine-tuning",
        strategy_labels={
            "least-sensitive": "sensitivity pruning (raise the threshold)",
            "random": "random pruning (baseline)",
            "most-sensitive": "remove the most sensitive first",
        },
        baseline_label="no pruning",
        legend_loc="lower left",
        figsize=(7.0, 4.3),
    )


def prune_counts(counts: Mapping[str, int], *, title: str | None = None) -> Figure:
    """Horizontal bars: Gaussians left after each step (``{"input": N, "after ...": n, ...}``)."""
    names = list(counts)
    vals = np.asarray([counts[k] for k in names], dtype=np.float64)
    fig = Figure(figsize=(6.8, 0.55 * len(names) + 1.3), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(names))[::-1]
    ax.barh(y, vals, color=[PALETTE[i % len(PALETTE)] for i in range(len(names))])
    ax.set_yticks(y, names)
    ref = vals[0] if vals.size and vals[0] > 0 else 1.0
    for yi, v in zip(y, vals, strict=True):
        ax.text(v, yi, f" {int(v):,} ({100 * v / ref:.1f} %)", va="center", fontsize=9)
    ax.set_xlabel("Gaussians")
    ax.set_xlim(0, ref * 1.3)
    ax.grid(axis="y", visible=False)
    ax.set_title(title or "Gaussians left after each pruning step")
    return fig
