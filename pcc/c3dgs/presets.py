"""Hyper-parameter presets of the c3dgs pipeline: ``paper``, ``default`` and ``tiny``.

* ``paper`` reproduces the reference (Niedermayr et al., CVPR 2024; ``arguments/__init__.py``,
  research brief a.5/a.7/a.9) exactly: codebooks of 4096, 100/800 steps with batches of 2^18/2^20,
  absolute keep thresholds 0.6e-6 / 0.3e-5, uniform init, no re-seeding, the biased EMA update,
  5000 fine-tuning iterations. Too slow for 2 CPU cores, and its absolute thresholds only suit
  scenes of millions of Gaussians (c3dgs issue #11), but documented and runnable.
* ``default`` is sized for CPU scenes of 10^4-10^5 Gaussians: k-means++ init, dead-centroid
  re-seeding, the unbiased update, a final Lloyd step, keep thresholds as a *fraction* of the
  Gaussians (the most sensitive ones) rather than absolute values, and a short fine-tuning.
  Its storage is tuned for rate (issue 15, every change measured by ablation on the bundled
  scene): fewer quantisation levels where the test PSNR does not notice them (opacity 5 bits,
  log-magnitude 6, SH rest 5; the fine-tuning simulates exactly these levels), positions on a
  uniform grid over the bounding cube instead of fp16 (``.pcc3dgs`` version 2; the npz layout
  keeps fp16) with the fewest bits whose renders reach 56 dB PSNR against renders with exact
  positions (12 on the bundled scene; fp16 if no grid of <= 16 bits does), and a longer
  fine-tuning (1000 iterations) that wins back what the codebooks cost, its fake quantisers on
  the exact min/max of each step (so the stored grid is the trained one). Measured on the bundled
  scene: 600 iterations gave -0.157 dB in one run and -0.202 dB in another (the compiled and the
  PyTorch renderer round differently and fine-tuning amplifies it); 1000 gave -0.121 and -0.159,
  both at 39.0x.
* ``tiny`` is for tests and smoke runs of the notebooks; like ``paper`` (and the bare
  :class:`C3dgsConfig`) it stores 8-bit codes and fp16 positions.

Taught in ``notebooks/06_whole_pipeline.ipynb``.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, fields, replace

import yaml

from pcc.c3dgs.finetune import FinetuneConfig
from pcc.errors import PccError


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
    algorithm: str = "ema"  # "lloyd": pcc.c3dgs.vq.kmeans_lloyd (steps, batch_size, decay unused)


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
    # levels of the stored int8 codes per field (8: the reference); see quantization_bits()
    bits_color_dc: int = 8
    bits_color_rest: int = 8
    bits_opacity: int = 8
    bits_scale_dir: int = 8
    bits_log_magnitude: int = 8
    bits_rotation: int = 8
    position_bits: int | None = None  # None: fp16 positions (c3dgs); n: a uniform 2^n grid
    # with position_bits None: the fewest grid bits (10..16) whose renders of training views stay
    # this close (mean PSNR, dB) to float positions; fp16 if none (pcc.c3dgs.positions)
    position_min_psnr: float | None = None
    seed: int = 0
    # cameras used when a scene comes without a dataset (orbit views, targets rendered)
    orbit_views_train: int = 24
    orbit_views_test: int = 8
    orbit_width: int = 200
    orbit_height: int = 150
    max_image_width: int = 200  # dataset / cameras.json views are downscaled to this width


def quantization_bits(cfg: C3dgsConfig) -> dict[str, int]:
    """``{field: bits}`` for every name of :data:`pcc.c3dgs.compressed_model.QUANTIZED_FIELDS`."""
    names = ("color_dc", "color_rest", "opacity", "scale_dir", "log_magnitude", "rotation")
    return {name: int(getattr(cfg, f"bits_{name}")) for name in names}


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
    return C3dgsConfig(
        bits_color_rest=5,
        bits_opacity=5,
        bits_log_magnitude=6,
        position_min_psnr=56.0,
        # the fake quantisers follow the exact min/max (averaging constant 1), so the grid the
        # codes are stored on is the one fine-tuning trained through: at 5 bits the moving
        # average (0.01) left them offset (measured on the bundled scene: -0.246 vs -0.157 dB)
        finetune=FinetuneConfig(
            iterations=DEFAULT_FINETUNE_ITERATIONS, lr_final_factor=0.1, averaging_constant=1.0
        ),
    )


DEFAULT_FINETUNE_ITERATIONS = 1000


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


# --------------------------------------------------------------------------- overrides
class ConfigError(PccError, ValueError):
    """A configuration name or value that does not fit :class:`C3dgsConfig`."""


#: Nested groups of :class:`C3dgsConfig`; ``color.k`` may also be written ``color_k``.
GROUPS = ("color", "shape", "finetune")


def _field_types(cls) -> dict[str, object]:
    return typing.get_type_hints(cls)


def config_names(config: C3dgsConfig | None = None) -> dict[str, object]:
    """Every knob as ``{"dotted.name": value}`` (``color.k``, ``finetune.iterations``, ...)."""
    cfg = config or C3dgsConfig()
    out: dict[str, object] = {}
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if f.name in GROUPS:
            for g in fields(value):
                v = getattr(value, g.name)
                out[f"{f.name}.{g.name}"] = list(v) if isinstance(v, tuple) else v
        else:
            out[f.name] = value
    return out


def _resolve_name(name: str) -> tuple[str | None, str]:
    """``(group or None, field)`` of a dotted or underscored name; raises ConfigError."""
    top = {f.name for f in fields(C3dgsConfig)}
    key = name.strip().replace("-", "_")
    if "." in key:
        group, _, field_name = key.partition(".")
    elif key in top and key not in GROUPS:
        group, field_name = None, key
    else:
        group, _, field_name = key.partition("_")
        if group not in GROUPS or not field_name:
            group, field_name = None, key
    if group is None:
        if field_name not in top or field_name in GROUPS:
            raise ConfigError(f"unknown configuration name {name!r}; {_known()}")
        return None, field_name
    if group not in GROUPS:
        raise ConfigError(f"unknown configuration group {group!r} in {name!r}; {_known()}")
    sub = VQConfig if group in ("color", "shape") else FinetuneConfig
    if field_name not in {f.name for f in fields(sub)}:
        raise ConfigError(f"unknown configuration name {name!r}; {_known()}")
    return group, field_name


def _known() -> str:
    return "known names: " + ", ".join(sorted(config_names()))


def _coerce(name: str, value, hint) -> object:
    """``value`` converted to the field type ``hint`` (a string is parsed as YAML first)."""
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            parsed = value
        # YAML 1.1 reads "1e-6" as a string: accept float syntax too
        if isinstance(parsed, str):
            try:
                parsed = float(parsed)
            except ValueError:
                pass
        value = parsed
    is_union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    args = typing.get_args(hint) if is_union else ()
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if args else hint
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
        if optional:
            return None
        raise ConfigError(f"{name} cannot be None")
    origin = typing.get_origin(base)
    if base is bool:
        if isinstance(value, bool):
            return value
    elif base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif base is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif base is str:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, (list, tuple)) and len(value) == len(typing.get_args(base)):
            try:
                return tuple(float(v) for v in value)
            except (TypeError, ValueError):
                pass
    type_name = getattr(base, "__name__", str(base))
    raise ConfigError(f"{name}={value!r}: expected {type_name}{' or None' if optional else ''}")


def apply_overrides(config: C3dgsConfig, overrides: dict[str, object]) -> C3dgsConfig:
    """A copy of ``config`` with ``{"color.k": 2048, "finetune_iterations": 100, ...}`` applied.

    Names are those of :func:`config_names` (dotted), or with ``_`` instead of the dot after a
    group (``color_k``: the spelling a notebook's ``parameters`` cell can use). String values are
    parsed as YAML (``--set color.k=2048``). Unknown names or values of the wrong type raise
    :class:`ConfigError` naming the key. Setting a group's ``k`` without its ``k_per_gaussians``
    means that exact codebook size: the scene-dependent rule is switched off for that group.
    """
    top_types = _field_types(C3dgsConfig)
    group_types = {"color": _field_types(VQConfig), "shape": _field_types(VQConfig)}
    group_types["finetune"] = _field_types(FinetuneConfig)
    cfg = replace(config)
    for name, raw in overrides.items():
        group, field_name = _resolve_name(name)
        if group is None:
            value = _coerce(name, raw, top_types[field_name])
            cfg = replace(cfg, **{field_name: value})
        else:
            value = _coerce(name, raw, group_types[group][field_name])
            sub = replace(getattr(cfg, group), **{field_name: value})
            cfg = replace(cfg, **{group: sub})
    named = {_resolve_name(name) for name in overrides}
    for group in ("color", "shape"):
        if (group, "k") in named and (group, "k_per_gaussians") not in named:
            cfg = replace(cfg, **{group: replace(getattr(cfg, group), k_per_gaussians=None)})
    _validate(cfg)
    return cfg


def _validate(cfg: C3dgsConfig) -> None:
    from pcc.c3dgs.vq import ALGORITHMS, INITS

    for group in ("color", "shape"):
        v: VQConfig = getattr(cfg, group)
        if v.init not in INITS:
            raise ConfigError(f"{group}.init={v.init!r}: choose one of {INITS}")
        if v.algorithm not in ALGORITHMS:
            raise ConfigError(f"{group}.algorithm={v.algorithm!r}: choose one of {ALGORITHMS}")
        if v.k < 1 or v.steps < 0 or v.batch_size < 1:
            raise ConfigError(f"{group}: k and batch_size must be >= 1 and steps >= 0")
        if not 0.0 <= v.decay < 1.0:
            raise ConfigError(f"{group}.decay={v.decay}: must be in [0, 1)")
        if v.keep_fraction is not None and not 0.0 <= v.keep_fraction <= 1.0:
            raise ConfigError(f"{group}.keep_fraction={v.keep_fraction}: must be in [0, 1]")
    if cfg.finetune.iterations < 0:
        raise ConfigError(f"finetune.iterations={cfg.finetune.iterations}: must be >= 0")
    for name, bits in quantization_bits(cfg).items():
        if not 1 <= bits <= 8:
            raise ConfigError(f"bits_{name}={bits}: must be in [1, 8]")
    if cfg.position_min_psnr is not None and not cfg.position_min_psnr > 0:
        raise ConfigError(f"position_min_psnr={cfg.position_min_psnr}: must be > 0 dB or None")
    if cfg.position_bits is not None and not 1 <= cfg.position_bits <= 21:
        raise ConfigError(f"position_bits={cfg.position_bits}: must be in [1, 21] or None")
    if cfg.density_radius is not None and cfg.density_radius <= 0:
        raise ConfigError(f"density_radius={cfg.density_radius}: must be > 0 (world units)")


def parse_set(items: list[str]) -> dict[str, str]:
    """``["color.k=2048", ...]`` -> ``{"color.k": "2048"}``; raises ConfigError on a bad item."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set {item!r}: expected NAME=VALUE, e.g. color.k=2048")
        out[name.strip()] = value.strip()
    return out


def load_config_file(path) -> dict[str, object]:
    """Overrides from a YAML file: flat dotted names or nested mappings (``color: {k: 2048}``)."""
    from pathlib import Path

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of names to values")
    flat: dict[str, object] = {}
    for key, value in data.items():
        if key in GROUPS and isinstance(value, dict):
            for sub, v in value.items():
                flat[f"{key}.{sub}"] = v
        else:
            flat[str(key)] = value
    return flat
