"""Structure-aware fuzzing of pcc's decoders and file readers (issue 14).

Random byte flips only test the CRC. Here every mutant is made by *unpacking* a valid file,
changing one thing that the framing allows (a header field set to a value of another JSON type, an
extreme integer, NaN/inf, a negative or huge count; a stream flipped, truncated, extended, dropped,
duplicated or swapped; an npz array of the wrong dtype/shape/values or with a forged ``.npy``
header) and *repacking* it with a VALID checksum, so the decoder itself has to catch the problem.

Each mutant is written to a file and decoded in a child process with a memory limit
(``RLIMIT_AS``) and a time limit. Outcomes:

* ``clean``: a :class:`pcc.errors.FormatError` (or ``BitstreamError``) whose message names the file;
* ``decoded``: the decoder returned something usable (for c3dgs: it also de-quantises);
* ``failure``: anything else: another exception, a result computed under a RuntimeWarning
  (garbage from an invalid cast or an overflow), an error that does not name the file, a crash,
  a timeout or running out of memory.

The same campaign runs for the file *readers* (``tools/fuzz_readers.py``: PLY, PCD, OFF, BIN, XYZ,
LAS, COLMAP, NeRF, INRIA, Gaussian PLY, .splat/.spz/compressed PLY, codec checkpoints).

Usage::

    python tools/fuzz.py --n 10000                 # every decoder and reader, 10000 mutants each
    python tools/fuzz.py --n 1000 --decoder las --decoder spz
    python tools/fuzz.py --n 500 --decoder pcc3dgs --seed 3 --save-failures out/fuzz

The mutation engine below needs only the standard library and numpy; tests import it with
``sys.path.insert(0, "tools")`` (``tests/test_fuzz_decoders.py``).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import struct
import sys
import tempfile
import time
import traceback
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DECODERS = ("octree", "neural", "lidar", "occupancy", "pcc3dgs", "npz")


def _readers():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.modules.setdefault("fuzz", sys.modules[__name__])
    import fuzz_readers

    return fuzz_readers


def _seeds():
    _readers()
    import fuzz_seeds

    return fuzz_seeds


READERS = _readers().READERS  # the point-cloud, mesh, camera, scene and splat readers

# --------------------------------------------------------------------------- value pools
_INTS = [
    0,
    1,
    -1,
    2,
    3,
    7,
    8,
    24,
    31,
    32,
    63,
    64,
    255,
    256,
    65535,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**40,
    2**53,
    2**63 - 1,
    2**63,
    2**64,
    10**30,
    -(2**31),
    -(2**63),
    -(10**30),
]
_FLOATS = [0.0, -0.0, 0.5, 1.0, 1.5, -1.0, 1e-300, 1e308, -1e308, math.nan, math.inf, -math.inf]
_OTHERS = [
    None,
    True,
    False,
    "",
    "x",
    "octree",
    "neural",
    "topk",
    "rd",
    "\u00e9\u0000",
    [],
    [0],
    [1, 2, 3],
    [0.5, math.nan, 1],
    ["a", "b", "c"],
    [[1, 2, 3]],
    {},
    {"a": 1},
    {"scale": 1.0, "offset": [0, 0, 0]},
]


def random_json_value(rng: random.Random, like=None):
    """A value of any JSON type, biased to extremes; sometimes a small change of ``like``."""
    r = rng.random()
    if like is not None and r < 0.25:
        if isinstance(like, bool):
            return not like
        if isinstance(like, int):
            return like + rng.choice([-1, 1, -2, 2, 1 << rng.randrange(64), -like - 1, like])
        if isinstance(like, float):
            whole = float(int(like)) if math.isfinite(like) else like  # like may be inf/nan already
            return rng.choice([like * 2, -like, like + 1e-9, whole, math.nan])
        if isinstance(like, str):
            return rng.choice([like + "x", like[:-1], like.upper(), like * 2, like + ".pt"])
        if isinstance(like, list) and like:
            out = list(like)
            op = rng.randrange(3)
            if op == 0:
                out.pop(rng.randrange(len(out)))
            elif op == 1:
                out.append(rng.choice(out))
            else:
                out[rng.randrange(len(out))] = random_json_value(rng)
            return out
    if r < 0.55:
        return rng.choice(_INTS)
    if r < 0.75:
        return rng.choice(_FLOATS)
    return rng.choice(_OTHERS)


# --------------------------------------------------------------------------- stream mutations
def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """One framing-agnostic change of a byte string (flip, truncate, extend, overwrite...)."""
    b = bytearray(data)
    op = rng.randrange(8)
    if op == 0 and b:  # flip one bit
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    elif op == 1 and b:  # overwrite a byte with an extreme value
        b[rng.randrange(len(b))] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
    elif op == 2:  # truncate
        b = b[: rng.randrange(len(b) + 1)]
    elif op == 3:  # extend
        b += bytes(rng.randrange(256) for _ in range(rng.choice([1, 3, 4, 8, 64])))
    elif op == 4:  # zero or 0xFF a run
        if b:
            i = rng.randrange(len(b))
            n = rng.randint(1, 16)
            b[i : i + n] = bytes([rng.choice([0, 0xFF])]) * len(b[i : i + n])
    elif op == 5:  # random bytes of the same length
        b = bytearray(rng.randrange(256) for _ in range(len(b)))
    elif op == 6 and len(b) >= 4:  # overwrite a 32-bit word with an extreme value
        i = rng.randrange(len(b) - 3)
        b[i : i + 4] = struct.pack("<I", rng.choice([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000]))
    else:  # swap two halves
        h = len(b) // 2
        b = b[h:] + b[:h]
    return bytes(b)


def mutate_stream_list(rng: random.Random, streams: list[bytes]) -> list[bytes]:
    """Change one stream, or the list itself (drop, duplicate, swap, insert, empty)."""
    streams = list(streams)
    op = rng.randrange(10)
    if streams and op < 5:
        i = rng.randrange(len(streams))
        streams[i] = mutate_bytes(rng, streams[i])
    elif streams and op == 5:
        streams.pop(rng.randrange(len(streams)))
    elif streams and op == 6:
        i = rng.randrange(len(streams))
        streams.insert(i, streams[i])
    elif len(streams) >= 2 and op == 7:
        i, j = rng.sample(range(len(streams)), 2)
        streams[i], streams[j] = streams[j], streams[i]
    elif streams and op == 8:
        streams[rng.randrange(len(streams))] = b""
    else:
        streams.insert(rng.randrange(len(streams) + 1), bytes(rng.randrange(256) for _ in range(9)))
    return streams


# --------------------------------------------------------------------------- pcc.pointcloud.container
def parse_container(data: bytes) -> tuple[str, dict, list[bytes]]:
    """Minimal reader of the point-cloud container (see pcc/pointcloud/container.py)."""
    pos = 14
    (lc,) = struct.unpack_from("<B", data, pos)
    codec = data[pos + 1 : pos + 1 + lc].decode("ascii")
    pos += 1 + lc
    (lh,) = struct.unpack_from("<I", data, pos)
    try:
        header = json.loads(data[pos + 4 : pos + 4 + lh])
    except ValueError:
        header = None
    pos += 4 + lh
    (ns,) = struct.unpack_from("<I", data, pos)
    pos += 4
    streams = []
    for _ in range(ns):
        (n,) = struct.unpack_from("<Q", data, pos)
        streams.append(data[pos + 8 : pos + 8 + n])
        pos += 8 + n
    return codec, header, streams


def pack_container(codec: str, header, streams: list[bytes], raw_header: bytes | None = None):
    """Like ``container.pack`` but accepts anything (NaN, a non-object header) and a valid CRC."""
    hb = raw_header if raw_header is not None else json.dumps(header).encode("utf-8")
    cb = codec.encode("ascii", "replace")
    parts = [
        struct.pack("<B", len(cb) & 0xFF),
        cb,
        struct.pack("<I", len(hb)),
        hb,
        struct.pack("<I", len(streams)),
    ]
    for s in streams:
        parts += [struct.pack("<Q", len(s)), s]
    payload = b"".join(parts)
    body = b"PCCF" + struct.pack("<HQ", 1, len(payload)) + payload
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def mutate_container(rng: random.Random, data: bytes) -> bytes:
    codec, header, streams = parse_container(data)
    op = rng.random()
    raw_header = None
    if not isinstance(header, dict):  # an earlier mutation broke the header: keep it
        raw_header, header, op = json.dumps(header).encode(), {}, 1.0
    if op < 0.45 and header:  # one header field
        key = rng.choice(sorted(header))
        header[key] = random_json_value(rng, header[key])
    elif op < 0.5 and header:  # drop a field
        header.pop(rng.choice(sorted(header)))
    elif op < 0.55:  # nested field (transform, origin, ...) or an extra key
        key = rng.choice(sorted(header) + ["blocks_per_stream", "quant_step", "origin"])
        value = header.get(key)
        if isinstance(value, dict) and value:
            sub = rng.choice(sorted(value))
            value[sub] = random_json_value(rng, value[sub])
        else:
            header[key] = random_json_value(rng)
    elif op < 0.58:  # header that is not an object / not JSON
        raw_header = rng.choice([b"[]", b"null", b"1", b"{", b"\xff\xfe", b'{"a":NaN}'])
    elif op < 0.62:  # codec id
        codec = rng.choice(["octree", "neural", "x", "OCTREE", "neural2"])
    elif op < 0.66:  # two header fields
        for _ in range(2):
            if header:
                key = rng.choice(sorted(header))
                header[key] = random_json_value(rng, header[key])
    else:
        streams = mutate_stream_list(rng, streams)
    return pack_container(codec, header, streams, raw_header)


# --------------------------------------------------------------------------- .pcc3dgs
_PCC_HEADER = struct.Struct("<5sBIBIIB")
_PCC_QP = struct.Struct("<fi")


def parse_pcc3dgs(data: bytes) -> tuple[list, list, list[bytes]]:
    fields = list(_PCC_HEADER.unpack_from(data, 0))
    pos = _PCC_HEADER.size
    qps = []
    for _ in range(6):
        qps.append(list(_PCC_QP.unpack_from(data, pos)))
        pos += _PCC_QP.size
    (ns,) = struct.unpack_from("<B", data, pos)
    pos += 1
    streams = []
    for _ in range(ns):
        (n,) = struct.unpack_from("<I", data, pos)
        streams.append(data[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return fields, qps, streams


def pack_pcc3dgs(fields: list, qps: list, streams: list[bytes]) -> bytes:
    out = bytearray(_PCC_HEADER.pack(*fields))
    for scale, zp in qps:
        out += _PCC_QP.pack(scale, zp)
    out += struct.pack("<B", len(streams) & 0xFF)
    for s in streams:
        out += struct.pack("<I", len(s)) + s
    return bytes(out) + struct.pack("<I", zlib.crc32(bytes(out)))


_FIELD_LIMITS = {1: 0xFF, 2: 0xFFFFFFFF, 3: 0xFF, 4: 0xFFFFFFFF, 5: 0xFFFFFFFF, 6: 0xFF}


def mutate_pcc3dgs(rng: random.Random, data: bytes) -> bytes:
    fields, qps, streams = parse_pcc3dgs(data)
    op = rng.random()
    if op < 0.35:  # a header integer: version, N, sh degree, M_c, M_g, flags
        i = rng.choice([2, 2, 3, 4, 4, 5, 5, 6, 1])
        hi = _FIELD_LIMITS[i]
        cand = [
            0,
            1,
            2,
            3,
            4,
            hi,
            hi - 1,
            hi // 2,
            fields[i] + 1,
            max(fields[i] - 1, 0),
            fields[i] * 2,
            fields[i] * 1000,
            1 << rng.randrange(hi.bit_length()),
        ]
        fields[i] = min(max(rng.choice(cand), 0), hi)
    elif op < 0.5:  # a quantisation parameter
        j = rng.randrange(6)
        if rng.random() < 0.5:
            qps[j][0] = rng.choice([0.0, -1.0, math.nan, math.inf, -math.inf, 1e-45, 3e38, 1e-3])
        else:
            qps[j][1] = rng.choice([0, 1, -1, 127, -128, 2**31 - 1, -(2**31)])
    else:
        streams = mutate_stream_list(rng, streams)
    return pack_pcc3dgs(fields, qps, streams)


# --------------------------------------------------------------------------- c3dgs npz
def read_npz_arrays(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def write_npz(members: dict[str, bytes | np.ndarray]) -> bytes:
    """An npz from arrays or raw ``.npy`` bytes (to forge headers); DEFLATE like savez_compressed."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, value in members.items():
            if isinstance(value, np.ndarray):
                b = io.BytesIO()
                np.lib.format.write_array(b, value, allow_pickle=False)
                value = b.getvalue()
            zf.writestr(key + ".npy", value)
    return buf.getvalue()


