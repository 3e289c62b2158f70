"""Hybrid entropy model: channel slices + masked spatial context inside each slice (in the
spirit of He et al. 2022, "ELIC: efficient learned image compression with unevenly grouped
space-channel contextual adaptive coding", with a raster-order context instead of a
checkerboard).

Decoding order: slice 0 in raster order, then slice 1 in raster order, and so on. The parameters
of slice k at position p come from

* the hyperprior features psi = h_s(z_hat) and the completely decoded slices y_hat_{<k},
  through a per-slice network (conv 3^3, ReLU, conv 3^3 -> F features) evaluated once per slice;
* a type-A masked 3D convolution over slice k itself (positions before p only);

fused by 1^3 convolutions into a mean and a scale for the C_k channels of the slice. Quantisation
is to integers (y_hat = round(y), straight-through in training), as for the context model. Coding
is serial (slices x positions steps, each vectorised over the slice's channels and the batch),
with the same per-position function on both sides.

Taught in ``notebooks/08_entropy_models.ipynb``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pcc.codec.entropy.channel import slice_sizes
from pcc.codec.entropy.context import (
    MaskedConv3d,
    _interior,
    flat_offsets,
    gather_taps,
    pointwise,
    raster_positions,
    serial_buffer,
    serial_code,
)
from pcc.codec.entropy.gaussian_conditional import quantize_integer, round_ste
from pcc.codec.entropy.hyperprior import HyperpriorEntropyModel


class HybridEntropyModel(HyperpriorEntropyModel):
    """Hyperprior + channel slices + spatial masked context. Options ``slices`` (4), ``kernel``
    (5), ``slice_hidden`` (default max(C, 8))."""

    name = "hybrid"
    option_names = HyperpriorEntropyModel.option_names | {"slices", "kernel", "slice_hidden"}
    integer_grid = True

    def __init__(self, channels: int, **options: Any):
        super().__init__(channels, **options)
        self.sizes = slice_sizes(channels, int(options.get("slices", min(4, channels))))
        self.kernel = int(options.get("kernel", 5))
        hidden = int(options.get("slice_hidden", max(channels, 8)))
        self.channel_context = nn.ModuleList()
        self.spatial_context = nn.ModuleList()
        self.fusion = nn.ModuleList()
        done = 0
        for size in self.sizes:
            self.channel_context.append(
                nn.Sequential(
                    nn.Conv3d(2 * channels + done, hidden, 3, padding=1),
                    nn.ReLU(),
                    nn.Conv3d(hidden, hidden, 3, padding=1),
                )
            )
            self.spatial_context.append(MaskedConv3d(size, 2 * size, self.kernel, "A"))
            self.fusion.append(
                nn.Sequential(
                    nn.Conv3d(hidden + 2 * size, hidden, 1),
                    nn.ReLU(),
                    nn.Conv3d(hidden, 2 * size, 1),
                )
            )
            done += size

    def _channel_features(self, k: int, psi: torch.Tensor, decoded: list[torch.Tensor]):
        """Features [B, F, D, H, W] of slice k from psi and the fully decoded slices < k."""
        inputs = torch.cat([psi, *decoded], dim=1) if decoded else psi
        return self.channel_context[k](inputs)

    def _slice_parameters(self, k: int, features: torch.Tensor, y_hat_k: torch.Tensor):
        """Parallel (training) parameters of slice k: (mean, scale) [B, C_k, D, H, W]."""
        ctx = self.spatial_context[k](y_hat_k)
        return self._mean_scale(self.fusion[k](torch.cat([features, ctx], dim=1)))

    def conditional_parameters(self, y_hat: torch.Tensor, side: torch.Tensor):
        """(mean, scale) [B, C, D, H, W]: slice k uses z_hat, slices < k and its own past."""
        psi = self.hyper_features(side, y_hat.shape[2:])
        parts = list(torch.split(y_hat, self.sizes, dim=1))
        means, scales = [], []
        for k in range(len(self.sizes)):
            features = self._channel_features(k, psi, parts[:k])
            mean, scale = self._slice_parameters(k, features, parts[k])
            means.append(mean)
            scales.append(scale)
        return torch.cat(means, 1), torch.cat(scales, 1)

    def decoding_steps(self, shape: tuple[int, int, int, int]) -> torch.Tensor:
        """slice index * (D H W) + raster index of the position."""
        c, d, h, w = shape
        per_slice = torch.repeat_interleave(torch.arange(len(self.sizes)), torch.tensor(self.sizes))
        raster = torch.arange(d * h * w).view(1, d, h, w)
        return (per_slice.view(-1, 1, 1, 1) * (d * h * w) + raster).expand(c, d, h, w).clone()

    def _y_forward(self, y: torch.Tensor, psi: torch.Tensor):
        y_hat = round_ste(y) if self.training else torch.round(y)
        parts = list(torch.split(y_hat, self.sizes, dim=1))
        means, scales = [], []
        for k in range(len(self.sizes)):
            features = self._channel_features(k, psi, parts[:k])
            mean, scale = self._slice_parameters(k, features, parts[k])
            means.append(mean)
            scales.append(scale)
        mean, scale = torch.cat(means, 1), torch.cat(scales, 1)
        return y_hat, quantize_integer(self.gaussian, y, mean, scale, self.training)

    def _step_function(self, k: int, features: torch.Tensor):
        """(buffer of slice k, pos) -> (mean, scale) [B, C_k] from earlier positions only."""
        offsets, weight = self.spatial_context[k].taps()
        bias = self.spatial_context[k].bias
        r = self.kernel // 2
        padded = tuple(int(s) + 2 * r for s in features.shape[2:])
        taps = flat_offsets(offsets, padded)

        def params(buffer: torch.Tensor, pos: tuple[int, int, int]):
            flat = ((pos[0] + r) * padded[1] + pos[1] + r) * padded[2] + pos[2] + r
            ctx = F.linear(gather_taps(buffer, taps, flat), weight, bias)
            feat = torch.cat([features[:, :, pos[0], pos[1], pos[2]], ctx], dim=1)
            out = pointwise(self.fusion[k], feat)
            mean, raw = out.chunk(2, dim=1)
            return mean, F.softplus(raw)

        return params

    def serial_parameters(self, y_hat: torch.Tensor, side: torch.Tensor):
        """(mean, scale) [B, C, D, H, W] computed step by step as the coder does."""
        psi = self.hyper_features(side, y_hat.shape[2:])
        parts = list(torch.split(y_hat, self.sizes, dim=1))
        r = self.kernel // 2
        means, scales = [], []
        for k in range(len(self.sizes)):
            step = self._step_function(k, self._channel_features(k, psi, parts[:k]))
            buffer = F.pad(parts[k], (r,) * 6)
            mean_k, scale_k = torch.zeros_like(parts[k]), torch.zeros_like(parts[k])
            for d, h, w in raster_positions(y_hat.shape[2:]):
                mean, scale = step(buffer, (d, h, w))
                mean_k[:, :, d, h, w], scale_k[:, :, d, h, w] = mean, scale
            means.append(mean_k)
            scales.append(scale_k)
        return torch.cat(means, 1), torch.cat(scales, 1)

    def _code_y(self, stream: Any, psi: torch.Tensor, dims: tuple[int, ...], y):
        """Serial coding shared by encoder (y given) and decoder (y None) -> y_hat."""
        r = self.kernel // 2
        positions = raster_positions(dims[2:])
        pad = tuple(s + 2 * r for s in dims[2:])
        y_parts = list(torch.split(y, self.sizes, dim=1)) if y is not None else None
        decoded: list[torch.Tensor] = []
        for k, size in enumerate(self.sizes):
            step = self._step_function(k, self._channel_features(k, psi, decoded))
            buffer = serial_buffer(dims[0], size, pad)
            y_k = y_parts[k] if y_parts is not None else None
            serial_code(self.gaussian, stream, step, buffer, positions, r, y_k)
            decoded.append(_interior(buffer, r))
        return torch.cat(decoded, 1)

    def _encode_y(self, y: torch.Tensor, psi: torch.Tensor, writer: Any) -> torch.Tensor:
        return self._code_y(writer, psi, tuple(y.shape), y)

    def _decode_y(self, reader: Any, psi: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        return self._code_y(reader, psi, tuple(dims), None)
