"""Point-cloud and mesh readers/writers: PLY, PCD (incl. LZF), BIN, XYZ, OFF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pcc.errors import FormatError
from pcc.io.mesh import fan_triangulate, read_mesh, read_off
from pcc.io.ply import read_ply_elements
from pcc.io.pointcloud import (
    POINT_CLOUD_EXTENSIONS,
    PointCloud,
    lzf_decompress,
    read_point_cloud,
    write_point_cloud,
)


def _cloud(n=50, colors=True, normals=True, seed=0) -> PointCloud:
    rng = np.random.default_rng(seed)
    return PointCloud(
        rng.uniform(-5, 5, (n, 3)),
        rng.integers(0, 256, (n, 3)).astype(np.uint8) if colors else None,
        rng.normal(size=(n, 3)).astype(np.float32) if normals else None,
    )


# ------------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("ext", [".ply", ".pcd"])
@pytest.mark.parametrize("ascii", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_ply_pcd_round_trip(tmp_path, ext, ascii, dtype):
    pc = _cloud()
    path = tmp_path / f"c{ext}"
    write_point_cloud(path, pc, ascii=ascii, dtype=dtype)
    back = read_point_cloud(path)
    expected = {
        "float32": pc.points.astype(np.float32),
        "float64": pc.points,
        "int32": np.round(pc.points),
    }[dtype]
    np.testing.assert_array_equal(back.points, expected)
    np.testing.assert_array_equal(back.colors, pc.colors)
    np.testing.assert_array_equal(back.normals, pc.normals)
    assert not list(tmp_path.glob(".*.tmp")), "atomic write left a temporary file"


def test_xyz_and_bin_round_trip(tmp_path):
    pc = _cloud(colors=True, normals=False)
    write_point_cloud(tmp_path / "c.xyz", pc)
    back = read_point_cloud(tmp_path / "c.xyz")
    np.testing.assert_array_equal(back.points, pc.points)
    np.testing.assert_array_equal(back.colors, pc.colors)
    write_point_cloud(tmp_path / "c.bin", pc)
    back = read_point_cloud(tmp_path / "c.bin", bin_fields=4)
    np.testing.assert_allclose(back.points, pc.points.astype(np.float32))


def test_big_endian_ply_with_int_coords_and_faces(tmp_path):
    header = (
        b"ply\nformat binary_big_endian 1.0\nelement vertex 3\nproperty int x\nproperty int y\n"
        b"property int z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n"
        b"element face 1\nproperty list uchar int vertex_indices\nend_header\n"
    )
    v = np.array(
        [(1, 2, 3, 10, 20, 30), (4, 5, 6, 40, 50, 60), (7, 8, 9, 70, 80, 90)],
        dtype=[(n, ">i4") for n in "xyz"] + [(n, "u1") for n in ("red", "green", "blue")],
    )
    face = np.array([(3, (0, 1, 2))], dtype=[("n", "u1"), ("idx", ">i4", (3,))])
    path = tmp_path / "be.ply"
    path.write_bytes(header + v.tobytes() + face.tobytes())
    pc = read_point_cloud(path)
    np.testing.assert_array_equal(pc.points, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    np.testing.assert_array_equal(pc.colors[:, 2], [30, 60, 90])
    verts, faces = read_mesh(path)
    np.testing.assert_array_equal(faces, [[0, 1, 2]])


def test_binary_ply_with_mixed_polygons(tmp_path):
    header = (
        b"ply\nformat binary_little_endian 1.0\nelement vertex 5\nproperty float x\n"
        b"property float y\nproperty float z\nelement face 2\n"
        b"property list uchar int vertex_indices\nend_header\n"
    )
    verts = np.arange(15, dtype="<f4").tobytes()
    faces = bytes([4]) + np.array([0, 1, 2, 3], "<i4").tobytes()
    faces += bytes([3]) + np.array([1, 2, 4], "<i4").tobytes()
    path = tmp_path / "quad.ply"
    path.write_bytes(header + verts + faces)
    _, f = read_mesh(path)
    np.testing.assert_array_equal(f, [[0, 1, 2], [0, 2, 3], [1, 2, 4]])


# ------------------------------------------------------------------------------------ bad input
def test_truncated_binary_ply(tmp_path):
    pc = _cloud(20)
    write_point_cloud(tmp_path / "c.ply", pc)
    data = (tmp_path / "c.ply").read_bytes()
    (tmp_path / "t.ply").write_bytes(data[:-7])
    with pytest.raises(FormatError, match="truncated"):
        read_point_cloud(tmp_path / "t.ply")


def test_truncated_ascii_ply(tmp_path):
    write_point_cloud(tmp_path / "c.ply", _cloud(20), ascii=True)
    lines = (tmp_path / "c.ply").read_text().splitlines()
    (tmp_path / "t.ply").write_text("\n".join(lines[:-3]) + "\n")
    with pytest.raises(FormatError, match="truncated"):
        read_point_cloud(tmp_path / "t.ply")


def test_nan_coordinates_are_counted(tmp_path):
    pc = _cloud(30, colors=False, normals=False)
    pc.points[[3, 7, 11]] = np.nan
    write_point_cloud(tmp_path / "n.ply", pc)
    with pytest.raises(FormatError, match="3 of 30 points have NaN"):
        read_point_cloud(tmp_path / "n.ply")
    kept = read_point_cloud(tmp_path / "n.ply", drop_nan=True)
    assert len(kept) == 27 and kept.notes["dropped_nan"] == 3


def test_zero_points_and_unknown_extension(tmp_path):
    write_point_cloud(tmp_path / "e.ply", PointCloud(np.zeros((0, 3))))
    with pytest.raises(FormatError, match="zero"):
        read_point_cloud(tmp_path / "e.ply")
    (tmp_path / "x.foo").write_text("1 2 3\n")
    with pytest.raises(FormatError, match="unknown point-cloud extension"):
        read_point_cloud(tmp_path / "x.foo")
    (tmp_path / "odd.bin").write_bytes(b"\0" * 10)
    with pytest.raises(FormatError, match="multiple of 4"):
        read_point_cloud(tmp_path / "odd.bin")
    (tmp_path / "not.ply").write_bytes(b"hello")
    with pytest.raises(FormatError, match="not a PLY"):
        read_point_cloud(tmp_path / "not.ply")


# ---------------------------------------------------------------------------------------- LZF
def _lzf_literals(raw: bytes) -> bytes:
    """A valid LZF stream made of literal runs only (a trivial compressor for tests)."""
    out = bytearray()
    for i in range(0, len(raw), 32):
        chunk = raw[i : i + 32]
        out.append(len(chunk) - 1)
        out += chunk
    return bytes(out)


def test_lzf_back_references():
    # "abc" literal, then a back-reference of length 7 at offset 3 (overlapping): abcabcabca
    stream = bytes([2]) + b"abc" + bytes([(5 << 5) | 0, 2])
    assert lzf_decompress(stream, 10) == b"abcabcabca"
    # long match: ctrl length 7 plus extra byte 3 -> 12 bytes, offset 1 (a run of one byte)
    stream = bytes([0]) + b"z" + bytes([(7 << 5), 3, 0])
    assert lzf_decompress(stream, 13) == b"z" * 13
    with pytest.raises(ValueError):
        lzf_decompress(bytes([(1 << 5), 5]), 3)  # reference before the start
    with pytest.raises(ValueError):
        lzf_decompress(bytes([2]) + b"ab", 3)  # truncated literal


def test_pcd_binary_compressed_layout(tmp_path):
    n = 5
    xyz = np.arange(n * 3, dtype="<f4").reshape(n, 3)
    xyz[2] = np.nan
    rgb = np.array([0x00FF0000, 0x0000FF00, 0x000000FF, 0x00102030, 0], dtype="<u4")
    raw = b"".join(xyz[:, i].tobytes() for i in range(3)) + rgb.tobytes()  # column-major
    comp = _lzf_literals(raw)
    header = (
        "VERSION 0.7\nFIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F U\nCOUNT 1 1 1 1\n"
        f"WIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA binary_compressed\n"
    ).encode()
    path = tmp_path / "c.pcd"
    path.write_bytes(header + np.array([len(comp), len(raw)], "<u4").tobytes() + comp)
    pc = read_point_cloud(path)
    assert len(pc) == 4 and pc.notes["dropped_nan"] == 1
    np.testing.assert_array_equal(pc.points[0], [0, 1, 2])
    np.testing.assert_array_equal(pc.colors[:3], [[255, 0, 0], [0, 255, 0], [16, 32, 48]])
    path.write_bytes(header + np.array([len(comp), len(raw)], "<u4").tobytes() + comp[:-4])
    with pytest.raises(FormatError, match="truncated"):
        read_point_cloud(path)


def test_pcl_table_scene_mug(shared_data):
    path = shared_data / "point_clouds/pcl_table_scene_mug/table_scene_mug_stereo_textured.pcd"
    pc = read_point_cloud(path)
    assert pc.notes["pcd_data"] == "binary_compressed"
    assert len(pc) + pc.notes["dropped_nan"] == 640 * 480
    assert len(pc) == 209280
    assert pc.colors is not None and pc.colors.std() > 10  # real texture, not a constant
    assert np.isfinite(pc.points).all() and np.abs(pc.points).max() < 10  # metres
    with pytest.raises(FormatError, match="NaN"):
        read_point_cloud(path, drop_nan=False)


# ---------------------------------------------------------------------------------------- BIN
def test_kitti_and_nuscenes_bin(shared_data):
    kitti = read_point_cloud(shared_data / "point_clouds/lidar_kitti_000008/000008.bin")
    assert len(kitti) == 17238 and kitti.notes["bin_fields"] == 4
    np.testing.assert_allclose(kitti.points.min(0), [2.89, -26.42, -3.61], atol=0.01)
    folder = shared_data / "point_clouds/lidar_nuscenes_lidar_top"
    path = next(folder.glob("*.pcd.bin"))
    nus = read_point_cloud(path)  # 693760 B: divisible by both 16 and 20
    assert nus.notes["bin_fields"] == 5 and len(nus) == 34688
    assert "both divide" in nus.notes["bin_layout"]
    forced = read_point_cloud(path, bin_fields=4)
    assert len(forced) == 43360


# -------------------------------------------------------------------------------- PLY on disk
def test_bunny_ply(shared_data):
    path = shared_data / "point_clouds/stanford_bunny/reconstruction/bun_zipper.ply"
    pc = read_point_cloud(path)
    assert len(pc) == 35947
    elements = read_ply_elements(path)
    assert set(elements) == {"vertex", "face"}
    assert elements["face"]["vertex_indices"].shape == (69451, 3)
    v, f = read_mesh(path)
    assert v.shape == (35947, 3) and f.shape == (69451, 3) and f.max() < len(v)


# ---------------------------------------------------------------------------------------- OFF
MODELNET = {
    "airplane/airplane_0001.off": (27817, 54303),
    "airplane/airplane_0002.off": (23322, 64290),
    "airplane/airplane_0003.off": (19616, 44171),
    "chair/chair_0001.off": (2382, 2234),
    "chair/chair_0002.off": (192, 96),
    "toilet/toilet_0001.off": (3739, 6341),
}


@pytest.mark.parametrize("name", sorted(MODELNET))
def test_modelnet_off(shared_data, name):
    v, f = read_mesh(shared_data / "point_clouds/modelnet_off" / name)
    assert (len(v), len(f)) == MODELNET[name]
    assert f.dtype == np.int64 and f.min() >= 0 and f.max() < len(v)
    assert len(read_point_cloud(shared_data / "point_clouds/modelnet_off" / name)) == len(v)


def test_off_header_quirk_comments_and_polygons(tmp_path):
    path = tmp_path / "q.off"
    path.write_text(
        "OFF5 2 0\n# a comment line\n0 0 0\n1 0 0\n1 1 0  # trailing comment\n0 1 0\n"
        "0.5 0.5 1\n4 0 1 2 3\n3 0 1 4\n"
    )
    v, f = read_off(path)
    assert v.shape == (5, 3)
    np.testing.assert_array_equal(f, [[0, 1, 2], [0, 2, 3], [0, 1, 4]])


def test_off_errors(tmp_path):
    path = tmp_path / "bad.off"
    path.write_text("OFF\n4 1 0\n0 0 0\n1 0 0\n")
    with pytest.raises(FormatError, match="truncated OFF"):
        read_off(path)
    path.write_text("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n")
    with pytest.raises(FormatError, match="out of range"):
        read_off(path)
    path.write_text("PLY\n")
    with pytest.raises(FormatError, match="not an OFF"):
        read_off(path)


def test_fan_triangulate():
    np.testing.assert_array_equal(
        fan_triangulate([np.array([0, 1, 2, 3, 4])]), [[0, 1, 2], [0, 2, 3], [0, 3, 4]]
    )
    np.testing.assert_array_equal(fan_triangulate(np.array([[0, 1, 2, 3]])), [[0, 1, 2], [0, 2, 3]])


def test_off_fast_path_matches_line_reader(shared_data, tmp_path):
    src = shared_data / "point_clouds/modelnet_off/toilet/toilet_0001.off"
    v_fast, f_fast = read_off(src)
    lines = src.read_text().splitlines()
    # a comment forces the line-by-line reader; the quirk header keeps the counts on line 1
    commented = tmp_path / "c.off"
    commented.write_text("\n".join([lines[0], "# comment", *lines[1:]]) + "\n")
    quirk = tmp_path / "q.off"
    quirk.write_text("\n".join(["OFF" + lines[1], *lines[2:]]) + "\n")
    for path in (commented, quirk):
        v, f = read_off(path)
        np.testing.assert_array_equal(v, v_fast)
        np.testing.assert_array_equal(f, f_fast)


def test_ascii_ply_mixed_polygons(tmp_path):
    path = tmp_path / "m.ply"
    path.write_text(
        "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\n"
        "property float z\nelement face 2\nproperty list uchar int vertex_indices\nend_header\n"
        "0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n3 0 1 3\n"
    )
    _, f = read_mesh(path)
    np.testing.assert_array_equal(f, [[0, 1, 2], [0, 2, 3], [0, 1, 3]])


def test_ascii_pcd_with_float_packed_rgb(tmp_path):
    packed = np.array([0x00FF8001], dtype=np.uint32).view(np.float32)[0]
    path = tmp_path / "f.pcd"
    path.write_text(
        "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\n"
        f"WIDTH 2\nHEIGHT 1\nPOINTS 2\nDATA ascii\n1 2 3 {float(packed)!r}\nnan nan nan 0\n"
    )
    pc = read_point_cloud(path)
    assert len(pc) == 1 and pc.notes["dropped_nan"] == 1
    np.testing.assert_array_equal(pc.colors, [[255, 128, 1]])


def test_las(shared_data, tmp_path):
    folder = shared_data / "point_clouds/lidar_las_laspy"
    pc = read_point_cloud(folder / "simple.las")
    assert len(pc) == 1065 and pc.notes["las_point_format"] == 3
    assert 635_000 < pc.points[:, 0].min() < pc.points[:, 0].max() < 639_000
    assert 406 <= pc.points[:, 2].min() and pc.points[:, 2].max() <= 587
    assert pc.colors is not None and pc.colors.std() > 5
    data = (folder / "simple.las").read_bytes()
    (tmp_path / "t.las").write_bytes(data[:-100])
    with pytest.raises(FormatError, match="truncated LAS"):
        read_point_cloud(tmp_path / "t.las")


def test_laz_reads_the_same_points_as_las(shared_data, tmp_path):
    """laspy + lazrs: simple.laz holds the points of simple.las, LAZ-compressed."""
    from pcc.io.pointcloud.las import read_las

    folder = shared_data / "point_clouds/lidar_las_laspy"
    las, laz = read_las(folder / "simple.las"), read_las(folder / "simple.laz")
    np.testing.assert_array_equal(las.points, laz.points)
    np.testing.assert_array_equal(las.colors, laz.colors)
    assert not las.notes["las_compressed"] and laz.notes["las_compressed"]
    big = read_las(folder / "autzen_trim.laz")  # 110,000 points, decoded in one chunk
    assert len(big) == 110_000 and big.points[:, 2].min() > 400 and big.colors.std() > 5
    if ".laz" in POINT_CLOUD_EXTENSIONS:  # the dispatcher routes .laz to read_las
        np.testing.assert_array_equal(read_point_cloud(folder / "simple.laz").points, laz.points)
    raw = (folder / "simple.laz").read_bytes()
    for name, blob in [("cut.laz", raw[:-3000]), ("head.laz", raw[:400]), ("no.laz", b"LASF")]:
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(FormatError, match=name):
            read_las(tmp_path / name)


def test_truncated_kitti_bin_is_detected(shared_data, tmp_path):
    data = (shared_data / "point_clouds/lidar_kitti_000008/000008.bin").read_bytes()
    (tmp_path / "t.bin").write_bytes(data[:-8])  # 68950 values: a multiple of 5, not of 4
    with pytest.raises(FormatError, match="truncated"):
        read_point_cloud(tmp_path / "t.bin")
    assert len(read_point_cloud(tmp_path / "t.bin", bin_fields=5)) == 68950 // 5  # forced


def test_write_errors_and_point_cloud_validation(tmp_path):
    pc = _cloud(5)
    with pytest.raises(FormatError, match="cannot write"):
        write_point_cloud(tmp_path / "c.foo", pc)
    with pytest.raises(ValueError, match="dtype"):
        write_point_cloud(tmp_path / "c.ply", pc, dtype="int8")
    assert not (tmp_path / "c.ply").exists()
    with pytest.raises(ValueError):
        PointCloud(np.zeros((4, 2)))
    with pytest.raises(ValueError):
        PointCloud(np.zeros((4, 3)), colors=np.zeros((3, 3)))
    with pytest.raises(FormatError, match="not found"):
        read_point_cloud(tmp_path / "missing.ply")


# ------------------------------------------------------------------ forged files (found by fuzzing)
FUZZ = Path(__file__).resolve().parent / "data" / "fuzz"
FORGED_ERRORS = {
    "las-zero-points.las": "zero",
    "off-huge-count.off": "OFF",
    "off-inf-count.off": "OFF",
    "off-nan-count.off": "OFF",
    "pcd_binary-duplicate-field.pcd": "FIELDS names y more than once",
    "pcd_binary-huge-count.pcd": "COUNT",
    "pcd_binary-negative-count.pcd": "COUNT",
    "ply_ascii-nan-in-int-property.ply": "does not fit",
}
FORGED_READS = {  # NaNs (signalling ones too) where pcc can still read the file correctly
    "kitti_bin-signalling-nan.bin": None,  # the NaN sits in the reflectance column
    "pcd_binary-invalid-cast.pcd": "dropped_nan",  # PCD: NaN points are "no measurement"
    "pcd_compressed-invalid-cast.pcd": "dropped_nan",
}


@pytest.mark.filterwarnings("error")  # an invalid cast would be computed garbage
@pytest.mark.parametrize("name", sorted(FORGED_ERRORS))
def test_forged_files_give_one_format_error(name):
    path = FUZZ / name
    with pytest.raises(FormatError, match=FORGED_ERRORS[name]) as err:
        read_point_cloud(path)
    assert str(path) in str(err.value)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", sorted(FORGED_READS))
def test_signalling_nans_are_read_without_invalid_casts(name):
    pc = read_point_cloud(FUZZ / name)
    assert len(pc) > 0 and np.isfinite(pc.points).all()
    if FORGED_READS[name]:
        assert pc.notes[FORGED_READS[name]] > 0


@pytest.mark.filterwarnings("error")
def test_ascii_ply_values_must_fit_their_declared_type(tmp_path):
    head = "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
    head += "property float z\nproperty uchar red\nend_header\n"
    for bad, message in (("256", "256.0 does not fit uint8"), ("-1", "does not fit"),
                         ("1.5", "does not fit"), ("nan", "does not fit"),
                         ("1e39", "does not fit")):  # fmt: skip
        path = tmp_path / "v.ply"
        red = bad if bad != "1e39" else "1"
        x = "0" if bad != "1e39" else bad
        path.write_text(head + f"{x} 0 0 {red}\n1 1 1 7\n")
        with pytest.raises(FormatError, match=message):
            read_point_cloud(path)
