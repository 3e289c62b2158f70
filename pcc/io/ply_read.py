"""PLY data: every element of an ascii or binary (little/big-endian) body as numpy arrays.

Part of :mod:`pcc.io.ply` (import from there).
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.numeric import cast_exact
from pcc.io.ply_header import PlyElement, PlyHeader, PlyProperty, parse_ply_header
from pcc.io.text import parse_floats

__all__ = ["read_ply", "read_ply_elements", "parse_ply"]


def read_ply(
    path: str | os.PathLike, *, elements: Iterable[str] | None = None
) -> dict[str, dict[str, np.ndarray]]:
    """Read a PLY file into ``{element: {property: array}}`` (see the module docstring).

    ``elements`` limits the result to the named elements (reading stops after the last of them).

    Raises:
        FormatError: unreadable file, bad header, truncated or non-numeric data.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise FormatError(path, f"cannot read file: {err.strerror or err}") from None
    return parse_ply(data, path, elements=elements)


read_ply_elements = read_ply  # the name the point-cloud module has always exported


def parse_ply(
    data: bytes,
    path: str | os.PathLike | None = None,
    *,
    elements: Iterable[str] | None = None,
    header: PlyHeader | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """:func:`read_ply` on bytes already in memory (``header``: the already parsed header)."""
    header = parse_ply_header(path, data) if header is None else header
    wanted = None if elements is None else set(elements)
    todo = header.elements
    if wanted is not None:
        last = max((i for i, el in enumerate(todo) if el.name in wanted), default=-1)
        todo = todo[: last + 1]
    out: dict[str, dict[str, np.ndarray]] = {}
    if header.format == "ascii":
        lines = data[header.body_offset :].decode("ascii", "replace").splitlines()
        lines = [ln for ln in lines if ln.strip()]
        row = 0
        for el in todo:
            if row + el.count > len(lines):
                raise FormatError(
                    path,
                    f"truncated PLY: element {el.name!r} needs {el.count} lines, "
                    f"{len(lines) - row} left",
                )
            chunk = lines[row : row + el.count]
            row += el.count
            if wanted is None or el.name in wanted:
                out[el.name] = _ascii_element(path, chunk, el)
        return out
    pos = header.body_offset
    for el in todo:
        left = len(data) - pos
        if el.count * el.min_record_bytes() > left:
            raise FormatError(
                path,
                f"truncated PLY: element {el.name!r} needs at least "
                f"{el.count * el.min_record_bytes()} bytes, {max(0, left)} left",
            )
        if el.has_lists:
            columns, pos = _binary_list_element(path, data, pos, el, header.endian)
        else:
            dtype = el.record_dtype(header.endian)
            arr = np.frombuffer(data, dtype=dtype, count=el.count, offset=pos)
            pos += dtype.itemsize * el.count
            columns = {p.name: arr[p.name].astype(p.dtype) for p in el.properties}
        if wanted is None or el.name in wanted:
            out[el.name] = columns
    return out


def _binary_list_element(path, data: bytes, pos: int, el: PlyElement, endian: str):
    """A binary element with list properties: one ``frombuffer`` when every list has the length
    of the first record's (verified on every record), else record by record."""
    if el.count == 0:
        return {p.name: np.zeros((0, 0) if p.is_list else 0, p.dtype) for p in el.properties}, pos
    fields, probe = [], pos
    for p in el.properties:
        if p.is_list:
            cdt = np.dtype(endian + p.count_dtype)
            if probe + cdt.itemsize > len(data):
                raise FormatError(path, f"truncated PLY in element {el.name!r}")
            k = int(np.frombuffer(data, cdt, 1, probe)[0])
            fields += [(p.name + "__n", cdt), (p.name, endian + p.dtype, (max(k, 0),))]
            probe += cdt.itemsize + max(k, 0) * np.dtype(p.dtype).itemsize
        else:
            fields.append((p.name, endian + p.dtype))
            probe += np.dtype(p.dtype).itemsize
    dtype = np.dtype(fields)
    need = dtype.itemsize * el.count
    if pos + need <= len(data):
        arr = np.frombuffer(data, dtype=dtype, count=el.count, offset=pos)
        if all((arr[p.name + "__n"] == dtype[p.name].shape[0]).all() for p in el.properties
               if p.is_list):  # fmt: skip
            return {p.name: arr[p.name].astype(p.dtype) for p in el.properties}, pos + need
    cols: dict[str, list] = {p.name: [] for p in el.properties}
    for _ in range(el.count):
        for p in el.properties:
            if p.is_list:
                cdt, idt = np.dtype(endian + p.count_dtype), np.dtype(endian + p.dtype)
                if pos + cdt.itemsize > len(data):
                    raise FormatError(path, f"truncated PLY in element {el.name!r}")
                k = int(np.frombuffer(data, cdt, 1, pos)[0])
                pos += cdt.itemsize
                if k < 0 or pos + k * idt.itemsize > len(data):
                    raise FormatError(path, f"truncated PLY in element {el.name!r}")
                cols[p.name].append(np.frombuffer(data, idt, k, pos).astype(p.dtype))
                pos += k * idt.itemsize
            else:
                dt = np.dtype(endian + p.dtype)
                if pos + dt.itemsize > len(data):
                    raise FormatError(path, f"truncated PLY in element {el.name!r}")
                cols[p.name].append(np.frombuffer(data, dt, 1, pos)[0])
                pos += dt.itemsize
    return {
        p.name: _pack_lists(cols[p.name]) if p.is_list else np.asarray(cols[p.name], p.dtype)
        for p in el.properties
    }, pos


def _pack_lists(lists: list[np.ndarray]) -> np.ndarray:
    """``[count, k]`` when every list has length ``k``, else an object array of 1-D arrays."""
    if len({len(x) for x in lists}) == 1:
        return np.stack(lists)
    packed = np.empty(len(lists), dtype=object)
    packed[:] = lists
    return packed


def _ascii_element(path, chunk: list[str], el: PlyElement) -> dict[str, np.ndarray]:
    if not el.has_lists:
        n_props = len(el.properties)
        try:
            values = parse_floats(" ".join(chunk))
        except ValueError as err:
            raise FormatError(path, f"non-numeric value in PLY element {el.name!r}") from err
        if values.size != n_props * el.count:
            raise FormatError(
                path,
                f"truncated or malformed PLY element {el.name!r}: expected {n_props} values per "
                f"line, got {values.size} values on {el.count} lines",
            )
        values = values.reshape(el.count, n_props)
        return {p.name: _cast(path, el, p, values[:, i]) for i, p in enumerate(el.properties)}
    if len(el.properties) == 1 and chunk:  # fast path: one list property (faces, range grids)
        p = el.properties[0]
        try:
            values = parse_floats(" ".join(chunk))
            widths = np.fromiter((len(ln.split()) for ln in chunk), np.int64, len(chunk))
            starts = np.cumsum(widths) - widths  # [count] where each line's length prefix sits
            if values.size == widths.sum() and (values[starts] == widths - 1).all():
                if (widths == widths[0]).all():
                    return {p.name: _cast(path, el, p, values.reshape(len(chunk), -1)[:, 1:])}
                keep = np.ones(values.size, bool)
                keep[starts] = False
                flat = _cast(path, el, p, values[keep])
                return {p.name: _pack_lists(np.split(flat, np.cumsum(widths - 1)[:-1]))}
        except (ValueError, IndexError):
            pass  # the general path below reports the bad line
    cols: dict[str, list] = {p.name: [] for p in el.properties}
    for line in chunk:
        words = line.split()
        i = 0
        try:
            for p in el.properties:
                if p.is_list:
                    k = int(words[i])
                    if k < 0 or i + 1 + k > len(words):
                        raise IndexError
                    cols[p.name].append(np.array(words[i + 1 : i + 1 + k], dtype=np.float64))
                    i += 1 + k
                else:
                    cols[p.name].append(float(words[i]))
                    i += 1
        except (IndexError, ValueError) as err:
            raise FormatError(path, f"bad line in PLY element {el.name!r}: {line[:60]!r}") from err
    res = {}
    for p in el.properties:
        if p.is_list:
            lists = cols[p.name]
            if not lists:
                res[p.name] = np.zeros((0, 0), dtype=p.dtype)
                continue
            flat = _cast(path, el, p, np.concatenate(lists))  # one checked cast for all lists
            ends = np.cumsum([len(x) for x in lists])
            res[p.name] = _pack_lists(np.split(flat, ends[:-1]))
        else:
            res[p.name] = _cast(path, el, p, np.asarray(cols[p.name], dtype=np.float64))
    return res


def _cast(path, el: PlyElement, p: PlyProperty, values: np.ndarray) -> np.ndarray:
    """Parsed text values as the property's declared type; FormatError when one does not fit."""
    try:
        return cast_exact(values, p.dtype)
    except ValueError as err:
        raise FormatError(path, f"PLY element {el.name!r}, property {p.name!r}: {err}") from None
