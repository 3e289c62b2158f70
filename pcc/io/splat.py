"""``.splat`` files of the antimatter15 WebGL viewer: read and write :class:`GaussianModel`.

The format (``antimatter15/splat``, ``convert.py``; MIT) has no header: the file is ``N`` records
of 32 bytes, little-endian::

    position  3 x float32     x y z, in the frame of the PLY it came from (RDF for INRIA scenes)
    scale     3 x float32     exp(log_scale): activated, not log
    colour    4 x uint8       r g b = (0.5 + SH_C0 * f_dc) * 255, a = sigmoid(opacity) * 255
    rotation  4 x uint8       w x y z of the unit quaternion, q * 128 + 128

So ``N = file size / 32``, and a size that is not a multiple of 32 is an error. There are no
higher SH bands: writing drops ``f_rest`` (view-dependent colour) and reading gives SH degree 0.

**Loss** of a round trip through this writer: positions and scales exact (float32, log/exp
aside), the DC colour within half of 1/255 after the ``0.5 + SH_C0 * f_dc`` activation (and
clipped to [0, 1], which the renderer's ``max(0, .)`` mostly does anyway), opacity within 1/510
after the sigmoid, rotations within about 1/128 per component, and all SH bands above 0.

The reference converter rounds down and sorts the splats by ``size * opacity`` (biggest first,
for progressive loading); this writer rounds to nearest and keeps the model's order unless
``sort=True``. The viewer sorts by depth itself, so either file displays the same.
Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io._splat_common import (
    SH_C0,
    SplatArrays,
    check_finite,
    logit,
    model_for_writing,
    read_file_bytes,
    sigmoid,
)
from pcc.io.atomic import write_bytes_atomic
from pcc.io.gaussian_model import GaussianModel

__all__ = ["SPLAT_DTYPE", "read_splat", "write_splat", "decode_splat", "encode_splat"]

SPLAT_DTYPE = np.dtype(
    [("position", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4), ("rotation", "u1", 4)]
)
assert SPLAT_DTYPE.itemsize == 32
# The smallest positive normal float32: a scale stored as 0 (an underflowed exp) reads back as
# log-scale -87.3 instead of -inf.
_TINY = float(np.finfo(np.float32).tiny)


def decode_splat(data: bytes, path: str | os.PathLike | None = None) -> GaussianModel:
    """Decode ``.splat`` bytes (see :func:`read_splat`)."""
    if len(data) == 0:
        raise FormatError(path, "the .splat file is empty; a scene needs at least one Gaussian")
    if len(data) % SPLAT_DTYPE.itemsize:
        raise FormatError(
            path,
            f"{len(data)} bytes is not a multiple of 32 (a .splat is 32-byte records; "
            "truncated, or not a .splat)",
        )
    rec = np.frombuffer(data, dtype=SPLAT_DTYPE)
    n = rec.shape[0]
    for field, name in (("position", "means"), ("scale", "scales")):
        bad = ~np.isfinite(rec[field]).all(axis=1)  # before any cast: a signalling NaN warns
        if bad.any():
            raise FormatError(
                path,
                f"{int(bad.sum())} Gaussians have NaN or infinite {name} "
                f"(first: Gaussian {int(np.argmax(bad))})",
            )
    scale = rec["scale"].astype(np.float64)  # [N, 3]
    if (scale < 0).any():
        i = int(np.nonzero((scale < 0).any(axis=1))[0][0])
        raise FormatError(path, f"negative scale (first: Gaussian {i}); not a .splat file?")
    rgba = rec["rgba"].astype(np.float64) / 255.0  # [N, 4]
    quats = (rec["rotation"].astype(np.float64) - 128.0) / 128.0  # [N, 4] w x y z
    norm = np.linalg.norm(quats, axis=1, keepdims=True)
    quats = np.where(norm > 0, quats / np.where(norm > 0, norm, 1.0), [1.0, 0.0, 0.0, 0.0])
    with np.errstate(invalid="ignore"):
        log_scales = np.log(np.maximum(scale, _TINY))
    arrays = SplatArrays(
        means=rec["position"].astype(np.float32),
        log_scales=log_scales.astype(np.float32),
        quats=quats.astype(np.float32),
        opacity_logits=logit(rgba[:, 3]).astype(np.float32),
        sh=((rgba[:, None, :3] - 0.5) / SH_C0).astype(np.float32).reshape(n, 1, 3),
    )
    check_finite(path, arrays)
    return arrays.to_model()


def read_splat(path: str | os.PathLike) -> GaussianModel:
    """Read an antimatter15 ``.splat`` file into a :class:`GaussianModel` (SH degree 0).

    Raises:
        FormatError: empty file, a size that is not a multiple of 32, negative scales, or
            NaN/infinite positions or scales.
    """
    path = Path(path)
    return decode_splat(read_file_bytes(path), path)


def encode_splat(model: GaussianModel, *, sort: bool = False) -> bytes:
    """The ``.splat`` bytes of ``model`` (see :func:`write_splat`)."""
    a = model_for_writing(model, ".splat")
    n = a.means.shape[0]
    scales = np.exp(a.log_scales.astype(np.float64))
    opacity = sigmoid(a.opacity_logits)
    rec = np.zeros(n, dtype=SPLAT_DTYPE)
    rec["position"] = a.means
    rec["scale"] = scales
    rgb = 0.5 + SH_C0 * a.sh[:, 0].astype(np.float64)
    rec["rgba"][:, :3] = np.clip(np.rint(rgb * 255.0), 0, 255)
    rec["rgba"][:, 3] = np.clip(np.rint(opacity * 255.0), 0, 255)
    rec["rotation"] = np.clip(np.rint(a.normalized_quats() * 128.0 + 128.0), 0, 255)
    if sort:
        rec = rec[np.argsort(-scales.prod(axis=1) * opacity, kind="stable")]
    return rec.tobytes()


def write_splat(path: str | os.PathLike, model: GaussianModel, *, sort: bool = False) -> None:
    """Write ``model`` as a ``.splat`` file (atomically), dropping SH bands above degree 0.

    ``sort=True`` orders the splats biggest-and-most-opaque first, as antimatter15's converter
    does (the viewer then shows a coarse scene while the rest is still downloading).
    """
    write_bytes_atomic(path, encode_splat(model, sort=sort))
