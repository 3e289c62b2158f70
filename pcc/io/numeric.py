"""Safe numeric conversions for readers: no invalid cast ever reaches numpy.

A forged file can hold signalling NaNs (whose float32 -> float64 cast raises numpy's "invalid
value" warning and yields a value computed through an invalid operation) or text values that do
not fit the declared integer type (NaN, 1e30 or -5 for a ``uchar``). Readers convert through these
two functions and report the second case as a :class:`~pcc.errors.FormatError`.
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["quiet_nans", "cast_exact"]


def quiet_nans(values: np.ndarray) -> np.ndarray:
    """``values`` with every NaN (signalling or quiet) replaced by a quiet NaN; float arrays
    only (others are returned unchanged). Copies only when there is a NaN."""
    values = np.asarray(values)
    if values.dtype.kind != "f":
        return values
    nan = np.isnan(values)  # isnan does not signal
    if not nan.any():
        return values
    values = values.copy()
    values[nan] = np.nan
    return values


def cast_exact(values: np.ndarray, dtype) -> np.ndarray:
    """Float64 ``values`` as ``dtype``, or ValueError when a value cannot be held exactly.

    Integers must be finite, whole and inside the type's range; a float32 target accepts any
    value within float32's range (NaN and inf stay what they are), rounding to nearest.
    """
    dtype = np.dtype(dtype)
    values = np.asarray(values, dtype=np.float64)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        ok = np.isfinite(values) & (values >= info.min) & (values <= info.max)
        if not ok.all() or (values != np.round(values)).any():
            bad = values[~ok] if not ok.all() else values[values != np.round(values)]
            raise ValueError(f"value {float(bad[0])!r} does not fit {dtype.name}")
        return values.astype(dtype)
    if dtype.kind == "f" and dtype.itemsize < 8:
        big = np.isfinite(values) & (np.abs(values) > np.finfo(dtype).max)
        if big.any():
            raise ValueError(f"value {float(values[big][0])!r} does not fit {dtype.name}")
    return values.astype(dtype)
