"""Hybrid entropy model: channel slices + masked spatial context inside each slice (in the
spirit of He et al. 2022, "ELIC: efficient learned image compression with unevenly grouped
space-channel contextual adaptive coding", with a raster-order context instead of a
checkerboard).

Quantisation is anchored on the hyperprior as in ``pcc.codec.entropy.context``: y_hat = a + r with
the anchor a from h_s(z_hat) and the integer residual r = round(y - a). Decoding order: slice 0 in
raster order, then slice 1 in raster order, and so on. The residual pmf of slice k at position p
is refined from

* the hyperprior features psi = h_s(z_hat) and the residuals of the completely decoded slices
  r_{<k}, through a per-slice network (conv 3^3, ReLU, conv 3^3 -> F features) evaluated once
  per slice;
* a type-A masked 3D convolution over the residuals of slice k itself (positions before p);

fused, together with psi at p itself, by 1^3 convolutions (the last one zero at the start)
into a mean offset and a scale correction for the C_k channels of the slice. Coding is serial (slices x positions steps, each
vectorised over the slice's channels and the batch), with the same per-position function on both
sides.

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
    refine,
    serial_buffer,
    serial_code,
    zero_last,
)
from pcc.codec.entropy.gaussian_conditional import anchored_likelihood, quantize_anchored
from pcc.codec.entropy.hyperprior import HyperpriorEntropyModel


class HybridEntropyModel(HyperpriorEntropyModel):
    """Hyperprior + channel slices + spatial masked context. Options ``slices`` (4), ``kernel``
    (5), ``slice_hidden`` (default max(C, 8))."""

    name = "hybrid"
    option_names = HyperpriorEntropyModel.option_names | {"slices", "kernel", "slice_hidden"}
    fractional_means = True

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
                    nn.Conv3d(2 * channels + hidden + 2 * size, hidden, 1),
                    nn.ReLU(),
                    zero_last(nn.Conv3d(hidden, 2 * size, 1)),
                )
            )
            done += size

    def _channel_features(self, k: int, psi: torch.Tensor, decoded: list[torch.Tensor]):
        """Features [B, F, D, H, W] of slice k from psi and the residuals of the slices < k."""
        inputs = torch.cat([psi, *decoded], dim=1) if decoded else psi
        return self.channel_context[k](inputs)

    def _slice_refined(self, k: int, psi, features, raw_k, residual_k):
        """Parallel (training) (offset, scale) [B, C_k, D, H, W] of slice k."""
        ctx = self.spatial_context[k](residual_k)
        return refine(raw_k, self.fusion[k](torch.cat([psi, features, ctx], dim=1)))

    def _refined(self, psi: torch.Tensor, raw: torch.Tensor, residual: torch.Tensor):
        """(offset, scale) [B, C, D, H, W]: slice k sees psi, residuals < k and its own past."""
        parts = list(torch.split(residual, self.sizes, dim=1))
        raws = torch.split(raw, self.sizes, dim=1)
        offsets, scales = [], []
        for k in range(len(self.sizes)):
            features = self._channel_features(k, psi, parts[:k])
            offset, scale = self._slice_refined(k, psi, features, raws[k], parts[k])
            offsets.append(offset)
            scales.append(scale)
        return torch.cat(offsets, 1), torch.cat(scales, 1)

    def conditional_parameters(self, y_hat: torch.Tensor, side: torch.Tensor):
        """(mean = a + delta, scale) [B, C, D, H, W]: slice k uses z_hat, slices < k and its
        own past."""
        psi = self.hyper_features(side, y_hat.shape[2:])
        anchor, raw = self.anchors(psi, self.training)
        offset, scale = self._refined(psi, raw, y_hat - anchor)
        return anchor + offset, scale

    def decoding_steps(self, shape: tuple[int, int, int, int]) -> torch.Tensor:
        """slice index * (D H W) + raster index of the position."""
        c, d, h, w = shape
        per_slice = torch.repeat_interleave(torch.arange(len(self.sizes)), torch.tensor(self.sizes))
        raster = torch.arange(d * h * w).view(1, d, h, w)
        return (per_slice.view(-1, 1, 1, 1) * (d * h * w) + raster).expand(c, d, h, w).clone()

    def _y_forward(self, y: torch.Tensor, psi: torch.Tensor):
        anchor, raw = self.anchors(psi, self.training)
        y_hat, residual = quantize_anchored(y, anchor, self.training)
        offset, scale = self._refined(psi, raw, residual)
        lik = anchored_likelihood(self.gaussian, y, residual, anchor, offset, scale, self.training)
        return y_hat, lik

    def _step_function(self, k: int, psi: torch.Tensor, features: torch.Tensor, raw_k):
        """(residual buffer of slice k, pos) -> (offset, scale) [B, C_k] from earlier positions."""
        offsets, weight = self.spatial_context[k].taps()
        bias = self.spatial_context[k].bias
        r = self.kernel // 2
        padded = tuple(int(s) + 2 * r for s in features.shape[2:])
        taps = flat_offsets(offsets, padded)

        def params(buffer: torch.Tensor, pos: tuple[int, int, int]):
            flat = ((pos[0] + r) * padded[1] + pos[1] + r) * padded[2] + pos[2] + r
            ctx = F.linear(gather_taps(buffer, taps, flat), weight, bias)
            d, h, w = pos
            feat = torch.cat([psi[:, :, d, h, w], features[:, :, d, h, w], ctx], dim=1)
            return refine(raw_k[:, :, pos[0], pos[1], pos[2]], pointwise(self.fusion[k], feat))

        return params

    def serial_parameters(self, y_hat: torch.Tensor, side: torch.Tensor):
        """(mean, scale) [B, C, D, H, W] computed step by step as the coder does."""
        psi = self.hyper_features(side, y_hat.shape[2:])
        anchor, raw = self.anchors(psi, self.training)
        parts = list(torch.split(y_hat - anchor, self.sizes, dim=1))
        raws = torch.split(raw, self.sizes, dim=1)
        r = self.kernel // 2
        offsets, scales = [], []
        for k in range(len(self.sizes)):
            step = self._step_function(k, psi, self._channel_features(k, psi, parts[:k]), raws[k])
            buffer = F.pad(parts[k], (r,) * 6)
            offset_k, scale_k = torch.zeros_like(parts[k]), torch.zeros_like(parts[k])
            for d, h, w in raster_positions(y_hat.shape[2:]):
                offset, scale = step(buffer, (d, h, w))
                offset_k[:, :, d, h, w], scale_k[:, :, d, h, w] = offset, scale
            offsets.append(offset_k)
            scales.append(scale_k)
        return anchor + torch.cat(offsets, 1), torch.cat(scales, 1)

    def _code_y(self, stream: Any, psi: torch.Tensor, dims: tuple[int, ...], y):
        """Serial coding shared by encoder (y given) and decoder (y None) -> y_hat."""
        anchor, raw = self.anchors(psi, training=False)
        anchors = torch.split(anchor, self.sizes, dim=1)
        raws = torch.split(raw, self.sizes, dim=1)
        r = self.kernel // 2
        positions = raster_positions(dims[2:])
        pad = tuple(s + 2 * r for s in dims[2:])
        y_parts = list(torch.split(y, self.sizes, dim=1)) if y is not None else None
        decoded: list[torch.Tensor] = []  # residuals of the slices done
        for k, size in enumerate(self.sizes):
            step = self._step_function(k, psi, self._channel_features(k, psi, decoded), raws[k])
            buffer = serial_buffer(dims[0], size, pad)
            y_k = y_parts[k] if y_parts is not None else None
            serial_code(self.gaussian, stream, step, buffer, positions, r, y_k, anchors[k])
            decoded.append(_interior(buffer, r))
        return torch.cat(decoded, 1) + anchor

    def _encode_y(self, y: torch.Tensor, psi: torch.Tensor, writer: Any) -> torch.Tensor:
        return self._code_y(writer, psi, tuple(y.shape), y)

    def _decode_y(self, reader: Any, psi: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        return self._code_y(reader, psi, tuple(dims), None)
