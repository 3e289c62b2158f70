"""PLY headers: the type names, the element/property description, and the one header parser.

Part of :mod:`pcc.io.ply` (import from there).
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

from pcc.errors import FormatError

__all__ = [
    "PLY_TYPES",
    "PLY_FORMATS",
    "TYPE_NAMES",
    "PlyProperty",
    "PlyElement",
    "PlyHeader",
    "parse_ply_header",
]

# PLY scalar type names (both spellings of the specification) -> numpy codes without byte order.
PLY_TYPES = {
    "char": "i1",
    "int8": "i1",
    "uchar": "u1",
    "uint8": "u1",
    "short": "i2",
    "int16": "i2",
    "ushort": "u2",
    "uint16": "u2",
    "int": "i4",
    "int32": "i4",
    "uint": "u4",
    "uint32": "u4",
    "float": "f4",
    "float32": "f4",
    "double": "f8",
    "float64": "f8",
}
TYPE_NAMES = {"i1": "char", "u1": "uchar", "i2": "short", "u2": "ushort", "i4": "int",
               "u4": "uint", "f4": "float", "f8": "double"}  # fmt: skip
PLY_FORMATS = ("ascii", "binary_little_endian", "binary_big_endian")
_MAX_HEADER_BYTES = 1 << 20  # a header longer than 1 MiB is not a PLY we want to read
_END_HEADER = re.compile(rb"end_header[ \t]*\r?\n")


@dataclass
class PlyProperty:
    """One property: ``dtype`` is the numpy code of the values (of the items, for a list);
    ``count_dtype`` the code of a list's length prefix, None for a scalar."""

    name: str
    dtype: str
    count_dtype: str | None = None

    @property
    def is_list(self) -> bool:
        return self.count_dtype is not None


@dataclass
class PlyElement:
    name: str
    count: int
    properties: list[PlyProperty] = field(default_factory=list)

    @property
    def has_lists(self) -> bool:
        return any(p.is_list for p in self.properties)

    def record_dtype(self, endian: str) -> np.dtype:
        """The fixed binary record of an element without list properties."""
        return np.dtype([(p.name, endian + p.dtype) for p in self.properties])

    def min_record_bytes(self) -> int:
        """The smallest a binary record can be (every list empty)."""
        return sum(np.dtype(p.count_dtype or p.dtype).itemsize for p in self.properties)


@dataclass
class PlyHeader:
    format: str  # one of PLY_FORMATS
    elements: list[PlyElement]
    body_offset: int  # where the data start
    comments: list[str] = field(default_factory=list)

    @property
    def endian(self) -> str:
        return ">" if self.format == "binary_big_endian" else "<"


def parse_ply_header(path: str | os.PathLike | None, data: bytes) -> PlyHeader:
    """Parse the header of the PLY bytes ``data`` (``path`` only names the file in errors)."""
    if not data.startswith(b"ply"):
        raise FormatError(path, "not a PLY file (it does not start with 'ply')")
    match = _END_HEADER.search(data, 0, _MAX_HEADER_BYTES)
    if match is None:
        raise FormatError(path, "PLY header has no 'end_header' line (truncated or not a PLY)")
    lines = data[: match.start()].decode("ascii", errors="replace").splitlines()
    fmt = None
    elements: list[PlyElement] = []
    comments: list[str] = []
    for lineno, raw in enumerate(lines[1:], start=2):
        words = raw.split()
        if not words:
            continue
        if words[0] in ("comment", "obj_info"):
            comments.append(raw.strip()[len(words[0]) :].strip())
            continue
        try:
            if words[0] == "format":
                if words[1] not in PLY_FORMATS:
                    raise FormatError(path, f"unknown PLY format {words[1]!r}")
                fmt = words[1]
            elif words[0] == "element":
                count = int(words[2])
                if count < 0:
                    raise ValueError
                elements.append(PlyElement(words[1], count))
            elif words[0] == "property":
                if not elements:
                    raise FormatError(path, f"header line {lineno}: property before any element")
                if words[1] == "list":
                    types, name = words[2:4], words[4]
                else:
                    types, name = words[1:2], words[2]
                for t in types:
                    if t not in PLY_TYPES:
                        raise FormatError(path, f"header line {lineno}: unknown type {t!r}")
                count_type = PLY_TYPES[types[0]] if len(types) == 2 else None
                elements[-1].properties.append(PlyProperty(name, PLY_TYPES[types[-1]], count_type))
            else:
                raise FormatError(path, f"header line {lineno}: unexpected keyword {words[0]!r}")
        except FormatError:
            raise
        except (IndexError, ValueError):
            raise FormatError(path, f"header line {lineno} is malformed: {raw!r}") from None
    if fmt is None:
        raise FormatError(path, "PLY header has no 'format' line")
    for el in elements:
        names = [p.name for p in el.properties]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise FormatError(path, f"duplicate {el.name} properties {', '.join(duplicates)}")
    return PlyHeader(fmt, elements, match.end(), comments)
