"""INRIA 3D Gaussian Splatting PLY files: read and write :class:`~pcc.gaussians.model.GaussianModel`.

The layout written by the reference trainer (Kerbl et al., "3D Gaussian Splatting for Real-Time
Radiance Field Rendering", SIGGRAPH 2023; ``scene/gaussian_model.py`` ``save_ply``) is one ``vertex``
element of float32 properties, in this order::

    x y z [nx ny nz] f_dc_0..2 f_rest_0..(3K-4) opacity scale_0..2 rot_0..3

with ``K = (deg+1)^2`` SH coefficients per colour channel. ``f_rest`` is *channel-major*: the first
``K-1`` values are the red coefficients 1..K-1, then green, then blue. Values are stored
pre-activation (opacity logit, log-scale, unnormalised quaternion ``w x y z``), exactly as
:class:`GaussianModel` keeps them, so a round trip is bit-exact in float32.

Parsing and writing go through the one PLY module, :mod:`pcc.io.ply` (binary little- or
big-endian: one :func:`numpy.frombuffer` call; ascii: one number parser). The reader accepts files with or without normals and ignores
unknown extra properties and elements; it rejects anything that would give a silently wrong scene
(missing properties, an ``f_rest`` count that is not 0/9/24/45, NaN or infinite values, zero
Gaussians) with one :class:`~pcc.errors.FormatError` naming the file and the problem.

Zero Gaussians is an error when *reading*: a scene with nothing in it cannot be rendered or
compressed, and an empty file is far more often a failed export than an intended input. The
writer refuses an empty model for the same reason.

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import torch

from pcc.errors import FormatError
from pcc.io.atomic import write_bytes_atomic
from pcc.io.gaussian_model import GaussianModel
from pcc.io.ply import parse_ply, parse_ply_header, ply_bytes

__all__ = ["read_gaussian_ply", "write_gaussian_ply", "gaussian_ply_property_names"]

_REST_COUNTS = {0: 0, 9: 1, 24: 2, 45: 3}  # number of f_rest properties -> SH degree
_BASE_REQUIRED = (
    ["x", "y", "z"]
    + [f"f_dc_{i}" for i in range(3)]
    + ["opacity"]
    + [f"scale_{i}" for i in range(3)]
    + [f"rot_{i}" for i in range(4)]
)


def read_gaussian_ply(path: str | os.PathLike) -> GaussianModel:
    """Read an INRIA 3DGS PLY (SH degree 0-3, binary LE/BE or ascii) into a :class:`GaussianModel`.

    The SH degree is inferred from the number of ``f_rest_*`` properties (0, 9, 24 or 45 -> degree
    0, 1, 2 or 3). Normals and unknown properties are ignored. All tensors are float32 on the CPU.

    Raises:
        FormatError: not a PLY, truncated, no ``vertex`` element, missing required properties
            (named in the message), an ``f_rest`` count other than 0/9/24/45, NaN/inf values, or
            zero Gaussians.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise FormatError(path, f"cannot read file: {err.strerror or err}") from None
    header = parse_ply_header(path, data)
    vertex = [el for el in header.elements if el.name == "vertex"]
    if not vertex:
        raise FormatError(path, "PLY has no 'vertex' element")
    if vertex[0].has_lists:
        raise FormatError(path, "the vertex element has a list property (not a 3DGS PLY)")
    names = [p.name for p in vertex[0].properties]
    missing = [n for n in _BASE_REQUIRED if n not in names]
    if missing:
        hint = (
            " (this is a PlayCanvas/SuperSplat compressed PLY, which is not supported)"
            if "packed_position" in names
            else ""
        )
        raise FormatError(
            path,
            f"not an INRIA 3DGS PLY: missing required properties {', '.join(missing)}{hint}",
        )
    rest = sorted((n for n in names if re.fullmatch(r"f_rest_\d+", n)), key=lambda n: int(n[7:]))
    if len(rest) not in _REST_COUNTS:
        raise FormatError(
            path,
            f"{len(rest)} f_rest properties; expected 9, 24 or 45 (SH degree 1-3) or none (degree 0)",
        )
    if rest != [f"f_rest_{i}" for i in range(len(rest))]:
        raise FormatError(path, "f_rest properties are not numbered 0..K-1 without gaps")
    if vertex[0].count == 0:
        raise FormatError(path, "the PLY contains zero Gaussians; a scene needs at least one")
    table = parse_ply(data, path, elements=["vertex"], header=header)["vertex"]

    def stack(cols: list[str]) -> np.ndarray:
        out = np.stack([table[c] for c in cols], axis=1).astype(np.float32)  # [N, len(cols)]
        bad = ~np.isfinite(out)
        if bad.any():
            rows, which = np.nonzero(bad)
            raise FormatError(
                path,
                f"{int(bad.any(axis=1).sum())} Gaussians have NaN or infinite values "
                f"(first: Gaussian {int(rows[0])}, property {cols[int(which[0])]})",
            )
        return out

    degree = _REST_COUNTS[len(rest)]
    k = (degree + 1) ** 2
    n = vertex[0].count
    means = stack(["x", "y", "z"])  # [N, 3]
    dc = stack([f"f_dc_{i}" for i in range(3)])  # [N, 3]
    sh = np.empty((n, k, 3), dtype=np.float32)  # [N, K, 3]
    sh[:, 0] = dc
    if rest:
        sh[:, 1:] = stack(rest).reshape(n, 3, k - 1).transpose(0, 2, 1)
    return GaussianModel(
        means=torch.from_numpy(means),
        log_scales=torch.from_numpy(stack([f"scale_{i}" for i in range(3)])),
        quats=torch.from_numpy(stack([f"rot_{i}" for i in range(4)])),
        opacity_logits=torch.from_numpy(stack(["opacity"])[:, 0].copy()),
        sh=torch.from_numpy(sh),
    )


