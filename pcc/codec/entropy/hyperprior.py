"""The two entropy models without context: a factorised Gaussian prior and the mean-scale
hyperprior.

* ``gaussian``: one learned Gaussian N(mu_c, sigma_c) per channel, the same at every position
  (a factorised prior in the sense of Ballé et al. 2017, "End-to-end optimized image
  compression"). Unlike DeepCompress V2's per-element scales it works for any block size.
* ``hyperprior``: side information z = h_a(y) is coded with the non-parametric factorised prior;
  h_s(z_hat) predicts a mean and a scale for every element of y (Ballé et al. 2018, "Variational
  image compression with a scale hyperprior"; the mean-scale variant of Minnen et al. 2018,
  "Joint autoregressive and hierarchical priors"). The hyper transforms follow GEOv2
  (``research/pc_codec.md`` a.3): h_a = conv 3^3 (ReLU) -> conv 3^3 stride 2 (ReLU) -> conv 3^3;
  h_s mirrors it with transposed convolutions and ends in 2C channels (mean, scale).

Both quantise around the mean (y_hat = round(y - mu) + mu) and write symbols grouped by scale
index. Taught in ``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pcc.codec.entropy.base import EntropyModel, EntropyOutput, check_latent
from pcc.codec.entropy.factorized import FactorizedPrior
from pcc.codec.entropy.gaussian_conditional import (
    GaussianConditional,
    decode_centred,
    encode_centred,
    quantize_centred,
    snap_anchor,
)


def _gaussian_options(options: dict[str, Any], offsets: bool) -> GaussianConditional:
    """A GaussianConditional from the model options (scale_min/max, scale_levels, mean_steps)."""
    return GaussianConditional(
        scale_min=float(options.get("scale_min", 0.11)),
        scale_max=float(options.get("scale_max", 256.0)),
        levels=int(options.get("scale_levels", 64)),
        mean_steps=int(options.get("mean_steps", 64)),
        offsets=offsets,
    )


class GaussianEntropyModel(EntropyModel):
    """Factorised Gaussian prior: learned per-channel mean and scale, no side information."""

    name = "gaussian"
    option_names = frozenset({"scale_min", "scale_max", "scale_levels", "mean_steps"})

    def __init__(self, channels: int, **options: Any):
        super().__init__(channels, **options)
        self.mean = nn.Parameter(torch.zeros(channels))
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.gaussian = _gaussian_options(options, offsets=False)

    def conditional_parameters(self, y_hat: torch.Tensor, side: Any = None):
        """(mean, scale) broadcast to y_hat [B, C, D, H, W]; they never depend on y_hat."""
        view = (1, self.channels, *([1] * (y_hat.dim() - 2)))
        mean = self.mean.view(view).expand_as(y_hat)
        scale = torch.exp(self.log_scale).view(view).expand_as(y_hat)
        return mean, scale

    def forward(self, y: torch.Tensor) -> EntropyOutput:  # y [B, C, D, H, W]
        check_latent(y, self.channels)
        mean, scale = self.conditional_parameters(y)
        y_hat, lik = quantize_centred(self.gaussian, y, mean, scale, self.training)
        return EntropyOutput(y_hat, {"y": lik})

    def _encode(self, y: torch.Tensor, writer: Any) -> torch.Tensor:
        mean, scale = self.conditional_parameters(y)
        return encode_centred(self.gaussian, writer, y, mean, scale)

    def _decode(self, reader: Any, dims: tuple[int, ...]) -> torch.Tensor:
        mean, scale = self.conditional_parameters(torch.zeros(dims))
        return decode_centred(self.gaussian, reader, mean, scale)


class HyperAnalysis(nn.Sequential):
    """h_a: y [B, C, D, H, W] -> z [B, N, ceil(D/2), ceil(H/2), ceil(W/2)] (GEOv2 layout)."""

    def __init__(self, channels: int, hyper_channels: int):
        super().__init__(
            nn.Conv3d(channels, hyper_channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv3d(hyper_channels, hyper_channels, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv3d(hyper_channels, hyper_channels, 3, padding=1, bias=False),
        )


class HyperSynthesis(nn.Module):
    """h_s: z_hat [B, N, d, h, w] -> features [B, out, D, H, W] (cropped to y's size)."""

    def __init__(self, hyper_channels: int, out_channels: int):
        super().__init__()
        n = hyper_channels
        self.layers = nn.Sequential(
            nn.ConvTranspose3d(n, n, 3, padding=1),
            nn.ReLU(),
            nn.ConvTranspose3d(n, n, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose3d(n, out_channels, 3, padding=1),
        )

    def forward(self, z_hat: torch.Tensor, spatial: tuple[int, int, int]) -> torch.Tensor:
        out = self.layers(z_hat)
        d, h, w = spatial
        return out[:, :, :d, :h, :w]


def hyper_shape(dims: tuple[int, ...], hyper_channels: int) -> tuple[int, ...]:
    """Shape of z for a latent of shape (B, C, D, H, W): (B, N, ceil(D/2), ceil(H/2), ceil(W/2))."""
    b, _, d, h, w = dims
    return (b, hyper_channels, (d + 1) // 2, (h + 1) // 2, (w + 1) // 2)


class HyperpriorEntropyModel(EntropyModel):
    """Mean-scale hyperprior; the base of the channel, context, attention and hybrid models.

    Options: ``hyper_channels`` (N, default = channels), ``scale_min``, ``scale_max``,
    ``scale_levels``, ``mean_steps``. Subclasses override ``_y_forward`` / ``_encode_y`` /
    ``_decode_y`` / ``conditional_parameters`` and keep the z path.
    """

    name = "hyperprior"
    option_names = GaussianEntropyModel.option_names | {"hyper_channels"}
    fractional_means = False  # True for context models (residual pmfs with a mean offset)

    def __init__(self, channels: int, **options: Any):
        super().__init__(channels, **options)
        self.hyper_channels = int(options.get("hyper_channels", channels))
        self.h_a = HyperAnalysis(channels, self.hyper_channels)
        self.h_s = HyperSynthesis(self.hyper_channels, 2 * channels)
        self.z_prior = FactorizedPrior(self.hyper_channels)
        self.gaussian = _gaussian_options(options, offsets=self.fractional_means)

    # --- hyper path ----------------------------------------------------------------------------
    def side_information(self, y: torch.Tensor) -> torch.Tensor:
        """z_hat [B, N, d, h, w] as the decoder will have it (rounded around the medians)."""
        _, z_hat = self.z_prior.symbols(self.h_a(y))
        return z_hat

    def hyper_features(self, z_hat: torch.Tensor, spatial: tuple[int, ...]) -> torch.Tensor:
        """psi = h_s(z_hat) cropped to y's spatial size -> [B, 2C, D, H, W]."""
        return self.h_s(z_hat, tuple(spatial))

    def _mean_scale(self, psi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Split 2C features into (mean, scale = softplus(raw)), each [B, C, ...]."""
        mean, raw = psi.chunk(2, dim=1)
        return mean, F.softplus(raw)

    def anchors(self, psi: torch.Tensor, training: bool):
        """psi [B, 2C, ...] -> (anchor a, raw scale), each [B, C, ...], for the context models.

        The anchor is the hyperprior mean (snapped to the mean grid unless ``training``): the
        context models round y around it and refine the residual's pmf.
        """
        mean, raw = psi.chunk(2, dim=1)
        return snap_anchor(self.gaussian, mean, training), raw

    def conditional_parameters(self, y_hat: torch.Tensor, side: torch.Tensor):
        """(mean, scale) [B, C, D, H, W] from z_hat only."""
        return self._mean_scale(self.hyper_features(side, y_hat.shape[2:]))

    # --- contract ------------------------------------------------------------------------------
    def forward(self, y: torch.Tensor) -> EntropyOutput:  # y [B, C, D, H, W]
        check_latent(y, self.channels)
        z_hat, z_lik = self.z_prior(self.h_a(y))
        psi = self.hyper_features(z_hat, y.shape[2:])
        y_hat, y_lik = self._y_forward(y, psi)
        return EntropyOutput(y_hat, {"y": y_lik, "z": z_lik})

    def aux_loss(self) -> torch.Tensor:
        return self.z_prior.aux_loss()

    def _y_forward(self, y: torch.Tensor, psi: torch.Tensor):
        """y [B, C, ...], psi [B, 2C, ...] -> (y_hat, likelihood of y)."""
        mean, scale = self._mean_scale(psi)
        return quantize_centred(self.gaussian, y, mean, scale, self.training)

    def _encode(self, y: torch.Tensor, writer: Any) -> torch.Tensor:
        z_hat = self.z_prior.encode(writer, self.h_a(y))
        psi = self.hyper_features(z_hat, y.shape[2:])
        return self._encode_y(y, psi, writer)

    def _decode(self, reader: Any, dims: tuple[int, ...]) -> torch.Tensor:
        z_hat = self.z_prior.decode(reader, hyper_shape(dims, self.hyper_channels))
        psi = self.hyper_features(z_hat, dims[2:])
        return self._decode_y(reader, psi, dims)

    def _encode_y(self, y: torch.Tensor, psi: torch.Tensor, writer: Any) -> torch.Tensor:
        mean, scale = self._mean_scale(psi)
        return encode_centred(self.gaussian, writer, y, mean, scale)

    def _decode_y(self, reader: Any, psi: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        mean, scale = self._mean_scale(psi)
        return decode_centred(self.gaussian, reader, mean, scale)
