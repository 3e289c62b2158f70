"""The Gaussian scene container: pre-activation parameters in INRIA layout, activations in one place.

Each Gaussian ``i`` has a mean ``mu_i`` ``[3]``, log-scales ``s_hat_i`` ``[3]``, a quaternion ``q_i``
``[4]`` in ``(w, x, y, z)`` order, an opacity logit ``o_i`` and SH coefficients ``f_i``
``[(deg+1)^2, 3]``. Activations: ``scale = exp(s_hat)``, ``rotation = R(q / |q|)``,
``opacity = sigmoid(o)``, colour = ``max(0, SH(f, d) + 0.5)`` (see :mod:`pcc.gaussians.sh`).
It lives in the bottom layer (``pcc.io``) because every Gaussian-splat reader returns it, just as
the point-cloud readers return :class:`pcc.io.pointcloud.PointCloud`; :mod:`pcc.gaussians.model`
re-exports it under its established name, so both paths name the same class.
Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields

import torch

SH_C0 = 0.28209479177387814


def sh_degree_from_coeffs(n_coeffs: int) -> int:
    """``(deg + 1)^2 == n_coeffs`` -> ``deg``; raises for counts that are not a square."""
    deg = math.isqrt(n_coeffs) - 1
    if (deg + 1) ** 2 != n_coeffs or not 0 <= deg <= 3:
        raise ValueError(
            f"{n_coeffs} SH coefficients per channel is not (deg+1)^2 for a degree 0..3"
        )
    return deg


# Opacities are clamped to [OPACITY_EPS, 1 - OPACITY_EPS] before the logit, so 0 and 1 (8-bit
# files, quantised tables) map to finite logits.
OPACITY_EPS = 1e-6


def opacity_activation(logits: torch.Tensor) -> torch.Tensor:
    """Opacity from its pre-activation parameter: ``sigmoid(logits)``  # [N] -> [N]"""
    return torch.sigmoid(logits)


def opacity_logit(opacity: torch.Tensor | float) -> torch.Tensor | float:
    """Inverse of :func:`opacity_activation`, after clamping into ``[OPACITY_EPS, 1 - OPACITY_EPS]``.

    A tensor gives a tensor of its dtype (``[N] -> [N]``); a Python number gives a float (float64).
    """
    if isinstance(opacity, torch.Tensor):
        p = opacity.clamp(OPACITY_EPS, 1.0 - OPACITY_EPS)
        return torch.log(p) - torch.log1p(-p)
    p = min(max(float(opacity), OPACITY_EPS), 1.0 - OPACITY_EPS)
    return math.log(p) - math.log1p(-p)


def rgb_to_sh_dc(rgb: torch.Tensor) -> torch.Tensor:
    """Colour in [0, 1] -> the DC SH coefficient that renders it (``(rgb - 0.5) / C0``)."""
    return (rgb - 0.5) / SH_C0


