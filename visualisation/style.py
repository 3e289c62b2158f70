"""One figure style for every lesson: readable text, a colour-blind-safe palette, no chart junk.

The palette is Okabe & Ito's (2008), distinguishable under the common colour-vision deficiencies;
sequential data use ``viridis`` / ``cividis`` and signed data ``RdBu_r`` (see :data:`CMAPS`).
"""

from __future__ import annotations

import matplotlib as mpl

# Okabe-Ito: blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow, black
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
CMAPS = {"sequential": "viridis", "error": "cividis", "signed": "RdBu_r"}

RC = {
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "image.cmap": CMAPS["sequential"],
    "animation.embed_limit": 30.0,  # MB of to_jshtml output
}


def apply_style() -> None:
    """Apply :data:`RC` to matplotlib's global settings (idempotent)."""
    mpl.rcParams.update(RC)


def color(i: int) -> str:
    """The ``i``-th palette colour (cycling)."""
    return PALETTE[i % len(PALETTE)]
