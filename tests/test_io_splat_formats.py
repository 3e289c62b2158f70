"""Viewer formats (SPZ, PlayCanvas compressed PLY, .splat): round trips lose what the format
implies and no more, malformed files raise FormatError, and the real files in ../shared/data load,
render and re-encode (almost) bit-exactly."""

from __future__ import annotations

import gzip
import importlib.util
import math
import struct

import numpy as np
import pytest
import torch

from pcc.errors import FormatError
from pcc.gaussians.model import SH_C0, GaussianModel
from pcc.io import compressed_ply, spz
from pcc.io.compressed_ply import (
    CHUNK_SIZE,
    encode_compressed_ply,
    is_compressed_ply,
    morton_order,
    read_compressed_ply,
    write_compressed_ply,
)
from pcc.io.splat import decode_splat, encode_splat, read_splat, write_splat
from pcc.io.splat_formats import (
    detect_format,
    format_for_output,
    load_splat_any,
    save_splat_any,
)
from pcc.io.spz import decode_spz, encode_spz, read_spz, read_spz_header, write_spz

# SPZ v4 is zstd-compressed: those tests need the `zstandard` package.
needs_zstd = pytest.mark.skipif(
    importlib.util.find_spec("zstandard") is None, reason="zstandard is not installed"
)
REAL_SPZ = "gaussian_splats/playcanvas_compressed_formats/biker.spz"
REAL_CPLY = "gaussian_splats/playcanvas_compressed_formats/guitar.compressed.ply"
REAL_SPLAT = "gaussian_splats/kacytran_3dgs_sh3/model.splat"


def _model(n: int = 700, degree: int = 3, seed: int = 0, rest_scale: float = 0.3) -> GaussianModel:
    g = torch.Generator().manual_seed(seed)
    k = (degree + 1) ** 2
    sh = torch.empty(n, k, 3)
    sh[:, 0] = torch.rand(n, 3, generator=g) * 3.0 - 1.5
    sh[:, 1:] = (torch.rand(n, k - 1, 3, generator=g) * 2 - 1) * rest_scale
    return GaussianModel(
        means=torch.rand(n, 3, generator=g) * 6.0 - 3.0,
        log_scales=torch.rand(n, 3, generator=g) * 5.0 - 6.0,
        quats=torch.randn(n, 4, generator=g),
        opacity_logits=torch.rand(n, generator=g) * 8.0 - 4.0,
        sh=sh,
    )


# Quaternions stored as "smallest three": each stored component is within half a step of its
# value; the dropped largest one, sqrt(1 - sum of squares), then errs by at most
# sum(|q_i|) / |q_max| <= 3 times that.
SPZ_ROT_TOL = 3 * math.sqrt(0.5) / 511 / 2 + 1e-6
CPLY_ROT_TOL = 3 * math.sqrt(2.0) / 1023 / 2 + 1e-6


def _rotation_error(q1: torch.Tensor, q2: torch.Tensor) -> float:
    """Largest component difference of unit quaternions, up to the sign (q and -q are one turn)."""
    a = q1 / q1.norm(dim=1, keepdim=True)
    b = q2 / q2.norm(dim=1, keepdim=True)
    return float(torch.minimum((a - b).abs().amax(1), (a + b).abs().amax(1)).max())


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max())


# ----------------------------------------------------------------------------- SPZ
@pytest.mark.parametrize("version", [2, 3, pytest.param(4, marks=needs_zstd)])
def test_spz_round_trip_loses_only_the_quantisation(version):
    m = _model()
    back, header = decode_spz(encode_spz(m, version=version))
    assert header.version == version and header.n == len(m) and header.sh_degree == 3
    assert header.fractional_bits == 12
    assert _max_abs(back.means, m.means) <= 2.0**-13 + 1e-6
    assert _max_abs(back.log_scales, m.log_scales) <= 1 / 32 + 1e-6
    assert _max_abs(back.opacities, m.opacities) <= 1 / 510 + 1e-6
    assert _max_abs(back.sh[:, 0], m.sh[:, 0]) <= 0.5 / (0.15 * 255) + 1e-5
    # default SH precision: 5 bits for degree 1 (bucket 8/128), 4 bits above (16/128)
    assert _max_abs(back.sh[:, 1:4], m.sh[:, 1:4]) <= (0.5 + 4) / 128 + 1e-6
    assert _max_abs(back.sh[:, 4:], m.sh[:, 4:]) <= (0.5 + 8) / 128 + 1e-6
    if version > 2:  # 9-bit magnitudes of |q_i| / sqrt(1/2); the largest one is recomputed
        assert _rotation_error(back.quats, m.quats) <= SPZ_ROT_TOL
    else:  # 8-bit x y z of the quaternion with w >= 0; w = sqrt(1 - |xyz|^2) amplifies near 0
        q = m.rotations * torch.where(m.rotations[:, :1] < 0, -1.0, 1.0)
        assert _max_abs(back.quats[:, 1:], q[:, 1:]) <= 0.5 / 127.5 + 1e-6


