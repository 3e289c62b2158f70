"""The octree coders' coding order, neighbour contexts and adaptive probability model.

Used by the lossless octree coder (:mod:`pcc.pointcloud.octree_codec`, probabilities from
:class:`ChainModel`) and by the learned occupancy coder (:mod:`pcc.pointcloud.occupancy_codec`,
whose network also reads the chain model's counts): both walk the octree with
:func:`walk_octree`, so the order and the contexts exist once.

**Coding order (two groups x eight passes per level).** The nodes of a level are split by the
parity of ``x + y + z`` into two checkerboard groups. Group 0 is coded first, then group 1; inside
a group, pass ``k = 0..7`` codes child ``k`` of every node of the group. When child ``k`` of node
``n`` is coded, the decoder already knows (a) which nodes of the level exist (the previous level),
(b) all children of the nodes in earlier groups, (c) children ``< k`` of nodes in the same group.
Face neighbours of a node are always in the other group, so group 1 sees the complete child
occupancy of its six face neighbours. This is the same idea as the coded-neighbour contexts of
MPEG G-PCC (Schwarz et al., IEEE JETCAS 2019) and the grouped coding of SparsePCGC (Wang et al.,
TPAMI 2022), arranged so that one numpy operation handles a whole group.

**Context.** For the child voxel being coded we look at its 26 neighbours and the 6 face
neighbours at distance 2, all *at the child resolution* (they all lie in the 27 parent cells
around the node). Each is in one of three states: 0 = known empty (its parent cell is empty, or it was
decoded as empty), 1 = known occupied, 2 = not decoded yet (its parent cell is occupied). The
27 parent cells around the node are found once per level with ``searchsorted`` on Morton codes.

**Probability model (hierarchical counts).** Six context models of growing detail are chained:

====  =========================================================  ===================
 m    context                                                    table
====  =========================================================  ===================
 0    child index k, group                                       16, dense
 1    m0 + the 6 face-neighbour states (3^6)                     11 664, dense
 2    m1 + #occupied / #undecoded edge neighbours                408 240, dense
 3    m1 + the 12 edge-neighbour states (3^12)                   2^21, hashed
 4    m3 + the 8 corner-neighbour states (3^8)                   2^21, hashed
 5    m4 + the 6 distance-2 face-neighbour states (3^6)          2^21, hashed
====  =========================================================  ===================

Each model keeps the counts ``n`` (symbols seen) and ``n1`` (ones) of every context, and the
probability is a Dirichlet smoothing down the chain (a recursive Bayesian back-off, as in
context-tree weighting / PPM blending): ``p_0 = 1/2``, ``p_m = (n1_m + beta p_{m-1}) / (n_m + beta)``
with ``beta = 4``. A rare detailed context thus falls back to its coarser parent, a frequent one
speaks for itself. Counts are integers and the arithmetic is IEEE-exact elementwise numpy, so the
decoder reproduces every probability bit-exactly on any machine.

**Adaptation in chunks.** Counts are updated after every chunk of ``CHUNK`` = 512 coded symbols,
so a whole chunk is coded with one vectorised probability computation and one constriction call,
while the statistics still follow the cloud. Smaller chunks adapt faster but cost Python
overhead; measured on the canonical bunny (estimated bpp): 1024 -> 0.591, 512 -> 0.587, and in an
earlier model 256 / 1024 / 16 384 -> -1 % / 0 / +2.5 %. The last child of a node whose first
seven children are empty is certainly occupied and is not coded.

Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import numpy as np

from pcc.errors import BitstreamError
from pcc.pointcloud.octree import child_codes, morton_decode, morton_encode

__all__ = ["CHUNK", "ChainModel", "neighbour_table", "pass_contexts", "walk_octree"]

CHUNK = 512
BETA = 4.0
HASH_BITS = 21

# The 27 parent-level offsets, index j = 9 (ox + 1) + 3 (oy + 1) + (oz + 1); 13 is the node itself.
_PARENT_OFFSETS = np.array(
    [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)], dtype=np.int64
)
_FACE = [d for d in _PARENT_OFFSETS if np.abs(d).sum() == 1]
_EDGE = [d for d in _PARENT_OFFSETS if np.abs(d).sum() == 2]
_CORNER = [d for d in _PARENT_OFFSETS if np.abs(d).sum() == 3]
_FAR = [2 * d for d in _FACE]  # the 6 face neighbours at distance 2 (still inside the 27 cells)


def _neighbour_plan(group: int, k: int, offsets: list[np.ndarray]) -> list[tuple[int, int, bool]]:
    """For child ``k`` of a node in ``group``: ``(parent cell j, child index r, decoded?)`` per offset.

    The child-level neighbour ``p + d`` (``p`` the child's position in its node) lies in parent
    cell ``floor((p + d) / 2)`` at child index ``(p + d) mod 2``. It has been decoded if its
    parent cell is in the earlier group, or in the same group with a smaller child index.
    """
    p = np.array([(k >> 2) & 1, (k >> 1) & 1, k & 1])
    plan = []
    for d in offsets:
        q = p + d
        o, r = q >> 1, q & 1
        j = int(9 * (o[0] + 1) + 3 * (o[1] + 1) + (o[2] + 1))
        ri = int(4 * r[0] + 2 * r[1] + r[2])
        group_nb = group ^ (int(np.abs(o).sum()) & 1)
        decoded = group_nb < group or (group_nb == group and ri < k)
        plan.append((j, ri, decoded))
    return plan


_PLANS = {
    (g, k): tuple(_neighbour_plan(g, k, offs) for offs in (_FACE, _EDGE, _CORNER, _FAR))
    for g in (0, 1)
    for k in range(8)
}


def neighbour_table(codes: np.ndarray, level: int) -> np.ndarray:
    """Index of each of the 27 cells around every node (-1 if empty).

    ``codes``: sorted Morton codes int64 ``[N]`` of the nodes of ``level``.
    Returns int64 ``[N, 27]``, column ``j = 9 (ox + 1) + 3 (oy + 1) + (oz + 1)``.
    """
    n = codes.size
    table = np.full((n, 27), -1, dtype=np.int64)
    if n == 0:
        return table
    coords = morton_decode(codes)  # [N, 3]
    side = 1 << level
    table[:, 13] = np.arange(n)
    for j in range(13):  # offsets 26 - j are the mirror images: b = a + o  <=>  a = b - o
        moved = coords + _PARENT_OFFSETS[j]
        inside = np.flatnonzero(np.all((moved >= 0) & (moved < side), axis=1))
        query = morton_encode(moved[inside])
        pos = np.minimum(np.searchsorted(codes, query), n - 1)
        hit = codes[pos] == query
        table[inside[hit], j] = pos[hit]
        table[pos[hit], 26 - j] = inside[hit]
    return table


def _states(nbr: np.ndarray, occ_known: np.ndarray, plan) -> tuple[np.ndarray, np.ndarray]:
    """Base-3 code and per-state counts of a list of neighbours (see the module docstring).

    ``nbr`` int64 ``[n, 27]`` (rows of the nodes coded now), ``occ_known`` int64 ``[N]``.
    ``occ_known`` ends with a zero sentinel so that an empty cell (index -1) reads as empty.
    Returns ``(code int64 [n], #occupied int64 [n], #undecoded int64 [n])``.
    """
    n = nbr.shape[0]
    code = np.zeros(n, np.int64)
    n_occupied = np.zeros(n, np.int64)
    n_undecoded = np.zeros(n, np.int64)
    for j, ri, decoded in plan:
        cell = nbr[:, j]
        if decoded:
            state = (occ_known[cell] >> ri) & 1  # cell -1 reads the zero sentinel
            n_occupied += state
        else:
            state = (cell >= 0).astype(np.int64) * 2
            n_undecoded += state >> 1
        code = code * 3 + state
    return code, n_occupied, n_undecoded


def _hash(keys: np.ndarray) -> np.ndarray:
    """Fibonacci hashing of int64 keys into ``[0, 2^HASH_BITS)`` (wrapping uint64 product)."""
    product = keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return (product >> np.uint64(64 - HASH_BITS)).astype(np.int64)


def pass_contexts(nbr: np.ndarray, occ_known: np.ndarray, group: int, k: int) -> list[np.ndarray]:
    """Table indices of the six chained context models for child ``k`` of nodes in ``group``.

    ``nbr`` int64 ``[n, 27]`` neighbour rows of those nodes; ``occ_known`` int64 ``[N]`` the
    occupancy bits decoded so far for the whole level plus a zero sentinel (``[N + 1]``).
    Returns six int64 arrays ``[n]``.
    """
    face_plan, edge_plan, corner_plan, far_plan = _PLANS[(group, k)]
    face, _, _ = _states(nbr, occ_known, face_plan)
    edge, edge_occupied, edge_undecoded = _states(nbr, occ_known, edge_plan)
    corner, _, _ = _states(nbr, occ_known, corner_plan)
    far, _, _ = _states(nbr, occ_known, far_plan)
    m0 = np.full(nbr.shape[0], 2 * k + group, np.int64)
    m1 = m0 * 729 + face
    m2 = (m1 * 7 + np.minimum(edge_occupied, 6)) * 5 + np.minimum(edge_undecoded, 4)
    m3 = m1 * 531441 + edge
    m4 = m3 * 6561 + corner
    m5 = m4 * 729 + far  # < 16 * 3^32 < 2^63
    return [m0, m1, m2, _hash(m3), _hash(m4), _hash(m5)]


_TABLE_SIZES = (16, 16 * 729, 16 * 729 * 35, 1 << HASH_BITS, 1 << HASH_BITS, 1 << HASH_BITS)


class ChainModel:
    """Adaptive binary probabilities from six chained count tables (see the module docstring)."""

    def __init__(self, beta: float = BETA):
        self.beta = float(beta)
        self.n = [np.zeros(size, np.int32) for size in _TABLE_SIZES]
        self.n1 = [np.zeros(size, np.int32) for size in _TABLE_SIZES]

    def probability(self, contexts: list[np.ndarray]) -> np.ndarray:
        """P(bit = 1) float64 ``[n]`` for symbols with the given context indices (6 x ``[n]``)."""
        p = np.full(contexts[0].shape, 0.5)
        for idx, n, n1 in zip(contexts, self.n, self.n1):
            p = (n1[idx] + self.beta * p) / (n[idx] + self.beta)
        return p

    def update(self, contexts: list[np.ndarray], bits: np.ndarray) -> None:
        """Count the coded ``bits`` ``[n]`` in their contexts."""
        ones = np.ones(
            bits.shape, np.int32
        )  # add.at is fast with a typed array, slow with a scalar
        bits = bits.astype(np.int32)
        for idx, n, n1 in zip(contexts, self.n, self.n1):
            np.add.at(n, idx, ones)
            np.add.at(n1, idx, bits)


def walk_octree(
    depth: int,
    n_voxels: int,
    code_chunk,
    *,
    chunk: int = CHUNK,
    level_setup=None,
    pass_setup=None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The coding order of every octree coder in pcc, written once.

    Level by level from the root: the cells of each parity group (``(x + y + z) & 1``), child
    bit ``k = 0..7`` for all of them at a time (a *pass*), in chunks of ``chunk`` symbols. The
    last child of a node whose first seven are empty is certainly occupied and not coded. For
    each chunk ``code_chunk(model, ctx, level, nodes, k, pass_state, start) -> bits`` codes (or
    decodes) the bits of child ``k`` of ``nodes``; ``model`` is the adaptive
    :class:`ChainModel`, ``ctx`` the chunk's rows of the pass's hashed contexts
    (:func:`pass_contexts`), updated with the returned bits afterwards; ``start`` is the chunk's
    offset within the pass's coded symbols. Coder-specific features hook in through
    ``level_setup(level, codes, nbr, levels) -> level_state`` (once per level, ``levels`` the
    occupancy bytes so far) and ``pass_setup(level, nodes, rows, coded, occ, group, k,
    level_state) -> pass_state`` (once per pass). Encoder and decoder both walk this, so they
    see identical contexts. Returns the Morton codes of the voxels and the occupancy bytes of
    every level.
    """
    model = ChainModel()
    codes = np.zeros(1 if n_voxels else 0, np.int64)
    levels = []
    for level in range(depth):
        n = codes.size
        occ = np.zeros(n + 1, np.int64)  # last entry: sentinel read by empty cells (-1)
        nbr = neighbour_table(codes, level)  # [n, 27]
        level_state = None if level_setup is None else level_setup(level, codes, nbr, levels)
        group_of = morton_decode(codes).sum(axis=1) & 1
        for group in (0, 1):
            nodes = np.flatnonzero(group_of == group)
            if nodes.size == 0:
                continue
            rows = nbr[nodes]
            for k in range(8):
                contexts = pass_contexts(rows, occ, group, k)
                bits = np.zeros(nodes.size, np.int64)
                forced = (k == 7) & ((occ[nodes] & 0x7F) == 0)
                bits[forced] = 1
                coded = np.flatnonzero(~forced)
                pass_state = None
                if pass_setup is not None:
                    pass_state = pass_setup(level, nodes, rows, coded, occ, group, k, level_state)
                for start in range(0, coded.size, chunk):
                    part = coded[start : start + chunk]
                    ctx = [c[part] for c in contexts]
                    b = code_chunk(model, ctx, level, nodes[part], k, pass_state, start)
                    b = np.asarray(b, dtype=np.int64)
                    model.update(ctx, b)
                    bits[part] = b
                occ[nodes] |= bits << k
        levels.append(occ[:n].astype(np.uint8))
        codes = child_codes(codes, levels[-1])
        if codes.size > n_voxels:
            raise BitstreamError(
                None,
                f"octree level {level + 1} has {codes.size} nodes, more than {n_voxels} voxels",
            )
    return codes, levels
