"""Structure-aware mutants of the files pcc *reads* (issue 14), used by ``tools/fuzz.py``.

A reader campaign starts from a small valid seed (one file, or a folder of files for COLMAP and
NeRF scenes), changes one thing the format's structure allows and hands the result to the public
reader (``read_point_cloud``, ``read_mesh``, ``read_gaussian_ply``, ``read_colmap_model`` ...):

* text formats (PLY/PCD headers, OFF, XYZ, COLMAP ``.txt``, ``cfg_args``): a number token set to
  an extreme value of another kind (``-1``, ``2**63``, ``1e999``, ``nan``, ``0x10``, a word), a
  keyword or type name swapped, a line dropped, duplicated, swapped or added, truncation;
* binary bodies whose layout the header describes (PLY, Gaussian PLY, compressed PLY, PCD,
  ``.splat``, COLMAP ``.bin``, LAS, SPZ): one *field* overwritten with an extreme value of its
  own type (a count of ``2**64 - 1``, a float NaN, a negative int32), found by walking the
  records; SPZ's gzip payload is mutated after inflating and deflated again;
* JSON (NeRF ``transforms_*.json``, INRIA ``cameras.json``): any node set to a value of another
  JSON type, dropped, duplicated, or a list emptied;
* codec checkpoints: the dict re-saved with ``torch.save`` after changing one entry (architecture
  values, tensors of another shape/dtype/NaN, missing keys), or a zip member corrupted.

A mutant is a dict ``{relative file name: bytes}``; the worker writes it into a fresh folder.
The seed files are made by ``tools/fuzz_seeds.py``.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import random
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# --------------------------------------------------------------------------- text tokens
_NUM_TOKENS = [
    "0", "1", "-1", "2", "3", "-0", "255", "256", "65535", "2147483647", "2147483648",
    "4294967295", "4294967296", "9223372036854775807", "18446744073709551616",
    "-9223372036854775808", "100000000000", "1e308", "1e999", "-1e999", "nan", "NaN", "inf",
    "-inf", "0.5", "1e-320", "0x10", "1_000", "+3", "3.", ".", "-", "e5", "x", "",
]  # fmt: skip
_WORD_TOKENS = [
    "float", "double", "float32", "float64", "uchar", "uint8", "char", "int", "uint", "short",
    "ushort", "int8", "int64", "list", "vertex", "face", "element", "property", "format",
    "ascii", "binary", "binary_compressed", "binary_little_endian", "binary_big_endian",
    "end_header", "DATA", "FIELDS", "SIZE", "TYPE", "COUNT", "WIDTH", "HEIGHT", "POINTS",
    "x", "y", "z", "F", "I", "U", "8", "OFF", "PINHOLE", "SIMPLE_RADIAL", "OPENCV", "\u00e9",
]  # fmt: skip
_NUM_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def mutate_text_lines(rng: random.Random, text: bytes, focus: int | None = None) -> bytes:
    """One token- or line-level change of a text file. ``focus``: prefer the first lines."""
    lines = text.split(b"\n")
    n = len(lines)
    limit = n if focus is None or rng.random() < 0.3 else max(1, min(focus, n))
    i = rng.randrange(limit)
    op = rng.random()
    if op < 0.5:  # a token
        words = lines[i].split(b" ")
        j = rng.randrange(len(words))
        is_num = bool(_NUM_RE.match(words[j].decode("latin1")))
        pool = _NUM_TOKENS if is_num or rng.random() < 0.5 else _WORD_TOKENS
        r = rng.random()
        if r < 0.8:
            words[j] = rng.choice(pool).encode("utf-8")
        elif r < 0.9:
            words.pop(j)
        else:
            words.insert(j, rng.choice(pool).encode("utf-8"))
        lines[i] = b" ".join(words)
    elif op < 0.6:
        lines.pop(i)
    elif op < 0.7:
        lines.insert(i, lines[i])
    elif op < 0.78 and n >= 2:
        j = rng.randrange(limit)
        lines[i], lines[j] = lines[j], lines[i]
    elif op < 0.84:
        lines.insert(i, rng.choice([b"", b"#", b"comment x", b"\x00\xff", b"1 2", b"a b c"]))
    elif op < 0.92:  # truncate
        return text[: rng.randrange(len(text) + 1)]
    elif op < 0.96:
        return text.replace(b"\n", b"\r\n")
    else:
        lines[i] = lines[i] * rng.choice([2, 50])
    return b"\n".join(lines)


# --------------------------------------------------------------------------- binary fields
def extreme_value(rng: random.Random, fmt: str, old=None) -> bytes:
    """Bytes of an extreme value of the struct type ``fmt`` (e.g. ``'<Q'``, ``'>f'``, ``'B'``)."""
    code = fmt[-1]
    prefix = fmt[:-1] or "<"
    if code in "fd":
        v = rng.choice([0.0, -0.0, -1.0, 1e-45, 3e38, -3e38, 1e300, math.nan, math.inf,
                        -math.inf, 0.5, 1e6])  # fmt: skip
        if code == "f" and abs(v) > 3.4e38 and math.isfinite(v):
            v = math.copysign(math.inf, v)
        return struct.pack(prefix + code, v)
    size = struct.calcsize(prefix + code)
    signed = code.islower()
    lo, hi = (
        (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed else (0, (1 << 8 * size) - 1)
    )
    cand = [0, 1, 2, 3, hi, hi - 1, hi // 2, lo, 1 << rng.randrange(8 * size - 1), 255, 256]
    if signed:
        cand += [-1, -2]
    if old is not None:
        cand += [old + 1, old - 1, old * 2, old * 1000, -old]
    v = min(max(rng.choice(cand), lo), hi)
    return struct.pack(prefix + code, v)


def mutate_fields(rng: random.Random, data: bytes, fields: list[tuple[int, str]]) -> bytes:
    """Overwrite one ``(offset, struct fmt)`` field of ``data`` with an extreme value."""
    if not fields:
        return mutate_raw(rng, data)
    off, fmt = rng.choice(fields)
    size = struct.calcsize(fmt)
    if off + size > len(data):
        return mutate_raw(rng, data)
    old = struct.unpack_from(fmt, data, off)[0]
    b = bytearray(data)
    b[off : off + size] = extreme_value(rng, fmt, old if isinstance(old, int) else None)
    return bytes(b)


def mutate_raw(rng: random.Random, data: bytes) -> bytes:
    from fuzz import mutate_bytes  # the framing-agnostic byte mutations

    return mutate_bytes(rng, data)


def sample_fields(rng: random.Random, fields: list, k: int = 400) -> list:
    return fields if len(fields) <= k else rng.sample(fields, k)


# --------------------------------------------------------------------------- PLY layout
_PLY_STRUCT = {
    "char": "b", "int8": "b", "uchar": "B", "uint8": "B", "short": "h", "int16": "h",
    "ushort": "H", "uint16": "H", "int": "i", "int32": "i", "uint": "I", "uint32": "I",
    "float": "f", "float32": "f", "double": "d", "float64": "d",
}  # fmt: skip


def split_header(data: bytes, marker: bytes) -> tuple[bytes, bytes]:
    """``(header incl. the marker line, body)``, or ``(data, b"")`` without the marker."""
    i = data.find(marker)
    if i < 0:
        return data, b""
    nl = data.find(b"\n", i)
    nl = len(data) if nl < 0 else nl + 1
    return data[:nl], data[nl:]


def ply_fields(data: bytes) -> list[tuple[int, str]]:
    """Offsets and struct formats of the fields of a binary PLY (list counts included)."""
    head, body = split_header(data, b"end_header")
    start = len(head)
    endian = ">" if b"binary_big_endian" in head else "<"
    elements: list[tuple[int, list]] = []
    for line in head.decode("latin1").splitlines():
        w = line.split()
        if len(w) >= 3 and w[0] == "element":
            elements.append((int(w[2]), []))
        elif len(w) >= 3 and w[0] == "property" and elements:
            elements[-1][1].append(w[1:])
    out, pos = [], start
    for count, props in elements:
        for _ in range(min(count, 64)):
            for p in props:
                if p[0] == "list":
                    cf = endian + _PLY_STRUCT[p[1]]
                    if pos + struct.calcsize(cf) > len(data):
                        return out
                    k = struct.unpack_from(cf, data, pos)[0]
                    out.append((pos, cf))
                    pos += struct.calcsize(cf)
                    itf = endian + _PLY_STRUCT[p[2]]
                    for _ in range(max(min(k, 16), 0)):
                        out.append((pos, itf))
                        pos += struct.calcsize(itf)
                else:
                    f = endian + _PLY_STRUCT[p[0]]
                    out.append((pos, f))
                    pos += struct.calcsize(f)
        if count > 64:
            break  # later elements start at an offset we did not walk
    return [(o, f) for o, f in out if o + struct.calcsize(f) <= len(data)]


def mutate_header_body(rng, data: bytes, marker: bytes, fields_of=None, focus=40) -> bytes:
    head, body = split_header(data, marker)
    r = rng.random()
    if r < 0.55 or not body:
        return mutate_text_lines(rng, head, focus) + body
    if r < 0.85 and fields_of is not None:
        try:
            fields = fields_of(data)
        except (KeyError, ValueError, IndexError, struct.error):
            fields = []
        return mutate_fields(rng, data, sample_fields(rng, fields))
    return head + mutate_raw(rng, body)


def mutate_ply(rng, data: bytes) -> bytes:
    if data.startswith(b"ply") and b"format ascii" in data[:200]:
        return mutate_text_lines(rng, data, focus=14 if rng.random() < 0.6 else None)
    return mutate_header_body(rng, data, b"end_header", ply_fields)


# --------------------------------------------------------------------------- PCD
def mutate_pcd(rng, data: bytes) -> bytes:
    head, body = split_header(data, b"\nDATA")
    if b"DATA ascii" in head:
        return mutate_text_lines(rng, data, focus=12 if rng.random() < 0.6 else None)
    if b"binary_compressed" in head and body and rng.random() < 0.4:  # the two size words
        fields = [(len(head), "<I"), (len(head) + 4, "<I")]
        return mutate_fields(rng, data, fields)
    return mutate_header_body(rng, data, b"\nDATA", None, focus=12)


# --------------------------------------------------------------------------- LAS / BIN / splat
_LAS_FIELDS = [(24, "B"), (25, "B"), (94, "<H"), (96, "<I"), (100, "<I"), (104, "B"),
               (105, "<H"), (107, "<I"), (131, "<d"), (139, "<d"), (147, "<d"), (155, "<d"),
               (163, "<d"), (171, "<d")]  # fmt: skip


def mutate_las(rng, data: bytes) -> bytes:
    r = rng.random()
    if r < 0.6:
        return mutate_fields(rng, data, _LAS_FIELDS)
    if r < 0.8:  # a coordinate of a point record (starts at the point offset)
        start, rec = struct.unpack_from("<I", data, 96)[0], struct.unpack_from("<H", data, 105)[0]
        fields = [(start + k * rec + 4 * j, "<i") for k in range(4) for j in range(3)]
        return mutate_fields(rng, data, fields)
    return mutate_raw(rng, data)


def mutate_f32_records(rng, data: bytes) -> bytes:
    if rng.random() < 0.6:
        fields = [(o, "<f") for o in range(0, len(data) - 3, 4)]
        return mutate_fields(rng, data, sample_fields(rng, fields))
    return mutate_raw(rng, data)


def mutate_splat(rng, data: bytes) -> bytes:
    if rng.random() < 0.6:
        fields = []
        for r in range(0, len(data) - 31, 32):
            fields += [(r + 4 * j, "<f") for j in range(6)] + [(r + 24 + j, "B") for j in range(8)]
        return mutate_fields(rng, data, sample_fields(rng, fields))
    return mutate_raw(rng, data)


# --------------------------------------------------------------------------- SPZ
_SPZ_LEGACY = [(0, "<I"), (4, "<I"), (8, "<I"), (12, "B"), (13, "B"), (14, "B"), (15, "B")]
_SPZ_V4 = _SPZ_LEGACY + [(16, "<I")]


def mutate_spz(rng, data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        try:
            payload = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return mutate_raw(rng, data)
        r = rng.random()
        if r < 0.45:
            payload = mutate_fields(rng, payload, _SPZ_LEGACY)
        elif r < 0.8:
            payload = mutate_raw(rng, payload)
        else:
            return mutate_raw(rng, data)  # a corrupt gzip stream itself
        return gzip.compress(payload, mtime=0)
    if len(data) >= 32:
        toc = struct.unpack_from("<I", data, 16)[0]
        fields = list(_SPZ_V4)
        if toc + 16 <= len(data):
            fields += [(toc + 16 * i + j, "<Q") for i in range(8) for j in (0, 8)]
        if rng.random() < 0.6:
            return mutate_fields(rng, data, fields)
    return mutate_raw(rng, data)


# --------------------------------------------------------------------------- COLMAP .bin
def _colmap_fields(name: str, data: bytes) -> list[tuple[int, str]]:
    out = [(0, "<Q")]
    pos = 8
    n = struct.unpack_from("<Q", data, 0)[0]
    try:
        for _ in range(min(n, 16)):
            if name.startswith("cameras"):
                out += [(pos, "<i"), (pos + 4, "<i"), (pos + 8, "<Q"), (pos + 16, "<Q")]
                model_id = struct.unpack_from("<i", data, pos + 4)[0]
                k = {0: 3, 1: 4, 2: 4, 3: 5, 4: 8, 5: 8}.get(model_id, 4)
                pos += 24
                out += [(pos + 8 * j, "<d") for j in range(k)]
                pos += 8 * k
            elif name.startswith("images"):
                out += [(pos, "<i")] + [(pos + 4 + 8 * j, "<d") for j in range(7)]
                out.append((pos + 60, "<i"))
                pos += 64
                end = data.index(b"\x00", pos)
                out.append((end, "B"))  # the name's terminating NUL
                pos = end + 1
                m = struct.unpack_from("<Q", data, pos)[0]
                out.append((pos, "<Q"))
                pos += 8
                for j in range(min(m, 8)):
                    out += [
                        (pos + 24 * j, "<d"),
                        (pos + 24 * j + 8, "<d"),
                        (pos + 24 * j + 16, "<q"),
                    ]
                pos += 24 * m
            else:
                out += [(pos, "<Q")] + [(pos + 8 + 8 * j, "<d") for j in range(3)]
                out += [(pos + 32 + j, "B") for j in range(3)] + [
                    (pos + 35, "<d"),
                    (pos + 43, "<Q"),
                ]
                m = struct.unpack_from("<Q", data, pos + 43)[0]
                pos += 51
                for j in range(min(m, 8)):
                    out += [(pos + 8 * j, "<i"), (pos + 8 * j + 4, "<i")]
                pos += 8 * m
    except (ValueError, struct.error):
        pass
    return [(o, f) for o, f in out if o + struct.calcsize(f) <= len(data)]


# --------------------------------------------------------------------------- JSON
def _json_nodes(value, path=()):
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _json_nodes(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:6]):
            yield from _json_nodes(v, path + (i,))


def mutate_json(rng, data: bytes) -> bytes:
    from fuzz import random_json_value

    try:
        doc = json.loads(data)
    except ValueError:
        return mutate_raw(rng, data)
    if rng.random() < 0.1:
        return rng.choice([data[: rng.randrange(len(data) + 1)], b"", b"[]", b"{}", b"null",
                           b"\xef\xbb\xbf" + data, data.replace(b"1", b"NaN", 1)])  # fmt: skip
    nodes = list(_json_nodes(doc))
    path, value = rng.choice(nodes)
    op = rng.random()
    if not path:
        doc = random_json_value(rng, doc) if op < 0.3 else doc
        if isinstance(doc, list) and doc and op >= 0.3:
            doc = doc[:0] if op < 0.5 else doc + doc
    else:
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        if op < 0.6:
            parent[key] = random_json_value(rng, value)
        elif op < 0.75:
            if isinstance(parent, dict):
                parent.pop(key)
            else:
                parent.pop(key)
        elif op < 0.85 and isinstance(value, list):
            parent[key] = rng.choice([[], value + value, value[:-1], [value]])
        elif op < 0.95 and isinstance(parent, dict):
            parent[rng.choice(["extra", "w", "h", "fl_x", "camera_angle_x", "frames"])] = (
                random_json_value(rng)
            )
        else:
            parent[key] = random_json_value(rng)
    return json.dumps(doc, allow_nan=True).encode()


# --------------------------------------------------------------------------- checkpoints
def mutate_checkpoint(rng, data: bytes) -> bytes:
    import torch
    from fuzz import random_json_value

    if rng.random() < 0.25:  # a zip member corrupted (pickle or tensor storage)
        src = zipfile.ZipFile(io.BytesIO(data))
        names = src.namelist()
        victim = rng.choice(names)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as dst:
            for nm in names:
                b = src.read(nm)
                if nm == victim:
                    b = mutate_raw(rng, b)
                dst.writestr(zipfile.ZipInfo(nm, (1980, 1, 1, 0, 0, 0)), b)
        return buf.getvalue()
    payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    op = rng.random()
    if op < 0.3:
        arch = payload.get("architecture")
        if isinstance(arch, dict) and arch:
            key = rng.choice(sorted(arch))
            arch[key] = random_json_value(rng, arch[key])
            if rng.random() < 0.5:  # keep the signature consistent so the value itself is tested
                from pcc.codec.checkpoint import architecture_signature

                try:
                    payload["signature"] = architecture_signature(arch)
                except Exception:  # noqa: BLE001 - the reader must report it too
                    pass
    elif op < 0.6:
        state = payload.get("model")
        if isinstance(state, dict) and state:
            key = rng.choice(sorted(state))
            t = state[key]
            r = rng.random()
            if r < 0.3:
                state[key] = t.reshape(-1)[: max(t.numel() - 1, 0)]
            elif r < 0.5:
                state[key] = t.to(rng.choice([torch.float64, torch.int64, torch.uint8, torch.bool]))
            elif r < 0.7 and t.is_floating_point() and t.numel():
                t = t.clone()
                t.reshape(-1)[rng.randrange(t.numel())] = rng.choice([math.nan, math.inf, 1e30])
                state[key] = t
            elif r < 0.85:
                state.pop(key)
            else:
                state[key] = random_json_value(rng)
    elif op < 0.8 and payload:
        key = rng.choice(sorted(payload))
        if rng.random() < 0.5:
            payload.pop(key)
        else:
            payload[key] = random_json_value(
                rng, payload[key] if not hasattr(payload[key], "shape") else None
            )
    else:
        payload[rng.choice(["meta", "version", "format", "extra"])] = random_json_value(rng)
    buf = io.BytesIO()
    torch.save(payload, buf)
    return stable_torch_zip(buf.getvalue())


def stable_torch_zip(data: bytes) -> bytes:
    """``torch.save`` bytes with the random ``serialization_id`` zeroed: reproducible mutants."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            b = src.read(info)
            if info.filename.endswith("serialization_id"):
                b = b"0" * len(b)
            info.date_time = (1980, 1, 1, 0, 0, 0)
            dst.writestr(info, b)
    return buf.getvalue()


