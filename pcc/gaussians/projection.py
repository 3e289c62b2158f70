"""Project 3D Gaussians to the screen: EWA splatting with the constants of the INRIA rasteriser.

For a Gaussian with mean ``mu`` and 3D covariance ``Sigma`` seen by a pinhole camera
(``X_cam = R X + t``, focal lengths ``fx, fy``), the screen-space footprint is the 2D Gaussian with

* mean ``(fx x/z + cx - 0.5, fy y/z + cy - 0.5)`` (pixel convention below),
* covariance ``Sigma_2D = J R Sigma R^T J^T + 0.3 I`` where ``J`` is the Jacobian of the
  perspective map at the mean (Zwicker et al., "EWA Volume Splatting", 2001), evaluated after
  clamping ``x/z`` and ``y/z`` to the view frustum widened by 30% (INRIA: ``±1.3 tan(fov/2)``), and
  ``+0.3`` is the low-pass (anti-aliasing) dilation of Kerbl et al. 2023,
* conic ``Sigma_2D^{-1}`` (stored as its three distinct entries ``(a, b, c)``),
* radius ``ceil(3 sqrt(lambda_max))`` pixels, with INRIA's eigenvalue formula
  ``lambda_max = m + sqrt(max(0.1, m^2 - det))``, ``m = (Sigma_xx + Sigma_yy) / 2``.

Tiles: a Gaussian is binned to the ``tile_size x tile_size`` screen tiles ``tx0 <= tx < tx1``,
``ty0 <= ty < ty1`` with ``tx0 = floor((u - r) / T)`` and ``tx1 = floor((u + r + T - 1) / T)``,
clamped to the tile grid (INRIA's ``getRect``; note that with a fractional ``u`` this can leave out
a tile that the square ``u ± r`` just reaches, and the renderer follows that).

A Gaussian is *culled* (radius 0) when its view depth is ``z <= 0.2`` (near plane), when its 2D
covariance is singular, or when its tile rectangle is empty (off-screen), exactly as INRIA's
``preprocessCUDA`` does.

Pixel convention (INRIA): pixel ``(x, y)`` (column ``x``, row ``y``) is sampled at the continuous
coordinate ``(x, y)``. In :class:`~pcc.io.cameras.Camera`'s OpenCV convention, where pixel centres
sit at ``+0.5``, that is a shift by ``-0.5``; so the optical axis of a camera with ``cx = W/2`` lands
at ``(W-1)/2``, the middle of the pixel grid, and the image is centred.

Off-centre principal points: INRIA assumes ``cx = W/2``; we generalise the frustum clamp to the
asymmetric limits ``-(cx/fx) - 0.3 tan(fov_x/2) <= x/z <= (W - cx)/fx + 0.3 tan(fov_x/2)``
(likewise for y), which equals ``±1.3 tan(fov/2)`` for a centred camera.

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pcc.io.cameras import Camera

NEAR_PLANE = 0.2  # view depth below which a Gaussian is culled (INRIA in_frustum)
LOW_PASS = 0.3  # added to the 2D covariance diagonal (INRIA computeCov2D)
FRUSTUM_MARGIN = 1.3  # Jacobian evaluated with x/z, y/z clamped to 1.3 tan(fov/2)
RADIUS_SIGMAS = 3.0  # screen radius = ceil(3 sqrt(lambda_max))


@dataclass
class Projected:
    """Screen-space Gaussians (all tensors have one row per input Gaussian)."""

    means2d: torch.Tensor  # [N, 2] pixel coordinates (INRIA convention), 0 where z <= near
    depths: torch.Tensor  # [N] view-space z
    cov2d: torch.Tensor  # [N, 2, 2] dilated 2D covariance
    conics: torch.Tensor  # [N, 3] (a, b, c) of the inverse 2D covariance [[a, b], [b, c]]
    radii: torch.Tensor  # [N] int64, 0 = culled
    tile_rect: torch.Tensor  # [N, 4] int64 (tx0, ty0, tx1, ty1): tiles tx0 <= tx < tx1, ...

    @property
    def visible(self) -> torch.Tensor:
        """``[N]`` bool: not culled."""
        return self.radii > 0


def camera_tensors(
    camera: Camera, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """World-to-camera ``R [3, 3]``, ``t [3]`` and the camera centre ``[3]`` as tensors."""
    R = torch.as_tensor(camera.R, dtype=dtype, device=device)
    t = torch.as_tensor(camera.t, dtype=dtype, device=device)
    center = torch.as_tensor(camera.center, dtype=dtype, device=device)
    return R, t, center


def world_to_camera(points: torch.Tensor, camera: Camera) -> torch.Tensor:
    """``X_cam = R X + t`` for ``points [N, 3]`` -> ``[N, 3]`` (OpenCV frame)."""
    R, t, _ = camera_tensors(camera, points.dtype, points.device)
    return points @ R.T + t


def frustum_limits(camera: Camera) -> tuple[float, float, float, float]:
    """``(x_min, x_max, y_min, y_max)`` for the clamp of ``x/z`` and ``y/z`` in the Jacobian."""
    tan_x = 0.5 * camera.width / camera.fx
    tan_y = 0.5 * camera.height / camera.fy
    extra = FRUSTUM_MARGIN - 1.0
    return (
        -camera.cx / camera.fx - extra * tan_x,
        (camera.width - camera.cx) / camera.fx + extra * tan_x,
        -camera.cy / camera.fy - extra * tan_y,
        (camera.height - camera.cy) / camera.fy + extra * tan_y,
    )


def tile_grid(camera: Camera, tile_size: int) -> tuple[int, int]:
    """Number of tiles ``(across, down)`` covering the image."""
    return (camera.width + tile_size - 1) // tile_size, (camera.height + tile_size - 1) // tile_size


def project_gaussians(
    means: torch.Tensor, cov3d: torch.Tensor, camera: Camera, tile_size: int = 16
) -> Projected:
    """EWA-project 3D Gaussians and cull them, following INRIA's ``preprocessCUDA``.

    Differentiable w.r.t. ``means`` and ``cov3d`` (radii and culling are not). Culled Gaussians
    keep finite placeholder values so no NaN can leak into gradients.

    Args:
        means: ``[N, 3]`` world-space means.
        cov3d: ``[N, 3, 3]`` world-space covariances.
        camera: the view.
        tile_size: screen tile edge in pixels (INRIA: 16).
    Returns:
        :class:`Projected`.
    """
    n = means.shape[0]
    if means.shape != (n, 3) or cov3d.shape != (n, 3, 3):
        raise ValueError(
            f"means must be [N, 3] and cov3d [N, 3, 3]; got {tuple(means.shape)}, "
            f"{tuple(cov3d.shape)}"
        )
    dtype, device = means.dtype, means.device
    R, t, _ = camera_tensors(camera, dtype, device)
    p = means @ R.T + t  # [N, 3]
    x, y, z = p.unbind(-1)
    in_front = z > NEAR_PLANE  # [N]
    z_safe = torch.where(in_front, z, torch.ones_like(z))  # never divide by z <= 0.2
    inv_z = 1.0 / z_safe

    fx, fy, cx, cy = camera.fx, camera.fy, camera.cx, camera.cy
    u = fx * x * inv_z + (cx - 0.5)
    v = fy * y * inv_z + (cy - 0.5)
    zero = torch.zeros_like(u)
    means2d = torch.stack([torch.where(in_front, u, zero), torch.where(in_front, v, zero)], -1)

    # Jacobian of (fx x/z, fy y/z) at the mean, with x/z and y/z clamped to the widened frustum.
    x_min, x_max, y_min, y_max = frustum_limits(camera)
    tx = (x * inv_z).clamp(x_min, x_max)
    ty = (y * inv_z).clamp(y_min, y_max)
    J = torch.stack(
        [
            torch.stack([fx * inv_z, zero, -fx * tx * inv_z], -1),
            torch.stack([zero, fy * inv_z, -fy * ty * inv_z], -1),
        ],
        dim=1,
    )  # [N, 2, 3]
    M = J @ R  # [N, 2, 3]
    cov2d = M @ cov3d @ M.transpose(1, 2)  # [N, 2, 2]
    eye2 = torch.eye(2, dtype=dtype, device=device)
    cov2d = cov2d + LOW_PASS * eye2

    a, b, c = cov2d[:, 0, 0], cov2d[:, 0, 1], cov2d[:, 1, 1]
    det = a * c - b * b
    ok = in_front & (det > 0)
    det_safe = torch.where(ok, det, torch.ones_like(det))
    conics = torch.stack([c / det_safe, -b / det_safe, a / det_safe], -1)  # [N, 3]

    with torch.no_grad():
        mid = 0.5 * (a + c)
        lam_max = mid + torch.sqrt(torch.clamp(mid * mid - det, min=0.1))
        radius = torch.ceil(RADIUS_SIGMAS * torch.sqrt(lam_max.clamp_min(0))).to(torch.int64)
        radius = torch.where(ok, radius, torch.zeros_like(radius))
        gx, gy = tile_grid(camera, tile_size)
        uu, vv, rr = u.detach(), v.detach(), radius.to(dtype)
        # INRIA getRect: min = (p - r) / tile, max = (p + r + tile - 1) / tile, clamped to the grid.
        tx0 = torch.floor((uu - rr) / tile_size).clamp(0, gx).to(torch.int64)
        ty0 = torch.floor((vv - rr) / tile_size).clamp(0, gy).to(torch.int64)
        tx1 = torch.floor((uu + rr + tile_size - 1) / tile_size).clamp(0, gx).to(torch.int64)
        ty1 = torch.floor((vv + rr + tile_size - 1) / tile_size).clamp(0, gy).to(torch.int64)
        touches = ok & ((tx1 - tx0) * (ty1 - ty0) > 0)
        radius = torch.where(touches, radius, torch.zeros_like(radius))
        rect = torch.stack([tx0, ty0, tx1, ty1], -1)
        rect = torch.where(touches[:, None], rect, torch.zeros_like(rect))
    return Projected(means2d, z, cov2d, conics, radius, rect)
