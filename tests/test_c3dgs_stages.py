"""The stage-by-stage API of pcc.c3dgs: each stage's result, and compress() == their composition."""

from __future__ import annotations

import math
import zipfile
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import random_scene

from pcc.c3dgs import stages
from pcc.c3dgs.pipeline import compress, scene_cameras
from pcc.c3dgs.presets import get_preset


def _scene(n=80, seed=0):
    return random_scene(n, seed, unseen=3)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.set_num_threads(1)
    model = _scene()
    cfg = get_preset("tiny")
    cfg = replace(
        cfg,
        color=replace(cfg.color, k=16, keep_fraction=0.1),
        shape=replace(cfg.shape, k=16, keep_fraction=0.05),
        finetune=replace(cfg.finetune, iterations=4),
        orbit_views_train=3,
        orbit_views_test=2,
    )
    # orbit cameras are fitted to the points: fit them to the visible ones
    visible = model.mask(torch.arange(len(model)) < len(model) - 3)
    train, test, _ = scene_cameras(visible, tmp_path_factory.mktemp("x") / "no.ply", None, cfg)
    return model, cfg, train, test


def test_sensitivity_reports_thresholds_and_kept_fractions(setup):
    model, cfg, train, _ = setup
    s = stages.sensitivity(model, train, cfg, progress=False)
    n = len(model)
    assert s.color.shape == (n, 48) and s.shape.shape == (n, 6)
    assert s.color_importance.shape == (n,) and s.shape_importance.shape == (n,)
    assert s.n_views == 3 and s.n_pixels == 3 * 48 * 36
    # the three far Gaussians are never seen: zero sensitivity, pruned at threshold 0
    assert torch.all(s.color_importance[-3:] == 0) and s.n_pruned >= 3
    alive = s.color_importance > 0
    assert s.n_color_kept == int((s.color_importance[alive] > s.color_threshold).sum())
    assert s.color_kept_fraction == pytest.approx(s.n_color_kept / int(alive.sum()))
    assert s.n_color_kept == round(0.1 * int(alive.sum()))
    assert s.n_shape_kept == round(0.05 * int(alive.sum()))
    # an absolute threshold is reported as given
    cfg2 = replace(cfg, color=replace(cfg.color, keep_threshold=1e-9))
    s2 = stages.describe_sensitivity(s.raw, cfg2, 3)
    assert s2.color_threshold == 1e-9


def test_prune_by_sensitivity_and_density(setup):
    model, cfg, train, _ = setup
    s = stages.sensitivity(model, train, cfg, progress=False)
    p = stages.prune(model, s, cfg)
    assert p.n_before == len(model) and p.n_after == p.n_after_sensitivity == int(p.keep.sum())
    assert not p.keep[-3:].any() and p.density_keep is None
    assert p.kept_positions.shape == (p.n_after, 3)
    assert p.removed_positions.shape == (p.n_before - p.n_after, 3)
    assert len(p.model) == p.n_after and p.sensitivity.color.shape[0] == p.n_after

    d = stages.prune(model, s, cfg, density=True, density_radius=0.5, density_std_factor=0.0)
    assert d.density_radius == 0.5 and d.density_threshold >= 3.0
    assert d.n_after <= d.n_after_sensitivity
    assert torch.equal(d.keep, d.sensitivity_keep & d.density_keep)
    counted = d.neighbor_counts >= 0
    assert torch.equal(counted, d.sensitivity_keep)
    # removed by density exactly where the count exceeds the threshold
    assert torch.equal(~d.density_keep[counted], d.neighbor_counts[counted] > d.density_threshold)
    # brute-force neighbour count of one Gaussian
    i = int(torch.nonzero(counted)[0])
    alive = model.means[d.sensitivity_keep].double()
    dist = (alive - model.means[i].double()).norm(dim=1)
    assert int(d.neighbor_counts[i]) == int((dist <= 0.5).sum()) - 1


