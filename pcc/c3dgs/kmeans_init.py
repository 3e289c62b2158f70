"""Seeding of (weighted) k-means: uniform, random samples, k-means++ and greedy k-means++.

Used by :class:`pcc.c3dgs.vq.VectorQuantizer` (``init``: ``"uniform"`` is the c3dgs reference,
``"kmeans++"`` D^2 sampling after Arthur & Vassilvitskii 2007, ``"random-samples"``) and by
:func:`pcc.c3dgs.kmeans.kmeans_lloyd` (:func:`init_kmeans_pp_greedy`). Every function takes a
``torch.Generator``, so seeds reproduce. Taught in ``notebooks/03_vector_quantisation.ipynb``.
"""

from __future__ import annotations

import math

import torch


# --------------------------------------------------------------------------- initialisations
def init_uniform(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """The reference init: each entry ~ U[min(x), max(x)] over *all* scalars of ``x``.  # [K, D]"""
    lo, hi = x.min(), x.max()
    return lo + (hi - lo) * torch.rand(k, x.shape[1], generator=generator, dtype=x.dtype)


def init_random_samples(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """``k`` data points drawn without replacement (with replacement only if ``k > N``).  # [K, D]"""
    n = x.shape[0]
    if k <= n:
        return x[torch.randperm(n, generator=generator)[:k]].clone()
    extra = torch.randint(0, n, (k - n,), generator=generator)
    return torch.cat([x[torch.randperm(n, generator=generator)], x[extra]]).clone()


def init_kmeans_pp(
    x: torch.Tensor,
    k: int,
    generator: torch.Generator,
    weights: torch.Tensor | None = None,
    max_pool: int = 16384,
) -> torch.Tensor:
    """k-means++ seeding with D^2 sampling (Arthur & Vassilvitskii, SODA 2007).

    The first centre is drawn with probability proportional to the weight, every next one with
    probability proportional to ``w_i * D(x_i)^2`` where ``D`` is the distance to the closest centre
    chosen so far (the squared *Euclidean distance*, not its square). To bound the cost on large
    inputs the candidates are a random pool of at most ``max(max_pool, 4 k)`` points. When every
    pool point already coincides with a centre, the remaining centres are drawn uniformly.

    Args:
        x: ``[N, D]``; weights: ``[N]`` or None.
    Returns:
        ``[K, D]``.
    """
    n = x.shape[0]
    pool_size = min(n, max(max_pool, 4 * k))
    pool_idx = torch.randperm(n, generator=generator)[:pool_size] if pool_size < n else None
    pool = x if pool_idx is None else x[pool_idx]
    w = torch.ones(pool.shape[0], dtype=torch.float64)
    if weights is not None:
        w = (weights if pool_idx is None else weights[pool_idx]).double().clamp_min(0.0)
        if not bool(w.sum() > 0):
            w = torch.ones_like(w)
    first = int(torch.multinomial(w, 1, generator=generator))
    chosen = [first]
    min_d2 = ((pool - pool[first]) ** 2).sum(1).double()  # [P]
    for _ in range(1, k):
        p = w * min_d2
        total = float(p.sum())
        if total > 0:
            nxt = int(torch.multinomial(p / total, 1, generator=generator))
        else:
            nxt = int(torch.randint(0, pool.shape[0], (1,), generator=generator))
        chosen.append(nxt)
        min_d2 = torch.minimum(min_d2, ((pool - pool[nxt]) ** 2).sum(1).double())
    return pool[torch.tensor(chosen)].clone()


def init_kmeans_pp_greedy(
    x: torch.Tensor,
    k: int,
    generator: torch.Generator,
    weights: torch.Tensor | None = None,
    max_pool: int = 8192,
    trials: int | None = None,
) -> torch.Tensor:
    """Greedy weighted k-means++: each step draws ``trials`` candidates by weighted D^2 sampling
    and keeps the one that lowers the weighted potential most (``2 + ln k`` trials by default, as
    Arthur & Vassilvitskii suggest and scikit-learn does).

    Works on a pool of at most ``max(max_pool, 4 k)`` points when ``N`` is larger: uniform without
    weights, else ``max(max_pool, 4 k)`` draws proportional to the weight (with replacement; each
    distinct point then weighted by its number of draws). Distances via matmul.

    Args:
        x: ``[N, D]``; weights: ``[N]`` (>= 0) or None.
    Returns:
        ``[K, D]``.
    """
    n = x.shape[0]
    pool_size = min(n, max(max_pool, 4 * k))
    w_all = None if weights is None else weights.double().clamp_min(0.0)
    if w_all is not None and (not bool(w_all.sum() > 0) or bool((w_all == w_all[0]).all())):
        w_all = None  # no weights, all zero or all equal: plain k-means++
    if pool_size >= n:
        pool = x.float().contiguous()
        w = torch.ones(n, dtype=torch.float64) if w_all is None else w_all
    elif w_all is None:
        pool = x[torch.randperm(n, generator=generator)[:pool_size]].float().contiguous()
        w = torch.ones(pool_size, dtype=torch.float64)
    else:
        # importance sampling: draws proportional to the weight, each distinct point weighted by
        # how often it was drawn, so heavy points are (almost) always candidates
        draws = torch.multinomial(w_all, pool_size, replacement=True, generator=generator)
        picked, counts = torch.unique(draws, return_counts=True)
        pool = x[picked].float().contiguous()
        w = counts.double()
    w = w.float()  # float32 from here: the sums only rank candidates
    trials = max(1, 2 + int(math.log(k))) if trials is None else trials
    p_sq = (pool * pool).sum(1)  # [P]

    pool_t = pool.T.contiguous()

    def sq_dist(cands: torch.Tensor) -> torch.Tensor:  # [T] indices -> [T, P]
        c = pool[cands]
        d = torch.addmm(p_sq[None, :], c, pool_t, alpha=-2.0).add_((c * c).sum(1, keepdim=True))
        return d.clamp_min_(0.0)

    chosen = [int(torch.multinomial(w, 1, generator=generator))]
    min_d2 = sq_dist(torch.tensor(chosen))[0]
    for _ in range(1, k):
        p = w * min_d2
        n_pos = int((p > 0).sum())
        if n_pos == 0:
            chosen.append(int(torch.randint(0, pool.shape[0], (1,), generator=generator)))
            continue
        cands = torch.multinomial(p, min(trials, n_pos), replacement=False, generator=generator)
        d = torch.minimum(min_d2[None, :], sq_dist(cands))  # [T, P]
        best = int(torch.argmin(d @ w))
        chosen.append(int(cands[best]))
        min_d2 = d[best]
    return pool[torch.tensor(chosen)].to(x.dtype).clone()
