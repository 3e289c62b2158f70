"""Checkpoints of the block codec: state dicts + architecture + metadata, read with
``torch.load(weights_only=True)`` (reading never executes code).

Layout of the saved dict (only tensors, str, int, float, bool, None, lists and dicts):

    {"format": "pcc-codec", "version": 1,
     "architecture": {...},            # BlockCodec.architecture (rebuilds the model)
     "signature": "<sha256 of the architecture>",
     "model": state_dict,
     "meta": {"lambda": ..., "steps": ..., ...},
     "training": {...} | absent}       # optimiser states, step, RNG: only in resumable files

A file whose architecture does not match the model it is loaded into, whose tensors do not fit,
or that is not a codec checkpoint at all raises ``pcc.errors.FormatError`` naming the file and the
problem. Taught in ``notebooks/13_training.ipynb``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pcc.codec.model import BlockCodec, normalise_architecture
from pcc.errors import FormatError
from pcc.io.atomic import atomic_path

FORMAT = "pcc-codec"
VERSION = 1


def architecture_signature(architecture: dict[str, Any]) -> str:
    """Short stable hash of a normalised architecture dict."""
    text = json.dumps(normalise_architecture(architecture), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save_checkpoint(
    path: str | os.PathLike,
    model: BlockCodec,
    meta: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    weights_dtype: str = "float32",
) -> Path:
    """Write ``model``'s state dict with its architecture and ``meta`` atomically.

    ``training`` (optimiser state dicts, step) makes the file resumable; leave it out for small
    bundled checkpoints. ``weights_dtype="float16"`` stores floating tensors in half precision
    (half the size; loading casts them back to float32, so encoder and decoder, which both load
    the same file, still agree bit for bit).
    """
    if weights_dtype not in ("float32", "float16"):
        raise ValueError(f"weights_dtype must be float32 or float16, got {weights_dtype!r}")
    dtype = torch.float16 if weights_dtype == "float16" else None
    state = {
        k: (v.detach().cpu().to(dtype) if dtype and v.is_floating_point() else v.detach().cpu())
        for k, v in model.state_dict().items()
    }
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": model.architecture,
        "signature": architecture_signature(model.architecture),
        "model": state,
        "weights_dtype": weights_dtype,
        "meta": dict(meta or {}),
    }
    if training is not None:
        payload["training"] = training
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return path


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and validate a checkpoint dict (``weights_only=True``); FormatError on any problem."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "checkpoint file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except Exception as err:  # noqa: BLE001 - a corrupt zip/pickle fails in many ways inside torch
        raise FormatError(
            path, f"not a readable torch checkpoint ({type(err).__name__}: {err})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise FormatError(path, f"not a {FORMAT} checkpoint")
    if payload.get("version") != VERSION:
        raise FormatError(path, f"unsupported checkpoint version {payload.get('version')!r}")
    for key in ("architecture", "signature", "model"):
        if key not in payload:
            raise FormatError(path, f"checkpoint lacks {key!r}")
    try:
        signature = architecture_signature(payload["architecture"])
    except (ValueError, TypeError, KeyError, OverflowError) as err:
        raise FormatError(path, f"invalid architecture in checkpoint: {err}") from None
    if signature != payload["signature"]:
        raise FormatError(path, "architecture signature does not match the stored architecture")
    _check_state(path, payload["model"])
    _check_sizes(path, normalise_architecture(payload["architecture"]), payload["model"])
    return payload


_MAX_BLOCK_SIZE = 1024


def _check_state(path: Path, state) -> None:
    """The state dict holds finite tensors under string keys."""
    if not isinstance(state, dict):
        raise FormatError(path, f"checkpoint 'model' is a {type(state).__name__}, not a dict")
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise FormatError(path, f"checkpoint weight {key!r} is not a tensor")
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise FormatError(path, f"checkpoint weight {key!r} holds NaN or infinite values")


def _check_sizes(path: Path, arch: dict, state: dict) -> None:
    """Every channel count in the architecture is bounded by the stored weights' dimensions, so
    a forged architecture cannot make the model builder allocate more than the file holds."""
    largest = max((max(t.shape, default=1) for t in state.values()), default=1)
    limit = max(largest, 64)

    def ints(value, where):
        if isinstance(value, bool):
            return
        if isinstance(value, int):
            yield where, value
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from ints(v, f"{where}.{k}")
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                yield from ints(v, f"{where}[{i}]")

    if not 0 < arch["block_size"] <= _MAX_BLOCK_SIZE:
        raise FormatError(path, f"block_size {arch['block_size']} outside 1..{_MAX_BLOCK_SIZE}")
    for key in ("filters", "latent_channels", "entropy_options"):
        lowest = 0 if key == "entropy_options" else 1  # an option may be 0 (e.g. off)
        for where, value in ints(arch[key], key):
            if not lowest <= value <= limit:
                raise FormatError(
                    path,
                    f"architecture {where} = {value} does not fit the stored weights "
                    f"(largest dimension {largest})",
                )


def load_state_into(
    path: str | os.PathLike, model: BlockCodec, payload: dict | None = None
) -> dict:
    """Load a checkpoint's weights into an existing ``model`` after checking the architecture.

    Raises FormatError when the checkpoint was made for another architecture (the message lists
    the differing keys) or when its tensors do not fit.
    """
    payload = read_checkpoint(path) if payload is None else payload
    expected = normalise_architecture(model.architecture)
    stored = normalise_architecture(payload["architecture"])
    if stored != expected:
        diffs = sorted(k for k in expected if expected[k] != stored.get(k))
        detail = ", ".join(f"{k}: file {stored.get(k)!r} vs model {expected[k]!r}" for k in diffs)
        raise FormatError(path, f"checkpoint is for a different architecture ({detail})")
    state = payload["model"]
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    bad = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or extra or bad:
        raise FormatError(
            path,
            f"weights do not fit the architecture (missing {missing[:5]}, unexpected {extra[:5]}, "
            f"wrong shape {bad[:5]})",
        )
    for key in state:
        if key.endswith("scale_table"):
            table = state[key].double()
            ok = table.numel() > 0 and bool((table > 0).all() and (table <= _MAX_SCALE).all())
            if not ok or bool((table[1:] < table[:-1]).any()):
                raise FormatError(
                    path,
                    f"{key} must be increasing values in (0, {_MAX_SCALE:g}] "
                    "(a forged table would make the coder build huge or invalid tables)",
                )
    model.load_state_dict(state)
    return payload


_MAX_SCALE = 1e4


def load_codec(path: str | os.PathLike) -> tuple[BlockCodec, dict[str, Any]]:
    """Rebuild the model stored in a checkpoint, in eval mode with coding tables built.

    Returns ``(model, meta)``.
    """
    payload = read_checkpoint(path)
    try:
        model = BlockCodec(payload["architecture"])
    except (ValueError, TypeError, KeyError, RuntimeError, OverflowError) as err:
        raise FormatError(path, f"cannot build the stored architecture: {err}") from None
    load_state_into(path, model, payload)
    model.eval()
    try:
        with warnings.catch_warnings(), np.errstate(divide="raise", over="raise", invalid="raise"):
            warnings.simplefilter("error", RuntimeWarning)
            model.update(force=True)
    except (ValueError, RuntimeError, OverflowError, FloatingPointError, RuntimeWarning) as err:
        raise FormatError(path, f"the stored entropy model is unusable: {err}") from None
    meta = payload.get("meta", {})
    if not isinstance(meta, dict):
        raise FormatError(path, f"checkpoint 'meta' is a {type(meta).__name__}, not a dict")
    return model, dict(meta)


def export_checkpoint(
    src: str | os.PathLike, dst: str | os.PathLike, weights_dtype: str = "float16"
) -> Path:
    """Copy a checkpoint's model and meta (no training state) to ``dst``, e.g. for bundling
    (``tools/train_codec_models.sh`` exports the bundled models in float16)."""
    model, meta = load_codec(src)
    return save_checkpoint(dst, model, meta, weights_dtype=weights_dtype)
