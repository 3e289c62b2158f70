"""Rates and rate-distortion operating points: bits per point, the Pareto front.

* :func:`bits_per_point` -- the real rate, ``8 * bytes / input points`` (file sizes, not
  estimates: see ``docs/conventions.md``, "Rates").
* :func:`pareto_front` -- the operating points an encoder free to pick any model and setting
  would use: the rows no other row beats at a lower rate with a higher quality.

Taught in ``notebooks/14_rate_distortion.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["bits_per_point", "pareto_front"]


def bits_per_point(size: int | bytes | bytearray, n_input_points: int) -> float:
    """Rate in bits per *input* point: ``8 * size / n_input_points``.

    ``size`` is a byte count or the encoded bytes themselves.
    """
    file_bytes = len(size) if isinstance(size, (bytes, bytearray, memoryview)) else int(size)
    if n_input_points <= 0:
        raise ValueError(f"n_input_points must be positive, got {n_input_points}")
    if file_bytes < 0:
        raise ValueError(f"file_bytes must be >= 0, got {file_bytes}")
    return 8.0 * float(file_bytes) / float(n_input_points)


def pareto_front(
    rows: Sequence[dict], metric: str = "d1_psnr", *, finite_only: bool = True
) -> list[dict]:
    """The rows no other row dominates, by increasing rate.

    A row (a dict with ``bpp`` and ``metric``) is kept when every row of lower or equal rate has
    a lower ``metric``; of rows with equal rate the best one counts. ``finite_only`` leaves out
    rows whose ``metric`` is infinite or NaN (lossless points have no place on a PSNR curve).
    """
    candidates = [r for r in rows if not finite_only or math.isfinite(float(r[metric]))]
    front: list[dict] = []
    best = -math.inf
    for r in sorted(candidates, key=lambda r: (float(r["bpp"]), -float(r[metric]))):
        if float(r[metric]) > best:
            front.append(r)
            best = float(r[metric])
    return front
