"""The weighted Lloyd k-means of pcc.c3dgs.vq (``algorithm="lloyd"``) against simple references."""

from __future__ import annotations

import pytest
import torch

from pcc.c3dgs.features import normalize_trace
from pcc.c3dgs.vq import (
    VectorQuantizer,
    init_kmeans_pp_greedy,
    kmeans_lloyd,
    lloyd_update,
    nearest_centroid_reference,
    weighted_means_reference,
)


def _mixture(n: int, d: int, modes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centers = 3.0 * torch.randn(modes, d, generator=g)
    labels = torch.randint(0, modes, (n,), generator=g)
    x = centers[labels] + 0.5 * torch.randn(n, d, generator=g)
    w = torch.rand(n, generator=g) ** 3  # skewed importance, as sensitivities are
    return x, w


def _weighted_mse(x, w, c):
    return float((w * nearest_centroid_reference(x, c)[1]).sum() / w.sum())


def test_lloyd_update_matches_loop_reference_with_empty_clusters_and_zero_weights():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 5, generator=g)
    w = torch.rand(300, generator=g)
    w[:40] = 0.0
    c = torch.randn(12, 5, generator=g)
    idx = torch.randint(0, 10, (300,), generator=g)  # clusters 10 and 11 stay empty
    idx[:40] = 10  # cluster 10 only has zero-weight members
    new, mass = lloyd_update(x, w, idx, c)
    ref = weighted_means_reference(x, w, idx, c)
    assert torch.allclose(new.double(), ref, atol=1e-6)
    assert torch.equal(new[10:], c[10:])  # no weight: the centroid stays
    assert float(mass[10]) == 0.0 and float(mass[11]) == 0.0


def test_bounds_give_the_same_result_as_plain_lloyd():
    x, w = _mixture(3000, 4, 40, seed=1)
    runs = [
        kmeans_lloyd(
            x, 32, w, generator=torch.Generator().manual_seed(5), bounds=b, tol=0.0, max_iter=15
        )
        for b in (True, False)
    ]
    (c1, e1, m1), (c2, e2, m2) = runs
    assert len(e1) == len(e2) and m1 == m2
    assert torch.allclose(c1, c2, atol=1e-5)
    assert e1 == pytest.approx(e2, rel=1e-5)


def test_converged_lloyd_centroids_are_weighted_means_of_the_reference_assignment():
    x, w = _mixture(2000, 3, 10, seed=2)
    vq = VectorQuantizer(k=10, algorithm="lloyd", tol=0.0, max_iter=100, seed=0).fit(x, w)
    ref_idx, _ = nearest_centroid_reference(x, vq.centroids)
    assert torch.equal(vq.assign(x), ref_idx)
    means = weighted_means_reference(x, w / w.max(), ref_idx, vq.centroids)
    assert torch.allclose(vq.centroids.double(), means, atol=1e-5)
    errors = torch.tensor(vq.errors)
    assert bool((errors[1:] <= errors[:-1] * (1 + 1e-6)).all())  # Lloyd never gets worse


def test_lloyd_reaches_at_most_the_ema_error_on_a_mixture():
    x, w = _mixture(6000, 8, 60, seed=3)
    ema = VectorQuantizer(k=32, steps=100, batch_size=1024, seed=0).fit(x, w)
    lloyd = VectorQuantizer(k=32, algorithm="lloyd", seed=0).fit(x, w)
    assert _weighted_mse(x, w, lloyd.centroids) <= _weighted_mse(x, w, ema.centroids)


def test_lloyd_is_deterministic_with_a_seed():
    x, w = _mixture(4000, 6, 30, seed=4)
    a = VectorQuantizer(k=24, algorithm="lloyd", seed=7).fit(x, w)
    b = VectorQuantizer(k=24, algorithm="lloyd", seed=7).fit(x, w)
    assert torch.equal(a.centroids, b.centroids)
    assert a.errors == b.errors


