"""Stage 5 of c3dgs: quantisation to the stored model, writing it, and where its bytes go.

:func:`quantize` makes the :class:`~pcc.c3dgs.compressed_model.QuantizedGaussians` (bits per
field and the position grid from the configuration); :func:`store` writes it as npz (c3dgs
layout) or ``.pcc3dgs`` and reports the bytes per stream and per attribute. Part of
:mod:`pcc.c3dgs.stages`; taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pcc.c3dgs.compressed_model import IndexedGaussians, QuantizedGaussians, finalize
from pcc.c3dgs.positions import choose_position_bits
from pcc.c3dgs.presets import C3dgsConfig, quantization_bits
from pcc.io.cameras import Camera


def quantize(
    indexed: IndexedGaussians,
    sort_morton: bool = True,
    config: C3dgsConfig | None = None,
    cameras: Sequence[Camera] | None = None,
) -> QuantizedGaussians:
    """Quantisation of every attribute and Morton order (c3dgs a.8).

    Without ``config``: 8-bit codes and fp16 positions, as the reference. With it: the bits per
    field (:func:`pcc.c3dgs.presets.quantization_bits`) and ``config.position_bits``; when that
    is None and ``config.position_min_psnr`` is set, the grid is chosen on ``config.guard_views``
    of ``cameras`` by :func:`pcc.c3dgs.positions.choose_position_bits` (fp16 without cameras).
    """
    if config is None:
        return finalize(indexed, sort_morton=sort_morton)
    bits = quantization_bits(config)
    position_bits = config.position_bits
    if position_bits is None and config.position_min_psnr is not None and cameras:
        position_bits = choose_position_bits(
            indexed,
            cameras,
            config.position_min_psnr,
            bits,
            config.finetune.background,
            views=config.guard_views,
        )
    return finalize(indexed, sort_morton=sort_morton, bits=bits, position_bits=position_bits)


def _npz_attribute(member: str) -> str:
    """The attribute an npz member belongs to (its quantisation parameters count with it)."""
    key = member[:-4] if member.endswith(".npy") else member
    for suffix in ("_scale", "_zero_point"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return {
        "xyz": "positions",
        "features_dc": "color_dc",
        "features_rest": "color_rest",
        "scaling": "scale_dir",
        "scaling_factor": "log_magnitude",
        "feature_indices": "color_indices",
        "gaussian_indices": "shape_indices",
    }.get(key, key)


@dataclass
class StoreResult:
    """The written file and where its bytes go (module docstring)."""

    path: Path
    fmt: str
    file_bytes: int
    streams: dict[str, int]  # stream / zip member -> bytes in the file
    attributes: dict[str, int]  # streams summed per attribute
    framing: int  # header, lengths, zip directory, CRC: file_bytes - sum(streams)
    n_gaussians: int

    @property
    def bytes_per_gaussian(self) -> float:
        return self.file_bytes / max(self.n_gaussians, 1)


def npz_stream_sizes(path: str | os.PathLike) -> dict[str, int]:
    """Compressed size of every member of a zip/npz (``ZipInfo.compress_size``), by array name."""
    with zipfile.ZipFile(path) as zf:
        return {
            (i.filename[:-4] if i.filename.endswith(".npy") else i.filename): i.compress_size
            for i in zf.infolist()
        }


def store(q: QuantizedGaussians, path: str | os.PathLike, fmt: str = "npz") -> StoreResult:
    """Write ``q`` as ``fmt`` (``"npz"``: c3dgs layout; ``"pcc"``: ``.pcc3dgs``) and measure it.

    The per-stream sizes are those of the bytes written: for npz the DEFLATE-compressed size of
    each zip member (one per array), for ``.pcc3dgs`` the length of each range-coded stream.
    ``framing`` is the rest (zip local headers and central directory; the container header,
    stream lengths and CRC), so ``sum(streams) + framing == file_bytes``.
    """
    from pcc.c3dgs.storage_npz import save_npz
    from pcc.c3dgs.storage_pcc import save_pcc_streams

    path = Path(path)
    if fmt == "npz":
        size = save_npz(q, path)
        streams = npz_stream_sizes(path)
        attributes: dict[str, int] = {}
        for name, b in streams.items():
            a = _npz_attribute(name)
            attributes[a] = attributes.get(a, 0) + b
    elif fmt == "pcc":
        size, streams, _ = save_pcc_streams(q, path)
        attributes = {}
        for name, b in streams.items():
            a = name.split(".", 1)[0]
            attributes[a] = attributes.get(a, 0) + b
    else:
        raise ValueError(f"unknown format {fmt!r}; choose one of ('npz', 'pcc')")
    return StoreResult(
        path=path,
        fmt=fmt,
        file_bytes=size,
        streams=streams,
        attributes=attributes,
        framing=size - sum(streams.values()),
        n_gaussians=len(q),
    )
