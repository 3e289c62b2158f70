"""The one PLY module: round trips in every encoding, agreement with plyfile, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from plyfile import PlyData, PlyElement

from pcc.errors import FormatError
from pcc.io.ply import parse_ply_header, ply_bytes, read_ply, write_ply

FORMATS = ["ascii", "binary_little_endian", "binary_big_endian"]


def _mesh(rng, n=40, f=30, ragged=False):
    vertex = {
        "x": rng.normal(size=n).astype(np.float32),
        "y": rng.normal(size=n).astype(np.float64),
        "z": rng.integers(-5, 5, n).astype(np.int32),
        "red": rng.integers(0, 256, n).astype(np.uint8),
        "q": rng.integers(0, 60000, n).astype(np.uint16),
    }
    if ragged:
        faces = np.empty(f, dtype=object)
        faces[:] = [rng.integers(0, n, 3 + i % 3).astype(np.int32) for i in range(f)]
    else:
        faces = rng.integers(0, n, (f, 3)).astype(np.int32)
    return {"vertex": vertex, "face": {"vertex_indices": faces, "flag": np.arange(f, dtype="u1")}}


def _assert_same(a, b):
    assert list(a) == list(b)
    for el in a:
        assert list(a[el]) == list(b[el]), el
        for prop in a[el]:
            x, y = np.asarray(a[el][prop]), np.asarray(b[el][prop])
            if x.dtype == object or y.dtype == object:
                assert len(x) == len(y) and all(np.array_equal(u, v) for u, v in zip(x, y))
            else:
                assert x.dtype == y.dtype and np.array_equal(x, y), (el, prop)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("ragged", [False, True])
def test_round_trip_every_encoding_with_lists(tmp_path, fmt, ragged):
    data = _mesh(np.random.default_rng(1), ragged=ragged)
    path = tmp_path / "m.ply"
    write_ply(path, data, format=fmt, comments=["made by a test"])
    back = read_ply(path)
    _assert_same(data, back)
    header = parse_ply_header(path, path.read_bytes())
    assert header.format == fmt and header.comments == ["made by a test"]
    assert [p.is_list for p in header.elements[1].properties] == [True, False]


@pytest.mark.parametrize("fmt", FORMATS)
def test_plyfile_reads_what_we_write_and_we_read_what_plyfile_writes(tmp_path, fmt):
    data = _mesh(np.random.default_rng(2), ragged=True)
    ours = tmp_path / "ours.ply"
    write_ply(ours, data, format=fmt)
    theirs = PlyData.read(str(ours))
    for prop in ("x", "y", "z", "red", "q"):
        np.testing.assert_array_equal(theirs["vertex"][prop], data["vertex"][prop])
    for got, want in zip(theirs["face"]["vertex_indices"], data["face"]["vertex_indices"]):
        np.testing.assert_array_equal(got, want)
    # and the other way round: a file plyfile wrote
    vertex = np.array(
        [(1.5, -2.0, 7), (0.25, 3.0, -1)], dtype=[("x", "f4"), ("y", "f8"), ("label", "i2")]
    )
    face = np.empty(2, dtype=[("vertex_indices", "O")])
    face["vertex_indices"] = [np.array([0, 1, 0], "i4"), np.array([1, 0, 1, 0], "i4")]
    other = tmp_path / "theirs.ply"
    PlyData(
        [PlyElement.describe(vertex, "vertex"), PlyElement.describe(face, "face")],
        text=fmt == "ascii",
        byte_order=">" if fmt == "binary_big_endian" else "<",
    ).write(str(other))
    back = read_ply(other)
    np.testing.assert_array_equal(back["vertex"]["y"], [-2.0, 3.0])
    assert back["vertex"]["label"].dtype == np.int16
    assert [len(f) for f in back["face"]["vertex_indices"]] == [3, 4]


def test_only_named_elements_are_returned(tmp_path):
    path = tmp_path / "m.ply"
    write_ply(path, _mesh(np.random.default_rng(3)))
    assert list(read_ply(path, elements=["vertex"])) == ["vertex"]
    assert list(read_ply(path, elements=["face"])) == ["face"]


def test_ascii_floats_read_back_exactly(tmp_path):
    values = np.random.default_rng(4).normal(size=200) * 10.0 ** np.linspace(-30, 30, 200)
    path = tmp_path / "f.ply"
    write_ply(path, {"v": {"d": values, "f": values.astype(np.float32)}}, format="ascii")
    back = read_ply(path)["v"]
    np.testing.assert_array_equal(back["d"], values)
    np.testing.assert_array_equal(back["f"], values.astype(np.float32))


def _good(fmt="binary_little_endian"):
    return ply_bytes({"vertex": {"x": np.arange(4, dtype="f4"), "y": np.ones(4, "f4")}}, format=fmt)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: b"plx" + d[3:], "not a PLY"),
        (lambda d: d.replace(b"end_header", b"end_headex"), "end_header"),
        (lambda d: d.replace(b"float x", b"float128 x"), "unknown type 'float128'"),
        (lambda d: d.replace(b"vertex 4", b"vertex four"), "malformed"),
        (lambda d: d.replace(b"vertex 4", b"vertex -4"), "malformed"),
        (lambda d: d.replace(b"float y", b"float x"), "duplicate vertex properties x"),
        (
            lambda d: d.replace(b"binary_little_endian", b"binary_middle_endian"),
            "unknown PLY format",
        ),
        (lambda d: d.replace(b"format binary_little_endian 1.0\n", b""), "no 'format' line"),
        (lambda d: d.replace(b"element vertex 4\n", b"element vertex 4\nwibble\n"), "unexpected"),
        (lambda d: d.replace(b"element vertex 4\n", b""), "property before any element"),
        (lambda d: d[:-3], "truncated"),
    ],
)
def test_bad_files_raise_one_format_error_naming_the_file(tmp_path, mutate, message):
    path = tmp_path / "bad.ply"
    path.write_bytes(mutate(_good()))
    with pytest.raises(FormatError, match=message) as err:
        read_ply(path)
    assert str(path) in str(err.value)


def test_forged_counts_are_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.ply"
    path.write_bytes(_good().replace(b"vertex 4", b"vertex 4000000000000"))
    with pytest.raises(FormatError, match="needs at least 32000000000000 bytes"):
        read_ply(path)
    mesh = ply_bytes({"face": {"vertex_indices": np.zeros((2, 3), "i4")}})
    path.write_bytes(mesh.replace(b"face 2", b"face 99999999999"))
    with pytest.raises(FormatError, match="truncated"):
        read_ply(path)
    text = _good("ascii").replace(b"vertex 4", b"vertex 4000000000000")
    path.write_bytes(text)
    with pytest.raises(FormatError, match="truncated PLY"):
        read_ply(path)


def test_ascii_errors(tmp_path):
    path = tmp_path / "a.ply"
    path.write_bytes(_good("ascii").replace(b"\n1 1\n", b"\n1 one\n"))
    with pytest.raises(FormatError, match="non-numeric"):
        read_ply(path)
    path.write_bytes(_good("ascii").replace(b"\n1 1\n", b"\n1\n"))
    with pytest.raises(FormatError, match="expected 2 values per line"):
        read_ply(path)
    with pytest.raises(FormatError, match="cannot read"):
        read_ply(tmp_path / "missing.ply")


def test_writer_rejects_what_ply_cannot_hold():
    with pytest.raises(ValueError, match="different lengths"):
        ply_bytes({"v": {"a": np.zeros(2, "f4"), "b": np.zeros(3, "f4")}})
    with pytest.raises(ValueError, match="no PLY type"):
        ply_bytes({"v": {"a": np.zeros(2, "i8")}})
    with pytest.raises(ValueError, match="format"):
        ply_bytes({}, format="binary")