def gaussian_ply_property_names(sh_degree: int, normals: bool = True) -> list[str]:
    """The INRIA property order for ``sh_degree`` (62 names for degree 3 with normals)."""
    k = (sh_degree + 1) ** 2
    return (
        ["x", "y", "z"]
        + (["nx", "ny", "nz"] if normals else [])
        + [f"f_dc_{i}" for i in range(3)]
        + [f"f_rest_{i}" for i in range(3 * (k - 1))]
        + ["opacity"]
        + [f"scale_{i}" for i in range(3)]
        + [f"rot_{i}" for i in range(4)]
    )


def write_gaussian_ply(
    path: str | os.PathLike,
    model: GaussianModel,
    *,
    ascii: bool = False,
    normals: bool = True,
    big_endian: bool = False,
) -> None:
    """Write ``model`` as an INRIA 3DGS PLY (float32; binary little-endian unless told otherwise).

    ``normals=True`` writes the all-zero ``nx ny nz`` columns that the reference trainer writes
    (62 properties at degree 3); ``normals=False`` omits them (59 properties), as gsplat does.
    ascii output uses 9 significant digits, enough to round-trip every float32 exactly.
    The file is written atomically.
    """
    if len(model) == 0:
        raise ValueError("refusing to write a PLY with zero Gaussians (it could not be read back)")
    n, k = len(model), model.sh.shape[1]
    to_np = lambda t: t.detach().cpu().to(torch.float32).numpy()  # noqa: E731
    sh = to_np(model.sh)  # [N, K, 3]
    columns = [to_np(model.means)]  # each [N, c]
    if normals:
        columns.append(np.zeros((n, 3), dtype=np.float32))
    columns += [
        sh[:, 0],
        sh[:, 1:].transpose(0, 2, 1).reshape(n, 3 * (k - 1)),
        to_np(model.opacity_logits)[:, None],
        to_np(model.log_scales),
        to_np(model.quats),
    ]
    values = np.ascontiguousarray(np.concatenate(columns, axis=1), dtype=np.float32)  # [N, P]
    names = gaussian_ply_property_names(model.sh_degree, normals)
    assert values.shape[1] == len(names)
    fmt = "ascii" if ascii else ("binary_big_endian" if big_endian else "binary_little_endian")
    write_bytes_atomic(path, ply_bytes({"vertex": dict(zip(names, values.T))}, format=fmt))