def forged_npy(arr: np.ndarray, rng: random.Random) -> bytes:
    """A ``.npy`` whose header declares another (often huge) shape than the data it holds."""
    shape = rng.choice([(2**40,), (2**31, 3), (10**6, 10**6), (-1,), (3, 2**62), (0,)])
    descr = np.lib.format.dtype_to_descr(arr.dtype)
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    b = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(b, header)
    except ValueError:
        head = repr(header).encode("latin1")
        head = head + b" " * ((64 - (10 + len(head) + 1) % 64) % 64) + b"\n"
        b.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head)
    return b.getvalue() + arr.tobytes()[: rng.choice([0, 16, 1024])]


def mutate_npz(rng: random.Random, data: bytes) -> bytes:
    arrays: dict = read_npz_arrays(data)
    key = rng.choice(sorted(arrays))
    a = arrays[key]
    op = rng.randrange(10)
    if op == 0:
        arrays.pop(key)
    elif op == 1:  # another dtype
        arrays[key] = a.astype(
            rng.choice(
                [
                    np.float64,
                    np.float16,
                    np.int8,
                    np.int64,
                    np.uint8,
                    np.bool_,
                    np.float32,
                    np.int32,
                ]
            )
        )
    elif op == 2:  # another shape
        flat = a.reshape(-1)
        arrays[key] = rng.choice(
            [
                flat,
                flat[: max(flat.size - 1, 0)],
                np.concatenate([flat, flat]),
                flat.reshape(1, -1),
                a[..., None],
                np.zeros((0,) + a.shape[1:], a.dtype),
            ]
        )
    elif op == 3 and a.dtype.kind == "f":  # non-finite values
        b = a.copy().reshape(-1)
        if b.size:
            b[rng.randrange(b.size)] = rng.choice([np.nan, np.inf, -np.inf, 0.0, -1.0, 6e4])
        arrays[key] = b.reshape(a.shape)
    elif op == 4 and a.dtype.kind in "iu":  # extreme integers
        b = a.copy().reshape(-1)
        if b.size:
            info = np.iinfo(a.dtype)
            b[rng.randrange(b.size)] = rng.choice([info.min, info.max, -1, 0, 1])
        arrays[key] = b.reshape(a.shape)
    elif op == 5:  # forged .npy header
        members: dict = dict(arrays)
        members[key] = forged_npy(a, rng)
        return write_npz(members)
    elif op == 6:  # raw bytes of a member
        members = dict(arrays)
        b = io.BytesIO()
        np.lib.format.write_array(b, a, allow_pickle=False)
        members[key] = mutate_bytes(rng, b.getvalue())
        return write_npz(members)
    elif op == 7:  # a scalar, or an object array replaced by a string array
        arrays[key] = rng.choice([np.array(1), np.array("x"), np.array([b"ab"]), np.array(np.nan)])
    elif op == 8:  # swap two arrays
        other = rng.choice(sorted(arrays))
        arrays[key], arrays[other] = arrays[other], a
    else:  # extra key
        arrays[rng.choice(["extra", "quantization"])] = rng.choice([np.array(False), np.zeros(3)])
    return write_npz(arrays)


