"""Point-cloud files: PLY, PCD, KITTI/nuScenes ``.bin``, XYZ text and OFF, read and written.

Every reader returns one :class:`PointCloud` (float64 positions, optional uint8 colours and float32
normals), so the voxeliser, the octree coder and the metrics never care where a cloud came from.
Bad input (truncated file, NaN coordinates, zero points, an unknown extension) raises
:class:`pcc.errors.FormatError` naming the file and the problem. Writers are atomic.

The PLY and PCD parsers are written here from the format descriptions (Turk's PLY note; the PCL
"PCD file format" page, including LZF-compressed ``binary_compressed`` data).
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.atomic import atomic_path
from pcc.io.ply_types import PLY_TYPES

__all__ = [
    "PointCloud",
    "parse_floats",
    "read_point_cloud",
    "write_point_cloud",
    "read_ply_elements",
    "lzf_decompress",
    "POINT_CLOUD_EXTENSIONS",
]

POINT_CLOUD_EXTENSIONS = (".ply", ".pcd", ".bin", ".xyz", ".txt", ".pts", ".off", ".las")


@dataclass
class PointCloud:
    """A point cloud: positions with optional per-point colours and normals.

    ``notes`` records what a reader decided on the user's behalf (dropped NaN points, the
    number of float fields inferred for a ``.bin``), so a CLI can print it.
    """

    points: np.ndarray  # [N, 3] float64
    colors: np.ndarray | None = None  # [N, 3] uint8
    normals: np.ndarray | None = None  # [N, 3] float32
    notes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.points = np.ascontiguousarray(self.points, dtype=np.float64)
        if self.points.ndim != 2 or self.points.shape[1] != 3:
            raise ValueError(f"points must be [N, 3], got {self.points.shape}")
        n = len(self.points)
        if self.colors is not None:
            self.colors = np.ascontiguousarray(self.colors, dtype=np.uint8)
            if self.colors.shape != (n, 3):
                raise ValueError(f"colors must be [{n}, 3], got {self.colors.shape}")
        if self.normals is not None:
            self.normals = np.ascontiguousarray(self.normals, dtype=np.float32)
            if self.normals.shape != (n, 3):
                raise ValueError(f"normals must be [{n}, 3], got {self.normals.shape}")

    def __len__(self) -> int:
        return len(self.points)

    def subset(self, keep: np.ndarray) -> PointCloud:
        """The cloud restricted to ``keep`` (a boolean mask or an index array)."""
        return PointCloud(
            self.points[keep],
            None if self.colors is None else self.colors[keep],
            None if self.normals is None else self.normals[keep],
            dict(self.notes),
        )


# --------------------------------------------------------------------------------------- reading
def read_point_cloud(
    path: str | os.PathLike,
    *,
    drop_nan: bool | None = None,
    bin_fields: int | None = None,
) -> PointCloud:
    """Read a point cloud, choosing the format from the extension.

    Args:
        path: ``.ply`` (ascii / binary little or big endian; a mesh PLY yields its vertices),
            ``.pcd`` (ascii / binary / binary_compressed), ``.bin`` (raw float32 records, KITTI
            ``x y z reflectance`` or nuScenes ``x y z intensity ring``), ``.xyz`` / ``.txt`` /
            ``.pts`` (``x y z [r g b]`` text), ``.off`` (the mesh vertices), ``.las``
            (uncompressed ASPRS LAS; ``.laz`` is refused with a clear error).
        drop_nan: drop points with a non-finite coordinate (their count goes to
            ``notes["dropped_nan"]``) instead of raising. The default (None) drops them for PCD,
            where NaN is PCL's "no measurement" marker of organised clouds, and raises elsewhere.
        bin_fields: float32 values per ``.bin`` record; None infers it (see :func:`_infer_bin_fields`).

    Raises:
        FormatError: unknown extension, truncated or corrupt file, NaN coordinates, zero points.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "file not found")
    name = path.name.lower()
    suffix = path.suffix.lower()
    if suffix == ".ply":
        pc = _read_ply(path)
    elif suffix == ".pcd":
        pc = _read_pcd(path)
        drop_nan = True if drop_nan is None else drop_nan
    elif suffix == ".bin":
        pc = _read_bin(path, bin_fields, name)
    elif suffix in (".xyz", ".txt", ".pts"):
        pc = _read_xyz(path)
    elif suffix == ".las":
        pc = _read_las(path)
    elif suffix == ".laz":
        raise FormatError(
            path, "LAZ (compressed LAS) is not supported; decompress it to .las first"
        )
    elif suffix == ".off":
        from pcc.io.mesh import read_off

        vertices, _ = read_off(path)
        pc = PointCloud(vertices)
    else:
        raise FormatError(
            path,
            f"unknown point-cloud extension {suffix!r} (known: {', '.join(POINT_CLOUD_EXTENSIONS)})",
        )
    return _check_cloud(path, pc, bool(drop_nan))


