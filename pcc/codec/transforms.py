"""Analysis (g_a) and synthesis (g_s) transforms of the block codec, GEOv2 c3p with the
DeepCompress c3p2 encoder, sized for CPU.

GEOv2 (Quach et al. 2020, arXiv 2006.09043) c3p: three residual stride-2 analysis stages
(16, 32, 64 filters on 64^3 blocks) and a final bias-free conv to the latent; the mirror synthesis.
DeepCompress c3p2 (Killea et al. 2021, arXiv 2106.01504) swaps the last analysis stage for the
"1+2D" separable inception block (``AnalysisInceptionBlock``); the decoder is unchanged.

CPU sizing used by ``pcc`` (documented in ``input_models/README.md``): 32^3 blocks, filters
(8, 16, 32), 32 latent channels, so one block gives ``y`` of shape ``[1, 32, 4, 4, 4]``
(3 stride-2 stages divide the side by 8). Differences from GEOv2: the synthesis ends with a
plain conv giving occupancy *logits* (GEOv2 ends with a ReLU and clips to [0, 1]), so the
focal loss works on ``sigmoid(logits)``.

Taught in ``notebooks/11_learned_codec.ipynb``.
"""

from __future__ import annotations

import torch
from torch import nn

from pcc.codec.layers import (
    AnalysisInceptionBlock,
    AnalysisResidualBlock,
    ConvAct,
    SynthesisResidualBlock,
)

DOWNSAMPLING = 8  # three stride-2 stages


def init_weights(module: nn.Module, activation: str = "relu") -> None:
    """He (Kaiming) normal initialisation of every conv (fan-in), zero biases.

    PyTorch's default conv init gives ``y`` a standard deviation of ~0.03 on sparse occupancy
    blocks, far below the quantiser's step of 1: rounding then erases the latent and training
    stalls. With He et al. 2015 ("Delving deep into rectifiers") ``y`` starts at ~0.5. The ReLU
    gain sqrt(2) is used for ReLU nets; GDN nets get gain 1 (a stack of inverse GDNs amplifies
    large inputs, and the ReLU gain makes g_s overflow).
    """
    gain = "relu" if activation == "relu" else "linear"
    for m in module.modules():
        if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d)):
            nn.init.kaiming_normal_(m.weight, nonlinearity=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class AnalysisTransform(nn.Module):
    """g_a: occupancy block ``[B, 1, S, S, S]`` -> latent ``y`` ``[B, N, S/8, S/8, S/8]``.

    Stages: residual(f0) -> residual(f1) -> inception(f2) (c3p2) or residual(f2) (c3p), then a
    bias-free 3^3 conv to ``latent_channels`` without activation (GEOv2).
    """

    def __init__(
        self,
        filters: tuple[int, int, int] = (8, 16, 32),
        latent_channels: int = 32,
        activation: str = "relu",
        inception: bool = True,
    ):
        super().__init__()
        f0, f1, f2 = filters
        last = AnalysisInceptionBlock if inception else AnalysisResidualBlock
        self.stages = nn.Sequential(
            AnalysisResidualBlock(1, f0, activation),
            AnalysisResidualBlock(f0, f1, activation),
            last(f1, f2, activation),
        )
        self.to_latent = nn.Conv3d(f2, latent_channels, 3, padding=1, bias=False)
        init_weights(self, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, 1, S, S, S] -> [B, N, S/8, ...]
        if x.dim() != 5 or x.shape[1] != 1 or any(s % DOWNSAMPLING for s in x.shape[2:]):
            raise ValueError(
                f"g_a expects [B, 1, S, S, S] with S divisible by 8, got {tuple(x.shape)}"
            )
        return self.to_latent(self.stages(x))


class SynthesisTransform(nn.Module):
    """g_s: ``y_hat`` ``[B, N, s, s, s]`` -> occupancy logits ``[B, 1, 8s, 8s, 8s]``.

    Mirror of g_a: residual transposed stages (f2, f1, f0), then a 3^3 conv to one logit channel.
    """

    def __init__(
        self,
        filters: tuple[int, int, int] = (8, 16, 32),
        latent_channels: int = 32,
        activation: str = "relu",
    ):
        super().__init__()
        f0, f1, f2 = filters
        self.stages = nn.Sequential(
            SynthesisResidualBlock(latent_channels, f2, activation),
            SynthesisResidualBlock(f2, f1, activation),
            SynthesisResidualBlock(f1, f0, activation),
        )
        self.to_logits = nn.Conv3d(f0, 1, 3, padding=1)
        init_weights(self, activation)

    def forward(self, y_hat: torch.Tensor) -> torch.Tensor:  # [B, N, s, s, s] -> [B, 1, 8s, ...]
        return self.to_logits(self.stages(y_hat))


__all__ = ["AnalysisTransform", "SynthesisTransform", "ConvAct", "DOWNSAMPLING"]
