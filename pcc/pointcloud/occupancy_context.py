"""What the learned occupancy coder sees when it codes one child bit: its context features.

The learned coder (:mod:`pcc.pointcloud.occupancy_codec`) codes the octree in the same order as
the context octree coder (:mod:`pcc.pointcloud.octree_codec`): per level, two checkerboard groups
(parity of ``x + y + z``), and inside a group eight passes, pass ``k`` coding child ``k`` of every
node of the group. Every feature below is known to the decoder at that moment, so the decoder
recomputes it exactly. For child ``k`` of a node the features are (all small integers):

* **child-level window** (248): the 124 child-resolution voxels within ``[-2, 2]^3`` of the child
  (they all lie in the 27 parent cells around the node), each as two flags ``occupied`` and
  ``not decoded yet`` (a voxel in an empty parent cell, or decoded as empty, has both 0);
* **parent-level shell** (98): whether each parent-level cell at Chebyshev distance 2 from the
  node exists (the coarser context the previous level gives; the inner 27 are in the window);
* **position in the coding order** (16 + 5): one-hot ``(group, k)``; one-hot levels above the
  leaves (0, 1, 2, 3, >= 4);
* **adaptive statistics** (12): the six chained count models of the octree coder
  (:class:`pcc.pointcloud.octree_context.ChainModel`, updated after every chunk of coded symbols)
  give, per model, the back-off probability as a quantised logit ``round(8 logit p)`` in
  ``[-64, 64]`` and the context's count as ``min(round(2 log2(1 + n)), 40)``. These let the
  network adapt to the cloud being coded (and mix the count models with what it has learned
  offline, as the logistic mixing of PAQ-style coders does).

The first 367 features depend only on the pass (computed once per pass, vectorised over the
nodes); the last 12 on the counts, recomputed per chunk. Taught in
``notebooks/17_learned_lossless.ipynb``.
"""

from __future__ import annotations

import numpy as np

from pcc.pointcloud.octree import morton_decode, morton_encode
from pcc.pointcloud.octree_context import ChainModel, walk_octree

WINDOW = [
    (a, b, c)
    for a in range(-2, 3)
    for b in range(-2, 3)
    for c in range(-2, 3)
    if (a, b, c) != (0, 0, 0)
]  # 124 child-level offsets
SHELL = np.array(
    [
        (a, b, c)
        for a in range(-2, 3)
        for b in range(-2, 3)
        for c in range(-2, 3)
        if max(abs(a), abs(b), abs(c)) == 2
    ],
    dtype=np.int64,
)  # 98 parent-level offsets
N_WINDOW = 2 * len(WINDOW)
N_SHELL = len(SHELL)
N_ORDER = 16
N_LEVEL = 5
N_STATIC = N_WINDOW + N_SHELL + N_ORDER + N_LEVEL  # 367
N_DYNAMIC = 12
N_FEATURES = N_STATIC + N_DYNAMIC  # 379


