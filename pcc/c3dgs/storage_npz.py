"""The c3dgs-compatible ``point_cloud.npz`` (research brief b.1): DEFLATE over Morton-sorted arrays.

Keys, dtypes and shapes follow c3dgs's ``save_npz`` (Niedermayr et al., CVPR 2024) with
``quantization=True``: ``xyz`` float16 ``(N, 3)``; int8 ``features_dc (M_c, 1, 3)``,
``features_rest (M_c, (deg+1)^2 - 1, 3)``, ``opacity (N, 1)`` (activated), ``scaling (M_g, 3)``
(unit direction), ``scaling_factor (N, 1)`` (log magnitude), ``rotation (M_g, 4)``, each with
``<key>_scale`` float32 ``(1,)`` and ``<key>_zero_point`` int32 ``(1,)``; int32
``feature_indices (N,)`` and ``gaussian_indices (N,)``. Decoding is ``x = (q - zero_point) * scale``.
The file is written with ``np.savez_compressed`` (a zip with one DEFLATE stream per array), which
is what the paper calls "entropy and run-length encoding". Taught in
``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import os
import tokenize
import zipfile
import zlib

import numpy as np
import torch

from pcc.c3dgs.compressed_model import QuantizedGaussians
from pcc.c3dgs.quantize import QParams
from pcc.errors import FormatError
from pcc.io.atomic import atomic_path

#: Our field name -> the c3dgs npz key.
NPZ_KEYS = {
    "color_dc": "features_dc",
    "color_rest": "features_rest",
    "opacity": "opacity",
    "scale_dir": "scaling",
    "log_magnitude": "scaling_factor",
    "rotation": "rotation",
}
_PER_GAUSSIAN_COLUMN = {"opacity", "log_magnitude"}  # stored as (N, 1)


def to_npz_arrays(q: QuantizedGaussians) -> dict[str, np.ndarray]:
    """The arrays of the c3dgs npz layout for a quantised model."""
    arrays: dict[str, np.ndarray] = {
        "quantization": np.array(True),
        "xyz": q.means.numpy().astype(np.float16),
        "feature_indices": q.color_indices.numpy().astype(np.int32),
        "gaussian_indices": q.shape_indices.numpy().astype(np.int32),
    }
    for name, key in NPZ_KEYS.items():
        codes = getattr(q, name).numpy().astype(np.int8)
        if name in _PER_GAUSSIAN_COLUMN:
            codes = codes.reshape(-1, 1)
        arrays[key] = codes
        arrays[f"{key}_scale"] = np.array([q.qparams[name].scale], dtype=np.float32)
        arrays[f"{key}_zero_point"] = np.array([q.qparams[name].zero_point], dtype=np.int32)
    return arrays


def save_npz(q: QuantizedGaussians, path: str | os.PathLike) -> int:
    """Write ``q`` as a c3dgs npz (atomically); returns the file size in bytes."""
    arrays = to_npz_arrays(q)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return os.path.getsize(path)


def _need(arrays, key: str, dtype, ndim: int, path) -> np.ndarray:
    if key not in arrays:
        raise FormatError(path, f"not a c3dgs npz: key {key!r} is missing")
    a = arrays[key]
    if a.dtype != dtype or a.ndim != ndim:
        raise FormatError(
            path,
            f"key {key!r} has dtype {a.dtype} and {a.ndim} dims, expected {np.dtype(dtype)}"
            f" with {ndim} dims",
        )
    return a


#: DEFLATE cannot expand data by more than about 1032:1, so a member that declares more is forged.
_MAX_DEFLATE_RATIO = 1100
_MAX_MEMBERS = 64


def _check_members(path) -> None:
    """Validate every ``.npy`` member's header against its declared size BEFORE numpy allocates.

    A forged ``.npy`` header can declare any shape: ``np.load`` would allocate that array before
    noticing that the data is short. Here each member must be a plain ``.npy`` (no pickled
    objects) whose ``shape x itemsize`` equals the bytes the zip says it holds, and a compressed
    member may not claim more than DEFLATE can produce from its compressed size.
    """
    with zipfile.ZipFile(path) as zf:
        members = zf.infolist()
        if len(members) > _MAX_MEMBERS:
            raise FormatError(path, f"npz has {len(members)} members, more than {_MAX_MEMBERS}")
        for info in members:
            name = info.filename
            if info.compress_type != zipfile.ZIP_STORED:
                if info.file_size > _MAX_DEFLATE_RATIO * max(info.compress_size, 1):
                    raise FormatError(path, f"npz member {name!r} declares an impossible size")
            elif info.file_size > info.compress_size:
                raise FormatError(path, f"npz member {name!r} declares an impossible size")
            with zf.open(info) as fh:
                try:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                    else:
                        raise ValueError(f".npy format version {version} is not supported")
                except (
                    ValueError,
                    SyntaxError,
                    TypeError,
                    OverflowError,
                    EOFError,
                    RecursionError,
                    tokenize.TokenError,
                ) as err:
                    raise FormatError(
                        path, f"npz member {name!r} is not a valid .npy: {err}"
                    ) from None
                header_bytes = fh.tell()
            if dtype.hasobject:
                raise FormatError(path, f"npz member {name!r} holds Python objects")
            if any(d < 0 for d in shape):
                raise FormatError(path, f"npz member {name!r} has a negative shape {shape}")
            count = 1
            for d in shape:
                count *= d
            if count * dtype.itemsize != info.file_size - header_bytes:
                raise FormatError(
                    path,
                    f"npz member {name!r} declares shape {shape} of {dtype}, but holds "
                    f"{info.file_size - header_bytes} data bytes",
                )


def load_npz(path: str | os.PathLike) -> QuantizedGaussians:
    """Read a c3dgs npz (quantised layout) written by us or by c3dgs itself.

    Raises:
        FormatError: the file is missing, truncated, corrupt or lacks a key/dtype/shape of b.1.
    """
    try:
        _check_members(path)
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError as err:
        raise FormatError(path, "file not found") from err
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as err:
        if isinstance(err, FormatError):
            raise
        raise FormatError(
            path, f"not a readable npz archive (truncated or corrupt): {err}"
        ) from err
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):
            raise FormatError(path, f"npz member {key!r} is not a .npy array")
    if "quantization" in arrays:
        flag = arrays["quantization"]
        if flag.size != 1 or flag.dtype.kind not in "biuf":
            raise FormatError(path, f"key 'quantization' is not a flag: {flag!r}"[:200])
        if not bool(flag.reshape(-1)[0]):
            raise FormatError(path, "unquantised c3dgs npz (quantization=False) is not supported")
    xyz = _need(arrays, "xyz", np.float16, 2, path)
    n = xyz.shape[0]
    if xyz.shape != (n, 3):
        raise FormatError(path, f"xyz has shape {xyz.shape}, expected (N, 3)")
    fields: dict[str, torch.Tensor] = {}
    qparams: dict[str, QParams] = {}
    for name, key in NPZ_KEYS.items():
        ndim = {"color_dc": 3, "color_rest": 3}.get(name, 2)
        codes = _need(arrays, key, np.int8, ndim, path)
        scale = _need(arrays, f"{key}_scale", np.float32, 1, path)
        zp = _need(arrays, f"{key}_zero_point", np.int32, 1, path)
        if scale.shape != (1,) or zp.shape != (1,):
            raise FormatError(path, f"{key}_scale / {key}_zero_point must have shape (1,)")
        if not np.isfinite(scale[0]) or scale[0] <= 0:
            raise FormatError(path, f"{key}_scale is {scale[0]}, expected a positive number")
        if float(scale[0]) * (abs(int(zp[0])) + 256) >= 1e38:  # decoded values would overflow
            raise FormatError(path, f"{key}_scale {scale[0]} / zero point {zp[0]} overflow float32")
        if name in _PER_GAUSSIAN_COLUMN:
            if codes.shape != (n, 1):
                raise FormatError(path, f"{key} has shape {codes.shape}, expected ({n}, 1)")
            codes = codes[:, 0]
        fields[name] = torch.from_numpy(np.ascontiguousarray(codes))
        qparams[name] = QParams(float(scale[0]), int(zp[0]))
    m_c, m_g = fields["color_dc"].shape[0], fields["scale_dir"].shape[0]
    shapes = {
        "features_dc": (tuple(fields["color_dc"].shape), (m_c, 1, 3)),
        "features_rest": (tuple(fields["color_rest"].shape[0::2]), (m_c, 3)),
        "scaling": (tuple(fields["scale_dir"].shape), (m_g, 3)),
        "rotation": (tuple(fields["rotation"].shape), (m_g, 4)),
    }
    for key, (got, want) in shapes.items():
        if got != want:
            raise FormatError(path, f"{key} has shape {got}, expected {want}")
    if fields["color_rest"].shape[1] not in (0, 3, 8, 15):
        raise FormatError(path, f"features_rest has {fields['color_rest'].shape[1]} coefficients")
    indices = {}
    for name, key, rows in (
        ("color_indices", "feature_indices", m_c),
        ("shape_indices", "gaussian_indices", m_g),
    ):
        idx = arrays.get(key)
        if idx is None:
            raise FormatError(path, f"not a c3dgs npz: key {key!r} is missing")
        if idx.dtype.kind not in "iu" or idx.shape != (n,):
            raise FormatError(
                path, f"{key} has dtype {idx.dtype} / shape {idx.shape}, expected ({n},)"
            )
        if n and (int(idx.min()) < 0 or int(idx.max()) >= rows):
            raise FormatError(path, f"{key} points outside its table of {rows} rows")
        indices[name] = torch.from_numpy(idx.astype(np.int64))
    if not np.isfinite(xyz).all():
        raise FormatError(path, "xyz contains NaN or infinity")
    return QuantizedGaussians(
        means=torch.from_numpy(np.ascontiguousarray(xyz)), qparams=qparams, **fields, **indices
    )