def test_more_codes_than_distinct_points_and_zero_weights():
    g = torch.Generator().manual_seed(5)
    distinct = torch.randn(12, 5, generator=g)
    x = distinct[torch.randint(0, 12, (400,), generator=g)]
    w = torch.rand(400, generator=g)
    w[::3] = 0.0
    vq = VectorQuantizer(k=16, algorithm="lloyd", seed=3).fit(x, w)
    assert torch.isfinite(vq.centroids).all()
    assert torch.equal(vq.centroids[vq.assign(x)], x)  # every distinct vector has its own code
    zero = VectorQuantizer(k=4, algorithm="lloyd", seed=3).fit(x, torch.zeros(400))
    assert torch.isfinite(zero.centroids).all()  # all-zero weights fall back to uniform weights


def test_lloyd_with_trace_normalisation_and_history():
    g = torch.Generator().manual_seed(6)
    a = torch.randn(500, 3, 3, generator=g)
    cov = a @ a.transpose(1, 2) + 0.1 * torch.eye(3)
    iu = torch.triu_indices(3, 3)
    feats = normalize_trace(cov[:, iu[0], iu[1]])
    vq = VectorQuantizer(
        k=16, algorithm="lloyd", normalize=normalize_trace, history_every=1, seed=0
    ).fit(feats)
    trace = vq.centroids[:, 0] + vq.centroids[:, 3] + vq.centroids[:, 5]
    assert torch.allclose(trace, torch.ones(16), atol=1e-5)
    assert len(vq.history) == 2 and vq.history_steps[0] == 0


def test_greedy_kmeans_pp_picks_spread_out_seeds_and_respects_zero_weights():
    g = torch.Generator().manual_seed(7)
    centers = torch.tensor([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]])
    x = (centers[:, None, :] + 0.1 * torch.randn(4, 100, 2, generator=g)).reshape(-1, 2)
    label = torch.arange(4).repeat_interleave(100)
    w = torch.ones(400)
    w[label == 3] = 0.0  # the fourth cluster does not matter
    for t in range(20):
        seeds = init_kmeans_pp_greedy(x, 3, torch.Generator().manual_seed(t), w)
        seed_labels = label[nearest_centroid_reference(seeds, x)[0]]
        assert sorted(seed_labels.tolist()) == [0, 1, 2]


def test_default_algorithm_is_the_ema_update_and_unknown_names_fail():
    assert VectorQuantizer(k=4).algorithm == "ema"
    with pytest.raises(ValueError):
        VectorQuantizer(k=4, algorithm="elkan")


def test_vq_config_selects_the_algorithm_and_presets_keep_the_ema_update():
    from pcc.c3dgs.presets import ConfigError, apply_overrides, get_preset

    for name in ("paper", "default", "tiny"):
        cfg = get_preset(name)
        assert cfg.color.algorithm == "ema" and cfg.shape.algorithm == "ema"
    cfg = apply_overrides(get_preset("tiny"), {"color.algorithm": "lloyd"})
    assert cfg.color.algorithm == "lloyd" and cfg.shape.algorithm == "ema"
    with pytest.raises(ConfigError):
        apply_overrides(get_preset("tiny"), {"shape.algorithm": "elkan"})


def test_weighted_seeding_pool_finds_the_few_heavy_points():
    g = torch.Generator().manual_seed(8)
    light = 0.01 * torch.randn(5000, 3, generator=g)
    heavy = 10.0 * torch.randn(10, 3, generator=g)
    x = torch.cat([light, heavy])
    w = torch.cat([torch.full((5000,), 1e-6), torch.ones(10)])
    seeds = init_kmeans_pp_greedy(x, 10, torch.Generator().manual_seed(0), w, max_pool=64)
    idx = nearest_centroid_reference(seeds, x)[0]
    assert set(idx.tolist()) == set(range(5000, 5010))  # a uniform pool of 64 would miss them
