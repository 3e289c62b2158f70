"""Helpers shared by the viewer-format readers and writers (SPZ, ``.splat``, compressed PLY).

Each of those formats stores *activated* or re-parameterised values, so every reader and writer
goes between the pre-activation :class:`~pcc.gaussians.model.GaussianModel` (opacity logit,
log-scale, quaternion ``w x y z``, SH ``[N, K, 3]``) and plain float32 numpy arrays. Keeping the
two activations here means each format module only holds its own packing rules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pcc.errors import FormatError
from pcc.io.gaussian_model import OPACITY_EPS, SH_C0, GaussianModel

__all__ = ["SH_C0", "SplatArrays", "sigmoid", "logit", "read_file_bytes", "check_finite"]

# Probabilities are clipped to [OPACITY_EPS, 1 - OPACITY_EPS] (1e-6) before the logit: 8-bit
# opacities of 0 and 255 would otherwise give -inf/+inf. The value is far below half an 8-bit
# step (1/510), so a decoded model re-encodes to the same byte.


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, float64 inside (no overflow warnings for large |x|).

    The NumPy float64 twin of :func:`pcc.io.gaussian_model.opacity_activation` for the byte codecs
    of this package (their quantisation steps are defined on float64 values, so the encoders keep
    the arithmetic they always used and write the same bytes)."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def logit(p: np.ndarray) -> np.ndarray:
    """Inverse of :func:`sigmoid` after clipping ``p`` into ``[OPACITY_EPS, 1 - OPACITY_EPS]`` (finite always)."""
    p = np.clip(np.asarray(p, dtype=np.float64), OPACITY_EPS, 1.0 - OPACITY_EPS)
    return np.log(p / (1.0 - p))


@dataclass
class SplatArrays:
    """A :class:`GaussianModel` as float32 numpy arrays (pre-activation, INRIA layout).

    means ``[N, 3]``, log_scales ``[N, 3]``, quats ``[N, 4]`` (w x y z), opacity_logits ``[N]``,
    sh ``[N, K, 3]``.
    """

    means: np.ndarray
    log_scales: np.ndarray
    quats: np.ndarray
    opacity_logits: np.ndarray
    sh: np.ndarray

    @staticmethod
    def from_model(model: GaussianModel) -> SplatArrays:
        def arr(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().to(torch.float32).numpy()

        return SplatArrays(
            arr(model.means),
            arr(model.log_scales),
            arr(model.quats),
            arr(model.opacity_logits),
            arr(model.sh),
        )

    def to_model(self) -> GaussianModel:
        def t(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

        return GaussianModel(
            means=t(self.means),
            log_scales=t(self.log_scales),
            quats=t(self.quats),
            opacity_logits=t(self.opacity_logits),
            sh=t(self.sh),
        )

    def normalized_quats(self) -> np.ndarray:
        """Unit quaternions ``[N, 4]`` (a zero quaternion becomes the identity)."""
        q = self.quats.astype(np.float64)
        norm = np.linalg.norm(q, axis=1, keepdims=True)
        out = np.where(norm > 0, q / np.where(norm > 0, norm, 1.0), [1.0, 0.0, 0.0, 0.0])
        return out


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """The whole file, or :class:`FormatError` naming it when it cannot be read."""
    path = Path(path)
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise FormatError(path, "is a directory, not a file") from None
    except OSError as err:
        raise FormatError(path, f"cannot read file: {err.strerror or err}") from None


def check_finite(path: str | os.PathLike, arrays: SplatArrays) -> None:
    """Raise :class:`FormatError` if any decoded value is NaN or infinite."""
    for name in ("means", "log_scales", "quats", "opacity_logits", "sh"):
        a = getattr(arrays, name)
        bad = ~np.isfinite(a)
        if bad.any():
            rows = np.nonzero(bad.reshape(a.shape[0], -1).any(axis=1))[0]
            raise FormatError(
                path,
                f"{rows.size} Gaussians have NaN or infinite {name} (first: Gaussian {rows[0]})",
            )


def model_for_writing(model: GaussianModel, what: str) -> SplatArrays:
    """Arrays of ``model`` after refusing an empty model or non-finite values."""
    if len(model) == 0:
        raise ValueError(f"refusing to write a {what} with zero Gaussians")
    arrays = SplatArrays.from_model(model)
    for name in ("means", "log_scales", "quats", "opacity_logits", "sh"):
        if not np.isfinite(getattr(arrays, name)).all():
            raise ValueError(f"cannot write a {what}: the model has NaN or infinite {name}")
    return arrays
