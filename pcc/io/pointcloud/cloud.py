"""The point-cloud container every reader returns.

Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pcc.errors import FormatError

__all__ = ["PointCloud", "check_cloud"]


@dataclass
class PointCloud:
    """A point cloud: positions with optional per-point colours and normals.

    ``notes`` records what a reader decided on the user's behalf (dropped NaN points, the
    number of float fields inferred for a ``.bin``), so a CLI can print it.
    """

    points: np.ndarray  # [N, 3] float64
    colors: np.ndarray | None = None  # [N, 3] uint8
    normals: np.ndarray | None = None  # [N, 3] float32
    notes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.points = np.ascontiguousarray(self.points, dtype=np.float64)
        if self.points.ndim != 2 or self.points.shape[1] != 3:
            raise ValueError(f"points must be [N, 3], got {self.points.shape}")
        n = len(self.points)
        if self.colors is not None:
            self.colors = np.ascontiguousarray(self.colors, dtype=np.uint8)
            if self.colors.shape != (n, 3):
                raise ValueError(f"colors must be [{n}, 3], got {self.colors.shape}")
        if self.normals is not None:
            self.normals = np.ascontiguousarray(self.normals, dtype=np.float32)
            if self.normals.shape != (n, 3):
                raise ValueError(f"normals must be [{n}, 3], got {self.normals.shape}")

    def __len__(self) -> int:
        return len(self.points)

    def subset(self, keep: np.ndarray) -> PointCloud:
        """The cloud restricted to ``keep`` (a boolean mask or an index array)."""
        return PointCloud(
            self.points[keep],
            None if self.colors is None else self.colors[keep],
            None if self.normals is None else self.normals[keep],
            dict(self.notes),
        )


def check_cloud(path: Path, pc: PointCloud, drop_nan: bool) -> PointCloud:
    """Raise on (or with ``drop_nan`` drop) non-finite points; raise on an empty cloud."""
    finite = np.isfinite(pc.points).all(axis=1)
    n_bad = int(len(finite) - finite.sum())
    if n_bad:
        if not drop_nan:
            raise FormatError(
                path,
                f"{n_bad} of {len(finite)} points have NaN/inf coordinates "
                "(pass drop_nan=True to drop them)",
            )
        notes = dict(pc.notes)
        pc = pc.subset(finite)
        notes["dropped_nan"] = n_bad
        pc.notes = notes
    if len(pc) == 0:
        raise FormatError(path, "the file holds zero (valid) points")
    return pc