def test_spz_full_sh_precision_and_idempotent_encoding():
    m = _model(rest_scale=0.9)
    data = encode_spz(m, sh1_bits=8, sh_rest_bits=8)
    back, _ = decode_spz(data)
    assert _max_abs(back.sh[:, 1:], m.sh[:, 1:]) <= 0.5 / 128 + 1e-6
    # re-encoding the decoded model changes nothing but a rare rotation rounding
    again, _ = decode_spz(encode_spz(back, sh1_bits=8, sh_rest_bits=8))
    for name in ("means", "log_scales", "opacity_logits", "sh"):
        assert torch.equal(getattr(again, name), getattr(back, name)), name
    assert _rotation_error(again.quats, back.quats) <= SPZ_ROT_TOL


def test_spz_converts_rdf_to_rub_as_a_rotation():
    m = _model(n=50)
    rub, _ = decode_spz(encode_spz(m, sh1_bits=8, sh_rest_bits=8), rdf=False)
    flip = torch.tensor([1.0, -1.0, -1.0])
    assert _max_abs(rub.means, m.means * flip) <= 2.0**-13 + 1e-6
    # R(q_rub) = F R(q) F with F = diag(1, -1, -1): a 180-degree turn about x
    from pcc.gaussians.model import quaternion_to_rotation
    from pcc.gaussians.sh import eval_sh

    F = torch.diag(flip)
    r_expect = F @ quaternion_to_rotation(m.quats) @ F
    assert _max_abs(quaternion_to_rotation(rub.quats), r_expect) < 0.01
    # the view-dependent colour seen along d in RDF equals the one seen along F d in RUB
    dirs = torch.nn.functional.normalize(torch.randn(50, 3), dim=1)
    c_rdf = eval_sh(m.sh, dirs, 3)
    c_rub = eval_sh(rub.sh, dirs * flip, 3)
    assert _max_abs(c_rdf, c_rub) < 0.05


def test_spz_antialiased_flag_round_trips_with_a_warning():
    data = encode_spz(_model(n=10, degree=0), antialiased=True)
    with pytest.warns(UserWarning, match="antialiasing"):
        _, header = decode_spz(data)
    assert header.antialiased


def test_spz_shrinks_fractional_bits_for_large_scenes(tmp_path):
    m = _model(n=20)
    m.means[0] = torch.tensor([5000.0, -3000.0, 100.0])
    write_spz(tmp_path / "big.spz", m)
    header = read_spz_header(tmp_path / "big.spz")
    assert header.fractional_bits == 10  # 5000 * 2^10 < 2^23 <= 5000 * 2^11
    back = read_spz(tmp_path / "big.spz")
    assert _max_abs(back.means, m.means) <= 2.0**-11 + 1e-4


def _gzip_spz(version=3, n=10, deg=0, frac=12, flags=0, body=None) -> bytes:
    head = struct.pack("<IIIBBBB", spz.MAGIC, version, n, deg, frac, flags, 0)
    if body is None:  # incompressible, so that cutting the stream cuts the body
        body = np.random.default_rng(0).integers(0, 256, n * 20, dtype=np.uint8).tobytes()
    return gzip.compress(head + body)


