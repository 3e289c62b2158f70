"""Numbers in text files: the fast parser and the exact formatter the text formats share.

Used by the PLY (ascii), PCD (ascii), XYZ and OFF readers and writers.
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["parse_floats", "format_columns", "format_table"]


def parse_floats(text: str) -> np.ndarray:
    """All whitespace-separated numbers of ``text`` as float64 ``[n]``; ValueError on a non-number."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns (and stops early) on unparsable data
        try:
            return np.fromstring(text, dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning) as err:
            raise ValueError("non-numeric value") from err


def format_columns(values: np.ndarray) -> np.ndarray:
    """Numbers as strings, same shape: floats with enough digits to read the exact binary value
    back (9 significant digits for float32, 17 for float64), integers in decimal."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return np.char.mod("%.9g" if values.dtype.itemsize == 4 else "%.17g", values)
    return values.astype(str)


def format_table(columns: list[np.ndarray]) -> str:
    """Rows of space-separated numbers, one line per row, from column blocks ``[N, c_i]``."""
    table = np.concatenate([format_columns(c) for c in columns], axis=1)  # [N, sum c_i]
    return "\n".join(" ".join(row) for row in table) + "\n"
