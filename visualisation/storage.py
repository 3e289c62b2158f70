"""Figures and tables of where the bytes go and where the time goes.

Every function takes plain numbers / arrays (dicts of bytes per stream as returned by
:func:`pcc.c3dgs.stages.store`, timings dicts from :class:`pcc.timing.Timings`, positions and a
permutation) and RETURNS a matplotlib ``Figure`` (or, for tables, an ``IPython.display.Markdown``);
nothing is shown or saved here. Used by ``notebooks/05_storage_and_evaluation.ipynb`` and
``notebooks/06_whole_pipeline.ipynb``.

* :func:`size_bars` - file sizes side by side (PLY, npz, ``.pcc3dgs``) with the ratios;
* :func:`byte_breakdown` - bytes per attribute for each format, and each format's split;
* :func:`ply_attribute_bytes` - the same split for an INRIA PLY (float32 per property);
* :func:`timing_bars` - seconds per pipeline step;
* :func:`morton_order` - the Z-order curve, and what sorting by it does to a scene's file order;
* :func:`markdown_table` - a list of dicts as a Markdown table (per-view PSNR/SSIM, summaries).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from visualisation.style import CMAPS, PALETTE

#: The attributes of a compressed c3dgs model, in the order the figures list them, with the
#: part of a Gaussian each one describes.
ATTRIBUTE_GROUPS = {
    "positions": "position",
    "normals": "unused (normals)",
    "color_dc": "colour",
    "color_rest": "colour",
    "color_indices": "colour",
    "opacity": "opacity",
    "scales": "shape",
    "scale_dir": "shape",
    "log_magnitude": "shape",
    "rotation": "shape",
    "shape_indices": "shape",
    "quantization": "header / framing",
    "header": "header / framing",
    "framing": "header / framing",
}
GROUP_COLORS = {
    "position": PALETTE[0],
    "colour": PALETTE[4],
    "opacity": PALETTE[1],
    "shape": PALETTE[2],
    "unused (normals)": "0.75",
    "header / framing": "0.45",
}
ATTRIBUTE_LABELS = {
    "positions": "positions (xyz)",
    "normals": "normals (always 0)",
    "color_dc": "colour: DC (base colour)",
    "color_rest": "colour: SH bands 1-3",
    "color_indices": "colour indices",
    "opacity": "opacity",
    "scales": "shape: scales",
    "scale_dir": "shape: scale direction",
    "log_magnitude": "shape: scale magnitude",
    "rotation": "shape: rotation",
    "shape_indices": "shape indices",
    "quantization": "quantisation flag",
    "header": "header",
    "framing": "header, lengths, CRC / zip directory",
}


def _fmt_bytes(b: float) -> str:
    """``1234567`` -> ``"1.23 MB"`` (SI units, as file managers and the c3dgs survey use)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(b) >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{int(b)} B"


def _order(names) -> list[str]:
    known = list(ATTRIBUTE_GROUPS)
    return sorted(names, key=lambda n: (known.index(n) if n in known else len(known), n))


# --------------------------------------------------------------------------- sizes
def size_bars(
    sizes: Mapping[str, int],
    *,
    reference: str | None = None,
    n_gaussians: Mapping[str, int] | None = None,
    title: str | None = None,
) -> Figure:
    """Bars of file sizes in MB, each labelled with its size and its ratio to ``reference``.

    Args:
        sizes: label -> bytes on disk, e.g. ``{"PLY (input)": 6_697_282, "npz": ..., ...}``.
        reference: the label the ratios are computed against (default: the first).
        n_gaussians: label -> Gaussians in that file, to print bytes per Gaussian.
    """
    if not sizes:
        raise ValueError("no sizes")
    names = list(sizes)
    ref = reference or names[0]
    values = np.array([sizes[n] for n in names], dtype=float)
    fig = Figure(figsize=(max(4.8, 1.5 * len(names) + 1.5), 3.9), layout="constrained")
    ax = fig.subplots()
    bars = ax.bar(names, values / 1e6, color=[PALETTE[i % len(PALETTE)] for i in range(len(names))])
    labels = []
    for n, v in zip(names, values):
        text = _fmt_bytes(v)
        if n != ref:
            text += f"\n{sizes[ref] / v:.1f}x smaller"
        if n_gaussians and n in n_gaussians:
            text += f"\n{v / max(n_gaussians[n], 1):.1f} B/Gaussian"
        labels.append(text)
    ax.bar_label(bars, labels=labels, padding=3, fontsize=9)
    ax.set_ylim(0, values.max() / 1e6 * 1.35)
    ax.set_ylabel("file size (MB, 10^6 bytes)")
    ax.set_title(title or f"File sizes (ratios against {ref})")
    return fig


