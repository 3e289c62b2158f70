"""PLY writing: ``{element: {property: column}}`` to ascii or binary (little/big-endian) bytes.

Part of :mod:`pcc.io.ply` (import from there).
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np

from pcc.io.atomic import write_bytes_atomic
from pcc.io.ply_header import PLY_FORMATS, TYPE_NAMES
from pcc.io.text import format_columns

__all__ = ["ply_bytes", "write_ply"]


def _code(arr: np.ndarray, where: str) -> str:
    code = arr.dtype.str[1:]
    if code not in TYPE_NAMES:
        raise ValueError(f"{where}: dtype {arr.dtype} has no PLY type")
    return code


def ply_bytes(
    elements: Mapping[str, Mapping[str, np.ndarray]],
    *,
    format: str = "binary_little_endian",
    comments: Iterable[str] = (),
) -> bytes:
    """The bytes of a PLY file holding ``elements`` (``{element: {property: column}}``).

    A column is ``[count]`` (a scalar property of its dtype), ``[count, k]`` (a list property of
    length ``k`` with a ``uchar`` count) or an object array of 1-D arrays (lists of any length,
    ``uchar`` count when all are shorter than 256, else ``int``).
    """
    if format not in PLY_FORMATS:
        raise ValueError(f"format must be one of {PLY_FORMATS}, got {format!r}")
    endian = ">" if format == "binary_big_endian" else "<"
    head = ["ply", f"format {format} 1.0"] + [f"comment {c}" for c in comments]
    bodies = []
    for name, columns in elements.items():
        columns = {k: np.asarray(v) for k, v in columns.items()}
        counts = {len(v) for v in columns.values()}
        if len(counts) > 1:
            raise ValueError(f"element {name!r}: columns of different lengths {sorted(counts)}")
        count = counts.pop() if counts else 0
        head.append(f"element {name} {count}")
        props = []  # (name, column, count code or None, item code)
        for prop, col in columns.items():
            if col.dtype == object:
                items = [np.asarray(x) for x in col]
                item = _code(items[0], f"{name}.{prop}") if items else "i4"
                longest = max((len(x) for x in items), default=0)
                props.append((prop, items, "u1" if longest < 256 else "i4", item))
            elif col.ndim == 2:
                props.append((prop, col, "u1", _code(col, f"{name}.{prop}")))
            elif col.ndim == 1:
                props.append((prop, col, None, _code(col, f"{name}.{prop}")))
            else:
                raise ValueError(f"{name}.{prop}: a column must be 1-D or 2-D, got {col.shape}")
        for prop, _, cnt, item in props:
            if cnt is None:
                head.append(f"property {TYPE_NAMES[item]} {prop}")
            else:
                head.append(f"property list {TYPE_NAMES[cnt]} {TYPE_NAMES[item]} {prop}")
        if format == "ascii":
            bodies.append(_ascii_body(props, count))
        else:
            bodies.append(_binary_body(props, count, endian))
    head.append("end_header")
    return ("\n".join(head) + "\n").encode("ascii") + b"".join(bodies)


def _binary_body(props: list, count: int, endian: str) -> bytes:
    if any(isinstance(col, list) for _, col, _, _ in props):  # lists of varying length
        parts = []
        for i in range(count):
            for _, col, cnt, item in props:
                if cnt is None:
                    parts.append(col[i : i + 1].astype(endian + item).tobytes())
                else:
                    parts.append(np.asarray([len(col[i])], endian + cnt).tobytes())
                    parts.append(np.asarray(col[i]).astype(endian + item).tobytes())
        return b"".join(parts)
    fields = []
    for prop, col, cnt, item in props:
        if cnt is not None:
            fields.append((prop + "__n", endian + cnt))
            fields.append((prop, endian + item, (col.shape[1],)))
        else:
            fields.append((prop, endian + item))
    rec = np.empty(count, dtype=fields)
    for prop, col, cnt, _ in props:
        rec[prop] = col
        if cnt is not None:
            rec[prop + "__n"] = col.shape[1]
    return rec.tobytes()


def _ascii_body(props: list, count: int) -> bytes:
    if count == 0:
        return b""
    if any(isinstance(col, list) for _, col, _, _ in props):
        rows = []
        for i in range(count):
            words = []
            for _, col, cnt, _ in props:
                if cnt is None:
                    words += list(format_columns(col[i : i + 1]))
                else:
                    words += [str(len(col[i]))] + list(format_columns(np.asarray(col[i])))
            rows.append(" ".join(words))
        return ("\n".join(rows) + "\n").encode("ascii")
    parts = []
    for _, col, cnt, _ in props:
        if cnt is not None:
            parts.append(np.full((count, 1), str(col.shape[1])))
        parts.append(format_columns(col.reshape(count, -1)))
    table = np.concatenate(parts, axis=1)
    return ("\n".join(" ".join(row) for row in table) + "\n").encode("ascii")


def write_ply(
    path: str | os.PathLike,
    elements: Mapping[str, Mapping[str, np.ndarray]],
    *,
    format: str = "binary_little_endian",
    comments: Iterable[str] = (),
) -> None:
    """Write ``elements`` as a PLY file, atomically (see :func:`ply_bytes`)."""
    write_bytes_atomic(path, ply_bytes(elements, format=format, comments=comments))
