"""Real spherical harmonics up to degree 3, in the sign convention and order of INRIA 3DGS.

A Gaussian's view-dependent colour is ``c(d) = max(0, sum_k f_k Y_k(d) + 0.5)`` per RGB channel,
where ``d`` is the unit vector from the camera centre to the Gaussian's mean (world frame) and
``f`` are the ``(deg+1)^2`` SH coefficients stored in :class:`~pcc.gaussians.model.GaussianModel`
(Kerbl et al., "3D Gaussian Splatting for Real-Time Radiance Field Rendering", SIGGRAPH 2023;
the basis is the one of Sloan, "Stupid Spherical Harmonics (SH) Tricks", GDC 2008).

Basis index ``k = l^2 + l + m`` for band ``l`` and order ``m = -l..l``. ``Y_k`` is the real SH
*with* the Condon-Shortley phase ``(-1)^m`` kept, which is why the odd-``m`` functions carry a minus
sign (``Y_1 = -C1 y``, ``Y_3 = -C1 x``). Written out for a unit direction ``(x, y, z)``::

    l = 0:  C0
    l = 1: -C1 y,  C1 z,  -C1 x
    l = 2:  C2a xy, -C2a yz, C2b (2z^2 - x^2 - y^2), -C2a xz, C2c (x^2 - y^2)
    l = 3:  -C3a y (3x^2 - y^2),  C3b xyz, -C3c y (4z^2 - x^2 - y^2),
            C3d z (2z^2 - 3x^2 - 3y^2), -C3c x (4z^2 - x^2 - y^2), C3e z (x^2 - y^2),
            -C3a x (x^2 - 3y^2)

The constants are computed below from their closed forms (they equal INRIA's ``sh_utils.py`` and
``forward.cu`` literals to the last printed digit). The basis is orthonormal on the unit sphere.

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import math

import torch

# Closed forms of the normalisation constants.
SH_C0 = 1.0 / (2.0 * math.sqrt(math.pi))  # 0.28209479177387814
SH_C1 = math.sqrt(3.0 / (4.0 * math.pi))  # 0.4886025119029199
SH_C2 = (
    math.sqrt(15.0 / math.pi) / 2.0,  # 1.0925484305920792  (xy)
    -math.sqrt(15.0 / math.pi) / 2.0,  # -1.0925484305920792 (yz)
    math.sqrt(5.0 / math.pi) / 4.0,  # 0.31539156525252005 (2z^2 - x^2 - y^2)
    -math.sqrt(15.0 / math.pi) / 2.0,  # -1.0925484305920792 (xz)
    math.sqrt(15.0 / math.pi) / 4.0,  # 0.5462742152960396  (x^2 - y^2)
)
SH_C3 = (
    -math.sqrt(35.0 / (2.0 * math.pi)) / 4.0,  # -0.5900435899266435 y (3x^2 - y^2)
    math.sqrt(105.0 / math.pi) / 2.0,  # 2.890611442640554   xyz
    -math.sqrt(21.0 / (2.0 * math.pi)) / 4.0,  # -0.4570457994644658 y (4z^2 - x^2 - y^2)
    math.sqrt(7.0 / math.pi) / 4.0,  # 0.3731763325901154  z (2z^2 - 3x^2 - 3y^2)
    -math.sqrt(21.0 / (2.0 * math.pi)) / 4.0,  # -0.4570457994644658 x (4z^2 - x^2 - y^2)
    math.sqrt(105.0 / math.pi) / 4.0,  # 1.445305721320277   z (x^2 - y^2)
    -math.sqrt(35.0 / (2.0 * math.pi)) / 4.0,  # -0.5900435899266435 x (x^2 - 3y^2)
)

MAX_SH_DEGREE = 3


def num_sh_coeffs(degree: int) -> int:
    """``(degree + 1)^2``: the number of SH basis functions up to ``degree``."""
    if not 0 <= degree <= MAX_SH_DEGREE:
        raise ValueError(f"SH degree must be in 0..{MAX_SH_DEGREE}, got {degree}")
    return (degree + 1) ** 2


def sh_basis(dirs: torch.Tensor, degree: int) -> torch.Tensor:
    """Evaluate the real SH basis functions ``Y_0 .. Y_{(deg+1)^2 - 1}`` at unit directions.

    Args:
        dirs: ``[N, 3]`` unit vectors (not normalised here: callers normalise).
        degree: 0..3.
    Returns:
        ``[N, (degree+1)^2]``, in INRIA order and sign convention (see the module docstring).
    """
    if dirs.ndim != 2 or dirs.shape[1] != 3:
        raise ValueError(f"dirs must have shape [N, 3], got {tuple(dirs.shape)}")
    num_sh_coeffs(degree)
    x, y, z = dirs.unbind(-1)  # [N] each
    out = [torch.full_like(x, SH_C0)]
    if degree >= 1:
        out += [-SH_C1 * y, SH_C1 * z, -SH_C1 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        xy, yz, xz = x * y, y * z, x * z
        out += [
            SH_C2[0] * xy,
            SH_C2[1] * yz,
            SH_C2[2] * (2.0 * zz - xx - yy),
            SH_C2[3] * xz,
            SH_C2[4] * (xx - yy),
        ]
    if degree >= 3:
        out += [
            SH_C3[0] * y * (3.0 * xx - yy),
            SH_C3[1] * xy * z,
            SH_C3[2] * y * (4.0 * zz - xx - yy),
            SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy),
            SH_C3[4] * x * (4.0 * zz - xx - yy),
            SH_C3[5] * z * (xx - yy),
            SH_C3[6] * x * (xx - 3.0 * yy),
        ]
    return torch.stack(out, dim=-1)


def eval_sh(sh: torch.Tensor, dirs: torch.Tensor, degree: int) -> torch.Tensor:
    """The SH expansion ``sum_k f_k Y_k(d)`` per colour channel (no +0.5 offset, no clamp).

    Args:
        sh: ``[N, K, 3]`` coefficients with ``K >= (degree+1)^2``; only the first
            ``(degree+1)^2`` are used (INRIA's "active SH degree").
        dirs: ``[N, 3]`` unit viewing directions (camera centre -> Gaussian mean, world frame).
        degree: SH degree to evaluate, 0..3.
    Returns:
        ``[N, 3]``.
    """
    k = num_sh_coeffs(degree)
    if sh.ndim != 3 or sh.shape[2] != 3 or sh.shape[0] != dirs.shape[0]:
        raise ValueError(
            f"sh must have shape [N, K, 3] matching dirs [N, 3]; got {tuple(sh.shape)} and "
            f"{tuple(dirs.shape)}"
        )
    if sh.shape[1] < k:
        raise ValueError(f"degree {degree} needs {k} SH coefficients, sh has {sh.shape[1]}")
    basis = sh_basis(dirs, degree)  # [N, k]
    return torch.einsum("nk,nkc->nc", basis, sh[:, :k])


def sh_to_color(
    sh: torch.Tensor, dirs: torch.Tensor, degree: int, clamp: bool = True
) -> torch.Tensor:
    """Activated colour ``max(0, SH(d) + 0.5)`` (or ``SH(d) + 0.5`` with ``clamp=False``).

    ``clamp=False`` is what c3dgs's sensitivity pass uses, so that Gaussians whose colour is
    negative still receive a gradient.

    Args:
        sh: ``[N, K, 3]``; dirs: ``[N, 3]`` unit vectors.
    Returns:
        ``[N, 3]``.
    """
    rgb = eval_sh(sh, dirs, degree) + 0.5
    return rgb.clamp_min(0.0) if clamp else rgb


def view_directions(means: torch.Tensor, camera_center: torch.Tensor) -> torch.Tensor:
    """Unit vectors from the camera centre to each mean (world frame), as INRIA uses for SH.

    Args:
        means: ``[N, 3]``; camera_center: ``[3]``.
    Returns:
        ``[N, 3]``.
    """
    d = means - camera_center
    return d / d.norm(dim=-1, keepdim=True).clamp_min(1e-12)
