"""The format table (pcc.c3dgs.formats_table): one row per format, real file sizes, qualities
measured on read-back files, and the ordering the formats' designs imply."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pcc.c3dgs.compressed_model import IndexedGaussians, finalize
from pcc.c3dgs.formats_table import format_rows, viewer_formats
from pcc.c3dgs.pipeline import with_rendered_targets
from pcc.c3dgs.storage_pcc import save_pcc
from pcc.demo import build_demo_scene
from pcc.io.cameras import orbit_cameras_for_points


def _quantized(n: int, deg: int):
    g = torch.Generator().manual_seed(0)
    k = (deg + 1) ** 2
    return finalize(
        IndexedGaussians(
            means=torch.randn(n, 3, generator=g) * 0.3,
            opacity_logits=torch.randn(n, generator=g),
            log_magnitude=torch.randn(n, generator=g) - 4,
            color_table=0.3 * torch.randn(16, k, 3, generator=g),
            color_indices=torch.randint(0, 16, (n,), generator=g),
            scale_table=torch.rand(8, 3, generator=g),
            rotation_table=torch.randn(8, 4, generator=g),
            shape_indices=torch.randint(0, 8, (n,), generator=g),
        )
    )


def test_format_rows_measure_every_format(tmp_path):
    scene = build_demo_scene()  # 704 Gaussians, SH degree 1
    cams = orbit_cameras_for_points(scene.means.numpy(), 2, 32, 24)
    test = with_rendered_targets(scene, cams)
    comp = tmp_path / "c.pcc3dgs"
    save_pcc(_quantized(300, 1), comp)
    rows = format_rows(scene, test, tmp_path / "out", compressed_path=comp, compress_s=1.5)
    names = [r["format"] for r in rows]
    viewer = [name for name, _, _ in viewer_formats()]
    assert names == viewer + ["c3dgs npz", ".pcc3dgs"] + [f"c3dgs -> {v}" for v in viewer]
    ply = rows[0]
    assert ply["psnr"] is None and ply["ssim"] == pytest.approx(1.0)  # targets are its renders
    for r in rows:
        assert r["bytes"] == Path(r["file"]).stat().st_size
        assert r["ratio_vs_ply"] == pytest.approx(ply["bytes"] / r["bytes"])
        assert r["bytes_per_gaussian"] == pytest.approx(r["bytes"] / r["n_gaussians"])
        assert r["encode_s"] >= 0 and r["decode_s"] >= 0
        assert (r["compress_s"] == 1.5) == (r["pipeline"] == "c3dgs")
    by = {r["format"]: r for r in rows}
    assert by[".splat"]["bytes_per_gaussian"] == 32
    assert by["SPZ v3"]["bytes"] < by["compressed PLY"]["bytes"] < ply["bytes"]
    for name in (".splat", "compressed PLY", "SPZ v3"):
        assert by[name]["n_gaussians"] == len(scene)
        assert by[name]["psnr"] > 25.0  # lossy, but close to the original renders
    assert by["c3dgs npz"]["n_gaussians"] == by["c3dgs -> SPZ v3"]["n_gaussians"] == 300