def _window_plan(group: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For child ``k`` of a node in ``group``: per window offset the parent cell ``j`` (0..26),
    the child index in it and whether it is decoded at that point (as the octree coder's plan)."""
    p = np.array([(k >> 2) & 1, (k >> 1) & 1, k & 1])
    cells, kids, decoded = [], [], []
    for d in WINDOW:
        q = p + np.array(d)
        o, r = q >> 1, q & 1
        j = int(9 * (o[0] + 1) + 3 * (o[1] + 1) + (o[2] + 1))
        ri = int(4 * r[0] + 2 * r[1] + r[2])
        group_nb = group ^ (int(np.abs(o).sum()) & 1)
        cells.append(j)
        kids.append(ri)
        decoded.append(group_nb < group or (group_nb == group and ri < k))
    return np.array(cells), np.array(kids), np.array(decoded)


_WINDOW_PLANS = {(g, k): _window_plan(g, k) for g in (0, 1) for k in range(8)}


def shell_table(codes: np.ndarray, level: int) -> np.ndarray:
    """Existence of the 98 parent-level cells at Chebyshev distance 2 of every node.

    ``codes``: sorted Morton codes int64 ``[N]`` of the nodes of ``level``. Returns uint8 ``[N, 98]``.
    """
    n = codes.size
    out = np.zeros((n, N_SHELL), np.uint8)
    if n == 0:
        return out
    coords = morton_decode(codes)  # [N, 3]
    side = 1 << level
    for i, d in enumerate(SHELL):
        moved = coords + d
        inside = np.flatnonzero(np.all((moved >= 0) & (moved < side), axis=1))
        if inside.size == 0:
            continue
        query = morton_encode(moved[inside])
        pos = np.minimum(np.searchsorted(codes, query), n - 1)
        out[inside, i] = codes[pos] == query
    return out


def _shell_plan() -> tuple[np.ndarray, np.ndarray]:
    """For a node with child index ``kk`` in its parent: per shell offset the parent-level cell
    ``j`` (0..26 around the parent) holding the target and the target's child index in it."""
    cells = np.zeros((8, N_SHELL), np.int64)
    kids = np.zeros((8, N_SHELL), np.uint8)
    for kk in range(8):
        low = np.array([(kk >> 2) & 1, (kk >> 1) & 1, kk & 1])
        t = low + SHELL  # [98, 3] target relative to twice the parent's position
        o, r = t >> 1, t & 1
        cells[kk] = 9 * (o[:, 0] + 1) + 3 * (o[:, 1] + 1) + (o[:, 2] + 1)
        kids[kk] = 4 * r[:, 0] + 2 * r[:, 1] + r[:, 2]
    return cells, kids


_SHELL_CELLS, _SHELL_KIDS = _shell_plan()


def shell_from_parents(
    codes: np.ndarray, parent_nbr: np.ndarray, parent_occ: np.ndarray
) -> np.ndarray:
    """:func:`shell_table` from the previous level (gathers only, no search).

    A cell at Chebyshev distance <= 2 of a node lies in one of the 27 cells around the node's
    parent, so it exists iff that parent-level cell's occupancy byte has its bit.
    ``codes`` int64 ``[N]`` (children of the parents, in order), ``parent_nbr`` int64 ``[P, 27]``,
    ``parent_occ`` uint8 ``[P]``. Returns uint8 ``[N, 98]``.
    """
    counts = np.unpackbits(parent_occ[:, None], axis=1).sum(axis=1, dtype=np.int64)
    parent = np.repeat(np.arange(parent_occ.size), counts)  # [N]
    kk = codes & 7
    cells = parent_nbr[parent[:, None], _SHELL_CELLS[kk]]  # [N, 98], -1 outside / empty
    occ = np.concatenate([parent_occ, np.zeros(1, np.uint8)])  # sentinel for -1
    return (occ[cells] >> _SHELL_KIDS[kk]) & 1


def static_features(
    rows: np.ndarray,
    shell: np.ndarray,
    occ: np.ndarray,
    group: int,
    k: int,
    levels_above_leaves: int,
) -> np.ndarray:
    """The pass-dependent features of child ``k`` of the nodes coded now.

    ``rows`` int64 ``[n, 27]`` their neighbour tables (-1 = empty cell), ``shell`` uint8
    ``[n, 98]``, ``occ`` int64 ``[N + 1]`` the level's bits decoded so far plus a zero sentinel.
    Returns uint8 ``[n, N_STATIC]``.
    """
    n = rows.shape[0]
    out = np.zeros((n, N_STATIC), np.uint8)
    cells, kids, decoded = _WINDOW_PLANS[(group, k)]
    known = occ.astype(np.uint8)[rows][:, cells]  # [n, 124] bytes of the cells; -1 -> sentinel
    out[:, 0:N_WINDOW:2] = ((known >> kids.astype(np.uint8)) & 1) * decoded.astype(np.uint8)
    out[:, 1:N_WINDOW:2] = (rows >= 0)[:, cells] & ~decoded
    out[:, N_WINDOW : N_WINDOW + N_SHELL] = shell
    out[:, N_WINDOW + N_SHELL + 2 * k + group] = 1
    out[:, N_WINDOW + N_SHELL + N_ORDER + min(levels_above_leaves, N_LEVEL - 1)] = 1
    return out


def static_features_reference(
    rows: np.ndarray,
    shell: np.ndarray,
    occ: np.ndarray,
    group: int,
    k: int,
    levels_above_leaves: int,
) -> np.ndarray:
    """Plain per-offset version of :func:`static_features` (the tests compare the two)."""
    n = rows.shape[0]
    out = np.zeros((n, N_STATIC), np.uint8)
    cells, kids, decoded = _WINDOW_PLANS[(group, k)]
    for i, (j, ri, dec) in enumerate(zip(cells, kids, decoded)):
        cell = rows[:, j]
        if dec:
            out[:, 2 * i] = (occ[cell] >> ri) & 1
        else:
            out[:, 2 * i + 1] = cell >= 0
    out[:, N_WINDOW : N_WINDOW + N_SHELL] = shell
    out[:, N_WINDOW + N_SHELL + 2 * k + group] = 1
    out[:, N_WINDOW + N_SHELL + N_ORDER + min(levels_above_leaves, N_LEVEL - 1)] = 1
    return out


def dynamic_features(model: ChainModel, contexts: list[np.ndarray]) -> np.ndarray:
    """Quantised back-off logits and counts of the six chained models: int64 ``[n, 12]``.

    Elementwise IEEE arithmetic only, so encoder and decoder get the same integers.
    """
    n = contexts[0].shape[0]
    out = np.zeros((n, N_DYNAMIC), np.int64)
    p = np.full(n, 0.5)
    for m, (idx, cnt, cnt1) in enumerate(zip(contexts, model.n, model.n1)):
        total = cnt[idx]
        p = (cnt1[idx] + model.beta * p) / (total + model.beta)
        with np.errstate(divide="ignore"):  # p may round to 0 or 1: +-inf is clipped below
            logit = np.log(p) - np.log1p(-p)
        out[:, 2 * m] = np.clip(np.floor(8.0 * logit + 0.5), -64, 64)
        out[:, 2 * m + 1] = np.minimum(np.floor(2.0 * np.log2(1.0 + total) + 0.5), 40)
    return out


def traverse(depth: int, n_voxels: int, code_chunk, chunk: int = 512, prepare=None):
    """Walk the octree in coding order; ``code_chunk(level, nodes, k, static, dynamic) -> bits``.

    ``static`` uint8 ``[n, N_STATIC]`` and ``dynamic`` int64 ``[n, N_DYNAMIC]`` are the features
    of the ``n <= chunk`` symbols coded by the call (child ``k`` of ``nodes``). With
    ``prepare``, ``static`` is replaced by the rows of ``prepare(static of the whole pass)``
    (e.g. a network's first layer, computed once per pass). Shared by the
    encoder, the decoder and the training-data collector, so all three see the same features.
    The order is the octree coder's (:func:`pcc.pointcloud.octree_context.walk_octree`); this adds
    the parent-level shell (per level) and the static features (per pass).
    Returns the Morton codes of the voxels and the occupancy bytes of every level.
    """
    prev_nbr = [np.zeros((0, 27), np.int64)]  # neighbour table of the previous level

    def level_setup(level, codes, nbr, levels):
        if level == 0:
            shell = np.zeros((codes.size, N_SHELL), np.uint8)
        else:
            shell = shell_from_parents(codes, prev_nbr[0], levels[-1])
        prev_nbr[0] = nbr
        return shell  # [n, N_SHELL]

    def pass_setup(level, nodes, rows, coded, occ, group, k, shell):
        static = static_features(rows[coded], shell[nodes[coded]], occ, group, k, depth - 1 - level)
        return static if prepare is None else prepare(static)

    def code(model, ctx, level, nodes, k, static, start):
        dyn = dynamic_features(model, ctx)
        return code_chunk(level, nodes, k, static[start : start + chunk], dyn)

    return walk_octree(
        depth, n_voxels, code, chunk=chunk, level_setup=level_setup, pass_setup=pass_setup
    )
