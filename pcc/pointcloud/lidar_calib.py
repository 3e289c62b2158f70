"""Laser rings and sensor calibration estimated from one LiDAR sweep (for :mod:`pcc.pointcloud.lidar_codec`).

A spinning LiDAR has ``L`` lasers stacked vertically; each sweeps a cone (a *ring*) as the head
turns and fires at nearly fixed azimuth steps. Laser ``l`` sees points with
``z ~ r tan(theta_l) + h_l`` (``r`` the horizontal distance, ``theta_l`` its elevation, ``h_l``
its vertical offset from the nominal origin). The codec needs every point's ring, and per ring
``tan(theta_l)`` and ``h_l``; they are estimated here, in this order of preference:

1. **A ring index given with the points** (nuScenes ``.pcd.bin`` carries one per point).
2. **The firing order**: files that list whole firings (all lasers at one azimuth, then the
   next azimuth, as nuScenes does) repeat their elevation pattern with a period equal to the
   number of lasers; the ring is then the index modulo that period. Tested before the scan
   order because its test is strict (elevations one period apart nearly equal, ten times closer
   than neighbours).
3. **The scan order** of the file: sensors (and KITTI ``.bin`` files) write points laser by
   laser, each ring in increasing azimuth, so a new ring starts where the azimuth jumps back.
   Accepted when it gives at most ``4 L`` runs of a sensible length; two consecutive runs whose
   azimuth ranges do not overlap (one ring split where ``atan2`` wraps at +-pi) are joined.
4. **Geometry alone** (any order): the ``L`` highest peaks of a fine histogram of elevation
   angles, refined by 1-D k-means, give the initial lasers; then a few rounds of "refit each
   line ``z = r t_l + h_l`` by least squares (``|h_l|`` kept small), assign each point to the
   line nearest in z" (k-lines; off by default, see :func:`cluster_rings`).

Rings are found on the input as given (before duplicates are merged), since the order is
information. Whatever the assignment, the codec stays lossless (the ring membership is coded); a worse
assignment only costs bits. The azimuth step is the median azimuth advance between neighbours
on a ring. Taught in ``notebooks/16_lidar.ipynb``.
"""

from __future__ import annotations

import numpy as np

TAN_BITS = 20  # tan(elevation) is sent as round(tan * 2^TAN_BITS)
WRAP_JUMP = 0.5  # radians: an azimuth drop larger than this starts a new scan-order ring


