"""Colours and small helpers shared by the VQ figures.

Part of :mod:`visualisation.vq` (import the public names from there)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from visualisation.arrays import subsample
from visualisation.style import PALETTE

GREY = "#9a9a9a"
DATA_COLOR = PALETTE[0]  # blue: the Gaussians' features
CENTROID_COLOR = PALETTE[1]  # orange: codebook entries
KEPT_COLOR = PALETTE[2]  # bluish green: rows kept exact (not clustered)
DEAD_COLOR = "#000000"  # open black circles: dead centroids


def subsample_indices(n: int, max_points: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n`` rows (:func:`visualisation.arrays.subsample`)."""
    return subsample(n, max_points, seed)[0]


def _log_if_wide(ax, values: Sequence[np.ndarray], ratio: float = 20.0) -> None:
    """Log y axis (plain-number ticks) when positive values span more than ``ratio``."""
    v = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in values] or [np.zeros(0)])
    if v.size == 0 or np.any(v <= 0) or v.max() / v.min() <= ratio:
        return
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_yscale("log")
    plain = FuncFormatter(lambda y, _pos: f"{y:g}")
    ax.yaxis.set_major_formatter(plain)
    # label the minor ticks too when the axis spans less than two decades
    ax.yaxis.set_minor_formatter(plain if v.max() / v.min() < 100 else NullFormatter())


def _shown(n_shown: int, n: int) -> str:
    return f"all {n:,}" if n_shown == n else f"{n_shown:,} of {n:,}"
