"""Vector quantisation: nearest-centroid search, initialisations, the EMA update, keep/join."""

from __future__ import annotations

import pytest
import torch

from pcc.c3dgs.features import normalize_trace
from pcc.c3dgs.vq import (
    VectorQuantizer,
    codebook_usage,
    init_kmeans_pp,
    join_table,
    nearest_centroid,
    nearest_centroid_reference,
    quantize_features,
    split_keep,
)


def test_chunked_nearest_matches_reference():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(500, 7, generator=g)
    c = torch.randn(33, 7, generator=g)
    idx, dist = nearest_centroid(x, c, max_chunk_bytes=33 * 4 * 17)  # 17-row chunks
    ref_idx, ref_dist = nearest_centroid_reference(x, c)
    assert torch.equal(idx, ref_idx)
    assert torch.allclose(dist, ref_dist, atol=1e-5)


def test_vq_with_enough_codes_reproduces_distinct_vectors_exactly():
    g = torch.Generator().manual_seed(2)
    distinct = torch.randn(12, 5, generator=g)
    x = distinct[torch.randint(0, 12, (400,), generator=g)]
    w = torch.rand(400, generator=g)
    for init in ("kmeans++", "random-samples"):
        vq = VectorQuantizer(k=16, steps=10, batch_size=64, init=init, seed=3).fit(x, w)
        rec = vq.centroids[vq.assign(x)]
        assert torch.equal(rec, x), init


def test_kmeans_pp_picks_spread_out_seeds():
    # four tight, far-apart clusters: D^2 seeding should hit each one almost always, while
    # uniform picks of 4 points land in 4 different clusters with probability 4!/4^4 ~ 9 %.
    g = torch.Generator().manual_seed(4)
    centers = torch.tensor([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]])
    x = (centers[:, None, :] + 0.1 * torch.randn(4, 100, 2, generator=g)).reshape(-1, 2)
    label = torch.arange(4).repeat_interleave(100)
    hits_pp, hits_rand = 0, 0
    trials = 100
    for t in range(trials):
        gen = torch.Generator().manual_seed(100 + t)
        seeds = init_kmeans_pp(x, 4, gen)
        seed_labels = label[nearest_centroid_reference(seeds, x)[0]]
        hits_pp += int(seed_labels.unique().numel() == 4)
        rand = torch.randperm(x.shape[0], generator=gen)[:4]
        hits_rand += int(label[rand].unique().numel() == 4)
    assert hits_pp >= 95
    assert hits_rand <= 25


def test_weighted_ema_update_matches_hand_computation():
    vq = VectorQuantizer(k=2, decay=0.8, reseed_dead=False)
    vq.centroids = torch.tensor([[0.0, 0.0], [10.0, 10.0]])
    vq.usage = torch.zeros(2)
    xb = torch.tensor([[1.0, 0.0], [0.0, 2.0], [9.0, 10.0], [12.0, 10.0]])
    wb = torch.tensor([1.0, 3.0, 2.0, 2.0])
    err = vq.ema_step(xb, wb)
    # cluster 0: weighted mean (1*[1,0] + 3*[0,2]) / 4 = [0.25, 1.5]
    # cluster 1: (2*[9,10] + 2*[12,10]) / 4 = [10.5, 10]
    expect = torch.tensor([[0.8 * 0 + 0.2 * 0.25, 0.2 * 1.5], [8 + 0.2 * 10.5, 8 + 0.2 * 10.0]])
    assert torch.allclose(vq.centroids, expect, atol=1e-6)
    assert torch.allclose(vq.usage, torch.tensor([0.2 * 4.0, 0.2 * 4.0]))
    assert abs(err - (1 + 4 + 1 + 4) / 4) < 1e-6


def test_legacy_update_shrinks_unused_centroids_and_fix_does_not():
    xb = torch.tensor([[1.0, 1.0]])
    wb = torch.ones(1)
    for legacy, expect_far in ((True, [40.0, 40.0]), (False, [50.0, 50.0])):
        vq = VectorQuantizer(k=2, legacy_update=legacy, reseed_dead=False)
        vq.centroids = torch.tensor([[0.0, 0.0], [50.0, 50.0]])
        vq.usage = torch.zeros(2)
        vq.ema_step(xb, wb)
        assert torch.allclose(vq.centroids[1], torch.tensor(expect_far))