MUTATORS = {
    "octree": mutate_container,
    "neural": mutate_container,
    "lidar": mutate_container,
    "occupancy": mutate_container,
    "pcc3dgs": mutate_pcc3dgs,
    "npz": mutate_npz,
}
SUFFIXES = {
    "octree": ".pccf",
    "neural": ".pccf",
    "lidar": ".pccf",
    "occupancy": ".pccf",
    "pcc3dgs": ".pcc3dgs",
    "npz": ".npz",
}


def mutant(decoder: str, seed_file, seed: int, i: int):
    """Mutant number ``i`` of campaign ``seed`` (1-3 stacked mutations; reproducible).

    For a decoder the seed and the mutant are bytes; for a reader they are ``{name: bytes}``.
    """
    rng = random.Random(f"{decoder}:{seed}:{i}")
    data = seed_file
    if decoder in READERS:
        fr = _readers()
        spec = fr.reader_specs()[decoder]
        mutate = lambda rng, files: fr.mutate_files(rng, spec, files)  # noqa: E731
    else:
        mutate = MUTATORS[decoder]
    for k in range(rng.choice([1, 1, 1, 2, 3])):
        try:
            data = mutate(rng, data)
        except Exception:  # noqa: BLE001 - an earlier mutation made it unparsable: keep that
            if k == 0:
                raise
            break
    return data


