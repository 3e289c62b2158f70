"""The block codec: g_a -> entropy model -> g_s on one dense occupancy block (GEOv2 / DeepCompress).

``BlockCodec`` glues the analysis transform, one of the six entropy models of
``pcc.codec.entropy`` (which holds its own hyper transforms h_a / h_s) and the synthesis
transform. Its architecture is described by a plain dict (``BlockCodec.architecture``) that
checkpoints store, so a checkpoint rebuilds its model and a wrong one gives a clear error.

Shapes for the default CPU sizing: block ``x`` ``[B, 1, 32, 32, 32]`` -> ``y``
``[B, 32, 4, 4, 4]`` -> logits ``[B, 1, 32, 32, 32]``.

Taught in ``notebooks/11_learned_codec.ipynb`` and ``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from pcc.codec.entropy import build_entropy_model
from pcc.codec.threshold import threshold_occupancy, topk_occupancy
from pcc.codec.transforms import DOWNSAMPLING, AnalysisTransform, SynthesisTransform

DEFAULT_ARCHITECTURE: dict[str, Any] = {
    "block_size": 32,
    "filters": [8, 16, 32],
    "latent_channels": 32,
    "activation": "relu",
    "inception": True,
    "entropy_model": "hyperprior",
    "entropy_options": {},
}


def normalise_architecture(arch: dict[str, Any] | None = None, **overrides) -> dict[str, Any]:
    """Fill defaults and check an architecture dict; returns a new dict with canonical types."""
    out = dict(DEFAULT_ARCHITECTURE)
    out.update(arch or {})
    out.update(overrides)
    unknown = set(out) - set(DEFAULT_ARCHITECTURE)
    if unknown:
        raise ValueError(f"unknown architecture keys {sorted(unknown)}")
    out["block_size"] = int(out["block_size"])
    out["filters"] = [int(f) for f in out["filters"]]
    out["latent_channels"] = int(out["latent_channels"])
    out["inception"] = bool(out["inception"])
    out["entropy_options"] = dict(out["entropy_options"] or {})
    if out["block_size"] % DOWNSAMPLING or out["block_size"] <= 0:
        raise ValueError(f"block_size must be a positive multiple of 8, got {out['block_size']}")
    if len(out["filters"]) != 3:
        raise ValueError(f"filters must have 3 entries, got {out['filters']}")
    return out


class BlockCodec(nn.Module):
    """Learned codec of one ``S^3`` occupancy block: ``y = g_a(x)``, entropy model, ``g_s(y_hat)``.

    ``forward`` is used for training (noisy / STE latents inside the entropy model) and, in eval
    mode, gives the same ``y_hat`` as ``compress`` / ``decompress``.
    """

    def __init__(self, architecture: dict[str, Any] | None = None, **overrides):
        super().__init__()
        self.architecture = normalise_architecture(architecture, **overrides)
        a = self.architecture
        self.g_a = AnalysisTransform(
            a["filters"], a["latent_channels"], a["activation"], a["inception"]
        )
        self.entropy = build_entropy_model(
            a["entropy_model"], a["latent_channels"], **a["entropy_options"]
        )
        self.g_s = SynthesisTransform(a["filters"], a["latent_channels"], a["activation"])

    @property
    def block_size(self) -> int:
        return self.architecture["block_size"]

    @property
    def latent_shape(self) -> tuple[int, int, int, int]:
        """``(C, D, H, W)`` of one block's latent."""
        s = self.block_size // DOWNSAMPLING
        return (self.architecture["latent_channels"], s, s, s)

    def forward(self, x: torch.Tensor) -> dict[str, Any]:  # x [B, 1, S, S, S] in {0, 1}
        """Training / evaluation pass: ``x_logits`` ``[B, 1, S, S, S]``, ``likelihoods`` (dict of
        tensors), ``y_hat`` ``[B, C, S/8, S/8, S/8]`` and the entropy model's ``aux_loss``
        (returned here so that DDP sees every parameter in one forward)."""
        self._check_block(x)
        y = self.g_a(x.float())
        out = self.entropy(y)
        logits = self.g_s(out.y_hat)
        return {
            "x_logits": logits,
            "likelihoods": out.likelihoods,
            "y_hat": out.y_hat,
            "aux_loss": self.entropy.aux_loss(),
        }

    def _check_block(self, x: torch.Tensor) -> None:
        s = self.block_size
        if x.dim() != 5 or tuple(x.shape[1:]) != (1, s, s, s):
            raise ValueError(f"expected blocks [B, 1, {s}, {s}, {s}], got {tuple(x.shape)}")

    def _as_batch(self, block: torch.Tensor | np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(block) if isinstance(block, np.ndarray) else block)
        s = self.block_size
        if x.dim() == 3:
            x = x[None, None]
        if tuple(x.shape) != (1, 1, s, s, s):
            raise ValueError(f"expected one block [{s}, {s}, {s}], got {tuple(x.shape)}")
        return x.float()

    @torch.no_grad()
    def analyse(self, blocks: torch.Tensor) -> torch.Tensor:  # [B, 1, S, S, S] -> y [B, C, s, s, s]
        """``y = g_a(x)`` for a batch of blocks (no quantisation)."""
        self._check_block(blocks)
        return self.g_a(blocks.float())

    @torch.no_grad()
    def synthesise(self, y_hat: torch.Tensor) -> torch.Tensor:  # [B, C, s, s, s] -> [B, 1, S, S, S]
        """Occupancy logits ``g_s(y_hat)``."""
        return self.g_s(y_hat)

    @torch.no_grad()
    def compress(self, block: torch.Tensor | np.ndarray) -> bytes:  # [S, S, S] or [1, 1, S, S, S]
        """Latent bitstream of one block (everything the entropy model needs: z and y)."""
        x = self._as_batch(block)
        return self.entropy.compress(self.g_a(x))

    @torch.no_grad()
    def decompress_latent(self, data: bytes) -> torch.Tensor:  # -> y_hat [1, C, s, s, s]
        return self.entropy.decompress(data, self.latent_shape)

    @torch.no_grad()
    def decompress(
        self, data: bytes, n_points: int | None = None, threshold: int | None = None
    ) -> torch.Tensor:
        """Occupancy ``[S, S, S]`` bool from a latent bitstream, either keeping the ``n_points``
        most likely voxels (top-k) or thresholding at index ``threshold`` (``t = index / 255``)."""
        if (n_points is None) == (threshold is None):
            raise ValueError("give exactly one of n_points or threshold")
        logits = self.synthesise(self.decompress_latent(data))[0, 0]
        if n_points is not None:
            return topk_occupancy(logits, int(n_points))
        return threshold_occupancy(logits, int(threshold))

    def update(self, force: bool = False) -> None:
        """Build the entropy model's coding tables (call after training, before coding)."""
        self.entropy.update(force=force)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build_codec(architecture: dict[str, Any] | None = None, **overrides) -> BlockCodec:
    """A fresh ``BlockCodec`` (random weights) for an architecture dict."""
    return BlockCodec(architecture, **overrides)