def ply_attribute_bytes(
    property_names: Sequence[str], n_gaussians: int, header_bytes: int = 0, itemsize: int = 4
) -> dict[str, int]:
    """Bytes per attribute of a binary INRIA PLY (every property ``itemsize`` bytes per Gaussian).

    ``property_names`` as :func:`pcc.io.gaussian_ply.gaussian_ply_property_names` lists them; the
    keys of the result match :data:`ATTRIBUTE_GROUPS` (``positions``, ``normals``, ``color_dc``,
    ``color_rest``, ``opacity``, ``scales``, ``rotation``, ``header``).
    """
    out: dict[str, int] = {}
    for p in property_names:
        if p in ("x", "y", "z"):
            key = "positions"
        elif p in ("nx", "ny", "nz"):
            key = "normals"
        elif p.startswith("f_dc"):
            key = "color_dc"
        elif p.startswith("f_rest"):
            key = "color_rest"
        elif p.startswith("scale"):
            key = "scales"
        elif p.startswith("rot"):
            key = "rotation"
        else:
            key = p
        out[key] = out.get(key, 0) + itemsize * n_gaussians
    if header_bytes:
        out["header"] = header_bytes
    return out


def byte_breakdown(
    formats: Mapping[str, Mapping[str, int]],
    *,
    n_gaussians: int | None = None,
    detail: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Where every byte goes.

    Args:
        formats: format label -> {attribute: bytes}, e.g. ``{"npz": store_npz.attributes | {"framing":
            store_npz.framing}, ".pcc3dgs": ...}``; attribute names as in :data:`ATTRIBUTE_GROUPS`
            (others are shown as they are). The bytes of one format must add up to its file size.
        n_gaussians: Gaussians in the compressed files, to label bytes per Gaussian.
        detail: the formats drawn attribute by attribute in the left panel (default: every
            format whose total is within 100x of the smallest, i.e. the compressed ones).

    Left: bytes per attribute, one bar per format in ``detail`` (log axis, so that a 200-byte table
    and a 100-kB index stream both read). Right: each format as one bar split into position,
    colour, opacity, shape and framing, with its total, so the shares can be compared.
    """
    if not formats:
        raise ValueError("no formats")
    totals = {f: sum(a.values()) for f, a in formats.items()}
    smallest = min(totals.values())
    detail = (
        list(detail) if detail is not None else [f for f in formats if totals[f] <= 100 * smallest]
    )
    attrs = _order({a for f in detail for a in formats[f]})
    fig = Figure(figsize=(13.0, max(4.2, 0.42 * len(attrs) + 1.6)), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.25, 1])

    y = np.arange(len(attrs))
    h = 0.8 / max(len(detail), 1)
    for i, f in enumerate(detail):
        vals = np.array([formats[f].get(a, 0) for a in attrs], dtype=float)
        pos = y + (i - (len(detail) - 1) / 2) * h
        bars = left.barh(
            pos,
            np.where(vals > 0, vals, np.nan),
            h,
            color=PALETTE[(i + 1) % 8],
            label=f"{f} ({_fmt_bytes(totals[f])})",
        )
        left.bar_label(
            bars, labels=[_fmt_bytes(v) if v else "" for v in vals], padding=2, fontsize=8
        )
    left.set_yticks(y, [ATTRIBUTE_LABELS.get(a, a) for a in attrs])
    left.invert_yaxis()
    left.set_xscale("log")
    lo = min((v for f in detail for v in formats[f].values() if v > 0), default=1)
    hi = max((v for f in detail for v in formats[f].values()), default=10)
    left.set_xlim(max(lo / 2, 1), hi * 6)
    left.set_xlabel("bytes in the file (log scale)")
    left.legend(loc="lower right")
    left.set_title("Bytes per attribute (stream)")

    groups = list(dict.fromkeys(ATTRIBUTE_GROUPS.values()))
    names = list(formats)
    ypos = np.arange(len(names))
    start = np.zeros(len(names))
    for g in groups:
        share = np.array(
            [
                sum(b for a, b in formats[f].items() if ATTRIBUTE_GROUPS.get(a, a) == g) / totals[f]
                for f in names
            ]
        )
        if not share.any():
            continue
        right.barh(
            ypos, share * 100, 0.6, left=start * 100, color=GROUP_COLORS.get(g, "0.6"), label=g
        )
        for j, s in enumerate(share):
            if s >= 0.07:
                right.text(
                    (start[j] + s / 2) * 100,
                    ypos[j],
                    f"{s:.0%}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if g not in ("unused (normals)",) else "black",
                )
        start += share
    per = f" ({n_gaussians:,} Gaussians in the compressed files)" if n_gaussians else ""
    right.set_yticks(ypos, [f"{f}\n{_fmt_bytes(totals[f])}" for f in names])
    right.invert_yaxis()
    right.set_xlim(0, 100)
    right.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize=9, frameon=False)
    right.set_xlabel("share of the file (%)")
    fig.suptitle(title or f"Where every byte goes{per}", fontsize=12)
    return fig


# --------------------------------------------------------------------------- time
def _time_label(seconds: float, total: float) -> str:
    """``"35.7 s (38%)"``, ``"70 ms (<1%)"``."""
    text = f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"
    if total > 0:
        share = seconds / total
        text += " (<1%)" if 0 < share < 0.01 else f" ({share:.0%})"
    return text


def timing_bars(
    timings: Mapping[str, float],
    *,
    exclude: Sequence[str] = ("total",),
    title: str | None = None,
) -> Figure:
    """Horizontal bars of seconds per step (in the dict's order), labelled with their share."""
    items = [(k, float(v)) for k, v in timings.items() if k not in exclude]
    if not items:
        raise ValueError("no timings")
    names = [k for k, _ in items]
    secs = np.array([v for _, v in items])
    total = secs.sum()
    fig = Figure(figsize=(7.0, 0.38 * len(names) + 1.4), layout="constrained")
    ax = fig.subplots()
    bars = ax.barh(names, secs, color=PALETTE[0])
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[_time_label(v, total) for v in secs], padding=3, fontsize=9)
    ax.set_xlim(0, secs.max() * 1.3 if secs.max() > 0 else 1)
    ax.set_xlabel("wall-clock time (s)")
    ax.set_title(title or f"Where the time goes: {total:.1f} s in total")
    return fig


# --------------------------------------------------------------------------- Morton order
def _z_order_2d(bits: int) -> np.ndarray:
    """Cells of a ``2^bits`` square grid in Z (Morton) order: ``[4^bits, 2]`` (x, y)."""
    n = 1 << bits
    codes = np.arange(n * n)
    x = np.zeros_like(codes)
    y = np.zeros_like(codes)
    for b in range(bits):
        x |= ((codes >> (2 * b)) & 1) << b
        y |= ((codes >> (2 * b + 1)) & 1) << b
    return np.stack([x, y], axis=1)


def morton_order(
    points,
    order,
    *,
    axes: tuple[int, int] = (0, 1),
    units: str = "scene units",
    max_points: int = 20000,
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """What Morton (Z-order) sorting does to the order of the Gaussians in the file.

    Args:
        points: ``[N, 3]`` positions in the order they had before sorting.
        order: ``[N]`` the permutation that sorts them (``points[order]`` is the file order after).
        axes: the two coordinates of the top view.

    Panels: (a) the Z curve on an 8 x 8 grid (x bits and y bits interleaved); (b)/(c) the scene
    from above, each Gaussian coloured by its position in the file before / after sorting
    (neighbours in space get neighbouring colours only after); (d) the distance between each
    Gaussian and the next one in the file, before and after: small gaps are what makes positions
    and attributes cheap to code.
    """
    p = np.asarray(
        points.detach().cpu().numpy() if hasattr(points, "detach") else points, dtype=np.float64
    )
    o = np.asarray(order.detach().cpu().numpy() if hasattr(order, "detach") else order)
    if p.ndim != 2 or p.shape[1] != 3 or o.shape != (len(p),):
        raise ValueError(f"points must be [N, 3] and order [N], got {p.shape} and {o.shape}")
    n = len(p)
    fig = Figure(figsize=(14.0, 3.9), layout="constrained")
    ax_z, ax_b, ax_a, ax_h = fig.subplots(1, 4, width_ratios=[0.8, 1, 1, 1.1])

    cells = _z_order_2d(3)
    ax_z.plot(cells[:, 0], cells[:, 1], "-", color="0.5", lw=1)
    ax_z.scatter(
        cells[:, 0], cells[:, 1], c=np.arange(len(cells)), cmap=CMAPS["sequential"], s=22, zorder=3
    )
    for i in (0, 1, 2, 3, 63):
        ax_z.annotate(str(i), cells[i], textcoords="offset points", xytext=(4, 3), fontsize=8)
    ax_z.set_xlabel("x cell (3 bits)")
    ax_z.set_ylabel("y cell (3 bits)")
    ax_z.set_aspect("equal")
    ax_z.set_title("Z curve: code = y2 x2 y1 x1 y0 x0", fontsize=10)

    idx = np.arange(n)
    if n > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    rank_after = np.empty(n)
    rank_after[o] = np.arange(n)
    i, j = axes
    for ax, rank, name in ((ax_b, np.arange(n), "before"), (ax_a, rank_after, "after")):
        sc = ax.scatter(
            p[idx, i],
            p[idx, j],
            c=rank[idx] / max(n - 1, 1),
            s=1.5,
            cmap=CMAPS["sequential"],
            rasterized=True,
        )
        ax.set_aspect("equal")
        ax.set_xlabel(f"{'xyz'[i]} ({units})")
        ax.set_ylabel(f"{'xyz'[j]} ({units})")
        ax.set_title(f"file order {name} sorting (top view)", fontsize=10)
    bar = fig.colorbar(sc, ax=[ax_b, ax_a], shrink=0.85)
    bar.set_label("position in the file (0 = first, 1 = last)")

    gaps_before = np.linalg.norm(np.diff(p, axis=0), axis=1)
    gaps_after = np.linalg.norm(np.diff(p[o], axis=0), axis=1)
    pos = np.concatenate([gaps_before, gaps_after])
    pos = pos[pos > 0]
    lo = pos.min() if pos.size else 1e-6
    hi = pos.max() if pos.size else 1.0
    edges = np.logspace(np.log10(lo), np.log10(hi), 50)
    for gaps, name, col in ((gaps_before, "before", PALETTE[3]), (gaps_after, "after", PALETTE[0])):
        ax_h.hist(
            np.clip(gaps, lo, None),
            bins=edges,
            histtype="step",
            lw=1.6,
            color=col,
            label=f"{name}: median {np.median(gaps):.3g}",
        )
    ax_h.set_xscale("log")
    ax_h.set_xlabel(f"distance to the next Gaussian in the file ({units})")
    ax_h.set_ylabel("Gaussians")
    ax_h.legend(loc="upper left", fontsize=9)
    ax_h.set_title("Neighbours in the file, neighbours in space", fontsize=10)
    fig.suptitle(title or f"Morton order of {n:,} Gaussians", fontsize=12)
    return fig


# --------------------------------------------------------------------------- tables
def markdown_table(
    rows: Sequence[Mapping[str, object]],
    columns: Sequence[str] | None = None,
    *,
    digits: Mapping[str, int] | None = None,
    default_digits: int = 3,
):
    """An ``IPython.display.Markdown`` table of ``rows`` (a list of dicts), columns in order.

    Floats are rounded to ``digits[column]`` (else ``default_digits``) decimals; ints get
    thousands separators; ``None`` prints as an em dash.
    """
    from IPython.display import Markdown

    return Markdown(markdown_text(rows, columns, digits=digits, default_digits=default_digits))


def markdown_text(
    rows: Sequence[Mapping[str, object]],
    columns: Sequence[str] | None = None,
    *,
    digits: Mapping[str, int] | None = None,
    default_digits: int = 3,
) -> str:
    """The text of :func:`markdown_table` (a GitHub-flavoured Markdown table)."""
    if not rows:
        raise ValueError("no rows")
    cols = list(columns) if columns is not None else list(dict.fromkeys(k for r in rows for k in r))
    digits = dict(digits or {})

    def cell(col, v) -> str:
        if v is None:
            return "—"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, (int, np.integer)):
            return f"{int(v):,}"
        if isinstance(v, (float, np.floating)):
            return f"{float(v):,.{digits.get(col, default_digits)}f}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(cell(c, r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)