# --------------------------------------------------------------------------- seed files
def seed_files(workdir: Path) -> dict[str, bytes]:
    """One small valid file per decoder (deterministic). Needs pcc and torch."""
    import torch

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    out = {}
    from pcc.pointcloud.octree_codec import compress_octree

    pts = rng.integers(0, 16, size=(120, 3))
    out["octree"] = compress_octree(
        pts, quant_step=1.0, transform={"scale": 2.0, "offset": [0.5, 0, 1]}
    )
    out["neural"] = _neural_seed(workdir, rng)
    from pcc.pointcloud.lidar import synthetic_lidar_sweep
    from pcc.pointcloud.lidar_codec import encode_lidar

    sweep = np.round(synthetic_lidar_sweep(0, n_beams=8, n_azimuth=64) / 0.01).astype(np.int64)
    shift = sweep.min(axis=0)  # [3]
    out["lidar"] = encode_lidar(sweep - shift, origin=-shift, n_lasers=8).data
    from pcc.pointcloud.occupancy_codec import encode_occupancy

    out["occupancy"] = encode_occupancy(rng.integers(0, 12, size=(90, 3))).data
    from pcc.c3dgs.compressed_model import IndexedGaussians, finalize
    from pcc.c3dgs.storage_npz import to_npz_arrays
    from pcc.c3dgs.storage_pcc import encode

    g = torch.Generator().manual_seed(0)
    n, m_c, m_g, k = 60, 12, 9, 4
    model = IndexedGaussians(
        means=torch.randn(n, 3, generator=g),
        opacity_logits=torch.randn(n, generator=g),
        log_magnitude=torch.randn(n, generator=g) - 3,
        color_table=0.3 * torch.randn(m_c, k, 3, generator=g),
        color_indices=torch.randint(0, m_c, (n,), generator=g),
        scale_table=torch.rand(m_g, 3, generator=g),
        rotation_table=torch.randn(m_g, 4, generator=g),
        shape_indices=torch.randint(0, m_g, (n,), generator=g),
    )
    q = finalize(model)
    out["pcc3dgs"] = encode(q)
    out["npz"] = write_npz(to_npz_arrays(q))
    return out


