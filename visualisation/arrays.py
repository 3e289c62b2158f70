"""Turning what the library returns (NumPy arrays or torch tensors) into what plots need.

Every plotting module takes "array-likes": NumPy arrays, torch tensors on any device (with or
without gradients) or lists. These two helpers are the one place that converts them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_image", "as_numpy"]


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
