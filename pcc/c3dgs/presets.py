"""Hyper-parameter presets of the c3dgs pipeline: ``paper``, ``default`` and ``tiny``.

* ``paper`` reproduces the reference (Niedermayr et al., CVPR 2024; ``arguments/__init__.py``,
  research brief a.5/a.7/a.9) exactly: codebooks of 4096, 100/800 steps with batches of 2^18/2^20,
  absolute keep thresholds 0.6e-6 / 0.3e-5, uniform init, no re-seeding, the biased EMA update,
  5000 fine-tuning iterations. Too slow for 2 CPU cores, and its absolute thresholds only suit
  scenes of millions of Gaussians (c3dgs issue #11), but documented and runnable.
* ``default`` is sized for CPU scenes of 10^4-10^5 Gaussians: k-means++ init, dead-centroid
  re-seeding, the unbiased update, a final Lloyd step, keep thresholds as a *fraction* of the
  Gaussians (the most sensitive ones) rather than absolute values, and a short fine-tuning.
* ``tiny`` is for tests and smoke runs of the notebooks.

Taught in ``notebooks/03_c3dgs_compression.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pcc.c3dgs.finetune import FinetuneConfig


@dataclass
class VQConfig:
    """One VQ stage (colour or shape).

    With ``k_per_gaussians`` set the codebook size follows the scene: the power of two nearest to
    ``N / k_per_gaussians``, clamped to ``[64, k]`` (c3dgs uses 4096 for scenes of millions of
    Gaussians; a table of 4096 rows of 48 bytes would dominate the file of a small scene).

    ``keep_threshold`` (absolute sensitivity, c3dgs "include") wins over ``keep_fraction`` (keep the
    most sensitive fraction exact) when both are set.
    """

    k: int = 4096
    k_per_gaussians: float | None = 32.0  # k = power of two nearest N / this, in [64, k]
    steps: int = 100
    batch_size: int = 8192
    decay: float = 0.8
    keep_threshold: float | None = None
    keep_fraction: float | None = 0.005
    init: str = "kmeans++"
    reseed_dead: bool = True
    legacy_update: bool = False
    final_lloyd: bool = True


@dataclass
class C3dgsConfig:
    """Every hyper-parameter of :func:`pcc.c3dgs.pipeline.compress`."""

    prune_threshold: float = 0.0
    density_prune: bool = False
    density_radius: float | None = None  # world units; None: 2 x median nearest-neighbour distance
    density_std_factor: float = 1.0
    color: VQConfig = field(default_factory=VQConfig)
    shape: VQConfig = field(default_factory=lambda: VQConfig(steps=200, batch_size=16384))
    finetune: FinetuneConfig = field(
        default_factory=lambda: FinetuneConfig(iterations=300, lr_final_factor=0.1)
    )
    finetune_guard: bool = True  # keep the VQ model if fine-tuning made the training loss worse
    guard_views: int = 8  # training views used by the guard
    sort_morton: bool = True
    seed: int = 0
    # cameras used when a scene comes without a dataset (orbit views, targets rendered)
    orbit_views_train: int = 24
    orbit_views_test: int = 8
    orbit_width: int = 200
    orbit_height: int = 150
    max_image_width: int = 200  # dataset / cameras.json views are downscaled to this width


def paper() -> C3dgsConfig:
    """The reference's defaults (see the module docstring)."""
    legacy = dict(
        init="uniform",
        reseed_dead=False,
        legacy_update=True,
        final_lloyd=False,
        k_per_gaussians=None,
    )
    return C3dgsConfig(
        color=VQConfig(
            k=4096, steps=100, batch_size=2**18, keep_threshold=0.6e-6, keep_fraction=None, **legacy
        ),
        shape=VQConfig(
            k=4096, steps=800, batch_size=2**20, keep_threshold=0.3e-5, keep_fraction=None, **legacy
        ),
        finetune=FinetuneConfig(iterations=5000),
        finetune_guard=False,
        max_image_width=1600,
    )


def default() -> C3dgsConfig:
    """CPU-sized defaults (see the module docstring)."""
    return C3dgsConfig()


def tiny() -> C3dgsConfig:
    """Seconds-long runs for tests and notebook smoke runs."""
    return C3dgsConfig(
        color=VQConfig(k=64, k_per_gaussians=None, steps=10, batch_size=1024),
        shape=VQConfig(k=64, k_per_gaussians=None, steps=20, batch_size=1024),
        finetune=FinetuneConfig(iterations=5),
        orbit_views_train=4,
        orbit_views_test=2,
        orbit_width=48,
        orbit_height=36,
        max_image_width=48,
    )


PRESETS = {"paper": paper, "default": default, "tiny": tiny}


def get_preset(name: str, **overrides) -> C3dgsConfig:
    """A fresh config of preset ``name`` with top-level fields replaced by ``overrides``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return replace(PRESETS[name](), **overrides)
