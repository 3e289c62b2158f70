"""Geometry metrics: D1/D2 PSNR (MPEG pc_error definitions), Chamfer, Hausdorff, bpp."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pcc.io.pointcloud import PointCloud
from pcc.metrics.pointcloud import (
    bits_per_point,
    chamfer,
    d1_mse,
    d1_psnr,
    d2_mse,
    d2_psnr,
    estimate_normals,
    evaluate_geometry,
    hausdorff,
    psnr_from_mse,
    transfer_normals,
)

UNIT_ERROR_PSNR_1023 = 10 * math.log10(3 * 1023**2)  # 64.96872522...


def _voxels(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    return np.unique(rng.integers(0, 1024, (n, 3)), axis=0).astype(np.float64)


def _plane(n=40):
    g = np.stack(np.meshgrid(np.arange(n), np.arange(n), [0], indexing="ij"), -1)
    return g.reshape(-1, 3).astype(np.float64)


def test_psnr_known_answers():
    assert UNIT_ERROR_PSNR_1023 == pytest.approx(64.9687, abs=1e-4)
    assert psnr_from_mse(1.0, 1023) == pytest.approx(UNIT_ERROR_PSNR_1023, abs=1e-12)
    assert psnr_from_mse(0.789544, 1023) == pytest.approx(65.995, abs=5e-4)  # pc_error 0.12.3 log
    assert psnr_from_mse(0.0, 1023) == math.inf


def test_shift_by_one_voxel():
    a = _voxels()
    b = a + [0, 1, 0]
    assert d1_psnr(a, b, 1023) == pytest.approx(UNIT_ERROR_PSNR_1023, abs=1e-9)
    assert d1_mse(a, b) == (1.0, 1.0)
    assert chamfer(a, b) == pytest.approx(2.0)
    assert hausdorff(a, b) == pytest.approx(1.0)
    assert evaluate_geometry(a, b, 1023)["hausdorff_psnr"] == pytest.approx(UNIT_ERROR_PSNR_1023)


def test_identical_is_inf():
    a = _voxels()
    res = evaluate_geometry(a, a.copy(), 1023)
    assert res["d1_psnr"] == math.inf and res["d2_psnr"] == math.inf
    assert res["chamfer"] == 0 and res["hausdorff"] == 0


def test_symmetric_takes_worse_direction():
    a = _voxels(2000)
    b = a[: len(a) // 2]  # B is a subset: B->A error is 0, A->B is not
    e_ab, e_ba = d1_mse(a, b)
    assert e_ba == 0 and e_ab > 0
    assert d1_psnr(a, b, 1023) == pytest.approx(psnr_from_mse(e_ab, 1023))
    res = evaluate_geometry(a, b, 1023)
    assert res["d1_mse"] == pytest.approx(e_ab) and res["d1_mse_ba"] == 0


def test_against_brute_force_reference():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(300, 3)), rng.normal(size=(250, 3))
    d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)  # [300, 250] squared distances
    e_ab, e_ba = d.min(1).mean(), d.min(0).mean()
    np.testing.assert_allclose(d1_mse(a, b), (e_ab, e_ba))
    assert chamfer(a, b) == pytest.approx(e_ab + e_ba)
    assert hausdorff(a, b) == pytest.approx(math.sqrt(max(d.min(1).max(), d.min(0).max())))
    # D2 with given normals: project the error on the normal of the nearest reference point
    na, nb = rng.normal(size=(300, 3)), rng.normal(size=(250, 3))
    na /= np.linalg.norm(na, axis=1, keepdims=True)
    nb /= np.linalg.norm(nb, axis=1, keepdims=True)
    j = d.argmin(1)
    i = d.argmin(0)
    ref_ab = np.mean(np.einsum("ij,ij->i", a - b[j], nb[j]) ** 2)
    ref_ba = np.mean(np.einsum("ij,ij->i", b - a[i], na[i]) ** 2)
    e2_ab, e2_ba, source = d2_mse(a, b, normals_a=na, normals_b=nb)
    assert (e2_ab, e2_ba) == pytest.approx((ref_ab, ref_ba))
    assert source == "a: given; b: given"


def test_d2_ignores_in_plane_error_and_sees_normal_error():
    a = _plane()
    in_plane = a + [0.5, 0.0, 0.0]
    assert d2_psnr(a, in_plane, 1023) == math.inf  # tangential error costs nothing in D2
    assert d1_psnr(a, in_plane, 1023) == pytest.approx(psnr_from_mse(0.25, 1023))
    off_plane = a + [0.0, 0.0, 0.5]
    e_ab, e_ba, source = d2_mse(a, off_plane)
    assert e_ab == pytest.approx(0.25) and e_ba == pytest.approx(0.25)
    assert "PCA over k=12" in source and "transferred" in source


def test_point_cloud_normals_are_used():
    a = _plane()
    normals = np.tile([1.0, 0.0, 0.0], (len(a), 1))  # deliberately "wrong" normals along x
    b = a + [0.5, 0.0, 0.0]
    res = evaluate_geometry(PointCloud(a, normals=normals), b, 1023)
    assert res["normals_source"].startswith("a: given")
    assert res["d2_mse"] == pytest.approx(0.25)


def test_estimate_and_transfer_normals():
    a = _plane(20)
    n = estimate_normals(a, k=12)
    np.testing.assert_allclose(np.abs(n[:, 2]), 1.0, atol=1e-9)
    # opposite signs from different sources must not cancel in the transfer
    mixed = np.where(np.arange(len(a))[:, None] % 2 == 0, n, -n)
    t = transfer_normals(a, mixed, a[::3] + [0.2, 0, 0])
    np.testing.assert_allclose(np.abs(t[:, 2]), 1.0, atol=1e-9)


def _sphere_surface(n=4000, radius=200.0, seed=1):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 3))
    return radius * v / np.linalg.norm(v, axis=1, keepdims=True) + 512.0  # [n, 3] floats


def test_open3d_normals_match_the_pca_reference():
    """Continuous points (no ties among neighbours): both estimators give the same planes."""
    pts = _sphere_surface()
    ref = estimate_normals(pts, k=12, method="pca")
    fast = estimate_normals(pts, k=12, method="open3d")
    cos = np.abs(np.einsum("ij,ij->i", ref, fast))  # sign is arbitrary
    assert cos.min() > 1 - 1e-9
    radial = (pts - 512.0) / 200.0
    assert np.abs(np.einsum("ij,ij->i", ref, radial)).min() > 0.99  # and they are the sphere's
    with pytest.raises(ValueError, match="method"):
        estimate_normals(pts, method="pcl")


def test_d2_with_open3d_normals_agrees_with_pca_on_voxels():
    """Voxelised clouds tie neighbour distances, so single normals differ; D2 stays within
    the bound stated in estimate_normals (0.03 dB)."""
    a = np.unique(np.round(_sphere_surface(20000)), axis=0)  # voxelised sphere shell
    b = np.unique(np.round(a / 3) * 3, axis=0)  # a coarser reconstruction
    ref = evaluate_geometry(a, b, 1023, normals_method="pca")
    fast = evaluate_geometry(a, b, 1023, normals_method="open3d")
    assert "(pca)" in ref["normals_source"] and "(open3d)" in fast["normals_source"]
    assert 55 < ref["d2_psnr"] < 80
    assert abs(ref["d2_psnr"] - fast["d2_psnr"]) < 0.03
    assert ref["d1_psnr"] == fast["d1_psnr"]


def test_bits_per_point_and_errors():
    assert bits_per_point(1000, 8000) == 1.0
    with pytest.raises(ValueError):
        bits_per_point(10, 0)
    with pytest.raises(ValueError):
        d1_mse(np.zeros((0, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError):
        d1_mse(np.zeros((3, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError):
        psnr_from_mse(1.0, 0)


def test_evaluate_geometry_agrees_with_single_metrics():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(800, 3)) * 50
    b = a[::2] + rng.normal(size=(400, 3))
    res = evaluate_geometry(a, b, 1023)
    assert res["d1_psnr"] == pytest.approx(d1_psnr(a, b, 1023))
    assert res["d2_psnr"] == pytest.approx(d2_psnr(a, b, 1023))
    assert res["chamfer"] == pytest.approx(chamfer(a, b))
    assert res["hausdorff"] == pytest.approx(hausdorff(a, b))
    assert res["d2_mse"] <= res["d1_mse"]  # a projection never exceeds the full distance


def test_d2_uses_given_normals_of_b():
    a = _plane()
    b = PointCloud(a + [0.0, 0.0, 0.5], normals=np.tile([0.0, 1.0, 0.0], (len(a), 1)))
    e_ab, e_ba, source = d2_mse(a, b)
    assert source.endswith("b: given")
    assert e_ab == pytest.approx(0.0)  # error along z projected on b's (y) normals
    assert e_ba == pytest.approx(0.25)  # a's PCA normals are z
