"""Attention entropy model: windowed attention over *already decoded* latent positions +
hyperprior.

Quantisation is anchored on the hyperprior as in ``pcc.codec.entropy.context``: y_hat = a + r with
the anchor a from h_s(z_hat) and the integer residual r = round(y - a); the attention refines the
residual's pmf. For position p (raster order over D, H, W), the query comes from the hyperprior
features psi_p (which the decoder has before decoding y); keys and values come from the decoded
residuals r_q of the positions q in a (2w+1)^3 window around p that precede p in raster order,
plus one learned "null" key/value so that the first position has something to attend to; a
learned bias per head and window offset tells the attention where a neighbour sits. L blocks of
(attention, MLP) with pre-LayerNorm refine the query, a linear head (zero at the start, so a fresh
model is its hyperprior) gives a mean offset and a scale correction for all C channels at p.
This is the causal counterpart of DeepCompress V2's attention model, which attended to y itself
(the decoder does not have y: an information leak, ``research/pc_codec.md`` a.5) and never used
its windowed attention class. Windowing follows the local attention of Qian et al. 2022
("Entroformer"), restricted to the causal half-window.

Training evaluates all positions at once with gathered windows (memory O(P * T), T = window
taps); ``dense_attention`` is the O(P^2) full masked reference it is tested against and
benchmarked against (``pcc/bench/bench_entropy.py``). Coding is serial with the same
per-position function on both sides (see ``pcc.codec.entropy.context``).

Taught in ``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from pcc.codec.entropy.context import (
    AnchoredContextModel,
    causal_offsets,
    raster_positions,
    refine,
    serial_buffer,
    serial_code,
    spatial_rows,
    zero_last,
)
from pcc.codec.entropy.hyperprior import HyperpriorEntropyModel


def neighbour_table(spatial: tuple[int, ...], offsets: torch.Tensor):
    """Window neighbours of every raster position -> (index int64 [P, T], valid bool [P, T]).

    index[p, t] is the flat raster index of p + offsets[t] (0 where that falls outside the
    grid, with valid False). Offsets are the causal half-window, so valid neighbours precede p.
    """
    d, h, w = spatial
    grid = torch.stack(
        torch.meshgrid(torch.arange(d), torch.arange(h), torch.arange(w), indexing="ij"), -1
    ).reshape(-1, 1, 3)  # [P, 1, 3]
    nb = grid + offsets.view(1, -1, 3)  # [P, T, 3]
    size = torch.tensor([d, h, w])
    valid = ((nb >= 0) & (nb < size)).all(-1)
    flat = (nb[..., 0] * h + nb[..., 1]) * w + nb[..., 2]
    return torch.where(valid, flat, torch.zeros_like(flat)), valid


def windowed_attention(q, k, v, bias, valid, null_k, null_v):
    """Attention of each query over its own gathered window plus a null key.

    q [B, Q, H, d], k/v [B, Q, T, H, d], bias [Q, T, H] (added to the scores), valid [Q, T],
    null_k/null_v [H, d] -> [B, Q, H, d].
    """
    scale = 1.0 / math.sqrt(q.shape[-1])
    scores = (q[:, :, None] * k).sum(-1) * scale + bias  # [B, Q, T, H]
    scores = scores.masked_fill(~valid[None, :, :, None], float("-inf"))
    null = (q * null_k).sum(-1)[:, :, None] * scale  # [B, Q, 1, H]
    weights = torch.softmax(torch.cat([null, scores], dim=2), dim=2)  # [B, Q, 1 + T, H]
    out = weights[:, :, 0, :, None] * null_v + (weights[:, :, 1:, :, None] * v).sum(2)
    return out  # [B, Q, H, d]


def dense_attention(q, k, v, bias, allowed, null_k, null_v, tap, rel_k, rel_v):
    """Full (P x P) masked attention; the reference of ``windowed_attention``.

    q/k/v [B, P, H, d], bias [P, P, H], allowed bool [P, P] (query row, key column),
    null_k/null_v [H, d], tap int64 [P, P] (window offset of column q seen from row p, any
    value where not allowed), rel_k/rel_v [T, H, d] (per-offset key / value embeddings, added to
    the neighbour's key and value) -> [B, P, H, d]. Memory O(P^2 H), never O(P^2 H d).
    """
    scale = 1.0 / math.sqrt(q.shape[-1])
    b, p, h, _ = q.shape
    scores = torch.einsum("bphd,bqhd->bhpq", q, k)
    q_rel = torch.einsum("bphd,thd->bhpt", q, rel_k)  # [B, H, P, T]
    scores = scores + q_rel.gather(-1, tap.expand(b, h, p, p))
    scores = scores * scale + bias.permute(2, 0, 1)
    scores = scores.masked_fill(~allowed[None, None], float("-inf"))
    null = torch.einsum("bphd,hd->bhp", q, null_k)[..., None] * scale  # [B, H, P, 1]
    weights = torch.softmax(torch.cat([null, scores], dim=-1), dim=-1)
    out = weights[..., :1] * null_v[None, :, None, :] + torch.einsum(
        "bhpq,bqhd->bhpd", weights[..., 1:], v
    )
    per_tap = torch.zeros_like(q_rel).scatter_add_(-1, tap.expand(b, h, p, p), weights[..., 1:])
    out = out + torch.einsum("bhpt,thd->bhpd", per_tap, rel_v)
    return out.permute(0, 2, 1, 3)


class WindowAttention(nn.Module):
    """Multi-head attention from a query stream onto gathered decoded neighbours.

    Where a neighbour sits enters twice: a bias per (window offset, head) on the scores, and a
    learned key/value embedding per window offset added to the neighbour's key and value
    (relative position representations, Shaw et al. 2018), so that what a neighbour contributes
    can depend on its offset, as in a masked convolution.
    """

    def __init__(self, dim: int, heads: int, taps: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        self.heads, self.head_dim = heads, dim // heads
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)
        self.offset_bias = nn.Parameter(torch.zeros(taps, heads))
        self.null_kv = nn.Parameter(torch.randn(2, heads, dim // heads) * 0.02)
        self.offset_kv = nn.Parameter(torch.randn(taps, 2 * dim) * 0.02)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(*x.shape[:-1], self.heads, self.head_dim)

    def forward(self, h, memory, valid):
        """h [B, Q, E], memory [B, Q, T, E] (gathered), valid [Q, T] -> [B, Q, E]."""
        return self.forward_kv(h, self.key_value(memory), valid)

    def forward_kv(self, h, kv, valid):
        """As ``forward`` with the key/value projection of the memory given: kv [B, Q, T, 2E]."""
        q = self._split(self.query(h))
        k, v = (kv + self.offset_kv).chunk(2, dim=-1)  # [B, Q, T, E] each
        bias = self.offset_bias[None].expand(valid.shape[0], -1, -1)
        out = windowed_attention(
            q, self._split(k), self._split(v), bias, valid, self.null_kv[0], self.null_kv[1]
        )
        return self.out(out.reshape(*h.shape))

    def forward_dense(self, h, memory, offset_id, allowed):
        """Reference: h/memory [B, P, E], offset_id/allowed [P, P] (tap, mask) -> [B, P, E]."""
        q = self._split(self.query(h))
        k, v = self.key_value(memory).chunk(2, dim=-1)
        tap = offset_id.clamp(min=0)
        bias = self.offset_bias[tap]  # [P, P, H]
        rel_k, rel_v = (self._split(x) for x in self.offset_kv.chunk(2, dim=-1))  # [T, H, d]
        nulls = self.null_kv[0], self.null_kv[1]
        out = dense_attention(
            q, self._split(k), self._split(v), bias, allowed, *nulls, tap, rel_k, rel_v
        )
        return self.out(out.reshape(*h.shape))


class AttentionBlock(nn.Module):
    """Pre-norm block: h + attention(LN h, LN memory); h + MLP(LN h)."""

    def __init__(self, dim: int, heads: int, taps: int):
        super().__init__()
        self.norm_query = nn.LayerNorm(dim)
        self.norm_memory = nn.LayerNorm(dim)
        self.attention = WindowAttention(dim, heads, taps)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, h, memory, valid):
        """h [B, Q, E], memory [B, Q, T, E], valid [Q, T] -> [B, Q, E]."""
        return self.forward_kv(h, self.memory_kv(memory), valid)

    def memory_kv(self, memory):
        """Key/value projection of memory entries [..., E] -> [..., 2E] (per position, so the
        serial coder computes it once per decoded position and caches it)."""
        return self.attention.key_value(self.norm_memory(memory))

    def forward_kv(self, h, kv, valid):
        """``forward`` with precomputed ``memory_kv``: kv [B, Q, T, 2E]."""
        h = h + self.attention.forward_kv(self.norm_query(h), kv, valid)
        return h + self.mlp(self.norm_mlp(h))

    def forward_dense(self, h, memory, offset_id, allowed):
        """Dense reference of ``forward``: memory [B, P, E]."""
        h = h + self.attention.forward_dense(
            self.norm_query(h), self.norm_memory(memory), offset_id, allowed
        )
        return h + self.mlp(self.norm_mlp(h))


class AttentionEntropyModel(AnchoredContextModel):
    """Hyperprior + causal windowed attention. Options: ``window`` (radius w, default 2),
    ``dim`` (default max(16, 2C) rounded to ``heads``), ``heads`` (4), ``layers`` (2)."""

    name = "attention"
    option_names = HyperpriorEntropyModel.option_names | {"window", "heads", "dim", "layers"}

    def __init__(self, channels: int, **options: Any):
        super().__init__(channels, **options)
        self.window = int(options.get("window", 2))
        heads = int(options.get("heads", 4))
        dim = int(options.get("dim", max(16, 2 * channels)))
        dim = -(-dim // heads) * heads
        self.register_buffer("offsets", causal_offsets(2 * self.window + 1), persistent=False)
        taps = self.offsets.shape[0]
        self.embed = nn.Linear(channels, dim)
        self.query_in = nn.Linear(2 * channels, dim)
        self.blocks = nn.ModuleList(
            [AttentionBlock(dim, heads, taps) for _ in range(int(options.get("layers", 2)))]
        )
        self.head = zero_last(nn.Linear(dim + 2 * channels, 2 * channels))
        self._neighbour_cache: dict[tuple[int, ...], tuple[torch.Tensor, torch.Tensor]] = {}

    def _neighbours(self, spatial: tuple[int, ...]):
        key = tuple(int(s) for s in spatial)
        if key not in self._neighbour_cache:
            self._neighbour_cache[key] = neighbour_table(key, self.offsets.cpu())
        index, valid = self._neighbour_cache[key]
        return index.to(self.offsets.device), valid.to(self.offsets.device)

    def _refined(self, psi: torch.Tensor, raw: torch.Tensor, residual: torch.Tensor):
        """(offset, scale) [B, C, D, H, W] from psi and the residuals in each causal window."""
        b, c = residual.shape[:2]
        spatial = residual.shape[2:]
        index, valid = self._neighbours(spatial)
        memory = self.embed(residual.flatten(2).transpose(1, 2))  # [B, P, E]
        psi_flat = psi.flatten(2).transpose(1, 2)  # [B, P, 2C]
        h = self.query_in(psi_flat)
        for block in self.blocks:
            # key/value of every position once, then each query's window: [B, P, T, 2E]
            h = block.forward_kv(h, block.memory_kv(memory)[:, index], valid)
        return self._to_grid(self.head(torch.cat([h, psi_flat], dim=-1)), raw)

    def _to_grid(self, out: torch.Tensor, raw: torch.Tensor):
        """Head output [B, P, 2C] + raw [B, C, D, H, W] -> (offset, scale) [B, C, D, H, W]."""
        out = out.transpose(1, 2).reshape(raw.shape[0], 2 * raw.shape[1], *raw.shape[2:])
        return refine(raw, out)

    def dense_parameters(self, y_hat: torch.Tensor, side: torch.Tensor):
        """``conditional_parameters`` through full P x P masked attention (the reference)."""
        psi = self.hyper_features(side, y_hat.shape[2:])
        anchor, raw = self.anchors(psi, self.training)
        spatial = y_hat.shape[2:]
        index, valid = self._neighbours(spatial)
        p = index.shape[0]
        allowed = torch.zeros(p, p, dtype=torch.bool)
        offset_id = torch.full((p, p), -1, dtype=torch.int64)
        rows = torch.arange(p)[:, None].expand_as(index)
        allowed[rows[valid], index[valid]] = True
        taps = torch.arange(index.shape[1])[None].expand_as(index)
        offset_id[rows[valid], index[valid]] = taps[valid]
        memory = self.embed((y_hat - anchor).flatten(2).transpose(1, 2))  # [B, P, E]
        psi_flat = psi.flatten(2).transpose(1, 2)
        h = self.query_in(psi_flat)
        for block in self.blocks:
            h = block.forward_dense(h, memory, offset_id, allowed)
        offset, scale = self._to_grid(self.head(torch.cat([h, psi_flat], dim=-1)), raw)
        return anchor + offset, scale

    def decoding_steps(self, shape: tuple[int, int, int, int]) -> torch.Tensor:
        """Raster index of the position, the same for every channel."""
        c, d, h, w = shape
        return torch.arange(d * h * w).view(1, d, h, w).expand(c, d, h, w).clone()

    def _step_function(self, psi: torch.Tensor, spatial: tuple[int, ...]):
        """(buffer [B, C, D, H, W] of residuals, pos) -> (offset, scale) [B, C] at pos.

        Must be called in raster order: the key/value projections of every decoded position
        are computed once, when the next position is asked for, and cached (encoder and
        decoder run this same function, so the cache is identical on both sides).
        """
        index, valid = self._neighbours(spatial)
        _, h, w = spatial
        batch = psi.shape[0]
        dim = self.embed.out_features
        caches = [torch.zeros(batch, index.shape[0], 2 * dim) for _ in self.blocks]  # [B, P, 2E]
        done = [0]  # positions whose key/value are cached
        raw = psi.chunk(2, dim=1)[1]

        def params(buffer: torch.Tensor, pos: tuple[int, int, int]):
            p = (pos[0] * h + pos[1]) * w + pos[2]
            if p > done[0]:
                memory = self.embed(spatial_rows(buffer)[done[0] : p].transpose(0, 1))  # [B, n, E]
                for cache, block in zip(caches, self.blocks, strict=True):
                    cache[:, done[0] : p] = block.memory_kv(memory)
                done[0] = p
            psi_q = psi[:, :, pos[0], pos[1], pos[2]][:, None]  # [B, 1, 2C]
            hidden = self.query_in(psi_q)
            for cache, block in zip(caches, self.blocks, strict=True):
                kv = cache.index_select(1, index[p])[:, None]  # [B, 1, T, 2E]
                hidden = block.forward_kv(hidden, kv, valid[p : p + 1])
            out = self.head(torch.cat([hidden, psi_q], dim=-1))[:, 0]  # [B, 2C]
            return refine(raw[:, :, pos[0], pos[1], pos[2]], out)

        return params

    def serial_parameters(self, y_hat: torch.Tensor, side: torch.Tensor):
        """(mean, scale) [B, C, D, H, W] computed position by position as the coder does."""
        psi = self.hyper_features(side, y_hat.shape[2:])
        anchor, _ = self.anchors(psi, self.training)
        residual = y_hat - anchor
        step = self._step_function(psi, tuple(y_hat.shape[2:]))
        means, scales = torch.zeros_like(y_hat), torch.zeros_like(y_hat)
        for d, h, w in raster_positions(y_hat.shape[2:]):
            offset, scale = step(residual, (d, h, w))
            means[:, :, d, h, w] = anchor[:, :, d, h, w] + offset
            scales[:, :, d, h, w] = scale
        return means, scales

    def _code_y(self, stream: Any, psi: torch.Tensor, dims: tuple[int, ...], y):
        """Serial coding shared by encoder (y given) and decoder (y None) -> y_hat."""
        spatial = tuple(dims[2:])
        anchor, _ = self.anchors(psi, training=False)
        buffer = serial_buffer(dims[0], self.channels, spatial)
        step = self._step_function(psi, spatial)
        serial_code(self.gaussian, stream, step, buffer, raster_positions(spatial), 0, y, anchor)
        return buffer.contiguous() + anchor

    def _encode_y(self, y: torch.Tensor, psi: torch.Tensor, writer: Any) -> torch.Tensor:
        return self._code_y(writer, psi, tuple(y.shape), y)

    def _decode_y(self, reader: Any, psi: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        return self._code_y(reader, psi, tuple(dims), None)
