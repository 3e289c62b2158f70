"""Sensitivity-aware vector quantisation: importance-weighted mini-batch k-means (c3dgs a.5).

:class:`VectorQuantizer` reproduces the update of c3dgs (Niedermayr et al., CVPR 2024,
``compression/vq.py``): every step draws a batch with replacement, assigns it to the nearest
centroid (plain squared L2) and moves each centroid a fixed fraction ``1 - decay`` towards the
importance-weighted mean of its batch members::

    c_k <- decay * c_k + (1 - decay) * (sum_i w_i x_i) / (sum_i w_i)

Fixes of the reference's defects (research brief, g.3/g.4), each switchable:

* ``init``: ``"uniform"`` (the reference: every entry drawn from the global scalar min/max),
  ``"kmeans++"`` (D^2 sampling, Arthur & Vassilvitskii 2007; the notebook fork used D^4) or
  ``"random-samples"`` (distinct data points);
* ``reseed_dead``: centroids whose usage (an EMA of their batch weight) falls below 1% of the mean
  are moved onto batch points drawn by D^2 sampling (as k-means++ on the batch);
* ``legacy_update=False``: clusters without members keep their centroid (the reference shrinks them
  towards 0 by ``decay`` each step) and the weighted mean has no ``+1e-5`` bias;
* ``final_lloyd``: after the last step each used centroid becomes the exact weighted mean of the
  points finally assigned to it (one Lloyd step over all data, in float64).

Distances are computed in row chunks so memory stays below ``max_chunk_bytes``. What a run leaves
behind for plots (the animations and curves of ``notebooks/03_vector_quantisation.ipynb``):

* ``errors``: the batch's mean squared quantisation error after every step;
* ``history`` / ``history_steps``: a centroid snapshot (``[K, D]``) at step 0 and every
  ``history_every`` steps (``1 + steps // history_every`` snapshots), and the step of each;
* ``initial_centroids``: the codebook right after the init (always kept, one ``[K, D]`` copy);
* ``reseeded``: how many dead centroids were moved at every step;
* :meth:`VectorQuantizer.cluster_sizes` / :func:`codebook_usage`: Gaussians per centroid and the
  number of dead (never used) centroids after the final assignment.

The "keep exact above threshold" split and the joined ``[codebook ; kept]`` table with one index per
Gaussian are :func:`split_keep` and :func:`join_table`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

INITS = ("uniform", "kmeans++", "random-samples")


# --------------------------------------------------------------------------- nearest centroid
def nearest_centroid_reference(
    x: torch.Tensor, centroids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Brute-force nearest centroid (the reference implementation the chunked one is tested against).

    Args:
        x: ``[N, D]``; centroids: ``[K, D]``.
    Returns:
        ``(index [N] int64, squared distance [N])``.
    """
    d = ((x[:, None, :].double() - centroids[None, :, :].double()) ** 2).sum(-1)  # [N, K]
    dist, idx = d.min(dim=1)
    return idx, dist.to(x.dtype)


