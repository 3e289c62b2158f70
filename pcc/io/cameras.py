"""Pinhole cameras in the OpenCV frame (x right, y down, z forward), world-to-camera ``R, t``.

Every reader in :mod:`pcc.io` (NeRF-synthetic JSON, COLMAP) converts into this one class, so the
renderer and trainers see a single convention. Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch


@dataclass
class Camera:
    """A pinhole camera with an optional ground-truth image.

    ``X_cam = R @ X_world + t`` and ``(u, v) = (fx x / z + cx, fy y / z + cy)`` in OpenCV image
    coordinates, where the centre of pixel ``(col, row)`` is at ``(col + 0.5, row + 0.5)``: a camera
    with ``cx = W / 2`` looks through the middle of the image. The renderer samples pixel
    ``(col, row)`` at ``u - 0.5 = col``, ``v - 0.5 = row`` (see :mod:`pcc.gaussians.projection`).
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    R: np.ndarray  # [3, 3] world-to-camera rotation (float64)
    t: np.ndarray  # [3] world-to-camera translation (float64)
    name: str = ""
    image: torch.Tensor | None = field(default=None, repr=False)  # [H, W, 3] float32 in [0, 1]
    alpha: torch.Tensor | None = field(default=None, repr=False)  # [H, W] float32 in [0, 1]

    def __post_init__(self) -> None:
        self.R = np.asarray(self.R, dtype=np.float64).reshape(3, 3)
        self.t = np.asarray(self.t, dtype=np.float64).reshape(3)
        self.width, self.height = int(self.width), int(self.height)
        if self.width <= 0 or self.height <= 0:
            raise ValueError(
                f"camera {self.name!r}: image size must be positive, got {self.width}x{self.height}"
            )
        if self.image is not None and tuple(self.image.shape) != (self.height, self.width, 3):
            raise ValueError(
                f"camera {self.name!r}: image shape {tuple(self.image.shape)} != ({self.height}, {self.width}, 3)"
            )

    # ----------------------------------------------------------------- geometry
    @property
    def fov_x(self) -> float:
        return 2.0 * math.atan(self.width / (2.0 * self.fx))

    @property
    def fov_y(self) -> float:
        return 2.0 * math.atan(self.height / (2.0 * self.fy))

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates, ``-R^T t``.  # [3]"""
        return -self.R.T @ self.t

    def world_to_camera(self) -> np.ndarray:
        """The 4x4 world-to-camera matrix.  # [4, 4]"""
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = self.R, self.t
        return m

    def camera_to_world(self) -> np.ndarray:
        """The 4x4 camera-to-world matrix (OpenCV axes).  # [4, 4]"""
        return np.linalg.inv(self.world_to_camera())

    def intrinsics(self) -> np.ndarray:
        """The 3x3 intrinsic matrix K.  # [3, 3]"""
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1.0]])

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project world points to pixel coordinates.

        Args:
            points: ``[N, 3]`` world coordinates.
        Returns:
            ``(uv [N, 2], depth [N])``.
        """
        cam = points @ self.R.T + self.t  # [N, 3]
        z = cam[:, 2]
        uv = np.stack(
            [self.fx * cam[:, 0] / z + self.cx, self.fy * cam[:, 1] / z + self.cy], axis=1
        )
        return uv, z

    # ----------------------------------------------------------------- variants
    def scaled(self, factor: float) -> Camera:
        """The same camera with the image resolution multiplied by ``factor`` (image dropped)."""
        w, h = max(1, round(self.width * factor)), max(1, round(self.height * factor))
        sx, sy = w / self.width, h / self.height
        return replace(
            self,
            width=w,
            height=h,
            fx=self.fx * sx,
            fy=self.fy * sy,
            cx=self.cx * sx,
            cy=self.cy * sy,
            image=None,
            alpha=None,
        )

    def without_image(self) -> Camera:
        return replace(self, image=None, alpha=None)


def look_at(
    eye: np.ndarray, target: np.ndarray, up: np.ndarray = (0.0, 0.0, 1.0)
) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera ``(R, t)`` of an OpenCV camera at ``eye`` looking at ``target``.

    ``up`` is the world's up direction; the image's y axis points opposite to it.
    """
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking along `up`: pick any perpendicular
        right = np.cross(
            forward,
            np.array([1.0, 0.0, 0.0]) if abs(forward[0]) < 0.9 else np.array([0.0, 1.0, 0.0]),
        )
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])  # rows: camera axes in world coordinates
    t = -R @ eye
    return R, t


