"""Rate-distortion sweeps (pcc.c3dgs.rd) and the per-scene choice of the position grid."""

from __future__ import annotations

import pytest
import torch
from conftest import random_scene

from pcc.c3dgs.compressed_model import IndexedGaussians
from pcc.c3dgs.positions import choose_position_bits, position_grid_psnr
from pcc.c3dgs.rd import SWEEPS, format_table, rd_curve
from pcc.io.cameras import make_camera
from pcc.io.gaussian_ply import write_gaussian_ply


def _indexed(model) -> IndexedGaussians:
    n = len(model)
    return IndexedGaussians(
        means=model.means,
        opacity_logits=model.opacity_logits,
        log_magnitude=model.log_scales.exp().norm(dim=1).log(),
        color_table=model.sh,
        color_indices=torch.arange(n),
        scale_table=model.log_scales.exp(),
        rotation_table=model.quats,
        shape_indices=torch.arange(n),
    )


CAMS = [make_camera((0.0, -4.0, 1.0), (0.0, 0.0, 0.0), 40, 30)]


def test_coarser_grids_render_worse_and_the_choice_follows_the_budget():
    ind = _indexed(random_scene(80, seed=3))
    p = position_grid_psnr(ind, CAMS, [4, 8, 14])
    assert p[4] < p[8] < p[14]
    assert choose_position_bits(ind, CAMS, min_psnr=1.0) == 10  # the first candidate
    assert choose_position_bits(ind, CAMS, min_psnr=1000.0) is None  # none: keep fp16
    mid = choose_position_bits(ind, CAMS, min_psnr=p[8] + 1e-3, candidates=range(4, 15))
    assert mid is not None and 8 < mid <= 14


def test_rd_curve_writes_real_files_and_ranks_them(tmp_path):
    ply = tmp_path / "scene.ply"
    write_gaussian_ply(ply, random_scene(150, seed=1))
    points = [{"color.k": 8, "shape.k": 8}, {"color.k": 64, "shape.k": 64}]
    common = {"finetune.iterations": 2, "position_min_psnr": 40.0}
    rows = rd_curve(ply, "tiny", points, common=common)
    assert [r["overrides"]["color.k"] for r in rows] == [8, 64]
    assert rows[0]["bytes"] < rows[1]["bytes"] < ply.stat().st_size
    for r in rows:
        assert r["ratio"] == pytest.approx(ply.stat().st_size / r["bytes"])
        assert r["psnr_before"] is None and r["delta_psnr"] is None  # targets: own renders
        assert r["psnr"] > 15.0 and r["position_bits"] in (None, *range(10, 17))
    table = format_table(rows)
    assert table.count("\n") == 3 and "tiny" in table
    assert len(SWEEPS["default"]) >= 5 and len(SWEEPS["paper"]) >= 5


def test_storage_curve_stores_one_compression_at_every_level(tmp_path):
    from pcc.c3dgs.presets import ConfigError
    from pcc.c3dgs.rd import LEVELS, storage_curve

    ply = tmp_path / "scene.ply"
    write_gaussian_ply(ply, random_scene(150, seed=1))
    levels = [{"bits_opacity": 3, "bits_color_rest": 3, "position_bits": 8}, {}]
    rows = storage_curve(ply, "tiny", levels, common={"finetune.iterations": 2})
    assert rows[0]["bytes"] < rows[1]["bytes"]
    assert rows[0]["position_bits"] == 8 and rows[1]["position_bits"] is None  # tiny: fp16
    assert sum(rows[1]["attributes"].values()) < rows[1]["bytes"]
    assert len(LEVELS) >= 5 and {} in LEVELS  # the preset's own level is on the curve
    with pytest.raises(ConfigError, match="storage levels"):
        storage_curve(ply, "tiny", [{"color.k": 8}])
