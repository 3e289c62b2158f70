"""Raw LiDAR sweeps: KITTI / nuScenes ``.bin`` files of little-endian float32 records.

KITTI stores ``x y z reflectance`` (4 values per point), nuScenes ``x y z intensity ring`` (5);
the record length is inferred from the data when not given (:func:`infer_bin_fields`).
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.numeric import quiet_nans
from pcc.io.pointcloud.cloud import PointCloud

__all__ = ["read_bin", "infer_bin_fields", "bin_bytes"]


def _median_step(raw: np.ndarray, k: int) -> float:
    """Median distance between consecutive points when ``raw`` is read as ``k``-value records."""
    n = min(raw.size // k, 20000)
    xyz = raw[: n * k].reshape(n, k)[:, :3].astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: non-finite steps are dropped
        d = np.linalg.norm(np.diff(xyz, axis=0), axis=1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else np.inf


def infer_bin_fields(path: Path, raw: np.ndarray, name: str) -> tuple[int, str]:
    """How many float32 values per record a LiDAR ``.bin`` has (4: KITTI, 5: nuScenes).

    LiDAR returns are stored in scan order, so under the right stride consecutive points lie
    centimetres to metres apart, while a wrong stride mixes intensity/ring values into x, y, z
    and jumps around. The stride with the smaller median step wins; it must also divide the
    value count, otherwise the file is reported as truncated. (When both 4 and 5 divide the
    count, e.g. any multiple of 20 values, this is the only way to tell.)
    """
    steps = {k: _median_step(raw, k) for k in (4, 5) if raw.size >= 2 * k}
    if not steps:
        raise FormatError(path, f"only {raw.size} float32 values: too short for a LiDAR sweep")
    best = min(steps, key=steps.get)
    how = ", ".join(f"{k}: {v:.3g}" for k, v in steps.items())
    if raw.size % best:
        raise FormatError(
            path,
            f"looks like {best} float32 fields per point (median step between consecutive "
            f"points {how}) but {raw.size} values is not a multiple of {best}: truncated file? "
            "(pass bin_fields / --bin-fields to force a layout)",
        )
    divides = [k for k in (4, 5) if raw.size % k == 0]
    why = "4 and 5 both divide the file size" if len(divides) == 2 else f"{best} divides the size"
    return best, (
        f"{best} float32 fields per point ({why}; median step between consecutive points {how})"
    )


def read_bin(path: Path, bin_fields: int | None, name: str) -> PointCloud:
    data = path.read_bytes()
    if len(data) % 4:
        raise FormatError(path, f"truncated .bin: {len(data)} bytes is not a multiple of 4")
    raw = quiet_nans(np.frombuffer(data, "<f4"))  # [values]; signalling NaNs made quiet
    if raw.size == 0:
        raise FormatError(path, "the file holds zero (valid) points")
    if bin_fields is None:
        k, how = infer_bin_fields(path, raw, name)
    else:
        k, how = int(bin_fields), f"{bin_fields} float32 fields per point (given)"
        if k < 3 or raw.size % k:
            raise FormatError(path, f"{raw.size} float32 values do not split into records of {k}")
    records = raw.reshape(-1, k)
    return PointCloud(records[:, :3].astype(np.float64), notes={"bin_fields": k, "bin_layout": how})


def bin_bytes(pc: PointCloud) -> bytes:
    """KITTI's layout: float32 ``x y z 0`` per point."""
    rec = np.zeros((len(pc), 4), dtype="<f4")  # [N, 4]
    rec[:, :3] = pc.points
    return rec.tobytes()
