"""Canonical integer test clouds, built the same way every time (fixed recipe, fixed seed).

* :func:`canonical_bunny`: the Stanford bunny (``bun_zipper.ply``) as a 10-bit voxel cloud, the
  package's stand-in for an 8i-style 1023-peak test frame: ~458k points.
* :func:`canonical_modelnet`: a ModelNet ``.off`` mesh as a ``bits`` voxel cloud (GEOv2 recipe).
* :func:`canonical_kitti`: a LiDAR ``.bin`` sweep as a ``bits`` voxel cloud.

Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``; the octree and learned codecs are evaluated on
these clouds with D1/D2 PSNR at peak ``2^bits - 1``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.atomic import atomic_path
from pcc.io.mesh import read_mesh
from pcc.pointcloud.sampling import sample_mesh_surface, triangle_areas
from pcc.pointcloud.voxelize import unique_coords, voxelize

__all__ = [
    "canonical_bunny",
    "canonical_modelnet",
    "canonical_kitti",
    "mesh_to_voxels",
    "default_bunny_path",
    "BUNNY_SPAN",
    "BUNNY_SAMPLES_PER_AREA",
    "BUNNY_SEED",
    "BUNNY_ANCHORS",
]

# Reference rate-distortion points on the canonical bunny, measured with MPEG G-PCC (TMC13 v23)
# by the project's maintainers and quoted in the point-cloud foundation issue: (bits per input
# point, D1 PSNR at peak 1023). Octree: positionQuantizationScale ladder r01..r06 of the CTC;
# trisoup: its four CTC rate points. Lossless octree: 0.575 bpp.
BUNNY_ANCHORS: dict[str, tuple[tuple[float, float], ...]] = {
    "gpcc-v23-octree": (
        (0.0215, 52.85),
        (0.0629, 58.45),
        (0.180, 63.21),
        (0.396, 67.99),
        (0.496, 69.75),
        (0.537, 70.39),
    ),
    "gpcc-v23-trisoup": ((0.0072, 56.91), (0.0225, 64.59), (0.0709, 69.38), (0.219, 71.26)),
}

BUNNY_SPAN = 380  # voxels spanned by the bunny's longest side
BUNNY_SAMPLES_PER_AREA = 30.0  # surface samples per voxel^2 of area
BUNNY_SEED = 0
BUNNY_BITS = 10
_BUNNY_VERSION = 1  # bump when the recipe changes, so stale caches are not reused


def default_bunny_path() -> Path:
    """``../shared/data/point_clouds/stanford_bunny/reconstruction/bun_zipper.ply`` next to the repo
    (or under ``$PCC_SHARED_DATA``)."""
    repo = Path(__file__).resolve().parents[2]
    root = Path(os.environ.get("PCC_SHARED_DATA", repo.parent / "shared" / "data"))
    return root / "point_clouds" / "stanford_bunny" / "reconstruction" / "bun_zipper.ply"


def mesh_to_voxels(
    vertices: np.ndarray,
    faces: np.ndarray,
    scale: float,
    offset: np.ndarray,
    bits: int,
    *,
    samples_per_area: float = BUNNY_SAMPLES_PER_AREA,
    max_samples: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Place a mesh in the voxel grid (``v * scale + offset``), sample its surface, round, dedupe.

    ``samples_per_area`` samples per voxel^2 of area (30 leaves no holes on smooth surfaces; one
    voxel face has area 1). Returns ``[M, 3]`` int32 unique, sorted by (x, y, z).
    """
    placed = np.asarray(vertices, dtype=np.float64) * scale + np.asarray(offset, dtype=np.float64)
    area = float(triangle_areas(placed, faces).sum())
    n = max(1, int(round(samples_per_area * area)))
    if max_samples is not None:
        n = min(n, int(max_samples))
    samples = sample_mesh_surface(placed, faces, n, seed=seed)
    top = (1 << bits) - 1
    q = np.clip(np.floor(samples + 0.5), 0, top).astype(np.int64)
    return unique_coords(q)


def _load_or_build(cache: Path | None, build) -> np.ndarray:
    if cache is not None and cache.is_file():
        arr = np.load(cache, allow_pickle=False)
        if arr.ndim == 2 and arr.shape[1] == 3 and arr.dtype == np.int32:
            return arr
    arr = build()
    if cache is not None:
        with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)
    return arr


