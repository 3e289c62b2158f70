"""INRIA 3DGS PLY reader/writer: real file, round trips, layout, and every rejected input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import normal_gaussians
from plyfile import PlyData, PlyElement

from pcc.errors import FormatError
from pcc.gaussians.model import GaussianModel
from pcc.io.gaussian_ply import (
    gaussian_ply_property_names,
    read_gaussian_ply,
    write_gaussian_ply,
)

KACY = "gaussian_splats/kacytran_3dgs_sh3/point_cloud_iter7000.ply"


def random_model(n: int, degree: int, seed: int = 0) -> GaussianModel:
    return normal_gaussians(n, degree, seed, spread=3.0)


def assert_same(a: GaussianModel, b: GaussianModel) -> None:
    for name, t in a.tensors().items():
        u = getattr(b, name)
        assert u.dtype == torch.float32, name
        assert torch.equal(t, u), name


def test_reads_real_inria_file_and_matches_plyfile(shared_data):
    path = shared_data / KACY
    model = read_gaussian_ply(path)
    assert len(model) == 9080
    assert model.sh_degree == 3
    v = PlyData.read(str(path))["vertex"]  # independent reader
    col = lambda name: torch.from_numpy(np.asarray(v[name], dtype=np.float32))  # noqa: E731
    assert torch.equal(model.means[:, 2], col("z"))
    assert torch.equal(model.opacity_logits, col("opacity"))
    assert torch.equal(model.quats[:, 0], col("rot_0"))
    assert torch.equal(model.log_scales[:, 1], col("scale_1"))
    assert torch.equal(model.sh[:, 0, 2], col("f_dc_2"))
    # f_rest is channel-major: f_rest_{c * 15 + j} is coefficient j + 1 of channel c.
    for c in range(3):
        for j in (0, 7, 14):
            assert torch.equal(model.sh[:, 1 + j, c], col(f"f_rest_{c * 15 + j}"))
    # Facts from the data's SOURCE.md: opacity median 0.06, quaternions not normalised.
    assert 0.04 < float(model.opacities.median()) < 0.08
    assert abs(float(model.quats.norm(dim=1).median()) - 0.78) < 0.05


def test_real_file_round_trip_is_bit_exact(shared_data, tmp_path):
    model = read_gaussian_ply(shared_data / KACY)
    out = tmp_path / "copy.ply"
    write_gaussian_ply(out, model)
    assert out.read_bytes() == (shared_data / KACY).read_bytes()  # same header, same bytes
    assert_same(model, read_gaussian_ply(out))


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"normals": False},
        {"ascii": True},
        {"big_endian": True},
        {"ascii": True, "normals": False},
    ],
)
def test_round_trip_all_degrees_and_encodings(tmp_path, degree, kwargs):
    model = random_model(37, degree, seed=degree)
    path = tmp_path / "m.ply"
    write_gaussian_ply(path, model, **kwargs)
    back = read_gaussian_ply(path)
    assert back.sh_degree == degree
    assert_same(model, back)


def test_degree0_file_has_14_properties(tmp_path):
    path = tmp_path / "deg0.ply"
    model = random_model(5, 0)
    write_gaussian_ply(path, model, normals=False)
    v = PlyData.read(str(path))["vertex"]
    names = [p.name for p in v.properties]
    assert len(names) == 14
    assert names == gaussian_ply_property_names(0, normals=False)
    assert_same(model, read_gaussian_ply(path))
    assert len(gaussian_ply_property_names(3)) == 62


def test_extra_properties_elements_and_order_are_tolerated(tmp_path):
    model = random_model(11, 1)
    src = tmp_path / "plain.ply"
    write_gaussian_ply(src, model)
    v = PlyData.read(str(src))["vertex"].data
    names = list(v.dtype.names)[::-1]  # reversed property order
    dtype = [(n, "f4") for n in names] + [("red", "u1"), ("filter_3D", "f8")]
    arr = np.zeros(len(v), dtype=dtype)
    for n in names:
        arr[n] = v[n]
    arr["red"] = 200
    extra = np.zeros(3, dtype=[("a", "i4"), ("b", "f8")])  # another element before vertex
    faces = np.array([([0, 1, 2],)], dtype=[("vertex_indices", "i4", (3,))])
    for text in (False, True):
        out = tmp_path / f"extra_{text}.ply"
        PlyData(
            [
                PlyElement.describe(extra, "camera"),
                PlyElement.describe(arr, "vertex"),
                PlyElement.describe(faces, "face"),
            ],
            text=text,
        ).write(str(out))
        assert_same(model, read_gaussian_ply(out))


# --------------------------------------------------------------------------- errors
def write_table(path, columns: dict[str, np.ndarray]) -> None:
    arr = np.zeros(len(next(iter(columns.values()))), dtype=[(n, "f4") for n in columns])
    for n, c in columns.items():
        arr[n] = c
    PlyData([PlyElement.describe(arr, "vertex")]).write(str(path))


def base_columns(n: int = 4, n_rest: int = 0) -> dict[str, np.ndarray]:
    names = gaussian_ply_property_names(0, normals=False)[:6] + [
        f"f_rest_{i}" for i in range(n_rest)
    ]
    names += gaussian_ply_property_names(0, normals=False)[6:]
    return {name: np.arange(n, dtype=np.float32) * 0.1 for name in names}


def test_not_a_ply(tmp_path):
    p = tmp_path / "x.ply"
    p.write_text("hello world\n")
    with pytest.raises(FormatError, match="not a PLY"):
        read_gaussian_ply(p)
    q = tmp_path / "noheader.ply"
    q.write_bytes(b"ply\nformat binary_little_endian 1.0\n" + b"\0" * 100)
    with pytest.raises(FormatError, match="end_header"):
        read_gaussian_ply(q)
    with pytest.raises(FormatError, match="cannot read"):
        read_gaussian_ply(tmp_path / "missing.ply")


@pytest.mark.parametrize("ascii", [False, True])
def test_truncated(tmp_path, ascii):
    p = tmp_path / "t.ply"
    write_gaussian_ply(p, random_model(20, 2), ascii=ascii)
    data = p.read_bytes()
    cut = data[: len(data) - (100 if not ascii else len(data) // 3)]
    p.write_bytes(cut)
    with pytest.raises(FormatError, match="truncated"):
        read_gaussian_ply(p)


def test_missing_properties_are_named(tmp_path):
    cols = base_columns()
    del cols["rot_3"], cols["opacity"]
    p = tmp_path / "m.ply"
    write_table(p, cols)
    with pytest.raises(FormatError, match="missing required properties opacity, rot_3") as err:
        read_gaussian_ply(p)
    assert str(p) in str(err.value)


def test_compressed_playcanvas_ply_gets_a_hint(shared_data):
    path = shared_data / "gaussian_splats/playcanvas_compressed_formats/guitar.compressed.ply"
    with pytest.raises(FormatError, match="PlayCanvas"):
        read_gaussian_ply(path)


@pytest.mark.parametrize("n_rest", [3, 10, 44])
def test_bad_f_rest_count(tmp_path, n_rest):
    p = tmp_path / "r.ply"
    write_table(p, base_columns(n_rest=n_rest))
    with pytest.raises(FormatError, match=f"{n_rest} f_rest properties"):
        read_gaussian_ply(p)


def test_f_rest_with_gap(tmp_path):
    cols = base_columns(n_rest=9)
    cols["f_rest_9"] = cols.pop("f_rest_4")
    p = tmp_path / "gap.ply"
    write_table(p, cols)
    with pytest.raises(FormatError, match="numbered"):
        read_gaussian_ply(p)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(tmp_path, bad):
    cols = base_columns(n=6)
    cols["scale_1"][3] = bad
    p = tmp_path / "nan.ply"
    write_table(p, cols)
    with pytest.raises(FormatError, match="NaN or infinite.*Gaussian 3, property scale_1"):
        read_gaussian_ply(p)


def test_zero_gaussians_is_an_error(tmp_path):
    p = tmp_path / "empty.ply"
    write_table(p, {k: v[:0] for k, v in base_columns().items()})
    with pytest.raises(FormatError, match="zero Gaussians"):
        read_gaussian_ply(p)
    with pytest.raises(ValueError, match="zero Gaussians"):
        write_gaussian_ply(tmp_path / "w.ply", GaussianModel.empty(2))


def test_degree0_minimal_file_values(tmp_path):
    p = tmp_path / "min.ply"
    write_table(p, base_columns(n=3))
    m = read_gaussian_ply(p)
    assert m.sh_degree == 0 and len(m) == 3
    assert torch.allclose(m.means[2], torch.tensor([0.2, 0.2, 0.2]))
    assert m.sh.shape == (3, 1, 3)


def test_malformed_headers(tmp_path):
    good = tmp_path / "g.ply"
    write_gaussian_ply(good, random_model(3, 0), normals=False)
    data = good.read_bytes()
    cases = {
        b"property float x\n": (b"property float128 x\n", "unknown type 'float128'"),
        b"element vertex 3\n": (b"element vertex many\n", "malformed"),
        b"property float y\n": (b"property float x\n", "duplicate vertex properties x"),
        b"format binary_little_endian 1.0\n": (
            b"format binary_middle_endian 1.0\n",
            "unknown PLY format",
        ),
    }
    for old, (new, message) in cases.items():
        bad = tmp_path / "bad.ply"
        bad.write_bytes(data.replace(old, new, 1))
        with pytest.raises(FormatError, match=message):
            read_gaussian_ply(bad)


def test_reader_returns_the_one_gaussian_container(tmp_path):
    """The container lives in the bottom layer; its established address names the same class."""
    import pcc.gaussians.model as old_address
    import pcc.io.gaussian_model as bottom

    assert old_address.GaussianModel is bottom.GaussianModel
    assert old_address.build_covariance is bottom.build_covariance
    path = tmp_path / "one.ply"
    write_gaussian_ply(path, random_model(4, 1))
    assert type(read_gaussian_ply(path)) is old_address.GaussianModel
