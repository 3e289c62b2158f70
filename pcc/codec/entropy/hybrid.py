"""Hybrid entropy model: spatial context + channel-conditional slices at every position (the
channel-group masks of PixelCNN, van den Oord et al. 2016, on a 3D latent; the same two kinds of
context as ELIC, He et al. 2022, "unevenly grouped space-channel contextual adaptive coding").

Quantisation is anchored on the hyperprior as in ``pcc.codec.entropy.context``: y_hat = a + r with
the anchor a from h_s(z_hat) and the integer residual r = round(y - a). The C channels are split
into K slices (default 4). Decoding order: position by position in raster order and, at each
position, slice 0, then slice 1, ... So when slice k at position p is decoded, the decoder has
every channel at the earlier positions and slices 0..k-1 at p itself: a strict superset of what the
``context`` model sees. One masked 5^3 convolution over the residuals reads exactly that: its
output group k (2 C_k channels) has every input channel at the taps before the centre and, at the
centre, the input channels of slices < k (``group_mask``). Per slice, 1^3 convolutions fuse that
group with psi (the last one zero at the start, so a fresh model is its hyperprior) into a mean
offset and a scale correction of the residual's Gaussian.

Coding is serial (positions x slices steps, each vectorised over the batch and the slice's
channels), with the same per-step function on both sides; training evaluates the masked
convolution in parallel (the two agree to float rounding, tested).

Taught in ``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pcc.codec.entropy.channel import slice_sizes
from pcc.codec.entropy.context import (
    AnchoredContextModel,
    MaskedConv3d,
    _interior,
    code_residual,
    flat_offsets,
    gather_taps,
    pointwise,
    raster_mask,
    raster_positions,
    refine,
    serial_buffer,
    zero_last,
)
from pcc.codec.entropy.hyperprior import HyperpriorEntropyModel


def group_mask(kernel: int, sizes: list[int], out_per_channel: int = 2) -> torch.Tensor:
    """Channel-group causal mask -> float32 [out, in, k, k, k], out = out_per_channel * C.

    Output group k (out_per_channel * sizes[k] channels) sees every input channel at the taps
    before the centre in raster order and, at the centre, the input channels of slices < k.
    """
    channels = sum(sizes)
    starts = np.cumsum([0, *sizes])
    spatial = raster_mask(kernel, "A")  # [k, k, k]
    mask = spatial.expand(out_per_channel * channels, channels, -1, -1, -1).clone()
    c = kernel // 2
    for k, size in enumerate(sizes):
        rows = slice(out_per_channel * int(starts[k]), out_per_channel * int(starts[k] + size))
        mask[rows, : int(starts[k]), c, c, c] = 1.0
    return mask


class GroupMaskedConv3d(MaskedConv3d):
    """Masked convolution with a ``group_mask``: the centre tap reads the earlier slices."""

    def __init__(self, sizes: list[int], kernel: int):
        channels = sum(sizes)
        super().__init__(channels, 2 * channels, kernel, "A")
        self.mask.copy_(group_mask(kernel, sizes))

    def centre_weight(self) -> torch.Tensor:
        """Effective weight of the centre tap [out, in] (zero outside the earlier slices)."""
        r = self.kernel_size[0] // 2
        return self.masked_weight()[:, :, r, r, r]


class HybridEntropyModel(AnchoredContextModel):
    """Hyperprior-anchored quantisation + spatial context + channel slices at each position.
    Options ``slices`` (4), ``kernel`` (5), ``slice_hidden`` (default max(C, 8))."""

    name = "hybrid"
    option_names = HyperpriorEntropyModel.option_names | {"slices", "kernel", "slice_hidden"}

    def __init__(self, channels: int, **options: Any):
        super().__init__(channels, **options)
        self.sizes = slice_sizes(channels, int(options.get("slices", min(4, channels))))
        self.kernel = int(options.get("kernel", 5))
        hidden = int(options.get("slice_hidden", max(channels, 8)))
        self.context = GroupMaskedConv3d(self.sizes, self.kernel)
        self.fusion = nn.ModuleList(
            nn.Sequential(
                nn.Conv3d(2 * channels + 2 * size, 2 * hidden, 1),
                nn.ReLU(),
                nn.Conv3d(2 * hidden, hidden, 1),
                nn.ReLU(),
                zero_last(nn.Conv3d(hidden, 2 * size, 1)),
            )
            for size in self.sizes
        )

    def _refined(self, psi: torch.Tensor, raw: torch.Tensor, residual: torch.Tensor):
        """(offset, scale) [B, C, D, H, W] from psi and the residuals decoded before each
        element (earlier positions: all channels; this position: earlier slices)."""
        groups = torch.split(self.context(residual), [2 * s for s in self.sizes], dim=1)
        raws = torch.split(raw, self.sizes, dim=1)
        offsets, scales = [], []
        for k, (group, raw_k) in enumerate(zip(groups, raws, strict=True)):
            offset, scale = refine(raw_k, self.fusion[k](torch.cat([psi, group], dim=1)))
            offsets.append(offset)
            scales.append(scale)
        return torch.cat(offsets, 1), torch.cat(scales, 1)

    def decoding_steps(self, shape: tuple[int, int, int, int]) -> torch.Tensor:
        """raster index of the position * K + slice index."""
        c, d, h, w = shape
        per_slice = torch.repeat_interleave(torch.arange(len(self.sizes)), torch.tensor(self.sizes))
        raster = torch.arange(d * h * w).view(1, d, h, w)
        return (raster * len(self.sizes) + per_slice.view(-1, 1, 1, 1)).expand(c, d, h, w).clone()

    def _step_function(self, psi: torch.Tensor):
        """(residual buffer [B, C, ...] padded by r, pos, k) -> (offset, scale) [B, C_k] of slice
        k at pos, from the earlier positions (all channels) and the earlier slices at pos."""
        offsets, weight = self.context.taps()  # [T, 3], [2C, T * C]
        centre = self.context.centre_weight()  # [2C, C]
        bias = self.context.bias
        r = self.kernel // 2
        padded = tuple(int(s) + 2 * r for s in psi.shape[2:])
        taps = flat_offsets(offsets, padded)
        raw = psi.chunk(2, dim=1)[1]
        starts = np.cumsum([0, *self.sizes]).tolist()
        rows = [slice(2 * starts[k], 2 * starts[k + 1]) for k in range(len(self.sizes))]
        cache: dict[tuple[int, int, int], torch.Tensor] = {}

        def params(buffer: torch.Tensor, pos: tuple[int, int, int], k: int):
            d, h, w = pos
            if pos not in cache:  # the earlier positions' contribution, once per position
                cache.clear()
                flat = ((d + r) * padded[1] + h + r) * padded[2] + w + r
                cache[pos] = F.linear(gather_taps(buffer, taps, flat), weight, bias)  # [B, 2C]
            ctx = cache[pos][:, rows[k]]
            if starts[k]:
                here = buffer[:, : starts[k], d + r, h + r, w + r]  # [B, earlier slices]
                ctx = ctx + F.linear(here, centre[rows[k], : starts[k]])
            out = pointwise(self.fusion[k], torch.cat([psi[:, :, d, h, w], ctx], dim=1))
            return refine(raw[:, starts[k] : starts[k + 1], d, h, w], out)

        return params

    def serial_parameters(self, y_hat: torch.Tensor, side: torch.Tensor):
        """(mean, scale) [B, C, D, H, W] computed step by step as the coder does."""
        psi = self.hyper_features(side, y_hat.shape[2:])
        anchor, _ = self.anchors(psi, self.training)
        r = self.kernel // 2
        buffer = F.pad(y_hat - anchor, (r,) * 6)
        step = self._step_function(psi)
        starts = np.cumsum([0, *self.sizes]).tolist()
        means, scales = torch.zeros_like(y_hat), torch.zeros_like(y_hat)
        for d, h, w in raster_positions(y_hat.shape[2:]):
            for k in range(len(self.sizes)):
                offset, scale = step(buffer, (d, h, w), k)
                ch = slice(starts[k], starts[k + 1])
                means[:, ch, d, h, w] = anchor[:, ch, d, h, w] + offset
                scales[:, ch, d, h, w] = scale
        return means, scales

    def _code_y(self, stream: Any, psi: torch.Tensor, dims: tuple[int, ...], y):
        """Serial coding shared by encoder (y given) and decoder (y None) -> y_hat."""
        anchor, _ = self.anchors(psi, training=False)
        r = self.kernel // 2
        buffer = serial_buffer(dims[0], self.channels, tuple(s + 2 * r for s in dims[2:]))
        step = self._step_function(psi)
        starts = np.cumsum([0, *self.sizes]).tolist()
        for pos in raster_positions(dims[2:]):
            d, h, w = pos
            for k in range(len(self.sizes)):
                ch = slice(starts[k], starts[k + 1])
                offset, scale = step(buffer, pos, k)
                target = None if y is None else y[:, ch, d, h, w] - anchor[:, ch, d, h, w]
                residual = code_residual(self.gaussian, stream, offset, scale, target)
                buffer[:, ch, d + r, h + r, w + r] = residual
        return _interior(buffer, r) + anchor

    def _encode_y(self, y: torch.Tensor, psi: torch.Tensor, writer: Any) -> torch.Tensor:
        return self._code_y(writer, psi, tuple(y.shape), y)

    def _decode_y(self, reader: Any, psi: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        return self._code_y(reader, psi, tuple(dims), None)
