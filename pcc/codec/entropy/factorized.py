"""Non-parametric factorised density (Ballé et al. 2018, "Variational image compression with a
scale hyperprior", appendix 6.1), used for the hyperprior's side information z.

Each channel c has its own monotone cumulative c(x) = sigmoid(f_K(... f_1(x))) built from
per-channel layers f_k(x) = H_k x + b_k (H_k = softplus of a free matrix, so it is positive) with
a gated tanh nonlinearity x + tanh(a_k) tanh(x) between layers. The likelihood of the noisy or
rounded value v is c(v + 1/2) - c(v - 1/2). Three quantiles per channel (tail/2, 1/2, 1 - tail/2)
are learned by the auxiliary loss ``aux_loss`` (trained with its own optimiser); the median is the
offset the symbols are centred on. ``update`` tabulates an integer pmf per channel over the
support where the cumulative lies in [tail/2, 1 - tail/2] (found by bisection on the density).

Taught in ``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pcc.codec import coding
from pcc.codec.entropy.gaussian_conditional import lower_bound, round_ste

MAX_SUPPORT = 4096  # largest number of bins of one channel's pmf


class FactorizedPrior(nn.Module):
    """Per-channel learned density for z [B, C, ...] with quantile (aux) loss and coding tables."""

    def __init__(
        self,
        channels: int,
        filters: tuple[int, ...] = (3, 3, 3),
        init_scale: float = 10.0,
        tail_mass: float = 1e-9,
    ):
        super().__init__()
        self.channels = int(channels)
        self.tail_mass = float(tail_mass)
        dims = (1, *filters, 1)
        scale = init_scale ** (1.0 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1.0 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))
        q = torch.tensor([-init_scale, 0.0, init_scale])
        self.quantiles = nn.Parameter(q.repeat(channels, 1, 1))  # [C, 1, 3]
        target = math.log(2.0 / tail_mass - 1.0)
        self.register_buffer("target", torch.tensor([-target, 0.0, target]))
        self._tables: list[tuple[np.ndarray, int, int]] | None = None  # (pmf, low, width) per c
        self._built_from = b""

    def _fingerprint(self) -> bytes:
        """The parameter values the tables depend on, as bytes (to detect stale tables)."""
        with torch.no_grad():
            flat = torch.cat([p.detach().reshape(-1).float().cpu() for p in self.parameters()])
        return flat.numpy().tobytes()

    # --- density -----------------------------------------------------------------------------
    def logits_cdf(self, x: torch.Tensor, detach: bool = False) -> torch.Tensor:
        """Logit of the cumulative at x [C, 1, N] -> [C, 1, N].

        ``detach``: treat the density's parameters as constants (the aux loss moves only the
        quantiles).
        """
        n = len(self.matrices)
        for i in range(n):
            m, b = self.matrices[i], self.biases[i]
            if detach:
                m, b = m.detach(), b.detach()
            x = torch.matmul(F.softplus(m), x) + b
            if i < n - 1:
                a = self.factors[i].detach() if detach else self.factors[i]
                x = x + torch.tanh(a) * torch.tanh(x)
        return x

    def medians(self) -> torch.Tensor:
        """Per-channel median of the density (learned quantile) -> [C], detached."""
        return self.quantiles[:, 0, 1].detach()

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        """P(v) = c(v + 1/2) - c(v - 1/2) for z [B, C, ...] -> [B, C, ...] in [1e-9, 1]."""
        shape = z.shape
        v = z.transpose(0, 1).reshape(self.channels, 1, -1)  # [C, 1, N]
        lower = self.logits_cdf(v - 0.5)
        upper = self.logits_cdf(v + 0.5)
        sign = -torch.sign(lower + upper).detach()
        p = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        p = lower_bound(p, 1e-9)
        moved = (shape[1], shape[0], *shape[2:])
        return p.reshape(moved).transpose(0, 1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z [B, C, ...] -> (z_hat, likelihood), both [B, C, ...].

        Training: z_hat = straight-through round(z - median) + median, likelihood of z + U(-1/2,
        1/2). Eval: z_hat as ``encode`` produces it and its likelihood.
        """
        z = z.float()  # likelihoods in float32 even under autocast
        med = self.medians().view(1, -1, *([1] * (z.dim() - 2)))
        if self.training:
            z_hat = round_ste(z - med) + med
            return z_hat, self.likelihood(z + torch.empty_like(z).uniform_(-0.5, 0.5))
        z_hat = torch.round(z - med) + med
        return z_hat, self.likelihood(z_hat)

    def aux_loss(self) -> torch.Tensor:
        """Sum over channels of |logit c(quantile) - target| (trains the three quantiles only)."""
        logits = self.logits_cdf(self.quantiles, detach=True)  # [C, 1, 3]
        return torch.abs(logits - self.target).sum()

    # --- coding ------------------------------------------------------------------------------
    def update(self, force: bool = False) -> None:
        """Tabulate one integer pmf per channel (float64 evaluation of the density).

        The support is where the cumulative lies in [tail/2, 1 - tail/2], found by bisection on
        the density itself (so it is right even if the aux loss has not converged yet); the
        learned median only sets the quantisation offset. Values outside are escaped.
        """
        fingerprint = self._fingerprint()
        if self._tables is not None and not force and fingerprint == self._built_from:
            return
        self._built_from = fingerprint
        with torch.no_grad():
            med = self.medians().double()  # [C]
            lo = torch.floor(self._bisect(self.tail_mass / 2) - med).clamp(max=-1)
            hi = torch.ceil(self._bisect(1 - self.tail_mass / 2) - med).clamp(min=1)
            tables = []
            for c in range(self.channels):
                low, high = int(lo[c]), int(hi[c])
                if high - low + 1 > MAX_SUPPORT:
                    half = MAX_SUPPORT // 2 - 1
                    low, high = max(low, -half), min(high, half)
                v = torch.arange(low, high, dtype=torch.float64) + 0.5 + med[c]  # upper edges
                cdf = torch.sigmoid(self._channel_logits(c, v)).numpy()
                cdf = np.concatenate([[0.0], cdf, [1.0]])
                prob = np.maximum(np.diff(cdf), 0.0)
                tables.append((coding.quantize_pmf(prob), low, high - low + 1))
        self._tables = tables

    def _bisect(self, level: float, iterations: int = 80) -> torch.Tensor:
        """Per channel, the x where the cumulative equals ``level`` (float64 bisection) -> [C].

        The cumulative is monotone (positive matrices, gates x + tanh(a) tanh(x) with
        |tanh(a)| < 1), so bisection on [-2^20, 2^20] converges.
        """
        target = float(np.log(level / (1 - level)))
        low = torch.full((self.channels,), -float(1 << 20), dtype=torch.float64)
        high = -low
        for _ in range(iterations):
            mid = (low + high) / 2
            below = self._all_logits(mid) < target
            low = torch.where(below, mid, low)
            high = torch.where(below, high, mid)
        return (low + high) / 2

    def _all_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logit cumulative of every channel c at its own point x[c] (float64) -> [C]."""
        v = x.view(-1, 1, 1)
        n = len(self.matrices)
        for i in range(n):
            v = F.softplus(self.matrices[i].double()) @ v + self.biases[i].double()
            if i < n - 1:
                v = v + torch.tanh(self.factors[i].double()) * torch.tanh(v)
        return v.view(-1)

    def _channel_logits(self, c: int, x: torch.Tensor) -> torch.Tensor:
        """Logit cumulative of channel c at points x [N] (float64) -> [N]."""
        x = x.view(1, -1)
        n = len(self.matrices)
        for i in range(n):
            m = F.softplus(self.matrices[i][c].double())
            x = m @ x + self.biases[i][c].double()
            if i < n - 1:
                x = x + torch.tanh(self.factors[i][c].double()) * torch.tanh(x)
        return x.view(-1)

    def symbols(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z [B, C, ...] -> (integer symbols round(z - median) int64, z_hat float32), alike."""
        med = self.medians().view(1, -1, *([1] * (z.dim() - 2)))
        sym = torch.round(z.detach().float() - med)
        return sym.to(torch.int64), sym + med

    def encode(self, writer, z: torch.Tensor) -> torch.Tensor:
        """Write z [B, C, ...] channel by channel; return z_hat [B, C, ...] (the decoder's)."""
        self.update()
        assert self._tables is not None
        sym, z_hat = self.symbols(z)
        per_channel = sym.transpose(0, 1).reshape(self.channels, -1).numpy()
        for c, (pmf, low, width) in enumerate(self._tables):
            writer.encode(per_channel[c], pmf, low, width, ("z", c))
        return z_hat

    def decode(self, reader, shape: tuple[int, ...]) -> torch.Tensor:
        """Read z_hat of ``shape`` (B, C, ...) written by ``encode`` -> float32 [B, C, ...]."""
        self.update()
        assert self._tables is not None
        count = int(np.prod(shape)) // self.channels
        per_channel = np.zeros((self.channels, count), dtype=np.int64)
        for c, (pmf, low, width) in enumerate(self._tables):
            per_channel[c] = reader.decode(count, pmf, low, width, ("z", c))
        moved = (shape[1], shape[0], *shape[2:])
        sym = torch.from_numpy(per_channel).reshape(moved).transpose(0, 1).to(torch.float32)
        med = self.medians().view(1, -1, *([1] * (len(shape) - 2)))
        return (sym + med).contiguous()
