"""Look inside the learned codec: where the bits of a file go and what each entropy model reads.

Three questions a reader of ``notebooks/12_entropy_models.ipynb`` asks, answered with plain data:

* **Where do the bytes of a file go?** :func:`container_breakdown` splits a neural-codec container
  into its framing, JSON header, block octree, per-block point counts and latent streams (real
  byte counts, they add up to the file size).
* **What does the entropy model estimate, and how close is the real stream?**
  :func:`rate_breakdown` runs the model's encoder with a bit counter that keeps the side
  information z and the latent y apart (the same tables as the real coder, so
  ``real bytes * 8 - estimate`` is only the range coder's termination and padding);
  :func:`element_bits` gives -log2 p of every element of y and z from the eval-mode forward pass.
* **Which elements has the decoder seen when it codes element i, and which does the model read?**
  :func:`decoded_before` follows the model's decoding order (``decoding_steps``);
  :func:`dependency_map` *measures* what the distribution parameters of element i depend on
  (autograd through ``conditional_parameters``, unioned over a batch of real latents), and
  :func:`causal_view` combines the two into one labelled grid per element. A causal model never
  reads an element that is decoded at the same step or later (label :data:`LEAK` never appears;
  ``tests/test_codec_causality.py`` checks the same by perturbation).

Taught in ``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import torch

from pcc.codec import coding
from pcc.codec.entropy.base import HEADER_BITS, EntropyModel, check_latent, single_threaded
from pcc.pointcloud import container

# labels of causal_view
FUTURE, KNOWN, USED, TARGET, LEAK = 0, 1, 2, 3, 4
LABELS = {
    FUTURE: "not decoded yet (same step or later)",
    KNOWN: "decoded before, not read",
    USED: "decoded before, read by the model",
    TARGET: "element being coded",
    LEAK: "read although not decoded yet (a leak)",
}

__all__ = [
    "FUTURE",
    "KNOWN",
    "LABELS",
    "LEAK",
    "TARGET",
    "USED",
    "CausalView",
    "causal_view",
    "container_breakdown",
    "decoded_before",
    "dependency_map",
    "element_bits",
    "positions_read",
    "rate_breakdown",
]


# ----------------------------------------------------------------------------- file anatomy


def container_breakdown(data: bytes) -> dict[str, int]:
    """Bytes of each part of a neural-codec container; the values add up to ``len(data)``.

    Keys: ``framing`` (magic, version, lengths, codec id, CRC), ``header`` (the JSON header),
    ``block_octree``, ``counts`` (per-block point counts or thresholds), ``latents`` (all latent
    streams, each with its 5-byte stream header), ``total``.
    """
    _, header, streams = container.unpack(data)
    if len(streams) < 3:
        raise ValueError(f"a neural-codec container has >= 3 streams, this one has {len(streams)}")
    header_bytes = len(
        json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")
    )
    parts = {
        "header": header_bytes,
        "block_octree": len(streams[0]),
        "counts": len(streams[1]),
        "latents": sum(len(s) for s in streams[2:]),
    }
    parts = {"framing": len(data) - sum(parts.values()), **parts}
    parts["total"] = len(data)
    return parts


class _SplitCounter(coding.BitCounter):
    """A ``BitCounter`` that also adds up the bits written under ``("z", channel)`` keys."""

    def __init__(self) -> None:
        super().__init__()
        self.z_bits = 0.0

    def encode(self, values, pmfs, lows, widths, key: Hashable | None = None) -> None:
        before = self.bits
        super().encode(values, pmfs, lows, widths, key)
        if isinstance(key, tuple) and key and key[0] == "z":
            self.z_bits += self.bits - before


@dataclass(frozen=True)
class RateBreakdown:
    """Estimated bits of one ``compress`` call under the coder's own integer tables."""

    z_bits: float  # side information (hyperprior models; 0 for gaussian)
    y_bits: float  # the latent y
    header_bits: int  # the stream header: model code + CRC32

    @property
    def total_bits(self) -> float:
        """What ``EntropyModel.estimate_bits`` returns."""
        return self.z_bits + self.y_bits + self.header_bits

    def as_dict(self) -> dict[str, float]:
        return {
            "z_bits": self.z_bits,
            "y_bits": self.y_bits,
            "header_bits": float(self.header_bits),
            "total_bits": self.total_bits,
        }


def rate_breakdown(model: EntropyModel, y: torch.Tensor) -> RateBreakdown:  # y [B, C, D, H, W]
    """-sum log2 p of what ``model.compress(y)`` writes, split into z, y and the stream header.

    The encoder runs exactly as in ``compress`` (same snapping, same tables, same order) with a
    counter instead of the range coder, so ``z_bits + y_bits + header_bits`` equals
    ``model.estimate_bits(y)``.
    """
    check_latent(y, model.channels)
    with torch.no_grad(), single_threaded():
        model.update()
        counter = _SplitCounter()
        model._encode(y.detach().float().cpu(), counter)
    return RateBreakdown(counter.z_bits, counter.bits - counter.z_bits, HEADER_BITS)


