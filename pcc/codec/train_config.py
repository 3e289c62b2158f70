"""The block codec's training configuration: defaults, YAML file, ``KEY=VALUE`` overrides.

The config has three sections (see ``configs/codec/*.yaml``):

* ``data``: where blocks come from (``procedural`` shapes from :mod:`pcc.pointcloud.dataset`, or
  an ``npz`` file holding ``blocks [N, S, S, S]`` uint8) and the validation split
  (:mod:`pcc.codec.train_data`);
* ``model``: the architecture dict of :class:`pcc.codec.model.BlockCodec`;
* ``training``: lambda, focal alpha / gamma, steps, batch size (per process), learning rates
  (with an optional cosine decay to ``lr_final`` over the last ``lr_decay_steps``), validation /
  checkpoint periods, AMP, seed, threads, warm start (``init_from``) and frozen modules
  (``freeze``, e.g. ``[g_a, g_s]`` to train only the entropy model).

Taught in ``notebooks/13_training.ipynb``.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from pcc.codec.model import normalise_architecture
from pcc.errors import FormatError

__all__ = ["DEFAULT_CONFIG", "load_config", "parse_override"]

DEFAULT_CONFIG: dict[str, Any] = {
    "data": {
        "source": "procedural",  # "procedural" (pcc.pointcloud.shapes) or "npz"
        "path": None,  # npz file with blocks [N, S, S, S] (source: npz)
        "train_blocks": 2048,  # procedural: size of the training pool
        "val_blocks": 64,
        "min_points": 32,  # procedural: discard blocks with fewer points
        "shape_bits": [7, 8],  # procedural: grid bits of the shapes (pool split evenly)
        "augment": "cube",  # procedural: grid symmetries (None, "up", "cube")
        "cache_dir": None,  # procedural: folder caching the generated pool (npz)
        "seed": 0,
    },
    "model": dict(normalise_architecture()),
    "training": {
        "lmbda": 1.0,
        "lmbda_warmup": 0,  # steps over which lambda ramps linearly from 0 (rate term off at start)
        "alpha": 0.75,
        "gamma": 2.0,
        "steps": 2000,
        "batch_size": 8,
        "lr": 1e-4,
        "lr_final": None,  # cosine decay from lr to lr_final over the last lr_decay_steps steps
        "lr_decay_steps": 0,
        "aux_lr": 1e-3,
        "grad_clip": 1.0,
        "val_every": 200,
        "checkpoint_every": 200,
        "amp": False,
        "device": "auto",
        "seed": 0,
        "num_threads": 1,
        "init_from": None,  # warm start: checkpoint whose matching weights initialise the model
        "freeze": [],  # parameter-name prefixes kept fixed, e.g. [g_a, g_s]: train the entropy model
        "progress": True,
    },
}


def _merge(base: dict, update: dict, where: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if key not in out:
            raise ValueError(f"unknown config key '{where}{key}'")
        if isinstance(out[key], dict) and key != "entropy_options":
            if not isinstance(value, dict):
                raise ValueError(f"config key '{where}{key}' must be a mapping")
            out[key] = _merge(out[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


def parse_override(text: str) -> dict:
    """``"training.steps=100"`` -> ``{"training": {"steps": 100}}`` (value parsed as YAML)."""
    if "=" not in text:
        raise ValueError(f"override {text!r} is not KEY=VALUE")
    key, value = text.split("=", 1)
    out: dict = {}
    node = out
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = yaml.safe_load(value)
    return out


def load_config(path: str | os.PathLike | None = None, overrides: list[str] = ()) -> dict:
    """Defaults, then the YAML file at ``path``, then ``KEY=VALUE`` overrides."""
    config = copy.deepcopy(DEFAULT_CONFIG)
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise FormatError(path, f"cannot read YAML config: {err}") from None
        if not isinstance(loaded, dict):
            raise FormatError(path, "config must be a mapping with data/model/training sections")
        try:
            config = _merge(config, loaded)
        except ValueError as err:
            raise FormatError(path, str(err)) from None
    for text in overrides:
        config = _merge(config, parse_override(text))
    config["model"] = normalise_architecture(config["model"])
    return config


# ----------------------------------------------------------------------------- data
