"""The Gaussian scene container (:class:`GaussianModel`) and its activations, under their
established name.

The definitions live in :mod:`pcc.io.gaussian_model`, at the bottom layer, because the
Gaussian-splat readers of :mod:`pcc.io` return a ``GaussianModel`` and the bottom layer imports
nothing above it. Import from either place: both name the same objects.
Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from pcc.io.gaussian_model import (
    OPACITY_EPS,
    SH_C0,
    GaussianModel,
    build_covariance,
    opacity_activation,
    opacity_logit,
    quaternion_to_rotation,
    rgb_to_sh_dc,
    rotation_to_quaternion,
    sh_degree_from_coeffs,
)

__all__ = [
    "OPACITY_EPS",
    "SH_C0",
    "GaussianModel",
    "build_covariance",
    "opacity_activation",
    "opacity_logit",
    "quaternion_to_rotation",
    "rgb_to_sh_dc",
    "rotation_to_quaternion",
    "sh_degree_from_coeffs",
]
