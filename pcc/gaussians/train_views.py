"""Training views at several resolutions, for coarse-to-fine training.

:class:`ViewPyramid` hands the trainer view ``i`` at level ``k`` (``2^-k`` of the loaded size):
the camera's intrinsics scaled and its image reduced by exact area filtering
(:func:`pcc.io.images.scaled_view`, the same filter the dataset loaders use), built
on first use and kept. Level 0 is the loaded camera itself, so a run without a resolution
schedule sees exactly the views it was given.

Taught in ``notebooks/00_a_3dgs_scene.ipynb`` (through :mod:`pcc.gaussians.train`).
"""

from __future__ import annotations

from pcc.io.cameras import Camera
from pcc.io.images import scaled_view

__all__ = ["ViewPyramid", "downscale_view"]


def downscale_view(cam: Camera, level: int) -> Camera:
    """``cam`` (with ``image [H, W, 3]``, optional ``alpha [H, W]``) at ``2^-level`` of its size
    (:func:`pcc.io.images.scaled_view`)."""
    return cam if level <= 0 else scaled_view(cam, 0.5**level)


class ViewPyramid:
    """The training cameras at full size (level 0) and, on demand, at ``2^-k`` of it."""

    def __init__(self, cameras: list[Camera]) -> None:
        self.cameras = list(cameras)
        self._levels: dict[tuple[int, int], Camera] = {}

    def __len__(self) -> int:
        return len(self.cameras)

    def view(self, index: int, level: int = 0) -> Camera:
        if level <= 0:
            return self.cameras[index]
        key = (index, level)
        if key not in self._levels:
            self._levels[key] = downscale_view(self.cameras[index], level)
        return self._levels[key]
