"""Discretised Gaussian conditional: likelihoods for training, integer tables for coding.

The likelihood of an integer-spaced value v under N(mu, sigma) convolved with U(-1/2, 1/2) is
P = Phi((1/2 - |v - mu|) / sigma) - Phi((-1/2 - |v - mu|) / sigma), computed on the side of the
symmetric tail to keep precision (Ballé et al. 2018, "Variational image compression with a scale
hyperprior"; the |v| form follows CompressAI's GaussianConditional).

For coding, the decoder must rebuild the exact same distribution, so the parameters are snapped:

* scales to a log-spaced table ``exp(linspace(log 0.11, log 256, 64))`` (GEOv2 / tfc /
  CompressAI default), rounding *up* to the smallest entry >= sigma, found by binary search
  (``torch.searchsorted``); ``scale_index_reference`` is the broadcast-argmin reference;
* means to a grid of multiples of 1/64 (``mean_steps``); a mean m/64 is split into its integer
  part a and fraction f/64, and the table for (scale index, f) describes v - a.

One integer pmf per (scale index, f) is built by ``update`` from those indices only (numpy float64
``ndtr`` + ``pcc.codec.coding.quantize_pmf``); its support is +-ceil(6.1 sigma) around the mean
(tail mass 1e-9), the two edge bins carry the tails and escape further values.

Taught in ``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import ndtr, ndtri
from torch import nn

from pcc.codec import coding


class _LowerBound(torch.autograd.Function):
    """max(x, bound) whose gradient still flows where it pushes x upwards (Ballé et al.)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, bound: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp(min=bound)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        pass_through = (x >= ctx.bound) | (grad < 0)
        return grad * pass_through.to(grad.dtype), None


def lower_bound(x: torch.Tensor, bound: float) -> torch.Tensor:
    """Element-wise max(x, bound) with a gradient that can lift x above the bound."""
    return _LowerBound.apply(x, bound)


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """round(x) in the forward pass, identity gradient (straight-through estimator)."""
    return x + (torch.round(x) - x).detach()


def make_scale_table(scale_min: float = 0.11, scale_max: float = 256.0, levels: int = 64):
    """Log-spaced scale table -> float32 [levels], ascending (computed in float64, then cast)."""
    if not (0 < scale_min < scale_max) or levels < 2:
        raise ValueError(f"bad scale table ({scale_min}, {scale_max}, {levels})")
    values = np.exp(np.linspace(math.log(scale_min), math.log(scale_max), levels))
    return torch.tensor(values, dtype=torch.float32)


