"""Six causal entropy models for the codec's latent, selected by name.

========== ============================================================ ===========================
name       model                                                        paper
========== ============================================================ ===========================
gaussian   factorised prior: one learned Gaussian per channel           Ballé et al. 2017 (ICLR)
hyperprior mean-scale hyperprior, non-parametric factorised z           Ballé 2018; Minnen 2018
channel    channel-conditional slices on top of the hyperprior          Minnen & Singh 2020
context    masked 3D convolution in raster order + hyperprior           Minnen et al. 2018
attention  windowed attention over already decoded positions + hyper    (after Qian et al. 2022)
hybrid     masked spatial context + channel slices at each position     van den Oord 2016; He 2022
========== ============================================================ ===========================

All share the contract of ``pcc.codec.entropy.base.EntropyModel``. The three spatial models
(context, attention, hybrid) quantise around the hyperprior's mean and refine the residual's pmf
from the residuals decoded before (``pcc.codec.entropy.context``), so on top of a trained
hyperprior they decode the same latent from fewer bits. Taught in
``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

import importlib
from typing import Any

from pcc.codec.entropy.base import ENTROPY_MODELS, EntropyModel, EntropyOutput

# name -> (module, class); modules are imported on first use.
_REGISTRY: dict[str, tuple[str, str]] = {
    "gaussian": ("pcc.codec.entropy.hyperprior", "GaussianEntropyModel"),
    "hyperprior": ("pcc.codec.entropy.hyperprior", "HyperpriorEntropyModel"),
    "channel": ("pcc.codec.entropy.channel", "ChannelEntropyModel"),
    "context": ("pcc.codec.entropy.context", "ContextEntropyModel"),
    "attention": ("pcc.codec.entropy.attention", "AttentionEntropyModel"),
    "hybrid": ("pcc.codec.entropy.hybrid", "HybridEntropyModel"),
}


def entropy_model_class(name: str) -> type[EntropyModel]:
    """The class registered under ``name``; ``ValueError`` naming the choices otherwise."""
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown entropy model {name!r}; choose one of {', '.join(ENTROPY_MODELS)}"
        )
    module_name, class_name = _REGISTRY[name]
    return getattr(importlib.import_module(module_name), class_name)


def build_entropy_model(name: str, channels: int, **options: Any) -> EntropyModel:
    """Build the entropy model ``name`` for a latent with ``channels`` channels."""
    return entropy_model_class(name)(channels, **options)


__all__ = [
    "ENTROPY_MODELS",
    "EntropyModel",
    "EntropyOutput",
    "build_entropy_model",
    "entropy_model_class",
]
