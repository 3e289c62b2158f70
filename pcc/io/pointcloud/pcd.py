"""PCD files (PCL's Point Cloud Data): ascii, binary and LZF-compressed ``binary_compressed``.

Written from the PCL "PCD file format" page. Packed ``rgb``/``rgba`` fields become uint8 colours,
``normal_x normal_y normal_z`` normals; NaN is PCL's "no measurement" marker of organised clouds
(the dispatcher drops such points for PCD by default).
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.numeric import cast_exact, quiet_nans
from pcc.io.pointcloud.cloud import PointCloud
from pcc.io.text import format_table, parse_floats

__all__ = ["lzf_decompress", "read_pcd", "pcd_bytes"]

# LZF writes at most 264 bytes per 3-byte back-reference token: a larger declared size is forged
_LZF_MAX_RATIO = 88
_MAX_COUNT = 1 << 16  # values per field (PCL's largest descriptors have a few hundred)


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


def read_pcd(path: Path) -> PointCloud:
    """Read a PCD file (ascii / binary / binary_compressed)."""
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
    named = [nm for nm in names if nm != "_"]  # "_" marks padding and may repeat
    twice = sorted({nm for nm in named if named.count(nm) > 1})
    if twice:
        raise FormatError(path, f"PCD FIELDS names {', '.join(twice)} more than once")
    bad = [c for c in counts if not 1 <= c <= _MAX_COUNT]
    if bad:
        raise FormatError(path, f"PCD COUNT {bad[0]} outside 1..{_MAX_COUNT}")
    if n < 0:
        raise FormatError(path, f"PCD declares {n} points")
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
            try:
                if nm in ("rgb", "rgba"):
                    # packed colours are written as the decimal of the uint32 or of its float view
                    if dt.kind == "f":
                        v = cast_exact(v, np.float32).view(np.uint32)
                    else:
                        v = cast_exact(v, np.uint32)
                else:
                    v = cast_exact(v, dt)
            except ValueError as err:
                raise FormatError(path, f"PCD field {nm!r}: {err}") from None
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
        if raw_size > _LZF_MAX_RATIO * comp_size + 64:
            raise FormatError(
                path, f"PCD: {comp_size} LZF bytes cannot decode to {raw_size} bytes (forged size)"
            )
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
    xyz = np.concatenate([columns[k][:, :1] for k in "xyz"], axis=1)  # [N, 3]
    points = quiet_nans(xyz).astype(np.float64)
    colors = None
    for key in ("rgb", "rgba"):
        if key in columns:
            packed = np.ascontiguousarray(columns[key][:, 0])
            if packed.dtype.itemsize == 4:
                packed = packed.view(np.uint32)
            elif packed.dtype.kind in "iu":
                packed = packed.astype(np.uint32)  # the low 32 bits
            else:
                raise FormatError(
                    path, f"PCD {key} field is {packed.dtype}; PCL packs colours into 4 bytes"
                )
            colors = np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], axis=1)
            break
    normals = None
    if all(k in columns for k in ("normal_x", "normal_y", "normal_z")):
        normals = quiet_nans(
            np.concatenate([columns[k][:, :1] for k in ("normal_x", "normal_y", "normal_z")], 1)
        )
    return PointCloud(points, colors, normals, {"pcd_data": mode})


def pcd_bytes(pc: PointCloud, coords: np.ndarray, ascii: bool) -> bytes:
    """A PCD file of ``pc`` with positions ``coords [N, 3]`` already in the type to write."""
    code = coords.dtype.str[1:]
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
        return header + (format_table(cols) if n else "").encode()
    rec = np.empty(n, dtype=[(nm, "<" + t) for nm, t in zip(names, types)])
    for i, c in enumerate("xyz"):
        rec[c] = coords[:, i]
    if packed is not None:
        rec["rgb"] = packed
    if pc.normals is not None:
        for i, c in enumerate(("normal_x", "normal_y", "normal_z")):
            rec[c] = pc.normals[:, i]
    return header + rec.tobytes()
