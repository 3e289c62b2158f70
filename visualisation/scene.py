"""Figures of a 3DGS scene: its parameters, its cameras, renders against targets, the pipeline map.

Every function takes plain arrays (NumPy or torch) and RETURNS a matplotlib ``Figure``; nothing is
shown or saved here. Used by ``notebooks/00_a_3dgs_scene.ipynb`` (what a scene is made of),
``notebooks/05_storage_and_evaluation.ipynb`` and ``notebooks/06_whole_pipeline.ipynb`` (renders
of the decoded model against the ground truth).

* :func:`parameter_distributions` - sizes, elongation, opacity, base colour and view-dependent
  colour energy of every Gaussian, as histograms;
* :func:`camera_layout` - where the training and test cameras stand around the scene;
* :func:`compare_views` - a grid of images (ground truth, renders, ...) per view, with an error map;
* :func:`per_view_bars` - one metric per view for several series (train vs test, before vs after);
* :func:`pipeline_diagram` - the c3dgs stages as boxes and arrows, with the lesson teaching each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from pcc.io.gaussian_model import SH_C0
from visualisation.arrays import as_image, as_numpy
from visualisation.style import CMAPS, PALETTE


# --------------------------------------------------------------------------- parameters
def parameter_distributions(
    scales,
    opacities,
    sh,
    *,
    units: str = "scene units",
    title: str | None = None,
    bins: int = 60,
) -> Figure:
    """Histograms of what every Gaussian stores, in activated (human) units.

    Args:
        scales: ``[N, 3]`` standard deviations along the three axes (``exp`` of the log-scales).
        opacities: ``[N]`` (or ``[N, 1]``) opacities in [0, 1] (``sigmoid`` of the logits).
        sh: ``[N, K, 3]`` spherical-harmonic coefficients, ``K = (degree + 1)^2``.
        units: the world unit the axes are labelled with.

    Panels: the largest axis (log scale), the elongation ``largest / smallest axis``, the opacity,
    the base colour per channel (the DC term as RGB: ``0.5 + C0 * f_0``) and, for degree > 0, the
    share of each Gaussian's SH energy in the view-dependent bands (``|f_1..|^2 / |f|^2``).
    """
    s = as_numpy(scales)
    o = as_numpy(opacities).reshape(-1)
    f = as_numpy(sh)
    if s.ndim != 2 or s.shape[1] != 3:
        raise ValueError(f"scales must be [N, 3], got {s.shape}")
    if f.ndim != 3 or f.shape[2] != 3 or f.shape[0] != len(s) or len(o) != len(s):
        raise ValueError(
            f"inconsistent shapes: scales {s.shape}, opacities {o.shape}, sh {f.shape}"
        )
    n = len(s)
    view_dependent = f.shape[1] > 1
    fig = Figure(figsize=(12.5, 6.6 if view_dependent else 6.6), layout="constrained")
    axes = fig.subplots(2, 3).ravel()

    largest = s.max(axis=1)
    ax = axes[0]
    edges = np.logspace(np.log10(max(largest.min(), 1e-8)), np.log10(largest.max() + 1e-12), bins)
    ax.hist(largest, bins=edges, color=PALETTE[0])
    ax.set_xscale("log")
    ax.axvline(np.median(largest), color=PALETTE[7], ls="--", lw=1)
    ax.set_xlabel(f"largest axis (std. dev., {units})")
    ax.set_ylabel("Gaussians")
    ax.set_title(f"size: median {np.median(largest):.3g} {units}")

    elong = largest / np.maximum(s.min(axis=1), 1e-12)
    ax = axes[1]
    edges = np.logspace(0, np.log10(max(elong.max(), 1.0001)), bins)
    ax.hist(elong, bins=edges, color=PALETTE[2])
    ax.set_xscale("log")
    ax.set_xlabel("elongation: largest / smallest axis (ratio)")
    ax.set_ylabel("Gaussians")
    ax.set_title(f"shape: {np.mean(elong > 10):.0%} are needles or discs (> 10:1)")

    ax = axes[2]
    ax.hist(o, bins=np.linspace(0, 1, bins // 2 + 1), color=PALETTE[1])
    ax.set_xlabel("opacity (sigmoid of the logit, 0-1)")
    ax.set_ylabel("Gaussians")
    ax.set_title(f"opacity: {np.mean(o > 0.9):.0%} nearly opaque (> 0.9)")

    rgb = np.clip(0.5 + SH_C0 * f[:, 0, :], 0, 1)
    ax = axes[3]
    for c, (name, col) in enumerate(
        zip(("red", "green", "blue"), ("#D55E00", "#009E73", "#0072B2"))
    ):
        ax.hist(
            rgb[:, c],
            bins=np.linspace(0, 1, bins // 2 + 1),
            histtype="step",
            lw=1.6,
            color=col,
            label=name,
        )
    ax.set_xlabel("base colour (DC term as RGB, 0-1)")
    ax.set_ylabel("Gaussians")
    ax.legend(loc="upper center")
    ax.set_title("colour seen from every direction")

    ax = axes[4]
    if view_dependent:
        energy = (f**2).sum(axis=(1, 2))
        share = (f[:, 1:] ** 2).sum(axis=(1, 2)) / np.maximum(energy, 1e-20)
        ax.hist(share, bins=np.linspace(0, 1, bins // 2 + 1), color=PALETTE[4])
        ax.set_yscale("log")
        ax.set_xlabel("view-dependent share of SH energy (0-1)")
        ax.set_ylabel("Gaussians (log scale)")
        ax.set_title(
            f"{f.shape[1] - 1} of {f.shape[1]} SH coefficients per channel are view-dependent",
            fontsize=10,
        )
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, "SH degree 0:\nno view-dependent colour", ha="center", va="center")

    ax = axes[5]
    floats = {
        "position": 3,
        "normal (unused)": 3,
        "scale": 3,
        "rotation": 4,
        "opacity": 1,
        "SH colour": 3 * f.shape[1],
    }
    names, counts = list(floats), np.array(list(floats.values()))
    colors = [PALETTE[0], "0.7", PALETTE[2], PALETTE[5], PALETTE[1], PALETTE[4]]
    bars = ax.barh(names, counts * 4, color=colors)
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[f"{c} x 4 B" for c in counts], padding=3, fontsize=9)
    ax.set_xlim(0, counts.max() * 4 * 1.35)
    ax.set_xlabel("bytes per Gaussian in an INRIA PLY (float32)")
    ax.set_ylabel("attribute")
    ax.set_title(f"{counts.sum() * 4} B per Gaussian; SH colour is {counts[-1] / counts.sum():.0%}")
    fig.suptitle(title or f"What {n:,} Gaussians store", fontsize=12)
    return fig


# --------------------------------------------------------------------------- cameras
def camera_layout(
    train_centers,
    test_centers=None,
    points=None,
    *,
    point_colors=None,
    max_points: int = 4000,
    units: str = "scene units",
    title: str | None = None,
    seed: int = 0,
) -> Figure:
    """Where the cameras stand: training and test camera centres around the scene's points.

    Args:
        train_centers: ``[C, 3]`` camera centres in world coordinates.
        test_centers: ``[T, 3]`` (optional).
        points: ``[N, 3]`` Gaussian means (optional), sub-sampled to ``max_points`` (seeded).
        point_colors: ``[N, 3]`` RGB in [0, 1] for the points (optional; grey otherwise).
    """
    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.add_subplot(projection="3d")
    allpts = [as_numpy(train_centers)]
    if points is not None:
        p = as_numpy(points)
        idx = np.arange(len(p))
        if len(p) > max_points:
            idx = np.sort(np.random.default_rng(seed).choice(len(p), max_points, replace=False))
        c = as_numpy(point_colors)[idx].clip(0, 1) if point_colors is not None else "0.6"
        ax.scatter(
            *p[idx].T,
            s=1.5,
            c=c,
            alpha=0.6,
            depthshade=False,
            label=f"Gaussians ({len(idx):,} of {len(p):,})",
        )
        allpts.append(p[idx])
    tr = as_numpy(train_centers)
    ax.scatter(*tr.T, s=28, marker="^", color=PALETTE[0], label=f"train cameras ({len(tr)})")
    if test_centers is not None:
        te = as_numpy(test_centers)
        ax.scatter(*te.T, s=40, marker="s", color=PALETTE[3], label=f"test cameras ({len(te)})")
        allpts.append(te)
    both = np.concatenate(allpts)
    lo, hi = both.min(axis=0), both.max(axis=0)
    mid, half = (lo + hi) / 2, (hi - lo).max() / 2
    ax.set_xlim(mid[0] - half, mid[0] + half)
    ax.set_ylim(mid[1] - half, mid[1] + half)
    ax.set_zlim(mid[2] - half, mid[2] + half)
    ax.set_box_aspect((1, 1, 1))
    for axis, name in zip("xyz", "xyz"):
        getattr(ax, f"set_{axis}label")(f"{name} ({units})")
    ax.legend(loc="upper left", fontsize=9)
    ax.set_title(title or "Cameras around the scene (test views are never trained on)")
    return fig


# --------------------------------------------------------------------------- renders
def compare_views(
    images: Mapping[str, Sequence],
    view_names: Sequence[str],
    *,
    error_between: tuple[str, str] | None = None,
    captions: Mapping[str, Sequence[str]] | None = None,
    error_max: float | None = None,
    title: str | None = None,
    panel_inches: float = 2.3,
) -> Figure:
    """A grid of images: one row per view, one column per entry of ``images``.

    Args:
        images: column title -> ``[H, W, 3]`` images in [0, 1], one per view (same order as
            ``view_names``), e.g. ``{"ground truth": gts, "render": renders}``.
        view_names: the row labels.
        error_between: two column titles; adds a column with the per-pixel mean absolute
            difference of those two (``cividis``, shared colour bar, values in [0, 1]).
        captions: column title -> one short text per view shown under the image (e.g. PSNR).
        error_max: upper end of the error colour scale (default: the 99.5th percentile of the
            errors shown, so that a few extreme pixels do not darken the rest; the colour bar
            says when values are clipped).
    """
    cols = list(images)
    views = len(view_names)
    if views == 0 or not cols:
        raise ValueError("nothing to show")
    for c in cols:
        if len(images[c]) != views:
            raise ValueError(f"column {c!r} has {len(images[c])} images for {views} views")
    errors = None
    if error_between is not None:
        a, b = error_between
        errors = [
            np.abs(as_image(x) - as_image(y)).mean(axis=-1) for x, y in zip(images[a], images[b])
        ]
    ncols = len(cols) + (errors is not None)
    fig = Figure(
        figsize=(panel_inches * ncols + (0.6 if errors else 0), panel_inches * views + 0.6),
        layout="constrained",
    )
    axes = np.atleast_2d(fig.subplots(views, ncols, squeeze=False))
    clipped = False
    if error_max is not None:
        vmax = float(error_max)
    elif errors:
        # the 99.5th percentile: a few extreme pixels would otherwise make every other error dark
        vmax = max(float(np.percentile(e, 99.5)) for e in errors)
        vmax = max(vmax, 1e-3)
    else:
        vmax = 1.0
    if errors:
        clipped = any(float(e.max()) > vmax for e in errors)
    im = None
    for r, name in enumerate(view_names):
        for c, col in enumerate(cols):
            ax = axes[r, c]
            ax.imshow(as_image(images[col][r]), interpolation="nearest")
            if r == 0:
                ax.set_title(col)
            if captions and col in captions:
                ax.set_xlabel(captions[col][r], fontsize=9)
            if c == 0:
                ax.set_ylabel(name)
        if errors is not None:
            ax = axes[r, -1]
            im = ax.imshow(
                errors[r], cmap=CMAPS["error"], vmin=0, vmax=vmax, interpolation="nearest"
            )
            if r == 0:
                ax.set_title(f"|{error_between[0]} - {error_between[1]}|", fontsize=10)
            ax.set_xlabel(f"mean {errors[r].mean():.3f}", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    if im is not None:
        bar = fig.colorbar(im, ax=axes[:, -1].tolist(), shrink=0.8)
        bar.set_label(
            "absolute error (0-1, mean of RGB)" + (f", clipped at {vmax:.2g}" if clipped else "")
        )
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


def per_view_bars(
    view_names: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    ylabel: str = "PSNR (dB)",
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """Grouped bars: one group per view, one bar per series (e.g. ``{"before": [...], ...}``).

    A dashed line marks each series' mean; the legend gives it.
    """
    names = list(view_names)
    keys = list(series)
    if not keys:
        raise ValueError("no series")
    for k in keys:
        if len(series[k]) != len(names):
            raise ValueError(f"series {k!r} has {len(series[k])} values for {len(names)} views")
    fig_width = min(10.0, max(5.5, 0.32 * len(names) * len(keys) + 2.5))
    fig = Figure(figsize=(fig_width, 3.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(names))
    width = 0.8 / len(keys)
    for i, k in enumerate(keys):
        v = np.asarray(series[k], dtype=float)
        ax.bar(
            x + (i - (len(keys) - 1) / 2) * width,
            v,
            width,
            color=PALETTE[i % len(PALETTE)],
            label=f"{k} (mean {np.nanmean(v):.2f})",
        )
        ax.axhline(np.nanmean(v), color=PALETTE[i % len(PALETTE)], ls="--", lw=1)
    ax.set_xticks(
        x, names, rotation=45 if len(names) > 8 else 0, ha="right" if len(names) > 8 else "center"
    )
    ax.set_xlabel("view")
    ax.set_ylabel(ylabel)
    if ylim is None:
        allv = np.concatenate([np.asarray(series[k], dtype=float) for k in keys])
        allv = allv[np.isfinite(allv)]
        lo, hi = float(allv.min()), float(allv.max())
        pad = max(0.05 * (hi - lo), 1e-3 if hi < 2 else 0.5)
        ylim = (lo - 3 * pad, hi + 2 * pad)
    ax.set_ylim(*ylim)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    ax.set_title(title or f"{ylabel.split(' (')[0]} per view")
    return fig


# --------------------------------------------------------------------------- pipeline map
@dataclass(frozen=True)
class Stage:
    """One box of :func:`pipeline_diagram`."""

    name: str
    does: str  # one or two short lines
    notebook: str  # e.g. "01"


PIPELINE = (
    Stage("load", "INRIA PLY\n+ cameras", "00"),
    Stage("sensitivity", "d(image)/d(param)\nper Gaussian", "01"),
    Stage("prune", "drop Gaussians\nno view needs", "02"),
    Stage("colour VQ", "SH -> codebook\n+ index", "03"),
    Stage("shape VQ", "covariance ->\ncodebook + index", "03"),
    Stage("fine-tune", "train tables\nthrough int8", "04"),
    Stage("store", "Morton sort,\nnpz / .pcc3dgs", "05"),
    Stage("evaluate", "PSNR / SSIM\non test views", "05"),
)


def pipeline_diagram(stages: Sequence[Stage] = PIPELINE, *, title: str | None = None) -> Figure:
    """The compression pipeline as a row of boxes joined by arrows, each tagged with its lesson.

    ``stages`` defaults to :data:`PIPELINE` (c3dgs: Niedermayr et al., CVPR 2024).
    """
    n = len(stages)
    if n == 0:
        raise ValueError("no stages")
    fig = Figure(figsize=(1.62 * n + 0.4, 2.5), layout="constrained")
    ax = fig.subplots()
    ax.set_xlim(-0.1, n - 0.1)
    ax.set_ylim(-0.15, 1.25)
    ax.axis("off")
    lessons = sorted({s.notebook for s in stages})
    shade = {nb: PALETTE[i % 6] for i, nb in enumerate(lessons)}
    for i, st in enumerate(stages):
        x0, w = i + 0.05, 0.8
        box = ax.add_patch(
            FancyBboxPatch(
                (x0, 0.1),
                w,
                0.85,
                boxstyle="round,pad=0.02",
                fc="white",
                ec=shade[st.notebook],
                lw=2,
            )
        )
        box.set_zorder(2)
        ax.text(
            x0 + w / 2,
            0.78,
            st.name,
            ha="center",
            va="center",
            fontsize=10,
            fontweight="bold",
            zorder=3,
        )
        ax.text(x0 + w / 2, 0.45, st.does, ha="center", va="center", fontsize=9, zorder=3)
        ax.text(
            x0 + w / 2,
            0.02,
            f"notebook {st.notebook}",
            ha="center",
            va="top",
            fontsize=9,
            color=shade[st.notebook],
            zorder=3,
        )
        if i + 1 < n:
            ax.annotate(
                "",
                xy=(i + 1.05, 0.52),
                xytext=(x0 + w + 0.01, 0.52),
                arrowprops=dict(arrowstyle="->", lw=1.5, color="0.3"),
            )
    ax.set_title(title or "The c3dgs pipeline, and the lesson that teaches each stage", fontsize=11)
    return fig