def _bad_deflate_block(data: bytes) -> bytes:
    """The gzip stream with its first deflate block marked as the invalid block type 3."""
    return data[:10] + bytes([0x07]) + data[11:]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "not an SPZ"),
        (b"hello world, not a splat", "not an SPZ"),
        (gzip.compress(b"XXXXYYYYZZZZWWWW" + bytes(100)), "no 'NGSP' magic"),
        (_gzip_spz(version=1), "unsupported SPZ version 1"),
        (_gzip_spz(version=9), "unsupported SPZ version 9"),
        (_gzip_spz(deg=7), "SH degree 7"),
        (_gzip_spz(n=0, body=b""), "zero Gaussians"),
        (_gzip_spz(body=bytes(50)), "truncated"),
        (_gzip_spz(n=100)[:-100], "truncated"),
        (_gzip_spz()[:20], "truncated"),
        (_gzip_spz(n=2**31, body=b""), "more than a"),
        (_bad_deflate_block(_gzip_spz()), "corrupt gzip"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_spz_raises_format_error(tmp_path, data, message):
    path = tmp_path / "bad.spz"
    path.write_bytes(data)
    with pytest.raises(FormatError, match=message) as info:
        read_spz(path)
    assert str(path) in str(info.value)


@needs_zstd
def test_malformed_spz_v4_raises_format_error(tmp_path):
    good = encode_spz(_model(n=30, degree=1), version=4)
    cases = {
        "streams": good[:15] + bytes([3]) + good[16:],  # 3 streams declared, degree 1 needs 6
        "outside the file": good[:16] + struct.pack("<I", 10**6) + good[20:],
        "truncated": good[:-40],
        "holds": good[:40] + struct.pack("<Q", 123) + good[48:],  # wrong uncompressed size
    }
    for message, data in cases.items():
        path = tmp_path / "bad.spz"
        path.write_bytes(data)
        with pytest.raises(FormatError, match=message):
            read_spz(path)


def test_spz_raw_legacy_payload_and_missing_file(tmp_path):
    m = _model(n=40, degree=1)
    raw = gzip.decompress(encode_spz(m, version=3))
    (tmp_path / "raw.spz").write_bytes(raw)  # an un-gzipped v3 body: accepted
    assert torch.equal(read_spz(tmp_path / "raw.spz").means, decode_spz(raw)[0].means)
    with pytest.raises(FormatError, match="cannot read"):
        read_spz(tmp_path / "missing.spz")


# ----------------------------------------------------------------------------- .splat
def test_splat_round_trip_loses_only_the_8_bit_quantisation():
    m = _model(degree=2)
    m.sh[:, 0] = m.sh[:, 0].clamp(-0.5 / SH_C0, 0.5 / SH_C0)  # displayable colours
    back = decode_splat(encode_splat(m))
    assert back.sh_degree == 0 and len(back) == len(m)
    assert torch.equal(back.means, m.means)
    assert _max_abs(back.log_scales, m.log_scales) < 1e-5
    rgb, rgb_back = 0.5 + SH_C0 * m.sh[:, 0], 0.5 + SH_C0 * back.sh[:, 0]
    assert _max_abs(rgb_back, rgb) <= 0.5 / 255 + 1e-6
    assert _max_abs(back.opacities, m.opacities) <= 0.5 / 255 + 1e-6
    assert _rotation_error(back.quats, m.quats) < 0.01


def test_splat_sort_keeps_the_same_gaussians(tmp_path):
    m = _model(n=64, degree=0)
    write_splat(tmp_path / "a.splat", m, sort=True)
    back = read_splat(tmp_path / "a.splat")
    key = lambda t: sorted(map(tuple, t.numpy().round(5).tolist()))  # noqa: E731
    assert key(back.means) == key(m.means)
    size = (back.scales.prod(1) * back.opacities).numpy()
    assert (np.diff(size) <= 1e-6 * size.max()).all()  # biggest first


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (bytes(33), "not a multiple of 32"),
        (np.array([[0, 0, 0, -1, 1, 1, 0, 0]], "<f4").tobytes(), "negative scale"),
        (np.array([[np.nan, 0, 0, 1, 1, 1, 0, 0]], "<f4").tobytes(), "NaN or infinite means"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_splat_raises_format_error(tmp_path, data, message):
    path = tmp_path / "bad.splat"
    path.write_bytes(data)
    with pytest.raises(FormatError, match=message):
        read_splat(path)


# ----------------------------------------------------------------------------- compressed PLY
def _chunk_span(values: torch.Tensor) -> torch.Tensor:
    """Per-Gaussian size of its chunk's box ``[N, D]`` for values already in file order."""
    n = values.shape[0]
    pad = (-n) % CHUNK_SIZE
    v = torch.cat([values, values[-1:].expand(pad, *values.shape[1:])]).double()
    v = v.reshape(-1, CHUNK_SIZE, values.shape[1])
    span = v.amax(1) - v.amin(1)
    return span.repeat_interleave(CHUNK_SIZE, 0)[:n]


def test_compressed_ply_round_trip_within_chunk_quantisation(tmp_path):
    m = _model(n=1000, degree=3)
    order = write_compressed_ply(tmp_path / "m.compressed.ply", m)
    assert sorted(order.tolist()) == list(range(len(m)))
    ref = m.mask(torch.from_numpy(order))  # the original, in file order
    back = read_compressed_ply(tmp_path / "m.compressed.ply")
    assert back.sh_degree == 3
    steps = torch.tensor([2047.0, 1023.0, 2047.0], dtype=torch.float64)
    tol = _chunk_span(ref.means) / steps / 2 + 1e-6
    assert ((back.means.double() - ref.means.double()).abs() <= tol).all()
    tol = _chunk_span(ref.log_scales) / steps / 2 + 1e-5
    assert ((back.log_scales.double() - ref.log_scales.double()).abs() <= tol).all()
    rgb, rgb_back = 0.5 + SH_C0 * ref.sh[:, 0], 0.5 + SH_C0 * back.sh[:, 0]
    assert ((rgb_back - rgb).abs().double() <= _chunk_span(rgb) / 255 / 2 + 1e-6).all()
    assert _max_abs(back.opacities, ref.opacities) <= 1 / 510 + 1e-6
    assert _rotation_error(back.quats, ref.quats) <= CPLY_ROT_TOL
    assert _max_abs(back.sh[:, 1:], ref.sh[:, 1:]) <= 1 / 64 + 1e-6


def test_morton_order_makes_chunks_small():
    m = _model(n=32768, degree=0)
    sorted_span = _chunk_span(m.means[torch.from_numpy(morton_order(m.means.numpy()))])
    assert float(sorted_span.mean()) < 0.5 * float(_chunk_span(m.means).mean())


def test_compressed_ply_detection_and_header(tmp_path):
    m = _model(n=300, degree=0)
    data, _ = encode_compressed_ply(m)
    path = tmp_path / "x.compressed.ply"
    path.write_bytes(data)
    assert is_compressed_ply(path)
    head = data[: data.index(b"end_header")].decode()
    assert "element chunk 2" in head and "element vertex 300" in head and "element sh" not in head
    assert detect_format(path) == "compressed-ply"


def _cply_with_header(tmp_path, header_lines, body: bytes):
    path = tmp_path / "bad.compressed.ply"
    path.write_bytes(("\n".join(["ply", *header_lines, "end_header"]) + "\n").encode() + body)
    return path


def test_malformed_compressed_ply_raises_format_error(tmp_path):
    good, _ = encode_compressed_ply(_model(n=300, degree=1))
    split = good.index(b"end_header\n") + len(b"end_header\n")
    header, body = good[:split], good[split:]
    cases = {
        "truncated": header + body[:-100],
        "3 chunks for 300 Gaussians": header.replace(b"element chunk 2", b"element chunk 3")
        + body
        + bytes(72),
        "lacks property 'packed_scale'": header.replace(b"packed_scale", b"packed_scalX") + body,
        "stores uint": header.replace(b"uint packed_color", b"float packed_color") + body,
        "needs 'chunk'": header.replace(b"element chunk", b"element chonk") + body,
    }
    for message, data in cases.items():
        path = tmp_path / "bad.compressed.ply"
        path.write_bytes(data)
        with pytest.raises(FormatError, match=message):
            read_compressed_ply(path)


# ----------------------------------------------------------------------------- dispatch
@pytest.mark.parametrize(
    "name, fmt",
    [
        ("a.ply", "ply"),
        ("a.compressed.ply", "compressed-ply"),
        ("a.spz", "spz"),
        ("a.splat", "splat"),
    ],
)
def test_save_and_load_any_by_suffix_and_content(tmp_path, name, fmt):
    m = _model(n=300, degree=1)
    assert save_splat_any(m, tmp_path / name) == fmt
    assert detect_format(tmp_path / name) == fmt
    back = load_splat_any(tmp_path / name)
    assert len(back) == len(m)
    # the content decides, not the name: an SPZ named .bin still loads
    if fmt == "spz":
        (tmp_path / name).rename(tmp_path / "renamed.bin")
        assert len(load_splat_any(tmp_path / "renamed.bin")) == len(m)


def test_dispatch_errors(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        format_for_output(tmp_path / "scene.txt")
    (tmp_path / "junk.bin").write_bytes(b"\x00" * 64)
    with pytest.raises(FormatError, match="unknown Gaussian-splat format"):
        load_splat_any(tmp_path / "junk.bin")
    with pytest.raises(FormatError, match="no such file"):
        load_splat_any(tmp_path / "nothing.spz")


# ----------------------------------------------------------------------------- real files
def _render_small(model: GaussianModel) -> torch.Tensor:
    from pcc.gaussians.render import render
    from pcc.io.cameras import orbit_cameras_for_points

    cam = orbit_cameras_for_points(model.means.double().numpy(), 1, 48, 36, up=(0.0, -1.0, 0.0))
    with torch.no_grad():
        return render(model, cam[0]).image


def _check_plausible(m: GaussianModel) -> None:
    for t in m.tensors().values():
        assert torch.isfinite(t).all()
    norms = m.quats.norm(dim=1)
    assert ((norms - 1).abs() < 1e-3).all()
    assert m.log_scales.min() > -30 and m.log_scales.max() < 10
    assert 0.0 < float(m.opacities.mean()) < 1.0


@needs_zstd
def test_real_spz_v4_loads_renders_and_round_trips(shared_data):
    path = shared_data / REAL_SPZ
    header = read_spz_header(path)
    assert (header.version, header.n, header.sh_degree, header.fractional_bits) == (
        4,
        152746,
        0,
        12,
    )
    m = read_spz(path)
    assert len(m) == 152746 and m.sh_degree == 0
    _check_plausible(m)
    # the scene is a standing figure: in pcc's RDF frame (y down) it is taller than wide
    extent = m.means.quantile(0.99, dim=0) - m.means.quantile(0.01, dim=0)
    assert extent[1] > extent[0] and extent[1] > extent[2]
    image = _render_small(m)
    assert torch.isfinite(image).all() and float(image.amax()) > 0.1
    for version in (3, 4):
        back, _ = decode_spz(encode_spz(m, version=version))
        for name in ("means", "log_scales", "opacity_logits", "sh"):
            assert torch.equal(getattr(back, name), getattr(m, name)), name
        # rotations re-quantise within one step (the file has some -0 signs and near-ties)
        assert _rotation_error(back.quats, m.quats) <= SPZ_ROT_TOL


def test_real_compressed_ply_loads_renders_and_round_trips(shared_data, tmp_path):
    path = shared_data / REAL_CPLY
    assert is_compressed_ply(path) and detect_format(path) == "compressed-ply"
    m = load_splat_any(path)
    assert len(m) == 90854 and m.sh_degree == 0
    _check_plausible(m)
    image = _render_small(m)
    assert torch.isfinite(image).all() and float(image.amax()) > 0.1
    # the file is already chunked: re-encoding in the same order reproduces its packed words
    data, order = encode_compressed_ply(m, sort=False)
    assert np.array_equal(order, np.arange(len(m)))
    original = path.read_bytes()
    ours = data[data.index(b"end_header\n") + 11 :]
    theirs = original[original.index(b"end_header\n") + 11 :]
    n_chunks = math.ceil(len(m) / CHUNK_SIZE)
    assert ours[: n_chunks * 72] == theirs[: n_chunks * 72]  # identical chunk bounds
    a = np.frombuffer(ours[n_chunks * 72 :], "<u4").reshape(-1, 4)
    b = np.frombuffer(theirs[n_chunks * 72 :], "<u4").reshape(-1, 4)
    for col in (0, 2, 3):  # position, scale, colour words
        assert np.array_equal(a[:, col], b[:, col])
    (tmp_path / "again.compressed.ply").write_bytes(data)
    back = read_compressed_ply(tmp_path / "again.compressed.ply")
    assert torch.equal(back.means, m.means) and torch.equal(back.sh, m.sh)
    assert _rotation_error(back.quats, m.quats) <= CPLY_ROT_TOL


def test_real_splat_re_encodes_bit_exactly_but_for_rotation_rounding(shared_data):
    path = shared_data / REAL_SPLAT
    m = read_splat(path)
    assert len(m) == 22764
    _check_plausible(m)
    ours = np.frombuffer(encode_splat(m), np.uint8).reshape(-1, 32)
    theirs = np.frombuffer(path.read_bytes(), np.uint8).reshape(-1, 32)
    assert np.array_equal(ours[:, :28], theirs[:, :28])
    assert np.abs(ours[:, 28:].astype(int) - theirs[:, 28:]).max() <= 1


def test_real_files_convert_through_every_format(shared_data, tmp_path):
    m = read_compressed_ply(shared_data / REAL_CPLY)
    for name in ("g.spz", "g.splat", "g.ply", "g.compressed.ply"):
        save_splat_any(m, tmp_path / name)
        back = load_splat_any(tmp_path / name)
        assert len(back) == len(m)
    assert compressed_ply.CHUNK_SIZE == 256
