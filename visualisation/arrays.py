"""Turning what the library returns (NumPy arrays or torch tensors) into what plots need, and
sub-sampling clouds too large to draw.

Every plotting module takes "array-likes": NumPy arrays, torch tensors on any device (with or
without gradients) or lists. :func:`as_numpy` / :func:`as_image` are the one place that converts them;
:func:`subsample` the one seeded random sub-sampling of points to draw (its
:class:`SubsampleInfo` says how many are shown, for titles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SubsampleInfo", "as_image", "as_numpy", "subsample"]


def as_numpy(x, dtype=np.float64) -> np.ndarray:
    """A NumPy array of ``x`` (detached and on the CPU if a tensor); ``dtype=None`` keeps it."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def as_image(x) -> np.ndarray:
    """An ``[H, W, 3]`` float image clipped to [0, 1] (``[3, H, W]`` is transposed, one channel
    repeated); anything else raises ``ValueError`` naming the shape."""
    a = as_numpy(x)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(1, 2, 0)
    if a.ndim != 3 or a.shape[-1] not in (1, 3):
        raise ValueError(f"expected an [H, W, 3] image, got shape {a.shape}")
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return np.clip(a, 0.0, 1.0)


@dataclass(frozen=True)
class SubsampleInfo:
    """How many points a view shows: ``shown`` of ``total`` (``fraction = shown / total``)."""

    shown: int
    total: int

    @property
    def fraction(self) -> float:
        return self.shown / self.total if self.total else 1.0

    @property
    def text(self) -> str:
        """``"all 1,234 points"`` or ``"showing 20,000 of 110,000 points (18.2 %)"``."""
        if self.shown == self.total:
            return f"all {self.total:,} points"
        return f"showing {self.shown:,} of {self.total:,} points ({100 * self.fraction:.1f} %)"

    def as_dict(self) -> dict:
        return {"shown": self.shown, "total": self.total, "fraction": self.fraction}


def subsample(n: int, max_points: int | None, seed: int = 0) -> tuple[np.ndarray, SubsampleInfo]:
    """Indices of at most ``max_points`` of ``n`` points, drawn without replacement (seeded).

    Returns ``(idx [M], info)``; the indices are sorted, so the order of the input is kept.
    ``max_points=None`` (or ``>= n``) keeps everything.
    """
    if max_points is None or n <= max_points:
        return np.arange(n), SubsampleInfo(n, n)
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=int(max_points), replace=False))
    return idx, SubsampleInfo(int(max_points), n)