def canonical_bunny(
    mesh_path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = "output/cache",
) -> np.ndarray:
    """The canonical 10-bit bunny: ``[458477, 3]`` int32 in ``[0, 1023]``.

    Recipe: ``bun_zipper.ply`` is scaled so its longest side (bounding box) spans 380 voxels,
    its bounding-box centre is moved to (511.5, 511.5, 511.5), its surface is sampled with 30
    samples per voxel^2 of area (~10.2M samples, seed 0), samples are rounded to the nearest
    integer and deduplicated. The result (458,477 points, x 322..701) is cached as
    ``cache_dir/canonical_bunny_v1_<sha1 of the mesh file>.npy`` (atomic write; rebuilt when
    absent; ``cache_dir=None`` disables the cache; a relative ``cache_dir`` is relative to the
    working directory). Building takes ~15 s on one core.
    """
    mesh_path = Path(mesh_path) if mesh_path is not None else default_bunny_path()
    cache = None
    if cache_dir is not None:
        if not mesh_path.is_file():
            raise FormatError(mesh_path, "file not found (the bunny mesh bun_zipper.ply)")
        digest = hashlib.sha1(mesh_path.read_bytes()).hexdigest()[:10]  # the cache follows the mesh
        cache = Path(cache_dir) / f"canonical_bunny_v{_BUNNY_VERSION}_{digest}.npy"

    def build() -> np.ndarray:
        vertices, faces = read_mesh(mesh_path)
        lo, hi = vertices.min(axis=0), vertices.max(axis=0)
        scale = BUNNY_SPAN / float((hi - lo).max())
        centre = ((1 << BUNNY_BITS) - 1) / 2.0
        offset = centre - (lo + hi) / 2.0 * scale
        return mesh_to_voxels(vertices, faces, scale, offset, BUNNY_BITS, seed=BUNNY_SEED)

    return _load_or_build(cache, build)


def canonical_modelnet(
    path: str | os.PathLike,
    bits: int = 10,
    *,
    samples_per_area: float = BUNNY_SAMPLES_PER_AREA,
    max_samples: int = 5_000_000,
    seed: int = 0,
) -> np.ndarray:
    """A ModelNet-style ``.off`` (or ``.ply``) mesh as an integer cloud in ``[0, 2^bits)``.

    Normalisation (GEOv2 ``ds_mesh_to_pc.py`` style, aspect ratio kept): the bounding-box minimum
    goes to 0 and the longest side to ``2^bits - 1``; then the surface is sampled at
    ``samples_per_area`` per voxel^2 (capped at ``max_samples``), rounded and deduplicated.
    Returns ``[M, 3]`` int32.
    """
    vertices, faces = read_mesh(path)
    return normalized_mesh_voxels(
        vertices, faces, bits, samples_per_area=samples_per_area, max_samples=max_samples, seed=seed
    )


def normalized_mesh_voxels(
    vertices: np.ndarray,
    faces: np.ndarray,
    bits: int,
    *,
    samples_per_area: float = BUNNY_SAMPLES_PER_AREA,
    max_samples: int = 5_000_000,
    seed: int = 0,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """A mesh (``vertices [V, 3]``, ``faces [F, 3]``) sampled into a ``2^bits`` grid whose longest
    side spans ``bounds`` (default: the vertices' bounding box), minimum at 0. ``[M, 3]`` int32."""
    lo, hi = bounds if bounds is not None else (vertices.min(axis=0), vertices.max(axis=0))
    extent = float((hi - lo).max())
    scale = ((1 << bits) - 1) / extent if extent > 0 else 1.0
    return mesh_to_voxels(
        vertices,
        faces,
        scale,
        -lo * scale,
        bits,
        samples_per_area=samples_per_area,
        max_samples=max_samples,
        seed=seed,
    )


def canonical_kitti(
    path: str | os.PathLike, bits: int = 12, *, bin_fields: int | None = None
) -> np.ndarray:
    """A LiDAR sweep (KITTI / nuScenes ``.bin`` or any point-cloud file) as ``bits`` voxels.

    Normalisation: :func:`pcc.pointcloud.voxelize.voxelize` defaults: the per-axis minimum goes to 0
    and the longest side to ``2^bits - 1`` (aspect ratio kept). For the KITTI front-FOV frame
    (74 m longest side) 12 bits gives ~1.8 cm voxels. Returns ``[M, 3]`` int32.
    """
    from pcc.io.pointcloud import read_point_cloud

    pc = read_point_cloud(path, bin_fields=bin_fields)
    coords, _ = voxelize(pc.points, bits)
    return coords
