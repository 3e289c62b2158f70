"""Spatial context model: masked 3D convolution in raster order + hyperprior (Minnen et al. 2018,
"Joint autoregressive and hierarchical priors for learned image compression", in 3D as in
DeepCompress V2's context model, ``research/pc_codec.md`` a.5, but trained on the quantised
latent and with real serial coding).

Positions of the latent are decoded one after another in raster order over (D, H, W), all C
channels of a position at once. A type-A masked convolution (kernel 5^3 by default) sees only the
positions before the current one; its output and the hyperprior features go through 1^3
convolutions to a mean and a scale per channel.

Quantisation is to integers, y_hat = round(y) (straight-through in training), so the context the
network reads in training is exactly what the decoder has; the mean is then only used by the
pmf, whose tables are indexed by (scale index, mean fraction on a 1/64 grid).

Coding is serial on both sides: the encoder runs the *same* per-position function as the decoder
(``_serial``: gather the causal taps from a zero-padded buffer, one small matmul), so every
parameter is bit-identical without relying on a batched convolution equalling a serial one.
Training uses the masked convolution (parallel); the two agree to float rounding (tested).

Taught in ``notebooks/08_entropy_models.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pcc.codec.entropy.gaussian_conditional import quantize_integer, round_ste
from pcc.codec.entropy.hyperprior import HyperpriorEntropyModel


def raster_mask(kernel: int, mask_type: str = "A") -> torch.Tensor:
    """Causal mask of a k^3 kernel in raster order (vectorised) -> float32 [k, k, k].

    Type "A" keeps the offsets strictly before the centre, type "B" also the centre,
    "none" keeps everything (an unmasked convolution, for tests).
    """
    if kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"kernel must be odd and positive, got {kernel}")
    order = torch.arange(kernel**3).view(kernel, kernel, kernel)
    centre = (kernel**3 - 1) // 2
    if mask_type == "A":
        return (order < centre).float()
    if mask_type == "B":
        return (order <= centre).float()
    if mask_type == "none":
        return torch.ones(kernel, kernel, kernel)
    raise ValueError(f"mask_type must be 'A', 'B' or 'none', got {mask_type!r}")


def raster_mask_reference(kernel: int, mask_type: str = "A") -> torch.Tensor:
    """Loop reference of ``raster_mask`` for types A and B -> float32 [k, k, k]."""
    mask = torch.zeros(kernel, kernel, kernel)
    c = kernel // 2
    for i in range(kernel):
        for j in range(kernel):
            for k in range(kernel):
                before = (i, j, k) < (c, c, c)  # lexicographic = raster order
                centre = (i, j, k) == (c, c, c)
                if before or (mask_type == "B" and centre):
                    mask[i, j, k] = 1.0
    return mask


def causal_offsets(kernel: int) -> torch.Tensor:
    """Offsets (dz, dy, dx) of the type-A taps, in raster order -> int64 [T, 3], T=(k^3-1)/2."""
    r = kernel // 2
    grid = torch.stack(
        torch.meshgrid(*[torch.arange(-r, r + 1)] * 3, indexing="ij"), dim=-1
    ).reshape(-1, 3)
    return grid[: (kernel**3 - 1) // 2]


class MaskedConv3d(nn.Conv3d):
    """Conv3d whose weight is multiplied by a raster-order mask (``raster_mask``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, mask_type: str = "A"):
        super().__init__(in_channels, out_channels, kernel, padding=kernel // 2)
        self.mask_type = mask_type
        self.register_buffer("mask", raster_mask(kernel, mask_type).expand_as(self.weight).clone())

    def masked_weight(self) -> torch.Tensor:
        """The effective weight [out, in, k, k, k]."""
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv3d(x, self.masked_weight(), self.bias, padding=self.padding)

    def taps(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(offsets [T, 3], weight [out, T * in]) of the type-A taps, for serial evaluation.

        The weight's columns are ordered tap-major (t * in + c), matching ``gather_taps``.
        """
        k = self.kernel_size[0]
        offsets = causal_offsets(k)
        r = k // 2
        w = self.masked_weight()[:, :, offsets[:, 0] + r, offsets[:, 1] + r, offsets[:, 2] + r]
        return offsets, w.permute(0, 2, 1).reshape(w.shape[0], -1)


def serial_buffer(batch: int, channels: int, spatial: tuple[int, ...]) -> torch.Tensor:
    """Zeros [B, C, D, H, W] stored spatial-major ([D, H, W, B, C] in memory), so that the values
    of one position are contiguous and gathering positions is a fast row copy."""
    return torch.zeros(*spatial, batch, channels).permute(3, 4, 0, 1, 2)


def spatial_rows(buffer: torch.Tensor) -> torch.Tensor:
    """[B, C, D, H, W] -> [D * H * W, B, C] (a view for ``serial_buffer`` tensors)."""
    b, c = buffer.shape[:2]
    return buffer.permute(2, 3, 4, 0, 1).reshape(-1, b, c)


def flat_offsets(offsets: torch.Tensor, spatial: tuple[int, ...]) -> torch.Tensor:
    """Offsets [T, 3] -> offsets of the flat raster index in a grid of ``spatial`` -> [T]."""
    _, h, w = spatial
    return (offsets[:, 0] * h + offsets[:, 1]) * w + offsets[:, 2]


def gather_taps(buffer: torch.Tensor, taps: torch.Tensor, flat_pos: int) -> torch.Tensor:
    """Values at the flat positions flat_pos + taps of a buffer -> [B, T * C] (tap-major).

    buffer [B, C, D', H', W'] (padded so that every tap is inside), taps [T] flat offsets.
    """
    rows = spatial_rows(buffer).index_select(0, taps + flat_pos)  # [T, B, C]
    return rows.transpose(0, 1).reshape(buffer.shape[0], -1)


def pointwise(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Apply a stack of 1^3 Conv3d / ReLU layers to feature vectors x [B, in] -> [B, out]."""
    for layer in layers:
        if isinstance(layer, nn.Conv3d):
            x = F.linear(x, layer.weight.view(layer.out_channels, -1), layer.bias)
        else:
            x = layer(x)
    return x


def raster_positions(spatial: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """All (d, h, w) of a D x H x W grid in raster order."""
    d, h, w = spatial
    return [(i, j, k) for i in range(d) for j in range(h) for k in range(w)]


def serial_code(
    gaussian,
    stream: Any,
    params: Callable[[torch.Tensor, tuple[int, int, int]], tuple[torch.Tensor, torch.Tensor]],
    buffer: torch.Tensor,
    positions: list[tuple[int, int, int]],
    r: int,
    y: torch.Tensor | None,
) -> torch.Tensor:
    """The serial loop shared by encoder (y given, ``stream`` a writer) and decoder (y None).

    For each position in order: ``params(buffer, pos)`` -> (mean, scale) [B, C_s]; snap them;
    write round(y) or read the integers; store them in the padded buffer [B, C_s, ...].
    Returns the buffer.
    """
    for pos in positions:
        mean, scale = params(buffer, pos)
        _, _, m_idx, s_idx = gaussian.snap(mean, gaussian.bounded_scale(scale))
        d, h, w = pos
        if y is not None:
            sym = torch.round(y[:, :, d, h, w]).to(torch.int64)  # [B, C_s]
            gaussian.encode(stream, sym.numpy(), s_idx.numpy(), m_idx.numpy(), grouped=False)
        else:
            values = gaussian.decode(stream, s_idx.numpy(), m_idx.numpy(), grouped=False)
            sym = torch.from_numpy(np.asarray(values)).view(s_idx.shape)
        buffer[:, :, d + r, h + r, w + r] = sym.to(buffer.dtype)
    return buffer


class ContextEntropyModel(HyperpriorEntropyModel):
    """Hyperprior + masked 3D convolutional context. Option ``kernel`` (odd, default 5)."""

    name = "context"
    option_names = HyperpriorEntropyModel.option_names | {"kernel"}
    integer_grid = True

    def __init__(self, channels: int, **options: Any):
        super().__init__(channels, **options)
        self.kernel = int(options.get("kernel", 5))
        c = channels
        self.context = MaskedConv3d(c, 2 * c, self.kernel, "A")
        self.entropy_parameters = nn.Sequential(
            nn.Conv3d(4 * c, 3 * c, 1),
            nn.ReLU(),
            nn.Conv3d(3 * c, 2 * c, 1),
            nn.ReLU(),
            nn.Conv3d(2 * c, 2 * c, 1),
        )

    def conditional_parameters(self, y_hat: torch.Tensor, side: torch.Tensor):
        """(mean, scale) [B, C, D, H, W] from z_hat and y_hat at earlier raster positions."""
        psi = self.hyper_features(side, y_hat.shape[2:])
        return self._from_psi(psi, y_hat)

    def _from_psi(self, psi: torch.Tensor, y_hat: torch.Tensor):
        features = torch.cat([psi, self.context(y_hat)], dim=1)
        return self._mean_scale(self.entropy_parameters(features))

    def decoding_steps(self, shape: tuple[int, int, int, int]) -> torch.Tensor:
        """Raster index of the position, the same for every channel."""
        c, d, h, w = shape
        return torch.arange(d * h * w).view(1, d, h, w).expand(c, d, h, w).clone()

    def _y_forward(self, y: torch.Tensor, psi: torch.Tensor):
        y_hat = round_ste(y) if self.training else torch.round(y)
        mean, scale = self._from_psi(psi, y_hat)
        return y_hat, quantize_integer(self.gaussian, y, mean, scale, self.training)

    def _step_function(self, psi: torch.Tensor):
        """(buffer, pos) -> (mean, scale) [B, C] for one position, reading earlier taps only."""
        offsets, weight = self.context.taps()
        r = self.kernel // 2
        padded = tuple(int(s) + 2 * r for s in psi.shape[2:])
        taps = flat_offsets(offsets, padded)

        def params(buffer: torch.Tensor, pos: tuple[int, int, int]):
            flat = ((pos[0] + r) * padded[1] + pos[1] + r) * padded[2] + pos[2] + r
            ctx = F.linear(gather_taps(buffer, taps, flat), weight, self.context.bias)
            features = torch.cat([psi[:, :, pos[0], pos[1], pos[2]], ctx], dim=1)
            return self._mean_scale(pointwise(self.entropy_parameters, features))

        return params

    def serial_parameters(self, y_hat: torch.Tensor, side: torch.Tensor):
        """(mean, scale) [B, C, D, H, W] computed position by position as the coder does."""
        psi = self.hyper_features(side, y_hat.shape[2:])
        r = self.kernel // 2
        buffer = F.pad(y_hat, (r,) * 6)
        step = self._step_function(psi)
        means, scales = torch.zeros_like(y_hat), torch.zeros_like(y_hat)
        for d, h, w in raster_positions(y_hat.shape[2:]):
            mean, scale = step(buffer, (d, h, w))
            means[:, :, d, h, w], scales[:, :, d, h, w] = mean, scale
        return means, scales

    def _encode_y(self, y: torch.Tensor, psi: torch.Tensor, writer: Any) -> torch.Tensor:
        r = self.kernel // 2
        buffer = serial_buffer(y.shape[0], self.channels, tuple(s + 2 * r for s in y.shape[2:]))
        positions = raster_positions(y.shape[2:])
        serial_code(self.gaussian, writer, self._step_function(psi), buffer, positions, r, y)
        return _interior(buffer, r)

    def _decode_y(self, reader: Any, psi: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        r = self.kernel // 2
        buffer = serial_buffer(dims[0], self.channels, tuple(s + 2 * r for s in dims[2:]))
        positions = raster_positions(dims[2:])
        serial_code(self.gaussian, reader, self._step_function(psi), buffer, positions, r, None)
        return _interior(buffer, r)


def _interior(buffer: torch.Tensor, r: int) -> torch.Tensor:
    """Remove r voxels of padding on every spatial side -> contiguous [B, C, D, H, W]."""
    if r == 0:
        return buffer.contiguous()
    return buffer[:, :, r:-r, r:-r, r:-r].contiguous()