TINY_CODEC = {"block_size": 16, "filters": [4, 8, 8], "latent_channels": 4}


_MODEL_FILE = "tiny_codec.pt"


def _neural_model_path(workdir: Path) -> Path:
    return workdir / _MODEL_FILE


def _neural_seed(workdir: Path, rng) -> bytes:
    import torch

    from pcc.codec.checkpoint import save_checkpoint
    from pcc.codec.model import BlockCodec
    from pcc.codec.pipeline import compress_point_cloud

    torch.manual_seed(0)
    codec = BlockCodec(TINY_CODEC, entropy_model="hyperprior").eval()
    codec.update(force=True)
    path = _neural_model_path(workdir)
    save_checkpoint(path, codec)
    pts = rng.integers(0, 40, size=(150, 3))
    return compress_point_cloud(
        pts, path, quant_step=2.0, header_extra={"transform": {"scale": 2.0, "offset": [0, 0, 0]}}
    )


# --------------------------------------------------------------------------- decoding targets
class _Target:
    """Decodes one file the way the user-facing command does; returns a short summary."""

    def __init__(self, decoder: str, workdir: Path):
        self.decoder = decoder
        self.workdir = workdir
        self.model = None
        self.model_ref = None
        if decoder == "neural":
            from pcc.codec.registry import load_model

            self.model_ref = str(_neural_model_path(workdir).resolve())
            self.model, _ = load_model(self.model_ref)

    def __call__(self, path: Path):
        data = path.read_bytes()
        if self.decoder in ("octree", "neural", "lidar", "occupancy"):
            from pcc.pointcloud import container
            from pcc.pointcloud.lidar_codec import decode_lidar
            from pcc.pointcloud.occupancy_codec import decode_occupancy
            from pcc.pointcloud.octree_codec import CODEC_ID, decode_octree

            codec, header, _ = container.unpack(data, path)
            if codec == "lidar":
                return ("lidar", decode_lidar(data, path).shape)
            if codec == "occupancy":
                return ("occupancy", decode_occupancy(data, path).shape)
            if codec == CODEC_ID:
                decoded = decode_octree(data, path)
                return ("octree", decoded.coords.shape, float(np.abs(decoded.coords_float).sum()))
            from pcc.codec.pipeline import decompress_point_cloud

            # the model named in the header is loaded once per worker (it is slow to load);
            # any other value of the field goes through the normal lookup
            named = header.get("model")
            ours = isinstance(named, str) and named.endswith(os.sep + _MODEL_FILE)
            model = self.model if ours else None
            return ("neural", decompress_point_cloud(data, model, path=path).shape)
        if self.decoder == "pcc3dgs":
            from pcc.c3dgs.storage_pcc import load_pcc

            q = load_pcc(path)
        else:
            from pcc.c3dgs.storage_npz import load_npz

            q = load_npz(path)
        q.dequantize()
        return (len(q), q.sh_degree)