def quaternion_to_rotation(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices from quaternions ``(w, x, y, z)``, normalised first.

    Args:
        q: ``[N, 4]``.
    Returns:
        ``[N, 3, 3]``.
    """
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z),
            2 * (x * y - w * z),
            2 * (x * z + w * y),
            2 * (x * y + w * z),
            1 - 2 * (x * x + z * z),
            2 * (y * z - w * x),
            2 * (x * z - w * y),
            2 * (y * z + w * x),
            1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(*q.shape[:-1], 3, 3)


def rotation_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """Quaternions ``(w, x, y, z)`` with ``w >= 0`` from rotation matrices ``[N, 3, 3]`` -> ``[N, 4]``."""
    m = R
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    # Four candidate formulas; pick the numerically best one per matrix (largest denominator).
    cands = torch.stack(
        [
            torch.stack(
                [
                    1 + trace,
                    m[..., 2, 1] - m[..., 1, 2],
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 1, 0] - m[..., 0, 1],
                ],
                -1,
            ),
            torch.stack(
                [
                    m[..., 2, 1] - m[..., 1, 2],
                    1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                    m[..., 0, 1] + m[..., 1, 0],
                    m[..., 0, 2] + m[..., 2, 0],
                ],
                -1,
            ),
            torch.stack(
                [
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 0, 1] + m[..., 1, 0],
                    1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
                    m[..., 1, 2] + m[..., 2, 1],
                ],
                -1,
            ),
            torch.stack(
                [
                    m[..., 1, 0] - m[..., 0, 1],
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 1, 2] + m[..., 2, 1],
                    1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
                ],
                -1,
            ),
        ],
        dim=-2,
    )  # [N, 4, 4]
    diag = torch.stack(
        [
            1 + trace,
            1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
            1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
            1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
        ],
        -1,
    )
    best = diag.argmax(-1)  # [N]
    q = torch.gather(cands, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def build_covariance(log_scales: torch.Tensor, quats: torch.Tensor) -> torch.Tensor:
    """``Sigma = R S S^T R^T`` with ``S = diag(exp(log_scales))``.

    Args:
        log_scales: ``[N, 3]``; quats: ``[N, 4]``.
    Returns:
        ``[N, 3, 3]``.
    """
    R = quaternion_to_rotation(quats)  # [N, 3, 3]
    M = R * torch.exp(log_scales)[:, None, :]  # R @ diag(s)
    return M @ M.transpose(1, 2)


@dataclass
class GaussianModel:
    """A set of 3D Gaussians, stored pre-activation (INRIA layout).

    Attributes (all on the same device and dtype):
        means: ``[N, 3]``
        log_scales: ``[N, 3]``
        quats: ``[N, 4]`` ``(w, x, y, z)``, not necessarily normalised
        opacity_logits: ``[N]``
        sh: ``[N, (deg+1)^2, 3]``; ``sh[:, 0]`` is the DC term
    """

    means: torch.Tensor
    log_scales: torch.Tensor
    quats: torch.Tensor
    opacity_logits: torch.Tensor
    sh: torch.Tensor

    def __post_init__(self) -> None:
        n = self.means.shape[0]
        expect = {
            "means": (n, 3),
            "log_scales": (n, 3),
            "quats": (n, 4),
            "opacity_logits": (n,),
        }
        for name, shape in expect.items():
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise ValueError(f"GaussianModel.{name} has shape {got}, expected {shape}")
        if self.sh.ndim != 3 or self.sh.shape[0] != n or self.sh.shape[2] != 3:
            raise ValueError(
                f"GaussianModel.sh has shape {tuple(self.sh.shape)}, expected [{n}, (deg+1)^2, 3]"
            )
        try:
            sh_degree_from_coeffs(self.sh.shape[1])
        except ValueError as err:
            raise ValueError(f"GaussianModel.sh: {err}") from None

    # ------------------------------------------------------------ basic facts
    def __len__(self) -> int:
        return self.means.shape[0]

    @property
    def sh_degree(self) -> int:
        return sh_degree_from_coeffs(self.sh.shape[1])

    @property
    def device(self) -> torch.device:
        return self.means.device

    @property
    def dtype(self) -> torch.dtype:
        return self.means.dtype

    def tensors(self) -> dict[str, torch.Tensor]:
        """The five parameter tensors by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # ------------------------------------------------------------ activations
    @property
    def scales(self) -> torch.Tensor:
        """``exp(log_scales)``  # [N, 3]"""
        return torch.exp(self.log_scales)

    @property
    def rotations(self) -> torch.Tensor:
        """Normalised quaternions  # [N, 4]"""
        return self.quats / self.quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    @property
    def opacities(self) -> torch.Tensor:
        """``sigmoid(opacity_logits)`` (:func:`opacity_activation`)  # [N]"""
        return opacity_activation(self.opacity_logits)

    def covariances(self) -> torch.Tensor:
        """3D covariance matrices  # [N, 3, 3]"""
        return build_covariance(self.log_scales, self.quats)

    # ------------------------------------------------------------ manipulation
    def _map(self, fn) -> GaussianModel:
        return GaussianModel(**{k: fn(v) for k, v in self.tensors().items()})

    def to(self, device=None, dtype=None) -> GaussianModel:
        return self._map(lambda t: t.to(device=device, dtype=dtype))

    def detach(self) -> GaussianModel:
        return self._map(lambda t: t.detach())

    def clone(self) -> GaussianModel:
        return self._map(lambda t: t.detach().clone())

    def requires_grad_(self, flag: bool = True) -> GaussianModel:
        for t in self.tensors().values():
            t.requires_grad_(flag)
        return self

    def mask(self, keep: torch.Tensor) -> GaussianModel:
        """The Gaussians where ``keep`` (bool ``[N]`` or an index tensor) selects."""
        if keep.dtype == torch.bool and keep.shape != (len(self),):
            raise ValueError(f"mask of shape {tuple(keep.shape)} for {len(self)} Gaussians")
        return self._map(lambda t: t[keep])

    def with_sh_degree(self, degree: int) -> GaussianModel:
        """Truncate (or zero-pad) the SH coefficients to ``degree``."""
        k = (degree + 1) ** 2
        sh = self.sh[:, :k]
        if sh.shape[1] < k:
            pad = torch.zeros(len(self), k - sh.shape[1], 3, dtype=sh.dtype, device=sh.device)
            sh = torch.cat([sh, pad], dim=1)
        return GaussianModel(self.means, self.log_scales, self.quats, self.opacity_logits, sh)

    @staticmethod
    def concat(models: Iterable[GaussianModel]) -> GaussianModel:
        """Concatenate models (their SH degrees are padded to the largest)."""
        models = list(models)
        if not models:
            raise ValueError("concat of no models")
        deg = max(m.sh_degree for m in models)
        models = [m.with_sh_degree(deg) for m in models]
        return GaussianModel(
            **{k: torch.cat([getattr(m, k) for m in models]) for k in models[0].tensors()}
        )

    @staticmethod
    def empty(sh_degree: int = 3, dtype=torch.float32, device=None) -> GaussianModel:
        k = (sh_degree + 1) ** 2
        z = lambda *s: torch.zeros(*s, dtype=dtype, device=device)  # noqa: E731
        return GaussianModel(z(0, 3), z(0, 3), z(0, 4), z(0), z(0, k, 3))

    @staticmethod
    def from_points(
        points: torch.Tensor,
        colors: torch.Tensor,
        sh_degree: int = 3,
        opacity: float = 0.1,
        scale: torch.Tensor | float | None = None,
    ) -> GaussianModel:
        """Initialise isotropic Gaussians at ``points [N, 3]`` with ``colors [N, 3]`` in [0, 1].

        Without ``scale`` each Gaussian's radius is the mean distance to its 3 nearest neighbours
        (as INRIA's initialisation does).
        """
        n = points.shape[0]
        points = points.to(torch.float32)
        if scale is None:
            from scipy.spatial import cKDTree

            pts = points.detach().cpu().double().numpy()
            k = min(4, n)
            d, _ = cKDTree(pts).query(pts, k=k)
            mean_d = torch.as_tensor(
                d[:, 1:].mean(axis=1) if k > 1 else d * 0 + 0.01, dtype=torch.float32
            )
            scale = mean_d.clamp_min(1e-7)
        scale = torch.as_tensor(scale, dtype=torch.float32).expand(n)
        k = (sh_degree + 1) ** 2
        sh = torch.zeros(n, k, 3)
        sh[:, 0] = rgb_to_sh_dc(colors.to(torch.float32))
        quats = torch.zeros(n, 4)
        quats[:, 0] = 1.0
        logit = opacity_logit(opacity)
        return GaussianModel(
            means=points.clone(),
            log_scales=torch.log(scale)[:, None].repeat(1, 3),
            quats=quats,
            opacity_logits=torch.full((n,), logit),
            sh=sh,
        )
