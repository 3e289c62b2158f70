"""One entry point for every Gaussian-splat file pcc reads and writes.

=================  ==========================  =========================================
format name        file                        module
=================  ==========================  =========================================
``ply``            INRIA 3DGS ``.ply`` or an   :mod:`pcc.io.gaussian_ply`,
                   INRIA model directory       :mod:`pcc.io.inria_model`
``compressed-ply`` ``.compressed.ply``         :mod:`pcc.io.compressed_ply` (PlayCanvas /
                                               SuperSplat)
``spz``            ``.spz``                    :mod:`pcc.io.spz` (Niantic, v2/v3/v4)
``splat``          ``.splat``                  :mod:`pcc.io.splat` (antimatter15 viewer)
=================  ==========================  =========================================

Reading goes by content (the PLY header, the gzip or ``NGSP`` magic), with the suffix used only
for ``.splat``, which has no header. Writing goes by the output suffix (``.compressed.ply``
before ``.ply``) unless a format is named. c3dgs ``.npz`` and ``.pcc3dgs`` files live one layer
up (:func:`pcc.c3dgs.pipeline.load_any_model` handles them and falls back to this module).
Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pcc.errors import FormatError
from pcc.io.gaussian_model import GaussianModel

__all__ = [
    "FORMATS",
    "detect_format",
    "format_for_output",
    "load_splat_any",
    "save_splat_any",
]

FORMATS = {
    "ply": "INRIA 3DGS PLY (float32, all SH bands; the reference trainer's output)",
    "compressed-ply": "PlayCanvas/SuperSplat compressed PLY (256-Gaussian chunks, packed ints)",
    "spz": "Niantic SPZ (quantised attributes, gzip v2/v3 or zstd v4)",
    "splat": "antimatter15 .splat (32 bytes per Gaussian, no SH bands)",
}
SUFFIXES = {".compressed.ply": "compressed-ply", ".ply": "ply", ".spz": "spz", ".splat": "splat"}


def detect_format(path: str | os.PathLike) -> str:
    """The format name of an existing file or model directory (see :data:`FORMATS`)."""
    from pcc.io.compressed_ply import is_compressed_ply

    path = Path(path)
    if path.is_dir():
        return "ply"
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as err:
        raise FormatError(path, f"cannot read file: {err.strerror or err}") from None
    if head.startswith(b"ply"):
        return "compressed-ply" if is_compressed_ply(path) else "ply"
    if head[:2] == b"\x1f\x8b" or head[:4] == b"NGSP":
        return "spz"
    suffix = path.suffix.lower()
    if suffix in (".splat", ".spz"):
        return suffix[1:]
    raise FormatError(
        path,
        "unknown Gaussian-splat format: not a PLY, not an SPZ (gzip or 'NGSP' magic) and not "
        "named .splat",
    )


def format_for_output(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format to write ``path`` in: ``fmt`` if given, else from the suffix."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    name = Path(path).name.lower()
    for suffix, found in SUFFIXES.items():
        if name.endswith(suffix):
            return found
    raise ValueError(
        f"cannot tell the format of {path} from its suffix; use one of "
        f"{', '.join(SUFFIXES)} (or name the format)"
    )


def load_splat_any(path: str | os.PathLike) -> GaussianModel:
    """Read any supported Gaussian-splat file (or an INRIA model directory) into a model.

    Raises:
        FormatError: the path does not exist, the format is unknown, or the reader rejects it.
    """
    path = Path(path)
    if not path.exists():
        raise FormatError(path, "no such file or directory")
    fmt = detect_format(path)
    if fmt == "ply":
        from pcc.io.inria_model import load_model

        return load_model(path)
    if fmt == "compressed-ply":
        from pcc.io.compressed_ply import read_compressed_ply

        return read_compressed_ply(path)
    if fmt == "spz":
        from pcc.io.spz import read_spz

        return read_spz(path)
    from pcc.io.splat import read_splat

    return read_splat(path)


def save_splat_any(
    model: GaussianModel, path: str | os.PathLike, *, fmt: str | None = None, **options
) -> str:
    """Write ``model`` to ``path`` in ``fmt`` (default: from the suffix); returns the format name.

    ``options`` go to the writer: ``ascii``/``normals`` (``ply``), ``sort`` (``compressed-ply``,
    ``splat``), ``version``/``fractional_bits``/``sh1_bits``/``sh_rest_bits`` (``spz``).
    """
    fmt = format_for_output(path, fmt)
    if fmt == "ply":
        from pcc.io.gaussian_ply import write_gaussian_ply

        write_gaussian_ply(path, model, **options)
    elif fmt == "compressed-ply":
        from pcc.io.compressed_ply import write_compressed_ply

        write_compressed_ply(path, model, **options)
    elif fmt == "spz":
        from pcc.io.spz import write_spz

        write_spz(path, model, **options)
    else:
        from pcc.io.splat import write_splat

        write_splat(path, model, **options)
    return fmt