# --------------------------------------------------------------------------- reader specs
@dataclass
class ReaderSpec:
    """A reader under test: its seed files, how to mutate one file, how to read the result."""

    name: str
    main: str  # the file (or ".") the reader is given, relative to the case folder
    mutators: dict[str, Callable]  # file name -> mutator(rng, bytes) -> bytes
    read: Callable[[Path], object]


def _pc(path: Path):
    from pcc.io.pointcloud import read_point_cloud

    return len(read_point_cloud(path))


def _mesh(path: Path):
    from pcc.io.mesh import read_mesh

    v, f = read_mesh(path)
    return v.shape, f.shape


def _gply(path: Path):
    from pcc.io.gaussian_ply import read_gaussian_ply

    return len(read_gaussian_ply(path).means)


def _splat_any(path: Path):
    from pcc.io.splat_formats import load_splat_any

    return len(load_splat_any(path).means)


def _colmap(path: Path):
    from pcc.io.colmap import colmap_camera_to_camera, read_colmap_model

    model = read_colmap_model(path)
    for img in model.images.values():  # what a trainer does next
        colmap_camera_to_camera(model.cameras[img.camera_id], img, path)
    return len(model.images), len(model.points.xyz)


def _nerf(path: Path):
    from pcc.io.nerf import read_nerf_synthetic

    return len(read_nerf_synthetic(path, "train"))


