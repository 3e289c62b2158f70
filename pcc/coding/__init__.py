"""Coding primitives shared by every codec of pcc (bottom layer: imports only ``pcc.errors``
and constriction).

* :mod:`pcc.coding.morton` -- Morton (Z-order) interleaving of integer 3D coordinates;
* :mod:`pcc.coding.varint` -- LEB128 variable-length unsigned integers;
* :mod:`pcc.coding.words` -- constriction's ``uint32`` word arrays <-> bytes, in an explicit
  byte order (each container keeps the order it has always written, so old files decode);
* :mod:`pcc.coding.framing` -- bounds-checked reads, length-prefixed streams, CRC-32 trailer;
* :mod:`pcc.coding.categorical` -- range-coded symbol streams (adaptive, static or "repeat"
  categorical models, the smallest wins);
* :mod:`pcc.coding.first_use` -- table indices in first-use order (escape, recency ranks);
* :mod:`pcc.coding.buckets` -- integers as a coded bit length plus raw bits (Elias-gamma style).

Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from pcc.coding.morton import MAX_BITS, morton_decode, morton_encode, morton_encode_reference
from pcc.coding.varint import read_varints, write_varints
from pcc.coding.words import bytes_to_words, words_to_bytes

__all__ = [
    "MAX_BITS",
    "morton_encode",
    "morton_decode",
    "morton_encode_reference",
    "read_varints",
    "write_varints",
    "bytes_to_words",
    "words_to_bytes",
]
