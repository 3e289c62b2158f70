"""Example clouds for the lessons: one per kind of source and file format, read in place.

:func:`example_clouds` reads small real clouds from ``../shared/data/point_clouds`` (a range scan
in PLY, a CAD mesh in OFF sampled on its surface, LiDAR sweeps in KITTI/nuScenes ``.bin``, an
RGB-D frame in binary-compressed PCD, airborne LiDAR in LAS) when that folder is present; their
licences forbid copying them, so they are never cached or written anywhere. Missing files are
skipped (:func:`missing_example_files` names them). Two procedural clouds are always included,
a sampled procedural shape (standing in for scans and CAD models) and
:func:`pcc.pointcloud.lidar.synthetic_lidar_sweep` (standing in for LiDAR), so a lesson runs
without the data folder and its checked numbers do not depend on it. Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pcc.io.mesh import read_mesh
from pcc.io.pointcloud import read_point_cloud
from pcc.pointcloud.canonical import normalized_mesh_voxels
from pcc.pointcloud.lidar import synthetic_lidar_sweep
from pcc.pointcloud.sampling import sample_mesh_surface
from pcc.pointcloud.shapes import random_shape_mesh
from pcc.pointcloud.voxelize import voxelize

__all__ = [
    "EXAMPLE_FILES",
    "ExampleCloud",
    "default_data_dir",
    "example_clouds",
    "missing_example_files",
]

# name -> (kind, format, path under point_clouds/, how to read it, up axis for views, unit)
EXAMPLE_FILES: dict[str, tuple[str, str, str, str, str, str]] = {
    "bunny range scan": ("scan", "PLY", "stanford_bunny/data/bun000.ply", "points", "y", "m"),
    "ModelNet chair": (
        "CAD mesh",
        "OFF",
        "modelnet_off/chair/chair_0001.off",
        "mesh",
        "z",
        "model units",
    ),
    "table RGB-D frame": (
        "RGB-D",
        "PCD (binary_compressed)",
        "pcl_table_scene_mug/table_scene_mug_stereo_textured.pcd",
        "points",
        "-y",
        "m",
    ),
    "KITTI sweep": ("LiDAR", "KITTI BIN", "lidar_kitti_000008/000008.bin", "points", "z", "m"),
    "nuScenes sweep": (
        "LiDAR",
        "nuScenes BIN",
        "lidar_nuscenes_lidar_top/n015-2018-07-24-11-22-45+0800__LIDAR_TOP__1532402927647951.pcd.bin",
        "points",
        "z",
        "m",
    ),
    "Autzen aerial LiDAR": ("LiDAR", "LAS", "lidar_las_laspy/simple.las", "points", "z", "ft"),
}


@dataclass
class ExampleCloud:
    """One example cloud (positions in the file's own units, metres for LiDAR)."""

    name: str
    kind: str  # "scan", "CAD mesh", "RGB-D", "LiDAR", "procedural shape"
    fmt: str  # file format, or "procedural"
    points: np.ndarray  # [N, 3] float64
    colors: np.ndarray | None  # [N, 3] uint8 or None
    source: str  # "shared data" or "procedural"
    path: str | None  # the file read (relative to the data folder), None when procedural
    up: str  # which axis is up, for 3D views ("z", "y", "-y")
    note: str = ""  # what was done on the user's behalf (sampling, dropped NaN, fallback)
    mesh: tuple[np.ndarray, np.ndarray] | None = None  # (vertices [V, 3], faces [F, 3]) if any
    units: str = "model units"  # unit of the coordinates ("m", "ft", "model units")

    def voxels(
        self, bits: int, samples_per_area: float = 10.0, max_samples: int = 5_000_000
    ) -> np.ndarray:
        """The cloud as integer voxels in a ``2^bits`` grid (longest side -> ``2^bits - 1``).

        A cloud that came from a mesh is re-sampled densely at the grid's resolution
        (:func:`pcc.pointcloud.canonical.normalized_mesh_voxels`, ``samples_per_area`` samples per
        voxel^2, 10 leave no holes; at most ``max_samples``), so its surface is closed at every
        depth, like the canonical clouds;
        any other cloud is voxelised as it is (:func:`pcc.pointcloud.voxelize.voxelize`).
        Returns ``[M, 3]`` int32, unique.
        """
        if self.mesh is None:
            return voxelize(self.points, bits)[0]
        verts, faces = self.mesh
        return normalized_mesh_voxels(
            verts,
            faces,
            bits,
            samples_per_area=samples_per_area,
            max_samples=max_samples,
            bounds=(self.points.min(axis=0), self.points.max(axis=0)),
        )


def default_data_dir() -> Path:
    """``$PCC_SHARED_DATA/point_clouds`` or ``../shared/data/point_clouds`` next to the repo."""
    repo = Path(__file__).resolve().parents[2]
    root = Path(os.environ.get("PCC_SHARED_DATA", repo.parent / "shared" / "data"))
    return root / "point_clouds"


def _procedural_surface(seed: int, n: int):
    verts, faces, _ = random_shape_mesh(np.random.default_rng(seed), max_parts=3)
    return sample_mesh_surface(verts, faces, n, seed=seed), (verts, faces)


def missing_example_files(
    data_dir: str | os.PathLike | None = None, use_shared_data: bool = True
) -> list[str]:
    """Names of :data:`EXAMPLE_FILES` that :func:`example_clouds` will not find (all of them
    when ``use_shared_data`` is False)."""
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    return [
        name
        for name, (_, _, rel, _, _, _) in EXAMPLE_FILES.items()
        if not (use_shared_data and (root / rel).is_file())
    ]


def example_clouds(
    data_dir: str | os.PathLike | None = None,
    *,
    mesh_samples: int = 200_000,
    seed: int = 0,
    lidar_beams: int = 64,
    lidar_azimuth: int = 1024,
    include: list[str] | None = None,
    use_shared_data: bool = True,
) -> dict[str, ExampleCloud]:
    """The lesson's clouds: the real files of :data:`EXAMPLE_FILES` that exist + two procedural
    clouds that are always there ("procedural shape", "synthetic sweep").

    Args:
        data_dir: the ``point_clouds`` folder (default :func:`default_data_dir`).
        mesh_samples: surface samples drawn from meshes (the CAD model, procedural shapes).
        seed: seeds the sampling and the procedural clouds.
        lidar_beams, lidar_azimuth: the synthetic sweep's lasers and shots per turn.
        include: names of :data:`EXAMPLE_FILES` to load (default: all).
        use_shared_data: False skips every file (what a machine without the data folder sees).
    Returns:
        ``{name: ExampleCloud}``, files first (in :data:`EXAMPLE_FILES` order), then the two
        procedural clouds.
    """
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    lidar = {"n_beams": int(lidar_beams), "n_azimuth": int(lidar_azimuth)}
    out: dict[str, ExampleCloud] = {}
    for name, (kind, fmt, rel, how, up, units) in EXAMPLE_FILES.items():
        if include is not None and name not in include:
            continue
        path = root / rel
        if not (use_shared_data and path.is_file()):
            continue  # listed by missing_example_files; the procedural clouds stand in
        if how == "mesh":
            verts, faces = read_mesh(path)
            pts = sample_mesh_surface(verts, faces, mesh_samples, seed=seed)
            note = f"{len(verts):,} vertices, {len(faces):,} triangles; {mesh_samples:,} surface samples"
            out[name] = ExampleCloud(
                name, kind, fmt, pts, None, "shared data", rel, up, note, (verts, faces), units
            )
        else:
            pc = read_point_cloud(path)
            notes = ", ".join(f"{k}: {v}" for k, v in pc.notes.items())
            out[name] = ExampleCloud(
                name, kind, fmt, pc.points, pc.colors, "shared data", rel, up, notes, None, units
            )
    shape_points, shape_mesh = _procedural_surface(seed + 1, mesh_samples)
    out["procedural shape"] = ExampleCloud(
        "procedural shape",
        "procedural shape",
        "procedural",
        shape_points,
        None,
        "procedural",
        None,
        "z",
        "pcc.pointcloud.shapes.random_shape_mesh, surface-sampled",
        shape_mesh,
    )
    out["synthetic sweep"] = ExampleCloud(
        "synthetic sweep",
        "LiDAR",
        "procedural",
        synthetic_lidar_sweep(seed, **lidar),
        None,
        "procedural",
        None,
        "z",
        f"pcc.pointcloud.lidar.synthetic_lidar_sweep, {lidar_beams} beams x {lidar_azimuth} shots",
        None,
        "m",
    )
    return out