def classify(target, path: Path) -> tuple[str, str]:
    """``(outcome, detail)`` of decoding ``path``: clean / decoded / failure."""
    import warnings

    from pcc.errors import FormatError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            target(path)
        except FormatError as err:
            if str(path) not in str(err):
                return "failure", f"{type(err).__name__} without the file name: {err}"[:300]
            return "clean", type(err).__name__
        except Exception as err:  # noqa: BLE001 - every other exception is a finding
            tb = traceback.extract_tb(err.__traceback__)[-1]
            where = f"{Path(tb.filename).name}:{tb.lineno}"
            return "failure", f"{type(err).__name__} at {where}: {err}"[:300]
    # a result computed through an invalid cast or an overflow is garbage, not a decode
    bad = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if bad:
        w = bad[0]
        where = f"{Path(w.filename).name}:{w.lineno}"
        return "failure", f"RuntimeWarning at {where}: {w.message}"[:300]
    return "decoded", ""


class ReaderTarget:
    """Reads a mutant folder with the public reader of one format."""

    def __init__(self, reader: str):
        self.spec = _readers().reader_specs()[reader]

    def __call__(self, path: Path):
        return self.spec.read(path)


def write_case(folder: Path, files: dict[str, bytes]) -> None:
    """Replace the contents of ``folder`` by ``files`` (relative names may hold subfolders)."""
    import shutil

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def reader_path(reader: str, folder: Path) -> Path:
    """The path the reader is given for a case folder (the folder itself for scene readers)."""
    main = _readers().reader_specs()[reader].main
    return folder if main == "." else folder / main


# --------------------------------------------------------------------------- child processes
def _worker(conn, decoder: str, workdir: str, mem_bytes: int) -> None:
    import resource
    import warnings

    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)  # e.g. SPZ "degree 4 truncated": not findings
    if mem_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
    if decoder in READERS:
        target = ReaderTarget(decoder)
        case = Path(workdir) / f"case-{os.getpid()}"
        path = reader_path(decoder, case)
    else:
        target = _Target(decoder, Path(workdir))
        path = Path(workdir) / f"mutant-{os.getpid()}{SUFFIXES[decoder]}"
    conn.send("ready")
    while True:
        msg = conn.recv()
        if msg is None:
            return
        if decoder in READERS:
            write_case(case, msg)
        else:
            path.write_bytes(msg)
        try:
            conn.send(classify(target, path))
        except MemoryError:
            conn.send(("failure", "MemoryError"))


@dataclass
class Result:
    decoder: str
    n: int = 0
    counts: dict = field(default_factory=lambda: {"clean": 0, "decoded": 0, "failure": 0})
    failures: list = field(default_factory=list)  # (index, detail)
    seconds: float = 0.0


class _Pool:
    """One worker process with memory and time limits, restarted after a crash or a timeout."""

    def __init__(self, decoder, workdir, mem_bytes, timeout):
        import multiprocessing as mp

        self.ctx = mp.get_context("fork")
        self.args = (decoder, str(workdir), mem_bytes)
        self.timeout = timeout
        self.proc = None
        self._start()

    def _start(self):
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, *self.args), daemon=True)
        self.proc.start()
        child.close()
        if not self.conn.poll(300) or self.conn.recv() != "ready":
            raise RuntimeError("fuzz worker did not start")

    def _kill(self):
        self.proc.kill()
        self.proc.join()

    def run(self, data: bytes) -> tuple[str, str]:
        try:
            self.conn.send(data)
            if self.conn.poll(self.timeout):
                return self.conn.recv()
            self._kill()
            outcome = ("failure", f"timeout after {self.timeout} s")
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.proc.join()
            outcome = ("failure", f"worker crashed (exit code {self.proc.exitcode})")
        self._start()
        return outcome

    def close(self):
        try:
            self.conn.send(None)
            self.proc.join(5)
        except (BrokenPipeError, OSError):
            pass
        if self.proc.is_alive():
            self._kill()