def nearest_centroid(
    x: torch.Tensor, centroids: torch.Tensor, max_chunk_bytes: int = 64 << 20
) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centroid by squared L2 via ``|x|^2 - 2 x c^T + |c|^2``, in chunks of rows.

    The ``[chunk, K]`` distance block never exceeds ``max_chunk_bytes``. Distances are clamped at 0
    (the expansion can go slightly negative in floating point).

    Args:
        x: ``[N, D]``; centroids: ``[K, D]``.
    Returns:
        ``(index [N] int64, squared distance [N])``.
    """
    n, k = x.shape[0], centroids.shape[0]
    if k == 0:
        raise ValueError("nearest_centroid with an empty codebook")
    rows = max(1, int(max_chunk_bytes // (4 * k)))
    c_sq = (centroids * centroids).sum(1)  # [K]
    idx = torch.empty(n, dtype=torch.int64)
    dist = torch.empty(n, dtype=x.dtype)
    for start in range(0, n, rows):
        xb = x[start : start + rows]
        d = (xb * xb).sum(1, keepdim=True) - 2.0 * (xb @ centroids.T) + c_sq[None, :]
        dmin, imin = d.min(dim=1)
        idx[start : start + rows] = imin
        dist[start : start + rows] = dmin.clamp_min(0.0)
    return idx, dist


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


# --------------------------------------------------------------------------- the quantizer
@dataclass
class VectorQuantizer:
    """Importance-weighted mini-batch k-means with c3dgs's EMA update (see the module docstring).

    Args:
        k: codebook size.
        steps: number of mini-batch steps (c3dgs: 100 colour, 800 shape).
        batch_size: samples per step, drawn with replacement (c3dgs: 2^18 colour, 2^20 shape).
        decay: EMA decay ``d`` of the centroid update (c3dgs: 0.8).
        init: ``"uniform"``, ``"kmeans++"`` or ``"random-samples"``.
        reseed_dead: re-seed centroids whose usage EMA is below ``dead_fraction`` of the mean.
        legacy_update: reproduce the reference exactly (shrink unused centroids, ``+1e-5``).
        final_lloyd: finish with one exact weighted Lloyd step over all data.
        normalize: applied to the centroids after each step (shape VQ: divide by the trace).
        history_every: record a centroid snapshot every this many steps (0: never).
        max_chunk_bytes: memory bound of one distance block.
        seed: seed of the private random generator.
    """

    k: int
    steps: int = 100
    batch_size: int = 4096
    decay: float = 0.8
    init: str = "kmeans++"
    reseed_dead: bool = True
    dead_fraction: float = 0.01
    legacy_update: bool = False
    final_lloyd: bool = True
    normalize: Callable[[torch.Tensor], torch.Tensor] | None = None
    history_every: int = 0
    max_chunk_bytes: int = 64 << 20
    seed: int = 0
    centroids: torch.Tensor | None = field(default=None, init=False, repr=False)  # [K, D]
    usage: torch.Tensor | None = field(default=None, init=False, repr=False)  # [K]
    errors: list[float] = field(default_factory=list, init=False, repr=False)
    history: list[torch.Tensor] = field(default_factory=list, init=False, repr=False)
    history_steps: list[int] = field(default_factory=list, init=False, repr=False)
    initial_centroids: torch.Tensor | None = field(default=None, init=False, repr=False)  # [K, D]
    reseeded: list[int] = field(default_factory=list, init=False, repr=False)
    n_reseeded: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"codebook size must be >= 1, got {self.k}")
        if self.init not in INITS:
            raise ValueError(f"unknown init {self.init!r}; choose one of {INITS}")
        if not 0.0 <= self.decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {self.decay}")
        if self.history_every < 0:
            raise ValueError(f"history_every must be >= 0, got {self.history_every}")
        self._gen = torch.Generator().manual_seed(self.seed)

    # ------------------------------------------------------------------ pieces
    def initialize(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Set and return the initial codebook for data ``x [N, D]``.  # [K, D]"""
        if self.init == "uniform":
            c = init_uniform(x, self.k, self._gen)
        elif self.init == "random-samples":
            c = init_random_samples(x, self.k, self._gen)
        else:
            c = init_kmeans_pp(x, self.k, self._gen, weights)
        if self.normalize is not None:
            c = self.normalize(c)
        self.centroids = c.to(x.dtype)
        self.initial_centroids = self.centroids.clone()
        self.usage = torch.zeros(self.k, dtype=x.dtype)
        self.errors, self.history, self.history_steps = [], [], []
        self.reseeded, self.n_reseeded = [], 0
        return self.centroids

    def ema_step(self, xb: torch.Tensor, wb: torch.Tensor) -> float:
        """One update on a given batch ``xb [B, D]`` with weights ``wb [B]``; returns the batch MSE.

        ``A_k = sum w_i``, ``M_k = sum w_i x_i`` over the members of cluster ``k``;
        ``c_k <- d c_k + (1 - d) M_k / A_k`` (legacy: ``M_k / (A_k + 1e-5)`` for every ``k``);
        usage ``e_k <- d e_k + (1 - d) A_k``.
        """
        assert self.centroids is not None, "call initialize() first"
        idx, dist = nearest_centroid(xb, self.centroids, self.max_chunk_bytes)
        k, d = self.k, self.decay
        mass = torch.zeros(k, dtype=xb.dtype).index_add_(0, idx, wb)  # [K]
        moment = torch.zeros_like(self.centroids).index_add_(0, idx, wb[:, None] * xb)  # [K, D]
        if self.legacy_update:
            self.centroids = d * self.centroids + (1 - d) * moment / (mass[:, None] + 1e-5)
        else:
            used = mass > 0
            mean = moment[used] / mass[used][:, None]
            self.centroids[used] = d * self.centroids[used] + (1 - d) * mean
        self.usage = d * self.usage + (1 - d) * mass
        if self.normalize is not None:
            self.centroids = self.normalize(self.centroids)
        return float(dist.mean())

    def reseed(self, xb: torch.Tensor, dist: torch.Tensor | None = None) -> int:
        """Move dead centroids onto batch points chosen by D^2 sampling, one after the other.

        A centroid is dead when its usage EMA is at most ``dead_fraction`` times the mean usage.
        New positions are drawn with probability proportional to the squared distance to the
        nearest centroid, updated after every pick (so two dead centroids never land on copies
        of the same vector). At most ``max(16, k // 16)`` centroids move per step. A moved
        centroid's usage is set to ``5 * dead_fraction`` of the mean, so it has a few steps to
        attract points before it counts as dead again. Returns the number moved.
        """
        assert self.centroids is not None and self.usage is not None
        mean_usage = float(self.usage.mean())
        dead = torch.nonzero(self.usage <= self.dead_fraction * mean_usage).flatten()
        if dead.numel() == 0 or mean_usage <= 0:
            return 0
        dead = dead[: max(16, self.k // 16)]
        if dist is None:
            _, dist = nearest_centroid(xb, self.centroids, self.max_chunk_bytes)
        p = dist.double().clamp_min(0.0)
        moved = 0
        for target in dead.tolist():
            total = float(p.sum())
            if total <= 0:
                break  # the batch is represented exactly: nothing useful to seed with
            pick = int(torch.multinomial(p / total, 1, generator=self._gen))
            new = xb[pick : pick + 1]
            if self.normalize is not None:
                new = self.normalize(new)
            self.centroids[target] = new[0]
            self.usage[target] = 5.0 * self.dead_fraction * mean_usage
            p = torch.minimum(p, ((xb - new) ** 2).sum(1).double())
            moved += 1
        self.n_reseeded += moved
        return moved

    # ------------------------------------------------------------------ fit / assign
    def fit(
        self,
        x: torch.Tensor,
        weights: torch.Tensor | None = None,
        progress: Callable[[int, float], None] | None = None,
    ) -> VectorQuantizer:
        """Train the codebook on ``x [N, D]`` with importance ``weights [N]`` (default 1).

        As c3dgs, the weights are divided by their maximum. ``progress(step, error)`` is called
        after every step when given.
        """
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"VQ needs a non-empty [N, D] feature matrix, got {tuple(x.shape)}")
        x = x.detach()
        n = x.shape[0]
        w = torch.ones(n, dtype=x.dtype) if weights is None else weights.detach().to(x.dtype)
        if w.shape != (n,):
            raise ValueError(f"weights {tuple(w.shape)} do not match {n} features")
        w = w / w.max() if float(w.max()) > 0 else torch.ones_like(w)
        self.initialize(x, w)
        if self.history_every:
            self._record(0)
        for step in range(1, self.steps + 1):
            b = torch.randint(0, n, (self.batch_size,), generator=self._gen)
            xb, wb = x[b], w[b]
            err = self.ema_step(xb, wb)
            self.errors.append(err)
            self.reseeded.append(self.reseed(xb) if self.reseed_dead else 0)
            if self.history_every and step % self.history_every == 0:
                self._record(step)
            if progress is not None:
                progress(step, err)
        if self.final_lloyd:
            self._lloyd(x, w)
        return self

    def _record(self, step: int) -> None:
        self.history.append(self.centroids.clone())
        self.history_steps.append(step)

    def history_tensor(self) -> torch.Tensor:
        """The recorded snapshots stacked: ``[F, K, D]`` (``F = len(history)``, may be 0)."""
        if not self.history:
            d = 0 if self.centroids is None else self.centroids.shape[1]
            return torch.zeros(0, self.k, d)
        return torch.stack(self.history)

    def cluster_sizes(self, x: torch.Tensor) -> torch.Tensor:
        """How many rows of ``x [N, D]`` the final codebook assigns to each centroid.  # [K]"""
        return codebook_usage(self.assign(x), self.k)

    def _lloyd(self, x: torch.Tensor, w: torch.Tensor) -> None:
        idx, _ = nearest_centroid(x, self.centroids, self.max_chunk_bytes)
        w64 = w.double().clamp_min(1e-300)  # zero weights must not empty a cluster's mean
        mass = torch.zeros(self.k, dtype=torch.float64).index_add_(0, idx, w64)
        moment = torch.zeros(self.k, x.shape[1], dtype=torch.float64)
        moment.index_add_(0, idx, w64[:, None] * x.double())
        used = mass > 0
        c = self.centroids.double()
        c[used] = moment[used] / mass[used][:, None]
        if self.normalize is not None:
            c = self.normalize(c)
        self.centroids = c.to(x.dtype)

    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest centroid of every row of ``x [N, D]``.  # [N] int64"""
        assert self.centroids is not None, "fit() first"
        return nearest_centroid(x.detach(), self.centroids, self.max_chunk_bytes)[0]

    def quantization_error(self, x: torch.Tensor) -> float:
        """Mean squared distance of ``x [N, D]`` to its nearest centroid."""
        return float(nearest_centroid(x.detach(), self.centroids, self.max_chunk_bytes)[1].mean())


def codebook_usage(assignment: torch.Tensor, k: int) -> torch.Tensor:
    """Number of vectors assigned to each of ``k`` centroids (``assignment [N]`` int).  # [K]

    Centroids with a count of 0 are *dead*: they cost a table row and represent nothing.
    """
    if assignment.numel() and (int(assignment.min()) < 0 or int(assignment.max()) >= k):
        raise ValueError(f"assignment out of range for a codebook of {k} centroids")
    return torch.bincount(assignment.to(torch.int64).flatten(), minlength=k)


# --------------------------------------------------------------------------- keep split / tables
def split_keep(importance: torch.Tensor, threshold: float) -> torch.Tensor:
    """Mask of the Gaussians kept exact: ``importance > threshold`` (c3dgs "include").  # [N] bool"""
    return importance > threshold


def join_table(
    centroids: torch.Tensor,
    kept: torch.Tensor,
    assignment: torch.Tensor,
    keep_mask: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The joined ``[codebook ; kept originals]`` table and one index per Gaussian (c3dgs a.5).

    Clustered Gaussians point into ``0..K-1``; kept ones to ``K + rank among the kept``.

    Args:
        centroids: ``[K, D]`` (``K`` may be 0 when every Gaussian is kept).
        kept: ``[n_keep, D]`` exact features of the kept Gaussians, in their original order.
        assignment: ``[N - n_keep]`` centroid index of every clustered Gaussian, in order.
        keep_mask: ``[N]`` bool.
    Returns:
        ``(table [K + n_keep, D], indices [N] int64)``.
    """
    n_keep = int(keep_mask.sum())
    if kept.shape[0] != n_keep or assignment.shape[0] != keep_mask.numel() - n_keep:
        raise ValueError(
            f"join_table: {kept.shape[0]} kept rows / {assignment.shape[0]} assignments do not "
            f"match a mask with {n_keep} of {keep_mask.numel()} kept"
        )
    k = centroids.shape[0]
    indices = torch.empty(keep_mask.numel(), dtype=torch.int64)
    indices[~keep_mask] = assignment.to(torch.int64)
    indices[keep_mask] = k + torch.arange(n_keep, dtype=torch.int64)
    return torch.cat([centroids, kept.to(centroids.dtype)], dim=0), indices


def quantize_features(
    features: torch.Tensor,
    importance: torch.Tensor,
    keep_threshold: float,
    vq: VectorQuantizer,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split, cluster and join: the whole sensitivity-aware VQ of one attribute (c3dgs a.5).

    Gaussians with ``importance > keep_threshold`` keep their exact features; the others are
    clustered by ``vq`` with weights ``importance`` (scaled to a maximum of 1 inside ``fit``). If
    fewer Gaussians are clustered than ``vq.k``, the codebook shrinks to their number (a codebook
    row nobody uses would only cost bits); if none is clustered it is empty.

    Args:
        features: ``[N, D]``; importance: ``[N]``.
    Returns:
        ``(table [K' + n_keep, D], indices [N] int64, keep_mask [N] bool)``.
    """
    keep_mask = split_keep(importance, keep_threshold)
    clustered = features[~keep_mask].detach()
    if clustered.shape[0] == 0:
        centroids = features.new_zeros(0, features.shape[1])
        assignment = torch.zeros(0, dtype=torch.int64)
    else:
        if clustered.shape[0] < vq.k:
            vq.k = clustered.shape[0]
        vq.fit(clustered, importance[~keep_mask], progress=progress)
        centroids = vq.centroids
        assignment = vq.assign(clustered)
    table, indices = join_table(centroids, features[keep_mask].detach(), assignment, keep_mask)
    return table, indices, keep_mask
