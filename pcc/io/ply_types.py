"""PLY scalar type names (both spellings of the PLY specification) -> numpy type codes.

Shared by the Gaussian-splat reader (:mod:`pcc.io.gaussian_ply`) and the point-cloud reader
(:mod:`pcc.io.pointcloud`). Codes carry no byte order; readers add ``<`` or ``>``.
"""

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