def run_campaign(
    decoder: str,
    n: int,
    *,
    seed: int = 0,
    workdir: Path | None = None,
    mem_gb: float = 3.0,
    timeout: float = 60.0,
    save_failures: Path | None = None,
    seeds: dict | None = None,
    progress: bool = False,
) -> Result:
    """Decode ``n`` mutants of the seed file of ``decoder`` in a limited child process."""
    own = workdir is None
    tmp = tempfile.TemporaryDirectory(prefix="pcc-fuzz-") if own else None
    workdir = Path(tmp.name) if own else Path(workdir)
    try:
        if seeds is None or decoder not in seeds:
            seeds = {**(seeds or {}), **all_seed_files(workdir, [decoder])}
        start = time.perf_counter()
        pool = _Pool(decoder, workdir, int(mem_gb * 2**30), timeout)
        result = Result(decoder)
        try:
            for i in range(n):
                data = mutant(decoder, seeds[decoder], seed, i)
                outcome, detail = pool.run(data)
                result.counts[outcome] += 1
                result.n += 1
                if outcome == "failure":
                    result.failures.append((i, detail))
                    if save_failures is not None:
                        save_failure(save_failures, decoder, f"{seed}-{i}", data)
                if progress and (i + 1) % 500 == 0:
                    print(f"  {decoder}: {i + 1}/{n} {result.counts}", file=sys.stderr, flush=True)
        finally:
            pool.close()
        result.seconds = time.perf_counter() - start
        return result
    finally:
        if tmp is not None:
            tmp.cleanup()


def all_seed_files(workdir: Path, names=None) -> dict:
    """Seed files of the decoders and readers in ``names`` (default: all)."""
    names = list(names or (*DECODERS, *READERS))
    out: dict = {}
    if any(n in DECODERS for n in names):
        out.update(seed_files(workdir))
    if any(n in READERS for n in names):
        out.update(_seeds().seed_reader_files(workdir, [n for n in names if n in READERS]))
    return out


def save_failure(folder: Path, name: str, tag: str, data) -> Path:
    """Keep a failing input: ``<name>-<tag><suffix>``, or a folder for a reader's files."""
    folder.mkdir(parents=True, exist_ok=True)
    if name not in READERS:
        out = folder / f"{name}-{tag}{SUFFIXES[name]}"
        out.write_bytes(data)
        return out
    main = _readers().reader_specs()[name].main
    if main != "." and set(data) == {main}:
        out = folder / f"{name}-{tag}-{main}"
        out.write_bytes(data[main])
        return out
    out = folder / f"{name}-{tag}"
    write_case(out, data)
    return out


def table(results: list[Result]) -> str:
    rows = [
        "| decoder / reader | mutants | clean error | decoded | failures | time |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r.decoder} | {r.n} | {r.counts['clean']} | {r.counts['decoded']} | "
            f"{r.counts['failure']} | {r.seconds:.0f} s |"
        )
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="mutants per decoder")
    parser.add_argument(
        "--decoder", choices=(*DECODERS, *READERS), action="append", help="default: all"
    )
    parser.add_argument("--decoders-only", action="store_true", help="skip the file readers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mem-gb", type=float, default=3.0, help="RLIMIT_AS of the child")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    parser.add_argument("--save-failures", type=Path, default=None, help="folder for failures")
    parser.add_argument("--show", type=int, default=10, help="failures listed per decoder")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    results = []
    with tempfile.TemporaryDirectory(prefix="pcc-fuzz-") as tmp:
        names = args.decoder or (DECODERS if args.decoders_only else (*DECODERS, *READERS))
        seeds = all_seed_files(Path(tmp), names)
        for decoder in names:
            r = run_campaign(
                decoder,
                args.n,
                seed=args.seed,
                workdir=Path(tmp),
                mem_gb=args.mem_gb,
                timeout=args.timeout,
                save_failures=args.save_failures,
                seeds=seeds,
                progress=True,
            )
            results.append(r)
            for i, detail in r.failures[: args.show]:
                print(f"  {decoder} mutant {i}: {detail}", file=sys.stderr)
            kinds = Counter(detail.split(": ")[0] for _, detail in r.failures)
            for kind, count in kinds.most_common():
                print(f"  {decoder}: {count} x {kind}", file=sys.stderr)
    print(table(results))
    return 1 if any(r.counts["failure"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