def test_dead_centroid_reseeding_improves_uniform_init():
    g = torch.Generator().manual_seed(5)
    # two unit cubes far apart: uniform init over the global min/max leaves most codes dead
    x = torch.cat([torch.rand(500, 3, generator=g), 50.0 + torch.rand(500, 3, generator=g)])
    errs = {}
    for reseed in (False, True):
        vq = VectorQuantizer(
            k=32, steps=20, batch_size=256, init="uniform", reseed_dead=reseed, seed=6
        ).fit(x)
        errs[reseed] = vq.quantization_error(x)
    assert errs[True] < 0.5 * errs[False]


def test_history_and_error_curve_are_recorded():
    x = torch.randn(300, 4)
    vq = VectorQuantizer(k=8, steps=10, batch_size=64, history_every=5).fit(x)
    assert len(vq.errors) == 10
    assert len(vq.history) == 3  # initial + steps 5 and 10
    assert all(h.shape == (8, 4) for h in vq.history)
    assert vq.history_steps == [0, 5, 10]
    assert vq.history_tensor().shape == (3, 8, 4)
    assert torch.equal(vq.history[0], vq.initial_centroids)
    assert len(vq.reseeded) == 10 and sum(vq.reseeded) == vq.n_reseeded


def test_history_length_when_steps_are_not_a_multiple():
    x = torch.randn(100, 2)
    vq = VectorQuantizer(k=4, steps=7, batch_size=32, history_every=3).fit(x)
    assert vq.history_steps == [0, 3, 6]  # 1 + 7 // 3 snapshots
    none = VectorQuantizer(k=4, steps=7, batch_size=32).fit(x)
    assert none.history == [] and none.history_tensor().shape[0] == 0
    assert none.initial_centroids is not None and none.initial_centroids.shape == (4, 2)
    with pytest.raises(ValueError):
        VectorQuantizer(k=4, history_every=-1)


def test_codebook_usage_counts_and_dead_centroids():
    counts = codebook_usage(torch.tensor([0, 2, 2, 4, 0, 0]), 6)
    assert counts.tolist() == [3, 0, 2, 0, 1, 0]
    assert int((counts == 0).sum()) == 3
    with pytest.raises(ValueError):
        codebook_usage(torch.tensor([6]), 6)


def test_uniform_init_without_reseeding_leaves_dead_centroids_kmeanspp_does_not():
    g = torch.Generator().manual_seed(8)
    x = torch.cat([torch.rand(400, 3, generator=g), 40.0 + torch.rand(400, 3, generator=g)])
    dead = {}
    for init in ("uniform", "kmeans++"):
        vq = VectorQuantizer(
            k=16, steps=10, batch_size=128, init=init, reseed_dead=False, seed=9
        ).fit(x)
        sizes = vq.cluster_sizes(x)
        assert int(sizes.sum()) == x.shape[0]
        dead[init] = int((sizes == 0).sum())
    assert dead["uniform"] >= 8  # most uniform draws land in the empty space between the cubes
    assert dead["kmeans++"] <= 1


def test_shape_normalisation_keeps_trace_one():
    x = torch.rand(200, 6)
    x = normalize_trace(x)
    vq = VectorQuantizer(k=10, steps=5, batch_size=50, normalize=normalize_trace).fit(x)
    assert torch.allclose(vq.centroids[:, [0, 3, 5]].sum(1), torch.ones(10), atol=1e-5)


def test_keep_split_and_joined_indices_round_trip():
    g = torch.Generator().manual_seed(7)
    feats = torch.randn(50, 3, generator=g)
    importance = torch.rand(50, generator=g)
    keep = split_keep(importance, 0.7)
    assert torch.equal(keep, importance > 0.7)
    centroids = torch.randn(4, 3, generator=g)
    assignment = torch.randint(0, 4, (int((~keep).sum()),), generator=g)
    table, idx = join_table(centroids, feats[keep], assignment, keep)
    assert table.shape == (4 + int(keep.sum()), 3)
    assert torch.equal(table[idx][keep], feats[keep])
    assert torch.equal(table[idx][~keep], centroids[assignment])
    assert torch.equal(idx[keep], 4 + torch.arange(int(keep.sum())))


def test_quantize_features_all_kept_and_none_kept():
    feats = torch.randn(30, 4)
    imp = torch.rand(30)
    table, idx, keep = quantize_features(feats, imp, -1.0, VectorQuantizer(k=8, steps=3))
    assert keep.all() and table.shape == (30, 4) and torch.equal(table[idx], feats)
    table, idx, keep = quantize_features(
        feats, imp, float("inf"), VectorQuantizer(k=8, steps=3, batch_size=16)
    )
    assert not keep.any() and table.shape == (8, 4) and int(idx.max()) < 8