def _check_cloud(path: Path, pc: PointCloud, drop_nan: bool) -> PointCloud:
    finite = np.isfinite(pc.points).all(axis=1)
    n_bad = int(len(finite) - finite.sum())
    if n_bad:
        if not drop_nan:
            raise FormatError(
                path,
                f"{n_bad} of {len(finite)} points have NaN/inf coordinates "
                "(pass drop_nan=True to drop them)",
            )
        notes = dict(pc.notes)
        pc = pc.subset(finite)
        notes["dropped_nan"] = n_bad
        pc.notes = notes
    if len(pc) == 0:
        raise FormatError(path, "the file holds zero (valid) points")
    return pc


# ------------------------------------------------------------------------------------------ PLY
_PLY_TYPES = PLY_TYPES


@dataclass
class _PlyElement:
    name: str
    count: int
    # (name, dtype) for scalars, (name, count dtype, item dtype) for lists
    properties: list[tuple] = field(default_factory=list)

    @property
    def has_lists(self) -> bool:
        return any(len(p) == 3 for p in self.properties)


def _parse_ply_header(path: Path, data: bytes) -> tuple[str, list[_PlyElement], int]:
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise FormatError(path, "not a PLY file (no 'ply' magic or no 'end_header')")
    nl = data.find(b"\n", end)
    if nl < 0:
        raise FormatError(path, "truncated PLY header")
    header = data[:end].decode("ascii", errors="replace").splitlines()
    fmt = None
    elements: list[_PlyElement] = []
    for raw in header[1:]:
        words = raw.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        try:
            if words[0] == "format":
                fmt = words[1]
            elif words[0] == "element":
                elements.append(_PlyElement(words[1], int(words[2])))
            elif words[0] == "property":
                if not elements:
                    raise FormatError(path, "PLY property before any element")
                if words[1] == "list":
                    elements[-1].properties.append(
                        (words[4], _PLY_TYPES[words[2]], _PLY_TYPES[words[3]])
                    )
                else:
                    elements[-1].properties.append((words[2], _PLY_TYPES[words[1]]))
        except FormatError:
            raise
        except (IndexError, KeyError, ValueError) as err:
            raise FormatError(path, f"bad PLY header line {raw.strip()!r}") from err
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise FormatError(path, f"unknown PLY format {fmt!r}")
    for el in elements:
        if el.count < 0:
            raise FormatError(path, f"negative count for PLY element {el.name!r}")
    return fmt, elements, nl + 1