def make_camera(
    eye,
    target,
    width: int,
    height: int,
    fov_x_deg: float = 50.0,
    up=(0.0, 0.0, 1.0),
    name: str = "",
) -> Camera:
    """A centred pinhole camera at ``eye`` looking at ``target`` with horizontal field of view ``fov_x_deg``."""
    R, t = look_at(eye, target, up)
    fx = width / (2.0 * math.tan(math.radians(fov_x_deg) / 2.0))
    return Camera(width, height, fx, fx, width / 2.0, height / 2.0, R, t, name=name)


def _orbit_basis(up) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit ``up`` and two unit vectors spanning the plane perpendicular to it."""
    up = np.asarray(up, dtype=np.float64).reshape(3)
    norm = np.linalg.norm(up)
    if not np.isfinite(norm) or norm == 0:
        raise ValueError(f"up must be a non-zero finite vector, got {up}")
    up = up / norm
    helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = helper - up * (helper @ up)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    return up, e1, e2


def orbit_cameras(
    center,
    radius: float,
    n: int,
    width: int,
    height: int,
    fov_x_deg: float = 50.0,
    elevation_deg: float = 20.0,
    up=(0.0, 0.0, 1.0),
    start_azimuth_deg: float = 0.0,
) -> list[Camera]:
    """``n`` cameras evenly spaced in azimuth on a circle around ``center``, all looking at it.

    Each camera sits at distance ``radius`` from ``center`` (``[3]``), ``elevation_deg`` above the
    plane perpendicular to ``up``, with a horizontal field of view ``fov_x_deg`` and the principal
    point at the image centre, so ``center`` projects to ``(width / 2, height / 2)``. Used to render
    splats that come without cameras (targets then come from the uncompressed model). Names are
    ``orbit_000``, ``orbit_001``, ...
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    if not 0 < fov_x_deg < 180:
        raise ValueError(f"fov_x_deg must be in (0, 180), got {fov_x_deg}")
    center = np.asarray(center, dtype=np.float64).reshape(3)
    up, e1, e2 = _orbit_basis(up)
    elev = math.radians(elevation_deg)
    cams = []
    for i in range(n):
        az = math.radians(start_azimuth_deg) + 2.0 * math.pi * i / n
        direction = math.cos(elev) * (math.cos(az) * e1 + math.sin(az) * e2) + math.sin(elev) * up
        eye = center + radius * direction
        cams.append(
            make_camera(eye, center, width, height, fov_x_deg, up=up, name=f"orbit_{i:03d}")
        )
    return cams


def scene_bounds(points: np.ndarray, percentile: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Robust axis-aligned bounds ``(lo [3], hi [3])``: the ``percentile`` and ``100 - percentile``
    per-axis percentiles of ``points [N, 3]``, so a few far outliers (common in trained splats) do
    not decide the framing. Non-finite points are ignored."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        raise ValueError("scene_bounds: no finite points")
    lo = np.percentile(pts, percentile, axis=0)
    hi = np.percentile(pts, 100.0 - percentile, axis=0)
    return lo, hi


def orbit_cameras_for_points(
    points,
    n: int,
    width: int,
    height: int,
    fov_x_deg: float = 50.0,
    elevation_deg: float = 20.0,
    up=(0.0, 0.0, 1.0),
    percentile: float = 1.0,
    margin: float = 1.15,
) -> list[Camera]:
    """Orbit cameras that frame the bulk of a scene given by ``points [N, 3]`` (e.g. Gaussian means).

    The target is the centre of the robust bounds (:func:`scene_bounds`); the bounding sphere has
    the half-diagonal of those bounds as radius ``r``, and the cameras sit at the distance where
    that sphere (times ``margin``) fits inside the narrower field of view:
    ``d = margin * r / sin(fov_min / 2)``. Points outside the percentile bounds may leave the frame.
    Note that the INRIA renderer culls Gaussians nearer than 0.2 units, so scenes much smaller than
    one unit should be rescaled first.
    """
    lo, hi = scene_bounds(points, percentile)
    center = (lo + hi) / 2.0
    r = max(float(np.linalg.norm(hi - lo)) / 2.0, 1e-6)
    fx = width / (2.0 * math.tan(math.radians(fov_x_deg) / 2.0))
    fov_y = 2.0 * math.atan(height / (2.0 * fx))
    fov_min = min(math.radians(fov_x_deg), fov_y)
    distance = margin * r / math.sin(fov_min / 2.0)
    return orbit_cameras(center, distance, n, width, height, fov_x_deg, elevation_deg, up)