def scale_index(scale: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Index of the smallest table entry >= scale (last entry if none) by binary search.

    scale [...] float, table [L] ascending float -> int64 [...].
    """
    flat = scale.detach().reshape(-1).to(table.dtype).contiguous()
    idx = torch.searchsorted(table, flat, right=False)
    return idx.clamp(max=table.numel() - 1).reshape(scale.shape)


def scale_index_reference(scale: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Broadcast reference of ``scale_index``: argmin over entries >= scale. [...] -> [...]."""
    s = scale.detach().to(table.dtype)[..., None]  # [..., 1]
    ok = table >= s  # [..., L]
    cost = torch.where(ok, table - s, torch.full_like(table - s, float("inf")))
    idx = torch.argmin(cost, dim=-1)
    return torch.where(ok.any(dim=-1), idx, torch.full_like(idx, table.numel() - 1))


def gaussian_likelihood(
    values: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor, bound: float = 1e-9
) -> torch.Tensor:
    """P(v) of unit-width bins of N(mean, scale), all [...] alike -> [...] in [bound, 1]."""
    v = torch.abs(values - mean)
    s = scale
    upper = 0.5 * torch.erfc(-((0.5 - v) / s) / math.sqrt(2.0))
    lower = 0.5 * torch.erfc(-((-0.5 - v) / s) / math.sqrt(2.0))
    return lower_bound(upper - lower, bound)


class GaussianConditional(nn.Module):
    """Scale table, mean grid, integer pmf tables and coding for Gaussian-distributed symbols.

    ``offsets=False`` builds only the f = 0 tables: enough for mean-centred quantisation, where
    the coded symbol round(y - mu_q) has mean 0. ``offsets=True`` builds all ``mean_steps``
    fractions for the context models, whose residual symbol round(y - anchor) has a mean offset
    predicted by the context.
    """

    def __init__(
        self,
        scale_min: float = 0.11,
        scale_max: float = 256.0,
        levels: int = 64,
        mean_steps: int = 64,
        tail_mass: float = 1e-9,
        offsets: bool = False,
    ):
        super().__init__()
        self.register_buffer("scale_table", make_scale_table(scale_min, scale_max, levels))
        self.mean_steps = int(mean_steps)
        self.tail_mass = float(tail_mass)
        self.offsets = bool(offsets)
        self._pmfs: list[np.ndarray] | None = None  # per scale index: int32 [F, W_s]
        self._half: np.ndarray | None = None  # per scale index: B_s (support -B_s .. B_s + 1)
        self._built_from = b""  # the scale table the pmfs were built from

    @property
    def scale_bound(self) -> float:
        """Smallest scale the model uses (the table's first entry)."""
        return float(self.scale_table[0])

    # --- parameters ------------------------------------------------------------------------
    def bounded_scale(self, scale: torch.Tensor) -> torch.Tensor:
        """Lower-bound the scale at the table minimum (gradient passes upwards). [...] -> [...]."""
        return lower_bound(scale, self.scale_bound)

    def snap(self, mean: torch.Tensor, scale: torch.Tensor):
        """(mean, scale) [...] -> (mean_q, scale_q float32, mean_idx, scale_idx int64), all [...].

        mean_q = mean_idx / mean_steps with mean_idx = round(mean * mean_steps);
        scale_q = scale_table[scale_idx] >= scale (binary search).
        """
        mean_q, mean_idx = self.snap_mean(mean)
        s_idx = scale_index(scale.detach().float(), self.scale_table)
        return mean_q, self.scale_table[s_idx], mean_idx, s_idx

    def snap_mean(self, mean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mean [...] -> (mean_q float32, mean_idx int64) on the 1/mean_steps grid."""
        mean_idx = torch.round(mean.detach().float() * self.mean_steps).to(torch.int64)
        return mean_idx.to(torch.float32) / self.mean_steps, mean_idx

    # --- tables ----------------------------------------------------------------------------
    def update(self, force: bool = False) -> None:
        """Build the integer pmf per (scale index, mean fraction) from the indices only.

        Rebuilt when the scale table changed (e.g. loaded from a checkpoint) or on ``force``.
        """
        table = self.scale_table.detach().double().cpu().numpy()
        if self._pmfs is not None and not force and table.tobytes() == self._built_from:
            return
        self._built_from = table.tobytes()
        z_tail = float(-ndtri(self.tail_mass / 2))
        fractions = np.arange(self.mean_steps if self.offsets else 1) / self.mean_steps  # [F]
        pmfs, halves = [], []
        for sigma in table:
            half = int(math.ceil(sigma * z_tail))
            v = np.arange(-half, half + 2, dtype=np.float64)  # [W]
            upper = (v[None, :] + 0.5 - fractions[:, None]) / sigma  # [F, W]
            cdf = ndtr(upper)
            cdf[:, -1] = 1.0
            prob = np.diff(np.concatenate([np.zeros((len(fractions), 1)), cdf], axis=1), axis=1)
            pmfs.append(coding.quantize_pmf(np.maximum(prob, 0.0)).astype(np.int32))
            halves.append(half)
        self._pmfs, self._half = pmfs, np.asarray(halves, dtype=np.int64)

    def _tables(self) -> tuple[list[np.ndarray], np.ndarray]:
        """(pmfs per scale index, half-widths B_s), built on first use."""
        if self._pmfs is None:
            self.update()
        assert self._pmfs is not None and self._half is not None
        return self._pmfs, self._half

    def _split_mean(self, mean_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """mean index m [N] -> (integer part a, fraction f) with m = a * steps + f."""
        mean_idx = np.asarray(mean_idx, dtype=np.int64)
        if not self.offsets:
            if np.any(mean_idx != 0):
                raise ValueError("this GaussianConditional has only zero-mean tables")
            return np.zeros_like(mean_idx), np.zeros_like(mean_idx)
        a = np.floor_divide(mean_idx, self.mean_steps)
        return a, mean_idx - a * self.mean_steps

    def rows(self, scale_idx: np.ndarray, mean_idx: np.ndarray):
        """Per-symbol tables -> (pmfs int64 [N, Kmax], lows int64 [N], widths int64 [N])."""
        pmfs_by_scale, half = self._tables()
        scale_idx = np.asarray(scale_idx, dtype=np.int64).reshape(-1)
        a, f = self._split_mean(np.asarray(mean_idx).reshape(-1))
        widths = 2 * half[scale_idx] + 2
        out = np.zeros((scale_idx.size, int(widths.max()) if scale_idx.size else 1), np.int64)
        for s in np.unique(scale_idx).tolist():
            sel = np.flatnonzero(scale_idx == s)
            w = 2 * int(half[s]) + 2
            out[sel, :w] = pmfs_by_scale[s][f[sel]]
        return out, a - half[scale_idx], widths

    # --- coding ----------------------------------------------------------------------------
    def encode(self, writer, values, scale_idx, mean_idx, grouped: bool = True) -> None:
        """Write integer values [N] with their (scale, mean) indices [N].

        ``grouped``: symbols are written per distinct (scale, fraction) table with a shared
        constriction model (fast when the decoder knows all indices up front); otherwise one
        table row per symbol, in order (serial context decoding). ``writer`` is a
        ``coding.RangeWriter`` or a ``coding.BitCounter``.
        """
        values = np.asarray(values, dtype=np.int64).reshape(-1)
        scale_idx = np.asarray(scale_idx, dtype=np.int64).reshape(-1)
        mean_idx = np.broadcast_to(
            np.asarray(mean_idx, dtype=np.int64).reshape(-1), scale_idx.shape
        )
        if not grouped:
            pmfs, lows, widths = self.rows(scale_idx, mean_idx)
            writer.encode(values, pmfs, lows, widths)
            return
        pmfs_by_scale, half = self._tables()
        a, f = self._split_mean(mean_idx)
        for key, sel in _groups(scale_idx * self.mean_steps + f):
            s, frac = divmod(key, self.mean_steps)
            h = int(half[s])
            writer.encode(values[sel], pmfs_by_scale[s][frac], a[sel] - h, 2 * h + 2, ("g", key))

    def decode(self, reader, scale_idx, mean_idx, grouped: bool = True) -> np.ndarray:
        """Inverse of ``encode``: indices [N] -> integer values int64 [N]."""
        scale_idx = np.asarray(scale_idx, dtype=np.int64).reshape(-1)
        mean_idx = np.broadcast_to(
            np.asarray(mean_idx, dtype=np.int64).reshape(-1), scale_idx.shape
        )
        if not grouped:
            pmfs, lows, widths = self.rows(scale_idx, mean_idx)
            return reader.decode(scale_idx.size, pmfs, lows, widths)
        pmfs_by_scale, half = self._tables()
        a, f = self._split_mean(mean_idx)
        values = np.zeros(scale_idx.size, dtype=np.int64)
        for key, sel in _groups(scale_idx * self.mean_steps + f):
            s, frac = divmod(key, self.mean_steps)
            h = int(half[s])
            values[sel] = reader.decode(
                sel.size, pmfs_by_scale[s][frac], a[sel] - h, 2 * h + 2, ("g", key)
            )
        return values


def _groups(keys: np.ndarray):
    """Yield (key, positions) for each distinct key in ascending order; positions ascending."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], sorted_keys.size]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        yield int(sorted_keys[a]), order[a:b]


def quantize_centred(
    gaussian: GaussianConditional,
    y: torch.Tensor,
    mean: torch.Tensor,
    scale: torch.Tensor,
    training: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean-centred quantisation y_hat = round(y - mu) + mu and its likelihood; all [B, C, ...].

    Training: straight-through rounding around the (unsnapped) mean; likelihood of y + noise.
    Eval: exactly what ``encode_centred`` writes (mean snapped to the grid, scale to the table).
    """
    y, mean = y.float(), mean.float()  # likelihoods in float32 even under autocast
    scale = gaussian.bounded_scale(scale.float())
    if training:
        y_hat = round_ste(y - mean) + mean
        noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        return y_hat, gaussian_likelihood(noisy, mean, scale)
    mean_q, scale_q, _, _ = gaussian.snap(mean, scale)
    y_hat = torch.round(y - mean_q) + mean_q
    return y_hat, gaussian_likelihood(y_hat, mean_q, scale_q)


def snap_anchor(gaussian: GaussianConditional, anchor: torch.Tensor, training: bool):
    """Quantisation centres of the anchored (context) models -> float32 [...] like anchor.

    Training: the anchor means as predicted; eval and coding: snapped to the 1/mean_steps grid,
    so that encoder and decoder, which compute the anchors from z_hat alone, agree bit for bit.
    """
    return anchor.float() if training else gaussian.snap_mean(anchor)[0]


def quantize_anchored(y: torch.Tensor, anchor: torch.Tensor, training: bool):
    """Round y around its anchor: (y_hat = r + anchor, residual r = round(y - anchor)).

    y, anchor [B, C, ...] -> both [B, C, ...]; r holds integers (straight-through in training).
    The context networks read r, which the decoder has for every element it decoded before.
    """
    residual = round_ste(y.float() - anchor) if training else torch.round(y.float() - anchor)
    return residual + anchor, residual


def anchored_likelihood(
    gaussian: GaussianConditional,
    y: torch.Tensor,
    residual: torch.Tensor,
    anchor: torch.Tensor,
    offset: torch.Tensor,
    scale: torch.Tensor,
    training: bool,
) -> torch.Tensor:
    """Likelihood of the residual r under N(offset, scale); all [B, C, ...].

    The context refines the anchor's pmf with a mean ``offset`` (any real number, coded on the
    1/mean_steps grid of the tables) and a scale. Training: likelihood of y + U(-1/2, 1/2) under
    N(anchor + offset, scale); eval: exactly what the coder writes for r.
    """
    scale = gaussian.bounded_scale(scale.float())
    if training:
        noisy = y.float() + torch.empty_like(y, dtype=torch.float32).uniform_(-0.5, 0.5)
        return gaussian_likelihood(noisy, anchor + offset.float(), scale)
    offset_q, scale_q, _, _ = gaussian.snap(offset, scale)
    return gaussian_likelihood(residual, offset_q, scale_q)


def encode_centred(
    gaussian: GaussianConditional, writer, y: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """Write round(y - mu_q) grouped by scale index; return y_hat [B, C, ...] (float32)."""
    mean_q, _, _, s_idx = gaussian.snap(mean, gaussian.bounded_scale(scale))
    sym = torch.round(y.float() - mean_q)
    gaussian.encode(writer, sym.to(torch.int64).numpy(), s_idx.numpy(), np.zeros(1, np.int64))
    return sym + mean_q


def decode_centred(
    gaussian: GaussianConditional, reader, mean: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """Inverse of ``encode_centred`` for parameters [B, C, ...] -> y_hat [B, C, ...]."""
    mean_q, _, _, s_idx = gaussian.snap(mean, gaussian.bounded_scale(scale))
    sym = gaussian.decode(reader, s_idx.numpy(), np.zeros(1, np.int64))
    return torch.from_numpy(sym).reshape(mean.shape).to(torch.float32) + mean_q