@torch.no_grad()
def element_bits(model: EntropyModel, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """-log2 p of every element from the eval-mode forward pass: ``{"y": [B, C, D, H, W],
    "z": [B, N, d, h, w] (hyperprior models only)}``.

    Computed from the floating-point likelihoods (what training minimises, here without noise),
    not from the integer tables: their sum differs from :func:`rate_breakdown` by a fraction of a
    percent (table quantisation, escapes).
    """
    was_training = model.training
    model.eval()
    try:
        out = model(y.detach().float())
    finally:
        model.train(was_training)
    return {k: -torch.log2(v.double()).float() for k, v in out.likelihoods.items()}


# ----------------------------------------------------------------------------- causality


def _element(element, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    if len(element) != 4:
        raise ValueError(f"element must be (c, d, h, w), got {element}")
    element = tuple(int(e) for e in element)
    if any(not 0 <= e < s for e, s in zip(element, shape, strict=True)):
        raise ValueError(f"element {element} is outside the latent {shape}")
    return element  # type: ignore[return-value]


def decoded_before(
    model: EntropyModel, shape: tuple[int, int, int, int], element
) -> torch.Tensor:  # -> bool [C, D, H, W]
    """Elements the decoder already has when it decodes ``element`` = (c, d, h, w): those with a
    strictly smaller decoding step (``model.decoding_steps``)."""
    shape = tuple(int(s) for s in shape)
    element = _element(element, shape)
    steps = model.decoding_steps(shape)  # [C, D, H, W]
    return steps < steps[element]


def dependency_map(
    model: EntropyModel,
    y_hat: torch.Tensor,  # [B, C, D, H, W] decoded latents (several blocks: a union)
    element,
    side=None,
) -> torch.Tensor:  # -> bool [C, D, H, W]
    """Elements of y_hat that the mean or scale of ``element`` (c, d, h, w) depends on, measured.

    The gradients of mean and scale at ``element`` with respect to y_hat (with the side
    information fixed: ``side`` or ``model.side_information(y_hat)``) are taken in every block of
    the batch; an element counts as read when any block's gradient there is non-zero. Several real
    blocks avoid missing a dependency through a ReLU that happens to be off in one of them.
    """
    check_latent(y_hat, model.channels)
    element = _element(element, tuple(y_hat.shape[1:]))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            side = model.side_information(y_hat) if side is None else side
        x = y_hat.detach().float().clone().requires_grad_(True)
        mean, scale = model.conditional_parameters(x, side)
        index = (slice(None), *element)
        target = mean[index].sum() + scale[index].sum()
        if not target.requires_grad:  # parameters do not depend on y_hat at all
            return torch.zeros(y_hat.shape[1:], dtype=torch.bool)
        (grad,) = torch.autograd.grad(target, x, allow_unused=True)
    finally:
        model.train(was_training)
    if grad is None:
        return torch.zeros(y_hat.shape[1:], dtype=torch.bool)
    return (grad.abs() > 0).any(dim=0)


@dataclass(frozen=True)
class CausalView:
    """What the model reads when it codes one element: ``labels`` int8 [C, D, H, W] with the
    values ``FUTURE``, ``KNOWN``, ``USED``, ``TARGET``, ``LEAK`` (see :data:`LABELS`)."""

    element: tuple[int, int, int, int]
    labels: np.ndarray  # int8 [C, D, H, W]

    def count(self, label: int) -> int:
        return int((self.labels == label).sum())

    @property
    def decoded(self) -> int:
        """Elements the decoder has when it codes ``element``."""
        return self.count(KNOWN) + self.count(USED)

    @property
    def used(self) -> int:
        """Elements the model actually reads for ``element``."""
        return self.count(USED)

    @property
    def leaks(self) -> int:
        """Elements read although not decoded yet: 0 for a causal model."""
        return self.count(LEAK)

    def by_position(self) -> np.ndarray:  # -> int8 [C, D * H * W]
        """Labels as a channel x raster-position matrix (the decoding order of the spatial
        models runs along the columns)."""
        return self.labels.reshape(self.labels.shape[0], -1)


def causal_view(model: EntropyModel, y_hat: torch.Tensor, element, side=None) -> CausalView:
    """Label every element of the latent for the coding of ``element`` (c, d, h, w): decoded or
    not (:func:`decoded_before`) and read or not (:func:`dependency_map`). ``y_hat`` [B, C, D, H, W]
    are real decoded latents (the dependencies are measured on them)."""
    shape = tuple(int(s) for s in y_hat.shape[1:])
    element = _element(element, shape)
    before = decoded_before(model, shape, element).numpy()
    used = dependency_map(model, y_hat, element, side).numpy()
    labels = np.full(shape, FUTURE, dtype=np.int8)
    labels[before & ~used] = KNOWN
    labels[before & used] = USED
    labels[~before & used] = LEAK
    labels[element] = LEAK if used[element] else TARGET
    return CausalView(element, labels)


def positions_read(
    model: EntropyModel, y_hat: torch.Tensor, channel: int = 0, side=None
) -> np.ndarray:  # -> int64 [D, H, W]
    """For every position p of the latent grid: how many positions the model reads (any channel)
    when it codes ``channel`` at p, measured by :func:`dependency_map` on y_hat [B, C, D, H, W].

    For the spatial models this is the number of decoded neighbours inside their window: 0 at a
    block's first position, up to 62 (5^3 window) in the interior of a large latent.
    """
    check_latent(y_hat, model.channels)
    with torch.no_grad():
        side = model.side_information(y_hat) if side is None else side
    d, h, w = (int(s) for s in y_hat.shape[2:])
    out = np.zeros((d, h, w), dtype=np.int64)
    for i in range(d):
        for j in range(h):
            for k in range(w):
                used = dependency_map(model, y_hat, (channel, i, j, k), side)  # [C, D, H, W]
                out[i, j, k] = int(used.any(dim=0).sum())
    return out
