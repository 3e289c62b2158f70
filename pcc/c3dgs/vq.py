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

``algorithm="lloyd"`` (not the default: the presets keep the c3dgs update) replaces the EMA steps
by :func:`pcc.c3dgs.kmeans.kmeans_lloyd` (weighted Lloyd with greedy k-means++ seeding; see that
module). The building blocks live in :mod:`pcc.c3dgs.kmeans` (nearest centroid, Lloyd) and
:mod:`pcc.c3dgs.kmeans_init` (seeding); this module re-exports them under their old names.

The "keep exact above threshold" split and the joined ``[codebook ; kept]`` table with one index per
Gaussian are :func:`split_keep` and :func:`join_table`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from pcc.c3dgs.kmeans import (  # noqa: F401 - re-exported (their old address)
    kmeans_lloyd,
    lloyd_update,
    nearest_centroid,
    nearest_centroid_reference,
    weighted_means_reference,
)
from pcc.c3dgs.kmeans_init import (  # noqa: F401 - re-exported
    init_kmeans_pp,
    init_kmeans_pp_greedy,
    init_random_samples,
    init_uniform,
)
from pcc.c3dgs.vq_tables import join_table, split_keep

INITS = ("uniform", "kmeans++", "random-samples")
ALGORITHMS = ("ema", "lloyd")


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
        max_chunk_bytes: memory bound of one distance block (16 MiB: below glibc malloc's 32 MiB
            reuse limit, so the block is recycled instead of page-faulted in anew every step).
        seed: seed of the private random generator.
        algorithm: ``"ema"`` (default: the c3dgs update above; ``steps``, ``batch_size``,
            ``decay``, ``reseed_dead`` and ``legacy_update`` apply) or ``"lloyd"``
            (:func:`kmeans_lloyd`: seeds from ``init``, Lloyd on a sample then on all points,
            empty clusters re-seeded; ``max_iter``, ``tol``, ``init_pool`` apply; ``errors`` then
            holds the weighted MSE over all points per full iteration).
        max_iter: ``"lloyd"`` only: most full Lloyd iterations.
        tol: ``"lloyd"`` only: stop when the weighted MSE improves by less than this fraction.
        init_pool: candidate pool of the k-means++ seeding (None: 16384 for ``"ema"``, 8192
            and greedy k-means++ (:func:`init_kmeans_pp_greedy`) for ``"lloyd"``).
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
    max_chunk_bytes: int = 16 << 20
    seed: int = 0
    algorithm: str = "ema"
    max_iter: int = 50
    tol: float = 1e-3
    init_pool: int | None = None
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
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}; choose one of {ALGORITHMS}")
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
            lloyd = self.algorithm == "lloyd"
            pool = self.init_pool or (8192 if lloyd else 16384)
            seeding = init_kmeans_pp_greedy if lloyd else init_kmeans_pp
            c = seeding(x, self.k, self._gen, weights, max_pool=pool)
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
        if self.algorithm == "lloyd":
            return self._fit_lloyd(x, w, progress)
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

    def _fit_lloyd(
        self, x: torch.Tensor, w: torch.Tensor, progress: Callable[[int, float], None] | None
    ) -> VectorQuantizer:
        if self.history_every:
            self._record(0)
        c, errors, moved = kmeans_lloyd(
            x,
            self.k,
            w,
            generator=self._gen,
            max_iter=self.max_iter,
            tol=self.tol,
            normalize=self.normalize,
            max_chunk_bytes=self.max_chunk_bytes,
            init=self.centroids,
        )
        self.centroids = c
        self.errors = errors
        self.n_reseeded = moved
        if self.history_every:
            self._record(len(errors))
        if progress is not None:
            for i, err in enumerate(errors, start=1):
                progress(i, err)
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
