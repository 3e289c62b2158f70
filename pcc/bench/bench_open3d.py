"""open3d next to what pcc does by hand, in one run: normals for D2, voxel sets, mesh sampling.

``python -m pcc.bench open3d [--quick]``. Three tables, each with the ratio measured side by side:

* ``normals``: :func:`pcc.metrics.pointcloud.estimate_normals` with ``method="pca"`` (numpy +
  scipy, the reference) and ``method="open3d"`` on 10-bit voxelised clouds, and the D2 PSNR of
  a coarser reconstruction (every coordinate rounded to a multiple of ``step``) with either
  set of normals: ``pca_over_open3d`` (time ratio) and ``d2_diff_db``. Clouds: the canonical
  10-bit bunny (:func:`pcc.pointcloud.canonical.canonical_bunny`; quick: the 35,947
  ``bun_zipper`` vertices voxelised), ModelNet ``chair_0001`` (100,000 surface samples) and the
  KITTI sweep ``000008``, all voxelised to 10 bits.
* ``voxelize``: :func:`pcc.pointcloud.voxelize.voxelize` against open3d's
  ``voxel_down_sample`` on the same grid (half a voxel shifted, since open3d floors where pcc
  rounds; each centroid floored back to its voxel index): ``open3d_over_pcc`` and
  ``same_voxels`` (the two voxel sets are compared).
* ``sampling``: :func:`pcc.pointcloud.sampling.sample_mesh_surface` against open3d's
  ``sample_points_uniformly`` (``open3d_over_pcc``), and open3d's Poisson-disk sampling
  (:func:`pcc.pointcloud.sampling.sample_mesh_poisson_disk`, which pcc had no own version of).

Every time is the best of 3 (quick: 1). The decisions these numbers made are in docs/open3d.md.
Taught in ``notebooks/14_rate_distortion.ipynb`` (D2) and
``notebooks/10_point_clouds_and_octrees.ipynb`` (voxels, sampling).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from pcc.metrics.pointcloud import estimate_normals, evaluate_geometry

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PCC_SHARED_DATA", REPO.parent / "shared" / "data"))
PC = SHARED / "point_clouds"


def _best(fn, repeats: int):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _normal_clouds(quick: bool) -> dict[str, np.ndarray]:
    from pcc.io.mesh import read_mesh
    from pcc.io.pointcloud import read_point_cloud
    from pcc.pointcloud.sampling import sample_mesh_surface
    from pcc.pointcloud.voxelize import voxelize

    out = {}
    bunny = PC / "stanford_bunny/reconstruction/bun_zipper.ply"
    if bunny.is_file():
        if quick:
            out["bun_zipper vertices"] = voxelize(read_point_cloud(bunny).points, 10)[0]
        else:
            from pcc.pointcloud.canonical import canonical_bunny

            out["canonical bunny"] = canonical_bunny(bunny, cache_dir=None)
    chair = PC / "modelnet_off/chair/chair_0001.off"
    if chair.is_file():
        samples = sample_mesh_surface(*read_mesh(chair), 100_000, seed=0)
        out["ModelNet chair_0001"] = voxelize(samples, 10)[0]
    kitti = PC / "lidar_kitti_000008/000008.bin"
    if kitti.is_file():
        out["KITTI 000008"] = voxelize(read_point_cloud(kitti).points, 10)[0]
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}  # [N, 3] voxels


def bench_normals(quick: bool) -> list[dict]:
    repeats = 1 if quick else 3
    rows = []
    clouds = _normal_clouds(quick)
    if not clouds:
        print(f"normals: skipped, no shared data under {PC}")
    print(f"{'cloud':22s} {'points':>8s} {'step':>4s} {'pca ms':>8s} {'open3d ms':>9s} "
          f"{'pca/o3d':>7s} {'D2 pca dB':>9s} {'D2 o3d dB':>9s} {'diff dB':>8s}")  # fmt: skip
    for name, a in clouds.items():
        t_pca, n_pca = _best(lambda a=a: estimate_normals(a, 12, method="pca"), repeats)
        t_o3d, n_o3d = _best(lambda a=a: estimate_normals(a, 12, method="open3d"), repeats)
        for step in (2, 4):
            b = np.unique(np.round(a / step) * step, axis=0)  # [M, 3] coarser reconstruction
            d2_pca = evaluate_geometry(a, b, 1023, normals_a=n_pca)["d2_psnr"]
            d2_o3d = evaluate_geometry(a, b, 1023, normals_a=n_o3d)["d2_psnr"]
            row = {
                "cloud": name,
                "points": len(a),
                "step": step,
                "pca_ms": 1e3 * t_pca,
                "open3d_ms": 1e3 * t_o3d,
                "pca_over_open3d": t_pca / t_o3d,
                "d2_psnr_pca": d2_pca,
                "d2_psnr_open3d": d2_o3d,
                "d2_diff_db": abs(d2_pca - d2_o3d),
            }
            rows.append(row)
            print(f"{name:22s} {len(a):8d} {step:4d} {row['pca_ms']:8.1f} {row['open3d_ms']:9.1f} "
                  f"{row['pca_over_open3d']:7.2f} {d2_pca:9.4f} {d2_o3d:9.4f} "
                  f"{row['d2_diff_db']:8.4f}")  # fmt: skip
    return rows


def _open3d_voxels(o3d, points: np.ndarray, bits: int) -> np.ndarray:
    """pcc's grid (offset = min, scale = (2^bits - 1) / longest side, rounding) through open3d."""
    from pcc.pointcloud.voxelize import unique_coords

    low = points.min(axis=0)
    scale = (2**bits - 1) / float((points.max(axis=0) - low).max())
    shifted = points - low + 0.5 / scale  # floor of the shifted point = pcc's rounding
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(shifted))
    centroids = np.asarray(cloud.voxel_down_sample(1.0 / scale).points)  # one per voxel
    return unique_coords(np.floor(centroids * scale).astype(np.int64))  # [M, 3]


