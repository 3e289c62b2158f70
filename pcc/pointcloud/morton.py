"""Morton (Z-order) codes: moved to :mod:`pcc.coding.morton`; this name stays for its importers.

Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from pcc.coding.morton import MAX_BITS, morton_decode, morton_encode, morton_encode_reference

__all__ = ["morton_encode", "morton_decode", "morton_encode_reference", "MAX_BITS"]