def read_ply_elements(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """Parse a PLY file into ``{element: {property: array}}``.

    Scalar properties give ``[count]`` arrays of their own dtype. A list property gives a
    ``[count, k]`` array when every list has the same length ``k`` (the usual triangle case)
    and otherwise an object array of 1-D arrays. Truncated data raise :class:`FormatError`.
    """
    path = Path(path)
    data = path.read_bytes()
    fmt, elements, start = _parse_ply_header(path, data)
    if fmt == "ascii":
        return _read_ply_ascii(path, data[start:], elements)
    endian = "<" if fmt == "binary_little_endian" else ">"
    out: dict[str, dict[str, np.ndarray]] = {}
    pos = start
    for el in elements:
        if not el.has_lists:
            dtype = np.dtype([(p[0], endian + p[1]) for p in el.properties])
            need = dtype.itemsize * el.count
            if pos + need > len(data):
                raise FormatError(
                    path,
                    f"truncated PLY: element {el.name!r} needs {need} bytes, "
                    f"{max(0, len(data) - pos)} left",
                )
            arr = np.frombuffer(data, dtype=dtype, count=el.count, offset=pos)
            pos += need
            out[el.name] = {p[0]: arr[p[0]].astype(p[1]) for p in el.properties}
        else:
            out[el.name], pos = _read_ply_binary_lists(path, data, pos, el, endian)
    return out


def _read_ply_binary_lists(path: Path, data: bytes, pos: int, el: _PlyElement, endian: str):
    """Binary element with list properties: a fast path when all lists share one length."""
    if el.count == 0:
        return {p[0]: np.zeros((0, 0) if len(p) == 3 else 0) for p in el.properties}, pos
    # guess a fixed length from the first record, then verify every record
    fields = []
    probe = pos
    for p in el.properties:
        if len(p) == 3:
            cdt = np.dtype(endian + p[1])
            if probe + cdt.itemsize > len(data):
                raise FormatError(path, f"truncated PLY in element {el.name!r}")
            k = int(np.frombuffer(data, cdt, 1, probe)[0])
            fields.append((p[0] + "__n", endian + p[1]))
            fields.append((p[0], endian + p[2], (k,)))
            probe += cdt.itemsize + k * np.dtype(p[2]).itemsize
        else:
            fields.append((p[0], endian + p[1]))
            probe += np.dtype(p[1]).itemsize
    dtype = np.dtype(fields)
    need = dtype.itemsize * el.count
    if pos + need <= len(data):
        arr = np.frombuffer(data, dtype=dtype, count=el.count, offset=pos)
        ok = all(
            (arr[p[0] + "__n"] == dtype[p[0]].shape[0]).all() for p in el.properties if len(p) == 3
        )
        if ok:
            res = {}
            for p in el.properties:
                res[p[0]] = arr[p[0]].astype(p[2] if len(p) == 3 else p[1])
            return res, pos + need
    # general path: record by record
    cols: dict[str, list] = {p[0]: [] for p in el.properties}
    for _ in range(el.count):
        for p in el.properties:
            if len(p) == 3:
                cdt, idt = np.dtype(endian + p[1]), np.dtype(endian + p[2])
                if pos + cdt.itemsize > len(data):
                    raise FormatError(path, f"truncated PLY in element {el.name!r}")
                k = int(np.frombuffer(data, cdt, 1, pos)[0])
                pos += cdt.itemsize
                if k < 0 or pos + k * idt.itemsize > len(data):
                    raise FormatError(path, f"truncated PLY in element {el.name!r}")
                cols[p[0]].append(np.frombuffer(data, idt, k, pos).astype(p[2]))
                pos += k * idt.itemsize
            else:
                dt = np.dtype(endian + p[1])
                if pos + dt.itemsize > len(data):
                    raise FormatError(path, f"truncated PLY in element {el.name!r}")
                cols[p[0]].append(np.frombuffer(data, dt, 1, pos)[0])
                pos += dt.itemsize
    res = {}
    for p in el.properties:
        if len(p) == 3:
            res[p[0]] = _pack_lists(cols[p[0]])
        else:
            res[p[0]] = np.asarray(cols[p[0]], dtype=p[1])
    return res, pos


def _pack_lists(lists: list[np.ndarray]) -> np.ndarray:
    lengths = {len(x) for x in lists}
    if len(lengths) == 1:
        return np.stack(lists)
    packed = np.empty(len(lists), dtype=object)
    packed[:] = lists
    return packed


def _read_ply_ascii(path: Path, body: bytes, elements: list[_PlyElement]):
    lines = body.decode("ascii", errors="replace").splitlines()
    lines = [ln for ln in lines if ln.strip()]
    out: dict[str, dict[str, np.ndarray]] = {}
    row = 0
    for el in elements:
        if row + el.count > len(lines):
            raise FormatError(
                path,
                f"truncated PLY: element {el.name!r} needs {el.count} lines, "
                f"{len(lines) - row} left",
            )
        chunk = lines[row : row + el.count]
        row += el.count
        if not el.has_lists:
            n_props = len(el.properties)
            try:
                values = parse_floats(" ".join(chunk))
            except ValueError as err:
                raise FormatError(path, f"non-numeric value in PLY element {el.name!r}") from err
            if values.size != n_props * el.count:
                raise FormatError(
                    path,
                    f"PLY element {el.name!r}: expected {n_props} values per line, "
                    f"got {values.size} values on {el.count} lines",
                )
            values = values.reshape(el.count, n_props)
            out[el.name] = {p[0]: values[:, i].astype(p[1]) for i, p in enumerate(el.properties)}
        else:
            out[el.name] = _read_ply_ascii_lists(path, chunk, el)
    return out


def parse_floats(text: str) -> np.ndarray:
    """All whitespace-separated numbers of ``text`` as float64 ``[n]``; ValueError on a non-number."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns (and stops early) on unparsable data
        try:
            return np.fromstring(text, dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning) as err:
            raise ValueError("non-numeric value") from err


def _read_ply_ascii_lists(path: Path, chunk: list[str], el: _PlyElement):
    # fast path: one list property whose lists all have the first line's length
    if len(el.properties) == 1 and chunk:
        name, _, item = el.properties[0]
        try:
            values = parse_floats(" ".join(chunk))
            k = int(values[0])
            if k >= 0 and values.size == len(chunk) * (k + 1):
                values = values.reshape(len(chunk), k + 1)
                if (values[:, 0] == k).all():
                    return {name: values[:, 1:].astype(item)}
        except (ValueError, IndexError):
            pass  # the general path below reports the bad line
    cols: dict[str, list] = {p[0]: [] for p in el.properties}
    for line in chunk:
        words = line.split()
        i = 0
        try:
            for p in el.properties:
                if len(p) == 3:
                    k = int(words[i])
                    if k < 0 or i + 1 + k > len(words):
                        raise IndexError
                    cols[p[0]].append(np.array(words[i + 1 : i + 1 + k], dtype=np.float64))
                    i += 1 + k
                else:
                    cols[p[0]].append(float(words[i]))
                    i += 1
        except (IndexError, ValueError) as err:
            raise FormatError(path, f"bad line in PLY element {el.name!r}: {line[:60]!r}") from err
    res = {}
    for p in el.properties:
        if len(p) == 3:
            lists = [x.astype(p[2]) for x in cols[p[0]]]
            res[p[0]] = _pack_lists(lists) if lists else np.zeros((0, 0), dtype=p[2])
        else:
            res[p[0]] = np.asarray(cols[p[0]], dtype=p[1])
    return res


def _read_ply(path: Path) -> PointCloud:
    elements = read_ply_elements(path)
    vertex = elements.get("vertex")
    if vertex is None:
        raise FormatError(path, "PLY has no 'vertex' element")
    missing = [c for c in "xyz" if c not in vertex]
    if missing:
        raise FormatError(path, f"PLY vertex element lacks properties {missing}")
    points = np.stack([vertex[c].astype(np.float64) for c in "xyz"], axis=1)
    colors = None
    for names in (
        ("red", "green", "blue"),
        ("r", "g", "b"),
        ("diffuse_red", "diffuse_green", "diffuse_blue"),
    ):
        if all(n in vertex for n in names):
            cols = np.stack([vertex[n] for n in names], axis=1)
            if cols.dtype.kind == "f" and cols.size and cols.max() <= 1.0:
                cols = cols * 255.0
            colors = np.clip(np.round(cols), 0, 255).astype(np.uint8)
            break
    normals = None
    if all(n in vertex for n in ("nx", "ny", "nz")):
        normals = np.stack([vertex[n] for n in ("nx", "ny", "nz")], axis=1).astype(np.float32)
    return PointCloud(points, colors, normals)


# ------------------------------------------------------------------------------------------ PCD
def lzf_decompress(data: bytes, expected_size: int) -> bytes:
    """Decompress an LZF stream (the format of PCD ``binary_compressed``), in pure Python.

    LZF (Lehmann) is a sequence of tokens. A control byte ``c < 32`` is followed by ``c + 1``
    literal bytes. Otherwise ``length = c >> 5`` (7 means "add the next byte"), and the
    back-reference ``offset = ((c & 31) << 8) + next byte + 1`` copies ``length + 2`` bytes
    from ``offset`` bytes behind the write position (the copy may overlap itself).

    Raises:
        ValueError: the stream is corrupt or does not decode to exactly ``expected_size`` bytes.
    """
    out = bytearray(expected_size)
    ip, op, n_in = 0, 0, len(data)
    while ip < n_in:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:
            run = ctrl + 1
            if ip + run > n_in or op + run > expected_size:
                raise ValueError("LZF literal run overruns the buffer")
            out[op : op + run] = data[ip : ip + run]
            ip += run
            op += run
        else:
            length = ctrl >> 5
            if length == 7:
                if ip >= n_in:
                    raise ValueError("LZF stream truncated in a length byte")
                length += data[ip]
                ip += 1
            if ip >= n_in:
                raise ValueError("LZF stream truncated in an offset byte")
            ref = op - ((ctrl & 0x1F) << 8) - data[ip] - 1
            ip += 1
            length += 2
            if ref < 0 or op + length > expected_size:
                raise ValueError("LZF back-reference outside the buffer")
            if ref + length <= op:
                out[op : op + length] = out[ref : ref + length]
            else:  # overlapping copy: the pattern of period (op - ref) repeats
                period = op - ref
                pattern = bytes(out[ref:op])
                reps = -(-length // period)
                out[op : op + length] = (pattern * reps)[:length]
            op += length
    if op != expected_size:
        raise ValueError(f"LZF stream decoded to {op} bytes, expected {expected_size}")
    return bytes(out)


_PCD_TYPES = {("F", 4): "f4", ("F", 8): "f8", ("I", 1): "i1", ("I", 2): "i2", ("I", 4): "i4",
              ("I", 8): "i8", ("U", 1): "u1", ("U", 2): "u2", ("U", 4): "u4", ("U", 8): "u8"}  # fmt: skip


def _read_pcd(path: Path) -> PointCloud:
    data = path.read_bytes()
    header: dict[str, list[str]] = {}
    pos = 0
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise FormatError(path, "truncated PCD header (no DATA line)")
        line = data[pos:nl].decode("ascii", errors="replace").strip()
        pos = nl + 1
        if not line or line.startswith("#"):
            continue
        words = line.split()
        header[words[0].upper()] = words[1:]
        if words[0].upper() == "DATA":
            break
        if len(header) > 64:
            raise FormatError(path, "not a PCD file (no DATA line in the header)")
    try:
        names = header["FIELDS"]
        sizes = [int(s) for s in header["SIZE"]]
        types = header["TYPE"]
        counts = [int(c) for c in header.get("COUNT", ["1"] * len(names))]
        if "POINTS" in header:
            n = int(header["POINTS"][0])
        else:
            n = int(header["WIDTH"][0]) * int(header.get("HEIGHT", ["1"])[0])
        mode = header["DATA"][0].lower()
    except (KeyError, ValueError, IndexError) as err:
        raise FormatError(path, f"bad PCD header: {err}") from err
    if not (len(names) == len(sizes) == len(types) == len(counts)):
        raise FormatError(path, "PCD header: FIELDS, SIZE, TYPE and COUNT differ in length")
    try:
        dts = [np.dtype("<" + _PCD_TYPES[(t.upper(), s)]) for t, s in zip(types, sizes)]
    except KeyError as err:
        raise FormatError(path, f"unsupported PCD TYPE/SIZE {err}") from err
    fields = [
        (nm if nm != "_" else f"_pad{i}", dt, c)
        for i, (nm, dt, c) in enumerate(zip(names, dts, counts))
    ]
    columns: dict[str, np.ndarray] = {}
    if mode == "ascii":
        try:
            flat = parse_floats(data[pos:].decode("ascii", errors="replace"))
        except ValueError as err:
            raise FormatError(path, "non-numeric value in ascii PCD data") from err
        per_point = sum(counts)
        if flat.size < per_point * n:
            raise FormatError(
                path, f"truncated PCD: {flat.size} values for {n} points x {per_point}"
            )
        values = flat[: per_point * n].reshape(n, per_point)
        col = 0
        for nm, dt, c in fields:
            v = values[:, col : col + c]
            if nm in ("rgb", "rgba"):
                # packed colours are written as the decimal of the uint32 or of its float view
                if dt.kind == "f":
                    v = v.astype(np.float32).view(np.uint32)
                else:
                    v = v.astype(np.uint32)
            else:
                v = v.astype(dt)
            columns[nm] = v
            col += c
    elif mode == "binary":
        rec = np.dtype([(nm, dt, (c,)) for nm, dt, c in fields])
        if pos + rec.itemsize * n > len(data):
            raise FormatError(
                path,
                f"truncated PCD: {n} points need {rec.itemsize * n} bytes, {len(data) - pos} left",
            )
        arr = np.frombuffer(data, rec, n, pos)
        columns = {nm: arr[nm] for nm, _, _ in fields}
    elif mode == "binary_compressed":
        if pos + 8 > len(data):
            raise FormatError(path, "truncated PCD: no compressed-size words")
        comp_size, raw_size = np.frombuffer(data, "<u4", 2, pos).tolist()
        if pos + 8 + comp_size > len(data):
            raise FormatError(path, f"truncated PCD: {comp_size} compressed bytes announced")
        expected = sum(dt.itemsize * c for _, dt, c in fields) * n
        if raw_size != expected:
            raise FormatError(path, f"PCD: uncompressed size {raw_size} != {expected} expected")
        try:
            raw = lzf_decompress(data[pos + 8 : pos + 8 + comp_size], raw_size)
        except ValueError as err:
            raise FormatError(path, f"corrupt LZF data: {err}") from err
        off = 0  # column-major: every field's values for all points, one field after another
        for nm, dt, c in fields:
            columns[nm] = np.frombuffer(raw, dt, n * c, off).reshape(n, c)
            off += dt.itemsize * n * c
    else:
        raise FormatError(path, f"unknown PCD DATA mode {mode!r}")
    if not all(k in columns for k in "xyz"):
        raise FormatError(path, f"PCD has no x y z fields (fields: {names})")
    points = np.concatenate([columns[k][:, :1] for k in "xyz"], axis=1).astype(np.float64)
    colors = None
    for key in ("rgb", "rgba"):
        if key in columns:
            packed = np.ascontiguousarray(columns[key][:, 0])
            packed = (
                packed.view(np.uint32) if packed.dtype.itemsize == 4 else packed.astype(np.uint32)
            )
            colors = np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], axis=1)
            break
    normals = None
    if all(k in columns for k in ("normal_x", "normal_y", "normal_z")):
        normals = np.concatenate(
            [columns[k][:, :1] for k in ("normal_x", "normal_y", "normal_z")], axis=1
        )
    return PointCloud(points, colors, normals, {"pcd_data": mode})


# ------------------------------------------------------------------------------------ BIN / XYZ
def _median_step(raw: np.ndarray, k: int) -> float:
    """Median distance between consecutive points when ``raw`` is read as ``k``-value records."""
    n = min(raw.size // k, 20000)
    xyz = raw[: n * k].reshape(n, k)[:, :3].astype(np.float64)
    d = np.linalg.norm(np.diff(xyz, axis=0), axis=1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else np.inf


def _infer_bin_fields(path: Path, raw: np.ndarray, name: str) -> tuple[int, str]:
    """How many float32 values per record a LiDAR ``.bin`` has (4: KITTI, 5: nuScenes).

    LiDAR returns are stored in scan order, so under the right stride consecutive points lie
    centimetres to metres apart, while a wrong stride mixes intensity/ring values into x, y, z
    and jumps around. The stride with the smaller median step wins; it must also divide the
    value count, otherwise the file is reported as truncated. (When both 4 and 5 divide the
    count, e.g. any multiple of 20 values, this is the only way to tell.)
    """
    steps = {k: _median_step(raw, k) for k in (4, 5) if raw.size >= 2 * k}
    if not steps:
        raise FormatError(path, f"only {raw.size} float32 values: too short for a LiDAR sweep")
    best = min(steps, key=steps.get)
    how = ", ".join(f"{k}: {v:.3g}" for k, v in steps.items())
    if raw.size % best:
        raise FormatError(
            path,
            f"looks like {best} float32 fields per point (median step between consecutive "
            f"points {how}) but {raw.size} values is not a multiple of {best}: truncated file? "
            "(pass bin_fields / --bin-fields to force a layout)",
        )
    divides = [k for k in (4, 5) if raw.size % k == 0]
    why = "4 and 5 both divide the file size" if len(divides) == 2 else f"{best} divides the size"
    return best, (
        f"{best} float32 fields per point ({why}; median step between consecutive points {how})"
    )


def _read_bin(path: Path, bin_fields: int | None, name: str) -> PointCloud:
    data = path.read_bytes()
    if len(data) % 4:
        raise FormatError(path, f"truncated .bin: {len(data)} bytes is not a multiple of 4")
    raw = np.frombuffer(data, "<f4")
    if raw.size == 0:
        raise FormatError(path, "the file holds zero (valid) points")
    if bin_fields is None:
        k, how = _infer_bin_fields(path, raw, name)
    else:
        k, how = int(bin_fields), f"{bin_fields} float32 fields per point (given)"
        if k < 3 or raw.size % k:
            raise FormatError(path, f"{raw.size} float32 values do not split into records of {k}")
    records = raw.reshape(-1, k)
    return PointCloud(records[:, :3].astype(np.float64), notes={"bin_fields": k, "bin_layout": how})


def _read_xyz(path: Path) -> PointCloud:
    text = path.read_text(encoding="utf-8", errors="replace")
    rows = [ln.replace(",", " ").split() for ln in text.splitlines()]
    rows = [r for r in rows if r and not r[0].startswith(("#", "//"))]
    if not rows:
        raise FormatError(path, "the file holds zero (valid) points")
    width = len(rows[0])
    if width < 3:
        raise FormatError(path, f"XYZ line has {width} columns, need at least x y z")
    bad = next((i for i, r in enumerate(rows) if len(r) != width), None)
    if bad is not None:
        raise FormatError(
            path, f"XYZ data line {bad + 1} has {len(rows[bad])} columns, not {width}"
        )
    try:
        values = np.array(rows, dtype=np.float64)
    except ValueError as err:
        raise FormatError(path, "non-numeric value in XYZ text") from err
    colors = None
    if width >= 6:
        rgb = values[:, 3:6]
        finite = np.isfinite(rgb).all()
        if finite and (rgb == np.round(rgb)).all() and rgb.min() >= 0 and rgb.max() <= 255:
            colors = rgb.astype(np.uint8)
    return PointCloud(values[:, :3], colors)


# ------------------------------------------------------------------------------------------ LAS
_LAS_RGB_OFFSET = {2: 20, 3: 28, 5: 28, 7: 30, 8: 30, 10: 30}  # byte offset of R, G, B (uint16)


def _read_las(path: Path) -> PointCloud:
    """Uncompressed ASPRS LAS 1.0-1.4: integer X, Y, Z records scaled by the header's
    ``scale`` and ``offset``; RGB (16-bit, reduced to 8) for point formats that carry it."""
    data = path.read_bytes()
    if len(data) < 227 or data[:4] != b"LASF":
        raise FormatError(path, "not a LAS file (no 'LASF' signature or header too short)")
    version = (data[24], data[25])
    point_offset = int(np.frombuffer(data, "<u4", 1, 96)[0])
    point_format = data[104] & 0x3F  # bits 6-7 flag LAZ compression
    if data[104] & 0xC0:
        raise FormatError(path, "LAS point data is LAZ-compressed; not supported")
    record_len = int(np.frombuffer(data, "<u2", 1, 105)[0])
    n = int(np.frombuffer(data, "<u4", 1, 107)[0])
    if version >= (1, 4) and n == 0 and len(data) >= 255:
        n = int(np.frombuffer(data, "<u8", 1, 247)[0])
    scale = np.frombuffer(data, "<f8", 3, 131)
    offset = np.frombuffer(data, "<f8", 3, 155)
    if record_len < 12:
        raise FormatError(path, f"LAS point record length {record_len} < 12")
    if point_offset + n * record_len > len(data):
        raise FormatError(
            path, f"truncated LAS: {n} points of {record_len} B need {n * record_len} B"
        )
    raw = np.frombuffer(data, np.uint8, n * record_len, point_offset).reshape(n, record_len)
    xyz = np.ascontiguousarray(raw[:, :12]).view("<i4").reshape(n, 3)
    points = xyz * scale + offset
    colors = None
    rgb_at = _LAS_RGB_OFFSET.get(point_format)
    if rgb_at is not None and record_len >= rgb_at + 6:
        rgb = np.ascontiguousarray(raw[:, rgb_at : rgb_at + 6]).view("<u2").reshape(n, 3)
        # LAS stores 16-bit colour; files written from 8-bit data keep values <= 255
        colors = (rgb >> 8 if rgb.max() > 255 else rgb).astype(np.uint8)
    return PointCloud(points, colors, notes={"las_version": f"{version[0]}.{version[1]}",
                                             "las_point_format": int(point_format)})  # fmt: skip


# ---------------------------------------------------------------------------------------- writing
_WRITE_DTYPES = {"float32": "f4", "float64": "f8", "int32": "i4"}
_PLY_NAMES = {"f4": "float", "f8": "double", "i4": "int", "u1": "uchar"}


def write_point_cloud(
    path: str | os.PathLike,
    pc: PointCloud,
    *,
    ascii: bool = False,
    dtype: str = "float32",
) -> None:
    """Write ``pc`` atomically; the format follows the extension (``.ply .pcd .xyz .txt .bin``).

    Args:
        ascii: text PLY / PCD instead of binary little endian.
        dtype: coordinate type, ``float32``, ``float64`` or ``int32`` (voxelised clouds; values
            are rounded). ``.bin`` is always KITTI's float32 ``x y z 0`` and ``.xyz`` is text.
    """
    path = Path(path)
    if dtype not in _WRITE_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_WRITE_DTYPES)}, got {dtype!r}")
    suffix = path.suffix.lower()
    if suffix == ".ply":
        payload = _ply_bytes(pc, ascii, _WRITE_DTYPES[dtype])
    elif suffix == ".pcd":
        payload = _pcd_bytes(pc, ascii, _WRITE_DTYPES[dtype])
    elif suffix in (".xyz", ".txt", ".pts"):
        cols = [_coord_text(pc.points, dtype)]
        if pc.colors is not None:
            cols.append(pc.colors.astype(np.int64))
        payload = _text_table(cols).encode()
    elif suffix == ".bin":
        rec = np.zeros((len(pc), 4), dtype="<f4")
        rec[:, :3] = pc.points
        payload = rec.tobytes()
    else:
        raise FormatError(path, f"cannot write extension {suffix!r} (use .ply .pcd .xyz .bin)")
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)


def _coords_as(points: np.ndarray, code: str) -> np.ndarray:
    if code == "i4":
        return np.round(points).astype("<i4")
    return points.astype("<" + code)


def _coord_text(points: np.ndarray, dtype: str) -> np.ndarray:
    return np.round(points).astype(np.int64) if dtype == "int32" else points


def _text_table(cols: list[np.ndarray]) -> str:
    parts = []
    for c in cols:
        if c.dtype.kind == "f":  # enough digits to read back the exact binary value
            parts.append(np.char.mod("%.9g" if c.dtype.itemsize == 4 else "%.17g", c))
        else:
            parts.append(c.astype(str))
    table = np.concatenate(parts, axis=1)
    return "\n".join(" ".join(row) for row in table) + "\n"


def _ply_bytes(pc: PointCloud, ascii: bool, code: str) -> bytes:
    n = len(pc)
    props = [(c, code) for c in "xyz"]
    if pc.normals is not None:
        props += [(c, "f4") for c in ("nx", "ny", "nz")]
    if pc.colors is not None:
        props += [(c, "u1") for c in ("red", "green", "blue")]
    head = ["ply", "format " + ("ascii" if ascii else "binary_little_endian") + " 1.0"]
    head += ["comment written by pcc", f"element vertex {n}"]
    head += [f"property {_PLY_NAMES[t]} {name}" for name, t in props]
    head.append("end_header")
    header = ("\n".join(head) + "\n").encode("ascii")
    if ascii:
        cols = [_coords_as(pc.points, code)]
        if pc.normals is not None:
            cols.append(pc.normals)
        if pc.colors is not None:
            cols.append(pc.colors)
        return header + (_text_table(cols) if n else "").encode()
    rec = np.empty(n, dtype=[(name, "<" + t) for name, t in props])
    coords = _coords_as(pc.points, code)
    for i, c in enumerate("xyz"):
        rec[c] = coords[:, i]
    if pc.normals is not None:
        for i, c in enumerate(("nx", "ny", "nz")):
            rec[c] = pc.normals[:, i]
    if pc.colors is not None:
        for i, c in enumerate(("red", "green", "blue")):
            rec[c] = pc.colors[:, i]
    return header + rec.tobytes()


def _pcd_bytes(pc: PointCloud, ascii: bool, code: str) -> bytes:
    n = len(pc)
    names = ["x", "y", "z"]
    types = [code] * 3
    if pc.colors is not None:
        names.append("rgb")
        types.append("u4")
    if pc.normals is not None:
        names += ["normal_x", "normal_y", "normal_z"]
        types += ["f4"] * 3
    head = [
        "# .PCD v0.7 - Point Cloud Data file format (written by pcc)",
        "VERSION 0.7",
        "FIELDS " + " ".join(names),
        "SIZE " + " ".join(str(np.dtype(t).itemsize) for t in types),
        "TYPE " + " ".join({"f": "F", "i": "I", "u": "U"}[np.dtype(t).kind] for t in types),
        "COUNT " + " ".join("1" for _ in names),
        f"WIDTH {n}",
        "HEIGHT 1",
        "VIEWPOINT 0 0 0 1 0 0 0",
        f"POINTS {n}",
        "DATA " + ("ascii" if ascii else "binary"),
    ]
    header = ("\n".join(head) + "\n").encode("ascii")
    coords = _coords_as(pc.points, code)
    packed = None
    if pc.colors is not None:
        c = pc.colors.astype(np.uint32)
        packed = (c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]
    if ascii:
        cols = [coords]
        if packed is not None:
            cols.append(packed[:, None].astype(np.int64))
        if pc.normals is not None:
            cols.append(pc.normals)
        return header + (_text_table(cols) if n else "").encode()
    rec = np.empty(n, dtype=[(nm, "<" + t) for nm, t in zip(names, types)])
    for i, c in enumerate("xyz"):
        rec[c] = coords[:, i]
    if packed is not None:
        rec["rgb"] = packed
    if pc.normals is not None:
        for i, c in enumerate(("normal_x", "normal_y", "normal_z")):
            rec[c] = pc.normals[:, i]
    return header + rec.tobytes()
