"""Bundled block-codec checkpoints under ``input_models/codec/``: list them and resolve a name.

A bundled model is a weights-only checkpoint (see :mod:`pcc.codec.checkpoint`) named
``<entropy model>-<rate point>.pt``, e.g. ``hyperprior-r2.pt``; its name is the file stem. How each
was trained (command, config, time) is in ``input_models/README.md`` and in ``tools/
train_codec_models.sh``. ``pcc pc models [--json]`` prints this list; ``--model NAME`` of
``pcc pc compress`` accepts a name or a path to any checkpoint.

Taught in ``notebooks/13_training.ipynb``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from pcc.codec.checkpoint import load_codec, read_checkpoint
from pcc.codec.model import BlockCodec
from pcc.errors import FormatError

REPO = Path(__file__).resolve().parents[2]


def models_dir() -> Path:
    """Folder of the bundled checkpoints (``$PCC_CODEC_MODELS`` or ``input_models/codec``)."""
    return Path(os.environ.get("PCC_CODEC_MODELS", REPO / "input_models" / "codec"))


@dataclass(frozen=True)
class ModelInfo:
    """One bundled checkpoint as listed by ``pcc pc models``."""

    name: str
    entropy_model: str
    lmbda: float
    block_size: int
    parameters: int
    file: str
    steps: int
    size_bytes: int

    def as_dict(self) -> dict:
        return asdict(self)


def describe(path: str | os.PathLike) -> ModelInfo:
    """ModelInfo of one checkpoint file (reads it with ``weights_only=True``)."""
    path = Path(path)
    payload = read_checkpoint(path)
    arch, meta = payload["architecture"], payload.get("meta", {})
    try:
        params = BlockCodec(arch).parameter_count()  # learnable parameters (no buffers)
    except (ValueError, TypeError, KeyError) as err:
        raise FormatError(path, f"cannot build the stored architecture: {err}") from None
    try:
        rel = str(path.resolve().relative_to(REPO))
    except ValueError:
        rel = str(path)
    return ModelInfo(
        name=path.stem,
        entropy_model=str(arch["entropy_model"]),
        lmbda=float(meta.get("lambda", float("nan"))),
        block_size=int(arch["block_size"]),
        parameters=params,
        file=rel,
        steps=int(meta.get("steps", 0)),
        size_bytes=path.stat().st_size,
    )


def list_models(folder: str | os.PathLike | None = None) -> list[ModelInfo]:
    """All bundled checkpoints, sorted by entropy model then lambda."""
    folder = Path(folder) if folder is not None else models_dir()
    if not folder.is_dir():
        return []
    infos = [describe(p) for p in sorted(folder.glob("*.pt"))]
    return sorted(infos, key=lambda m: (m.entropy_model, m.lmbda, m.name))


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """Path of a bundled model name (``hyperprior-r2``) or of an existing checkpoint file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".pt" and candidate.is_file():
        return candidate
    bundled = models_dir() / f"{name_or_path}.pt"
    if bundled.is_file():
        return bundled
    names = [m.name for m in list_models()]
    raise FormatError(
        str(name_or_path), f"no such codec model (bundled: {', '.join(names) or 'none'})"
    )


def load_model(name_or_path: str | os.PathLike) -> tuple[BlockCodec, dict]:
    """``(model, meta)`` for a bundled name or a checkpoint path, ready to code (eval, tables)."""
    return load_codec(resolve_model(name_or_path))