def _cameras_json(path: Path):
    from pcc.io.inria_model import read_cameras_json

    return len(read_cameras_json(path))


def _cfg_args(path: Path):
    from pcc.io.inria_model import read_cfg_args

    return sorted(read_cfg_args(path))


def _checkpoint(path: Path):
    from pcc.codec.checkpoint import load_codec

    model, meta = load_codec(path)
    return type(model).__name__


def reader_specs() -> dict[str, ReaderSpec]:
    ply, text, js = mutate_ply, mutate_text_lines, mutate_json
    colmap_bin = {
        nm: (lambda rng, d, nm=nm: _mutate_colmap_bin(rng, nm, d))
        for nm in ("cameras.bin", "images.bin", "points3D.bin")
    }
    specs = [
        ReaderSpec("ply_ascii", "cloud.ply", {"cloud.ply": ply}, _pc),
        ReaderSpec("ply_binary", "cloud.ply", {"cloud.ply": ply}, _pc),
        ReaderSpec("ply_mesh", "mesh.ply", {"mesh.ply": ply}, _mesh),
        ReaderSpec("pcd_ascii", "cloud.pcd", {"cloud.pcd": mutate_pcd}, _pc),
        ReaderSpec("pcd_binary", "cloud.pcd", {"cloud.pcd": mutate_pcd}, _pc),
        ReaderSpec("pcd_compressed", "cloud.pcd", {"cloud.pcd": mutate_pcd}, _pc),
        ReaderSpec("off", "mesh.off", {"mesh.off": text}, _mesh),
        ReaderSpec("kitti_bin", "000000.bin", {"000000.bin": mutate_f32_records}, _pc),
        ReaderSpec("nuscenes_bin", "sweep.pcd.bin", {"sweep.pcd.bin": mutate_f32_records}, _pc),
        ReaderSpec("xyz", "cloud.xyz", {"cloud.xyz": text}, _pc),
        ReaderSpec("las", "cloud.las", {"cloud.las": mutate_las}, _pc),
        ReaderSpec("colmap_bin", ".", colmap_bin, _colmap),
        ReaderSpec(
            "colmap_txt",
            ".",
            {n: text for n in ("cameras.txt", "images.txt", "points3D.txt")},
            _colmap,
        ),  # fmt: skip
        ReaderSpec("nerf_json", ".", {"transforms_train.json": js}, _nerf),
        ReaderSpec("cameras_json", "cameras.json", {"cameras.json": js}, _cameras_json),
        ReaderSpec("cfg_args", "cfg_args", {"cfg_args": text}, _cfg_args),
        ReaderSpec("gaussian_ply", "point_cloud.ply", {"point_cloud.ply": ply}, _gply),
        ReaderSpec("splat", "scene.splat", {"scene.splat": mutate_splat}, _splat_any),
        ReaderSpec("spz", "scene.spz", {"scene.spz": mutate_spz}, _splat_any),
        ReaderSpec("spz_v4", "scene.spz", {"scene.spz": mutate_spz}, _splat_any),
        ReaderSpec(
            "compressed_ply", "scene.compressed.ply", {"scene.compressed.ply": ply}, _splat_any
        ),  # fmt: skip
        ReaderSpec("checkpoint", "codec.pt", {"codec.pt": mutate_checkpoint}, _checkpoint),
    ]
    return {s.name: s for s in specs}


def _mutate_colmap_bin(rng, name: str, data: bytes) -> bytes:
    if rng.random() < 0.7:
        try:
            fields = _colmap_fields(name, data)
        except (ValueError, struct.error):
            fields = []
        return mutate_fields(rng, data, fields)
    return mutate_raw(rng, data)


READERS = tuple(reader_specs())


def mutate_files(rng: random.Random, spec: ReaderSpec, files: dict[str, bytes]) -> dict[str, bytes]:
    files = dict(files)
    name = rng.choice(sorted(n for n in spec.mutators if n in files) or sorted(spec.mutators))
    if name not in files:
        return files
    if spec.main == "." and rng.random() < 0.03:  # a whole file missing
        files.pop(name)
        return files
    files[name] = spec.mutators[name](rng, files[name])
    return files
