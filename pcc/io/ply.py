"""PLY files: the one parser and the one writer every PLY reader and writer of pcc uses.

A PLY file (Turk, "The PLY Polygon File Format", 1994) is an ASCII header naming *elements*
(``vertex``, ``face``, ...) with a count and typed *properties*, followed by the data in
``ascii``, ``binary_little_endian`` or ``binary_big_endian``. A property is a scalar or a *list*
(a count followed by that many items; ``face`` elements store ``vertex_indices`` this way).

* :func:`read_ply` returns ``{element: {property: array}}``. Scalars give ``[count]`` arrays of the
  declared dtype; a list gives ``[count, k]`` when every list has the same length ``k`` (the
  usual triangle mesh) and otherwise an object array of 1-D arrays.
* :func:`write_ply` / :func:`ply_bytes` write the same dictionaries back: the PLY type of every
  property follows its numpy dtype; a 2-D or object column is written as a list property.
  Floats in ascii carry 9 (float32) or 17 (float64) significant digits, enough to read the exact
  binary value back.

Declared sizes are checked against the file before any array is made, so a forged count cannot
allocate gigabytes; every problem raises one :class:`pcc.errors.FormatError` naming the file.
Three modules, one job each: :mod:`pcc.io.ply_header` (types, the header parser),
:mod:`pcc.io.ply_read` (the data), :mod:`pcc.io.ply_write` (the writer); import from here.
The point-cloud, mesh, Gaussian-splat and compressed-PLY readers are built on this module
(``plyfile`` is used only by the tests, as an independent oracle: the own parser is 4-12x
faster on ascii files and reports errors as ``FormatError``; see ``pcc/bench/bench_ply.py``).
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from pcc.io.ply_header import (
    PLY_FORMATS,
    PLY_TYPES,
    PlyElement,
    PlyHeader,
    PlyProperty,
    parse_ply_header,
)
from pcc.io.ply_read import parse_ply, read_ply, read_ply_elements
from pcc.io.ply_write import ply_bytes, write_ply

__all__ = [
    "PLY_TYPES",
    "PLY_FORMATS",
    "PlyProperty",
    "PlyElement",
    "PlyHeader",
    "parse_ply_header",
    "read_ply",
    "read_ply_elements",
    "parse_ply",
    "ply_bytes",
    "write_ply",
]
