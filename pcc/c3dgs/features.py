"""Colour and shape features of Gaussians for vector quantisation, and their way back.

c3dgs (Niedermayr et al., "Compressed 3D Gaussian Splatting for Accelerated Novel View Synthesis",
CVPR 2024) clusters two feature vectors per Gaussian:

* colour: all SH coefficients, DC included, flattened to ``(deg+1)^2 * 3`` numbers (48 at degree 3);
* shape: the *normalised* covariance ``Sigma_n = R diag(s_hat)^2 R^T`` with ``s_hat = s / |s|``, so
  ``tr(Sigma_n) = 1``, stored as its 6 upper-triangle entries ``[xx, xy, xz, yy, yz, zz]``. The
  magnitude ``|s|`` stays per Gaussian (as ``log |s|``).

Shape centroids are turned back into a rotation and a unit-norm scale direction by an eigen
decomposition (c3dgs ``utils/splats.py``). Taught in ``notebooks/03_vector_quantisation.ipynb``.
"""

from __future__ import annotations

import torch

from pcc.gaussians.model import GaussianModel, quaternion_to_rotation, rotation_to_quaternion

#: Positions of the diagonal entries inside the 6-vector ``[xx, xy, xz, yy, yz, zz]``.
TRACE_ENTRIES = (0, 3, 5)
_TRIU_ROWS = (0, 0, 0, 1, 1, 2)
_TRIU_COLS = (0, 1, 2, 1, 2, 2)


def color_features(model: GaussianModel) -> torch.Tensor:
    """The SH block of every Gaussian flattened to one vector.  # [N, (deg+1)^2 * 3]"""
    return model.sh.reshape(len(model), -1)


def color_features_to_sh(features: torch.Tensor, sh_degree: int) -> torch.Tensor:
    """Inverse of :func:`color_features`: ``[M, (deg+1)^2 * 3]`` -> ``[M, (deg+1)^2, 3]``."""
    k = (sh_degree + 1) ** 2
    if features.ndim != 2 or features.shape[1] != 3 * k:
        raise ValueError(
            f"colour features {tuple(features.shape)} do not hold degree-{sh_degree} SH"
        )
    return features.reshape(-1, k, 3)


def split_scale(log_scales: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split scales into a unit direction and a log-magnitude (c3dgs's re-parameterisation, a.2).

    Args:
        log_scales: ``[N, 3]`` INRIA log-scales.
    Returns:
        ``(direction [N, 3], log_magnitude [N])`` with ``exp(log_scales) = exp(log_magnitude) *
        direction`` and ``|direction| = 1``.
    """
    scales = torch.exp(log_scales)  # [N, 3]
    norm = scales.norm(dim=1)  # [N]
    return scales / norm.clamp_min(1e-30)[:, None], torch.log(norm.clamp_min(1e-30))


def join_scale(direction: torch.Tensor, log_magnitude: torch.Tensor) -> torch.Tensor:
    """INRIA log-scales from a (possibly not normalised) direction and a log-magnitude.

    As c3dgs's ``get_scaling``: ``scale = exp(log_magnitude) * normalize(relu(direction))``.
    Axes that end up exactly zero get a scale of ``1e-30`` relative to the magnitude (a flat
    Gaussian; the renderer's low-pass filter keeps it finite on screen).

    Args:
        direction: ``[N, 3]``; log_magnitude: ``[N]``.
    Returns:
        ``[N, 3]`` log-scales.
    """
    d = torch.relu(direction)
    d = d / d.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return torch.log(d.clamp_min(1e-30)) + log_magnitude[:, None]


def normalized_covariance(direction: torch.Tensor, quats: torch.Tensor) -> torch.Tensor:
    """``Sigma_n = R diag(direction)^2 R^T`` as 6 upper-triangle entries.

    Args:
        direction: ``[N, 3]`` unit-norm scale directions; quats: ``[N, 4]`` (w, x, y, z).
    Returns:
        ``[N, 6]`` ``[xx, xy, xz, yy, yz, zz]``; the trace is ``|direction|^2`` (1 for unit input).
    """
    R = quaternion_to_rotation(quats)  # [N, 3, 3]
    M = R * direction[:, None, :]
    return strip_symmetric(M @ M.transpose(1, 2))


def shape_features(model: GaussianModel) -> tuple[torch.Tensor, torch.Tensor]:
    """Shape features of c3dgs: normalised covariances and the per-Gaussian log-magnitudes.

    Returns:
        ``(sigma_n [N, 6], log_magnitude [N])``.
    """
    direction, log_mag = split_scale(model.log_scales)
    return normalized_covariance(direction, model.quats), log_mag


def strip_symmetric(cov: torch.Tensor) -> torch.Tensor:
    """``[N, 3, 3]`` symmetric matrices -> ``[N, 6]`` upper triangles ``[xx, xy, xz, yy, yz, zz]``."""
    return cov[:, list(_TRIU_ROWS), list(_TRIU_COLS)]


def full_covariance(entries: torch.Tensor) -> torch.Tensor:
    """``[N, 6]`` upper triangles -> ``[N, 3, 3]`` symmetric matrices."""
    if entries.ndim != 2 or entries.shape[1] != 6:
        raise ValueError(f"covariance entries must be [N, 6], got {tuple(entries.shape)}")
    xx, xy, xz, yy, yz, zz = entries.unbind(1)
    return torch.stack([xx, xy, xz, xy, yy, yz, xz, yz, zz], dim=1).reshape(-1, 3, 3)


def normalize_trace(entries: torch.Tensor) -> torch.Tensor:
    """Divide each 6-vector by its trace (entries 0, 3, 5), as c3dgs does after each shape VQ step.

    Rows with a non-positive trace are left unchanged (they cannot be normalised).  # [K, 6]
    """
    tr = entries[:, list(TRACE_ENTRIES)].sum(dim=1, keepdim=True)  # [K, 1]
    return torch.where(tr > 0, entries / torch.where(tr > 0, tr, torch.ones_like(tr)), entries)


def covariance_to_rotation_scale(entries: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotation and scale of (normalised) covariances by eigen decomposition (c3dgs a.6).

    ``eigh(Sigma + 1e-8 I)``; scale = sqrt of the eigenvalues (negative ones clamped to 0 and NaN
    replaced by 1e-6, as the reference); the eigenvector matrix is multiplied by its determinant
    so that it is a proper rotation, then converted to a quaternion ``(w, x, y, z)``, ``w >= 0``.

    Args:
        entries: ``[M, 6]``.
    Returns:
        ``(quats [M, 4], scales [M, 3])``; for trace-1 input ``|scales| = 1``.
    """
    cov = full_covariance(entries.double())  # [M, 3, 3]
    eye = torch.eye(3, dtype=cov.dtype)
    evals, evecs = torch.linalg.eigh(cov + 1e-8 * eye)
    scales = torch.sqrt(evals.clamp_min(0.0))
    scales = torch.nan_to_num(scales, nan=1e-6)
    evecs = evecs * torch.linalg.det(evecs)[:, None, None]
    quats = rotation_to_quaternion(evecs)
    return quats.to(entries.dtype), scales.to(entries.dtype)