def bench_voxelize(o3d, quick: bool) -> list[dict]:
    from pcc.io.pointcloud import read_point_cloud
    from pcc.pointcloud.voxelize import voxelize

    files = {
        "bun000 scan": "stanford_bunny/data/bun000.ply",
        "table_scene_mug": "pcl_table_scene_mug/table_scene_mug_stereo_textured.pcd",
        "nuScenes sweep": "lidar_nuscenes_lidar_top/"
        "n015-2018-07-24-11-22-45+0800__LIDAR_TOP__1532402927647951.pcd.bin",
    }
    repeats = 1 if quick else 3
    rows = []
    print(f"\n{'cloud':16s} {'points':>8s} {'bits':>4s} {'pcc ms':>8s} {'open3d ms':>9s} "
          f"{'o3d/pcc':>7s} {'voxels':>8s} same")  # fmt: skip
    for name, rel in files.items():
        if not (PC / rel).is_file():
            print(f"skipped {name}: {PC / rel} not found")
            continue
        pts = read_point_cloud(PC / rel).points  # [N, 3]
        for bits in (8, 10):
            t_pcc, (ours, _) = _best(lambda p=pts, b=bits: voxelize(p, b), repeats)
            t_o3d, theirs = _best(lambda p=pts, b=bits: _open3d_voxels(o3d, p, b), repeats)
            same = ours.shape == theirs.shape and bool(np.array_equal(ours, theirs))
            row = {"cloud": name, "points": len(pts), "bits": bits, "pcc_ms": 1e3 * t_pcc,
                   "open3d_ms": 1e3 * t_o3d, "open3d_over_pcc": t_o3d / t_pcc,
                   "voxels": len(ours), "same_voxels": same}  # fmt: skip
            rows.append(row)
            print(f"{name:16s} {len(pts):8d} {bits:4d} {row['pcc_ms']:8.2f} {row['open3d_ms']:9.2f} "
                  f"{row['open3d_over_pcc']:7.2f} {len(ours):8d} {same}")  # fmt: skip
    return rows


def bench_sampling(o3d, quick: bool) -> list[dict]:
    from pcc.io.mesh import read_mesh
    from pcc.pointcloud.sampling import sample_mesh_poisson_disk, sample_mesh_surface

    meshes = {
        "bun_zipper": "stanford_bunny/reconstruction/bun_zipper.ply",
        "chair_0001": "modelnet_off/chair/chair_0001.off",
        "airplane_0001": "modelnet_off/airplane/airplane_0001.off",
    }
    repeats = 1 if quick else 3
    counts = (100_000,) if quick else (100_000, 1_000_000)
    n_disk = 2_000 if quick else 20_000
    rows = []
    print(f"\n{'mesh':14s} {'faces':>6s} {'samples':>8s} {'pcc ms':>8s} {'open3d ms':>9s} "
          f"{'o3d/pcc':>7s} {'poisson-disk ms':>15s}")  # fmt: skip
    for name, rel in meshes.items():
        if not (PC / rel).is_file():
            print(f"skipped {name}: {PC / rel} not found")
            continue
        v, f = read_mesh(PC / rel)
        mesh = o3d.geometry.TriangleMesh(
            o3d.utility.Vector3dVector(v), o3d.utility.Vector3iVector(f.astype(np.int32))
        )
        t_disk, _ = _best(lambda v=v, f=f: sample_mesh_poisson_disk(v, f, n_disk), 1)
        for n in counts:
            t_pcc, _ = _best(lambda v=v, f=f, n=n: sample_mesh_surface(v, f, n, seed=0), repeats)
            t_o3d, _ = _best(lambda m=mesh, n=n: m.sample_points_uniformly(n).points, repeats)
            row = {"mesh": name, "faces": len(f), "samples": n, "pcc_uniform_ms": 1e3 * t_pcc,
                   "open3d_uniform_ms": 1e3 * t_o3d, "open3d_over_pcc": t_o3d / t_pcc,
                   "poisson_disk_samples": n_disk, "poisson_disk_ms": 1e3 * t_disk}  # fmt: skip
            rows.append(row)
            print(f"{name:14s} {len(f):6d} {n:8d} {row['pcc_uniform_ms']:8.1f} "
                  f"{row['open3d_uniform_ms']:9.1f} {row['open3d_over_pcc']:7.2f} "
                  f"{row['poisson_disk_ms']:10.0f} ({n_disk})")  # fmt: skip
    return rows


def main(quick: bool = False) -> dict[str, list[dict]] | None:
    try:
        from pcc._open3d import import_open3d

        o3d = import_open3d()
    except (ImportError, OSError) as err:
        print(f"open3d does not import ({err}): nothing to compare")
        return None
    return {
        "normals": bench_normals(quick),
        "voxelize": bench_voxelize(o3d, quick),
        "sampling": bench_sampling(o3d, quick),
    }


if __name__ == "__main__":
    main()
