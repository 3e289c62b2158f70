"""Channel-conditional entropy model (Minnen & Singh 2020, "Channel-wise autoregressive entropy
models for learned image compression").

The C latent channels are split into K slices (default 4). Slice k is decoded after slices
0..k-1; its mean and scale come from the hyperprior features psi = h_s(z_hat) and the already
decoded slices y_hat_{<k}, through a small per-slice network (conv 3^3, ReLU, conv 3^3, ReLU,
conv 1^3 -> 2 C_k). All positions of a slice are decoded together, so decoding takes K steps.
Every slice is quantised around its own predicted mean (y_hat = round(y - mu) + mu), in
training with straight-through rounding, so the next slices see in training exactly what the
decoder gives them (DeepCompress V2 conditioned on the unquantised y instead;
``research/pc_codec.md`` a.5).

Taught in ``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pcc.codec.entropy.gaussian_conditional import (
    decode_centred,
    encode_centred,
    quantize_centred,
)
from pcc.codec.entropy.hyperprior import HyperpriorEntropyModel


def slice_sizes(channels: int, slices: int) -> list[int]:
    """Split ``channels`` into ``slices`` nearly equal positive sizes (larger ones first)."""
    if not 1 <= slices <= channels:
        raise ValueError(f"need 1 <= slices <= channels, got slices={slices}, channels={channels}")
    base, extra = divmod(channels, slices)
    return [base + (1 if i < extra else 0) for i in range(slices)]


class SliceTransform(nn.Sequential):
    """Context of one slice: [psi (2C) | y_hat_{<k}] -> [mean | raw scale] (2 C_k channels)."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int):
        super().__init__(
            nn.Conv3d(in_channels, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv3d(hidden, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv3d(hidden, out_channels, 1),
        )


class ChannelEntropyModel(HyperpriorEntropyModel):
    """Hyperprior + channel-conditional slices. Option ``slices`` (default 4)."""

    name = "channel"
    option_names = HyperpriorEntropyModel.option_names | {"slices", "slice_hidden"}

    def __init__(self, channels: int, **options: Any):
        super().__init__(channels, **options)
        self.sizes = slice_sizes(channels, int(options.get("slices", min(4, channels))))
        hidden = int(options.get("slice_hidden", max(channels, 8)))
        self.slice_transforms = nn.ModuleList()
        done = 0
        for size in self.sizes:
            self.slice_transforms.append(SliceTransform(2 * channels + done, hidden, 2 * size))
            done += size

    def _slice_parameters(self, k: int, psi: torch.Tensor, decoded: list[torch.Tensor]):
        """Mean and scale [B, C_k, ...] of slice k from psi and the decoded slices < k."""
        inputs = torch.cat([psi, *decoded], dim=1) if decoded else psi
        return self._mean_scale(self.slice_transforms[k](inputs))

    def conditional_parameters(self, y_hat: torch.Tensor, side: torch.Tensor):
        """(mean, scale) [B, C, D, H, W]; slice k uses z_hat and y_hat's slices < k only."""
        psi = self.hyper_features(side, y_hat.shape[2:])
        parts = torch.split(y_hat, self.sizes, dim=1)
        means, scales = [], []
        for k in range(len(self.sizes)):
            mean, scale = self._slice_parameters(k, psi, list(parts[:k]))
            means.append(mean)
            scales.append(scale)
        return torch.cat(means, 1), torch.cat(scales, 1)

    def decoding_steps(self, shape: tuple[int, int, int, int]) -> torch.Tensor:
        """Slice index of every element (all positions of a slice are decoded at once)."""
        steps = torch.repeat_interleave(torch.arange(len(self.sizes)), torch.tensor(self.sizes))
        return steps.view(-1, 1, 1, 1).expand(shape).clone()

    def _y_forward(self, y: torch.Tensor, psi: torch.Tensor):
        decoded, liks = [], []
        for k, y_k in enumerate(torch.split(y, self.sizes, dim=1)):
            mean, scale = self._slice_parameters(k, psi, decoded)
            y_hat_k, lik = quantize_centred(self.gaussian, y_k, mean, scale, self.training)
            decoded.append(y_hat_k)
            liks.append(lik)
        return torch.cat(decoded, 1), torch.cat(liks, 1)

    def _encode_y(self, y: torch.Tensor, psi: torch.Tensor, writer: Any) -> torch.Tensor:
        decoded: list[torch.Tensor] = []
        for k, y_k in enumerate(torch.split(y, self.sizes, dim=1)):
            mean, scale = self._slice_parameters(k, psi, decoded)
            decoded.append(encode_centred(self.gaussian, writer, y_k, mean, scale))
        return torch.cat(decoded, 1)

    def _decode_y(self, reader: Any, psi: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        decoded: list[torch.Tensor] = []
        for k in range(len(self.sizes)):
            mean, scale = self._slice_parameters(k, psi, decoded)
            decoded.append(decode_centred(self.gaussian, reader, mean, scale))
        return torch.cat(decoded, 1)