def test_vq_stages_record_history_errors_and_usage(setup):
    model, cfg, train, _ = setup
    s = stages.sensitivity(model, train, cfg, progress=False)
    p = stages.prune(model, s, cfg)
    c = stages.quantize_colors(
        p.model, p.sensitivity.color_importance, cfg.color, 0, False, history_every=5
    )
    n = p.n_after
    assert c.features.shape == (n, 48) and c.indices.shape == (n,)
    assert c.errors.shape == (cfg.color.steps,) and np.all(np.isfinite(c.errors))
    assert c.history.shape == (cfg.color.steps // 5 + 1, c.k, 48)
    assert list(c.history_steps) == list(range(0, cfg.color.steps + 1, 5))
    assert c.usage.sum() == int((~c.keep_mask).sum())
    assert c.dead_centroids == int((c.usage == 0).sum())
    assert c.init == cfg.color.init and c.table.shape[0] == c.k + int(c.keep_mask.sum())
    # the table reproduces the kept Gaussians exactly
    assert torch.equal(c.table[c.indices[c.keep_mask]], c.features[c.keep_mask])
    sh = stages.quantize_shapes(
        p.model, p.sensitivity.shape_importance, cfg.shape, 0, False, threshold=math.inf
    )
    assert not sh.keep_mask.any() and sh.history.shape[0] == 0
    assert torch.allclose(sh.table[:, [0, 3, 5]].sum(1), torch.ones(sh.table.shape[0]), atol=1e-5)


def test_compress_equals_the_composition_of_the_stages(setup, tmp_path):
    model, cfg, train, test = setup
    res = compress(model, train, cfg, progress=False, history_every=5)

    torch.manual_seed(cfg.seed)
    s = stages.sensitivity(model, train, cfg, progress=False)
    p = stages.prune(model, s, cfg)
    c = stages.quantize_colors(p.model, p.sensitivity.color_importance, cfg.color, cfg.seed, False)
    sh = stages.quantize_shapes(p.model, p.sensitivity.shape_importance, cfg.shape, cfg.seed, False)
    idx = stages.build_indexed(p.model, c, sh)
    ft = stages.finetune(
        idx,
        train,
        cfg.finetune,
        guard=cfg.finetune_guard,
        guard_views=cfg.guard_views,
        progress=False,
    )
    q = stages.quantize(ft.indexed, cfg.sort_morton)

    assert q.equal(res.quantized)
    assert torch.equal(res.keep_mask, p.keep) and torch.equal(res.colors.indices, c.indices)
    assert res.sensitivity_result.color_threshold == s.color_threshold
    assert res.colors.history.shape[0] == cfg.color.steps // 5 + 1
    assert res.finetuning.losses.shape == (cfg.finetune.iterations,)
    assert np.allclose(res.finetuning.losses, ft.losses)
    assert res.finetune_applied == ft.applied
    assert set(res.timings) >= {"sensitivity", "prune", "color_vq", "shape_vq", "finetune"}
    # renders of one camera: iteration 0 (before training) then every 2 iterations
    ft2 = stages.finetune(idx, train, cfg.finetune, render_every=2, render_camera=test[0])
    assert list(ft2.render_iterations) == [0, 2, 4] and len(ft2.renders) == 3
    assert all(r.shape == (36, 48, 3) and 0 <= r.min() <= r.max() <= 1 for r in ft2.renders)
    # preview renders do not move the fake quantisers' ranges: same training as without them
    plain = stages.finetune(idx, train, cfg.finetune, guard=False, progress=False)
    assert np.array_equal(ft2.losses, plain.losses)
    assert torch.equal(ft2.tuned.color_table, plain.tuned.color_table)


def test_finetune_guard_reports_losses(setup):
    model, cfg, train, _ = setup
    s = stages.sensitivity(model, train, cfg, progress=False)
    p = stages.prune(model, s, cfg)
    c = stages.quantize_colors(p.model, p.sensitivity.color_importance, cfg.color)
    sh = stages.quantize_shapes(p.model, p.sensitivity.shape_importance, cfg.shape)
    idx = stages.build_indexed(p.model, c, sh)
    seen = []
    ft = stages.finetune(
        idx,
        train,
        cfg.finetune,
        guard=True,
        progress=False,
        loss_callback=lambda it, v: seen.append(it),
    )
    assert seen == [1, 2, 3, 4] and ft.guard_loss_before is not None
    assert ft.applied == (ft.guard_loss_after <= ft.guard_loss_before)
    assert (ft.indexed is ft.tuned) == ft.applied
    none = stages.finetune(idx, train, replace(cfg.finetune, iterations=0), progress=False)
    assert none.losses.size == 0 and not none.applied and none.indexed is idx


@pytest.mark.parametrize("fmt", ["npz", "pcc"])
def test_store_bytes_per_stream_sum_to_the_file_size(setup, tmp_path, fmt):
    model, cfg, train, _ = setup
    res = compress(
        model, train, replace(cfg, finetune=replace(cfg.finetune, iterations=0)), progress=False
    )
    st = stages.store(res.quantized, tmp_path / f"m.{fmt}", fmt)
    size = st.path.stat().st_size
    assert st.file_bytes == size
    assert sum(st.streams.values()) + st.framing == size
    assert sum(st.attributes.values()) == sum(st.streams.values())
    assert 0 < st.framing < size and all(v > 0 for v in st.streams.values())
    if fmt == "npz":
        with zipfile.ZipFile(st.path) as zf:
            assert {i.filename[:-4]: i.compress_size for i in zf.infolist()} == st.streams
        assert {"positions", "color_dc", "color_indices", "shape_indices"} <= set(st.attributes)
    else:
        assert "positions" in st.streams and "color_rest.band1" in st.streams
        assert {"positions", "color_dc", "rotation", "color_indices"} <= set(st.attributes)
    assert st.bytes_per_gaussian == pytest.approx(size / len(res.quantized))


def test_evaluate_per_view_before_and_after(setup):
    model, cfg, train, test = setup
    res = compress(
        model, train, replace(cfg, finetune=replace(cfg.finetune, iterations=0)), progress=False
    )
    ev = stages.evaluate(res.quantized, test, before=model, progress=False)
    assert ev.after.psnr.shape == (2,) and ev.before.psnr.shape == (2,)
    assert ev.after.names == [c.name for c in test]
    assert len(ev.after.images) == 2 and ev.after.images[0].shape == (36, 48, 3)
    assert len(ev.targets) == 2
    # the targets are renders of the uncompressed model: "before" is exact
    assert np.all(np.isinf(ev.before.psnr)) or ev.before.psnr.min() > 60
    assert ev.after.psnr_mean == pytest.approx(float(ev.after.psnr.mean()))
    summary = ev.summary()
    assert summary["n_views"] == 2 and 10 < summary["psnr_after"] < 100


def test_threshold_for_fraction_and_removal_order():
    from pcc.c3dgs.prune import removal_order, sensitivity_prune_mask, threshold_for_fraction

    imp = torch.tensor([5.0, 1.0, 3.0, 2.0, 4.0, 0.0, 6.0, 7.0, 8.0, 9.0])
    thr = threshold_for_fraction(imp, 0.3)
    assert int((~sensitivity_prune_mask(imp, thr)).sum()) == 3
    assert threshold_for_fraction(imp, 0.0) < 0  # prune nothing
    assert removal_order(imp, "least-sensitive")[:3].tolist() == [5, 1, 3]
    assert removal_order(imp, "most-sensitive")[:2].tolist() == [9, 8]
    assert sorted(removal_order(imp, "random", seed=1).tolist()) == list(range(10))
    with pytest.raises(ValueError, match="strategy"):
        removal_order(imp, "biggest")


def test_pruning_curve_ranks_gaussians(setup):
    model, cfg, train, test = setup
    s = stages.sensitivity(model, train, cfg, progress=False)
    fr = [0.0, 0.3]
    least = stages.pruning_curve(model, s.color_importance, test, fr, progress=False)
    most = stages.pruning_curve(
        model, s.color_importance, test, fr, strategy="most-sensitive", progress=False
    )
    assert least.n_kept.tolist() == [len(model), len(model) - round(0.3 * len(model))]
    assert least.psnr_per_view.shape == (2, len(test))
    assert least.psnr[0] == most.psnr[0]  # nothing removed yet
    assert least.psnr[1] > most.psnr[1]  # removing the least sensitive hurts less


def test_stages_package_exports_every_stage_from_one_module_each():
    """``stages`` is a package of one module per step; every public name resolves through it and
    comes from a module of that package (or the shared quality loop)."""
    import importlib

    for name in stages.__all__:
        obj = getattr(stages, name)
        home = obj.__module__
        assert home.startswith("pcc.c3dgs.stages.") or home == "pcc.gaussians.quality", name
        assert getattr(importlib.import_module(home), name) is obj
    # the names that are also submodules of pcc.c3dgs stay functions here
    assert callable(stages.sensitivity) and callable(stages.prune) and callable(stages.finetune)