def polar(rel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal radius (float) and azimuth in (-pi, pi] of positions ``[N, 3]``; each ``[N]``."""
    x = rel[:, 0].astype(np.float64)
    y = rel[:, 1].astype(np.float64)
    return np.sqrt(x * x + y * y), np.arctan2(y, x)


def scan_order_rings(rel: np.ndarray, n_lasers: int) -> np.ndarray | None:
    """Ring labels ``[N]`` from the input order (see the module docstring), or None."""
    n = len(rel)
    if n < 2:
        return None
    _, phi = polar(rel)
    starts = np.flatnonzero(np.diff(phi) < -WRAP_JUMP) + 1
    bounds = np.concatenate([[0], starts, [n]])
    # join a run with the next one when it is the same ring cut by the atan2 wrap
    keep = [0]
    for s in range(1, len(bounds) - 1):
        prev = phi[bounds[keep[-1]] : bounds[s]]
        cur = phi[bounds[s] : bounds[s + 1]]
        if cur.max() < prev.min():
            continue  # azimuth ranges disjoint: continuation past the wrap
        keep.append(s)
    starts = bounds[keep]
    runs = np.diff(np.concatenate([starts, [n]]))
    if len(runs) > 4 * n_lasers or np.median(runs) < 8:
        return None
    labels = np.zeros(n, np.int64)
    labels[starts[1:]] = 1
    return np.cumsum(labels)


def firing_order_rings(rel: np.ndarray, n_lasers: int | None = None) -> np.ndarray | None:
    """Ring labels ``[N]`` when the input lists whole firings (every laser, in a fixed order, at
    each azimuth: nuScenes ``.pcd.bin``): the elevation sequence then repeats with a period
    ``p`` (the number of lasers) and the ring is the index modulo ``p``; None if no period fits."""
    n = len(rel)
    if n < 64:
        return None
    r, _ = polar(rel)
    e = np.arctan2(rel[:, 2].astype(np.float64), np.maximum(r, 1e-9))  # [N]
    near = float(np.median(np.abs(np.diff(e))))
    for p in range(8, 257):  # the smallest period that fits (a multiple of it fits as well)
        if n % p or n // p < 8:
            continue
        if float(np.median(np.abs(e[p:] - e[:-p]))) < 0.1 * near:
            return np.arange(n, dtype=np.int64) % p
    return None


def cluster_rings(rel: np.ndarray, n_lasers: int, iterations: int = 0) -> np.ndarray:
    """Ring labels ``[N]`` from geometry alone (elevation peaks and k-means, then k-lines)."""
    r, _ = polar(rel)
    z = rel[:, 2].astype(np.float64)
    n = len(rel)
    k = max(1, min(n_lasers, n))
    e = np.arctan2(z, np.maximum(r, 1e-9))  # [N] elevation seen from the origin
    # initial lasers: the k highest peaks of a fine elevation histogram
    hist, edges = np.histogram(e, bins=4096)
    smooth = np.convolve(hist, np.ones(3), mode="same")
    peak = (smooth >= np.roll(smooth, 1)) & (smooth > np.roll(smooth, -1)) & (smooth > 0)
    idx = np.flatnonzero(peak)
    idx = idx[np.argsort(-smooth[idx], kind="stable")[:k]]
    centres = np.sort((edges[idx] + edges[idx + 1]) / 2)
    if centres.size < k:
        centres = np.sort(
            np.concatenate(
                [
                    centres,
                    np.quantile(e, (np.arange(k - centres.size) + 0.5) / max(k - centres.size, 1)),
                ]
            )
        )
    k = centres.size
    for _ in range(20):
        lab = np.clip(np.searchsorted((centres[1:] + centres[:-1]) / 2, e), 0, k - 1)
        cnt = np.bincount(lab, minlength=k)
        new = np.where(cnt > 0, np.bincount(lab, e, k) / np.maximum(cnt, 1), centres)
        new.sort()
        if np.allclose(new, centres):
            break
        centres = new
    slope, offset = np.tan(centres), np.zeros(k)
    h_max = 0.02 * float(np.median(r)) if n else 0.0  # offsets are small beside the ranges
    labels = lab
    for _ in range(iterations):
        slope, offset = fit_lines(r, z, labels, k, slope, offset)
        offset = np.clip(offset, -h_max, h_max)
        for lo in range(0, n, 65536):  # nearest line in z, blocks of [65536, k]
            pred = r[lo : lo + 65536, None] * slope[None] + offset[None]
            labels[lo : lo + 65536] = np.abs(z[lo : lo + 65536, None] - pred).argmin(1)
    return labels


def fit_lines(r, z, labels, k, slope=None, offset=None):
    """Least-squares ``z = r t + h`` per label ``0..k-1``; labels with < 3 points keep the old
    values (or 0). Returns ``(t [k], h [k])``."""
    cnt = np.bincount(labels, minlength=k).astype(np.float64)
    sr, sz = np.bincount(labels, r, k), np.bincount(labels, z, k)
    srr, srz = np.bincount(labels, r * r, k), np.bincount(labels, r * z, k)
    det = cnt * srr - sr * sr
    ok = (cnt >= 3) & (np.abs(det) > 1e-9 * np.maximum(cnt * srr, 1.0))
    t = np.where(ok, (cnt * srz - sr * sz) / np.where(ok, det, 1.0), 0.0)
    h = np.where(ok, (sz - t * sr) / np.maximum(cnt, 1.0), 0.0)
    if slope is not None:
        t = np.where(ok, t, slope)
        h = np.where(ok, h, offset)
    return t, h


def assign_rings(
    rel: np.ndarray, n_lasers: int = 64, ring_hint: np.ndarray | None = None
) -> tuple[np.ndarray, str]:
    """Ring label per point ``[N]`` (0-based, any order) and how it was found."""
    if ring_hint is not None:
        hint = np.asarray(ring_hint)
        if hint.shape != (len(rel),):
            raise ValueError(f"ring hint has shape {hint.shape}, expected ({len(rel)},)")
        if hint.size and (not np.all(hint == np.round(hint)) or hint.min() < 0):
            raise ValueError("ring hint must hold non-negative integers")
        return np.unique(hint.astype(np.int64), return_inverse=True)[1].reshape(-1), "given"
    labels = firing_order_rings(rel, n_lasers)  # strict test first: a period in the elevations
    if labels is not None:
        return labels, "firing order"
    labels = scan_order_rings(rel, n_lasers)
    if labels is not None:
        return labels, "scan order"
    return cluster_rings(rel, n_lasers), "clustered"


def azimuth_step(phi_sorted: np.ndarray, same_ring: np.ndarray) -> float:
    """Azimuth step (radians) of the firing grid, from azimuths sorted per ring ``[N]`` and a mask
    ``[N]`` of points that follow one on the same ring.

    The median advance between ring neighbours is the first guess. If many advances are about
    half of it (KITTI's HDL-64E: the grid phase jumps by half a step every few firings), the
    grid is the half step. The step is then refined as the median advance per step over
    neighbours one to four steps apart.
    """
    d = np.diff(phi_sorted, prepend=0.0)
    d[~same_ring] = 0.0
    pos = d[d > 1e-7]
    if pos.size < 8:
        return 2 * np.pi / 2048
    step = float(np.median(pos))
    if np.mean(np.abs(pos / step - 0.5) < 0.1) > 0.05:
        step /= 2
    # refine: the median advance per step over neighbour pairs one to four steps apart
    k = np.round(pos / step)
    near = (k >= 1) & (k <= 4) & (np.abs(pos / step - k) < 0.25)
    if near.sum() >= 8:
        step = float(np.median(pos[near] / k[near]))
    return float(np.clip(step, 1e-4, 0.5))


def calibrate(rel: np.ndarray, labels: np.ndarray, n_rings: int) -> tuple[np.ndarray, np.ndarray]:
    """Per ring: quantised ``tan(elevation)`` (``round(t 2^TAN_BITS)``) and offset ``h`` (units),
    both int64 ``[n_rings]``, least squares over the ring's points."""
    r, _ = polar(rel)
    t, h = fit_lines(r, rel[:, 2].astype(np.float64), labels, n_rings)
    t = np.clip(t, -64.0, 64.0)
    h = np.clip(h, -(2.0**40), 2.0**40)
    return np.round(t * 2**TAN_BITS).astype(np.int64), np.round(h).astype(np.int64)
