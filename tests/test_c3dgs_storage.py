"""Storage: the c3dgs npz and the entropy-coded .pcc3dgs round-trip bit-exactly and agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pcc.c3dgs import storage_pcc
from pcc.c3dgs.compressed_model import IndexedGaussians, QuantizedGaussians, finalize
from pcc.c3dgs.pipeline import load_compressed, save_compressed
from pcc.c3dgs.storage_npz import load_npz, save_npz
from pcc.c3dgs.storage_pcc import decode_symbols, encode_symbols, load_pcc, save_pcc
from pcc.errors import BitstreamError, FormatError
from pcc.gaussians.render import render
from pcc.io.cameras import make_camera


def _indexed(n=300, m_c=20, m_g=15, deg=3, seed=0) -> IndexedGaussians:
    g = torch.Generator().manual_seed(seed)
    k = (deg + 1) ** 2
    return IndexedGaussians(
        means=torch.randn(n, 3, generator=g),
        opacity_logits=torch.randn(n, generator=g),
        log_magnitude=torch.randn(n, generator=g) - 3,
        color_table=0.3 * torch.randn(m_c, k, 3, generator=g),
        color_indices=torch.randint(0, m_c, (n,), generator=g),
        scale_table=torch.rand(m_g, 3, generator=g),
        rotation_table=torch.randn(m_g, 4, generator=g),
        shape_indices=torch.randint(0, m_g, (n,), generator=g),
    )


@pytest.fixture(params=[(300, 3), (1, 0), (57, 1)], ids=["n300-deg3", "n1-deg0", "n57-deg1"])
def quantized(request) -> QuantizedGaussians:
    n, deg = request.param
    return finalize(_indexed(n=n, m_c=min(n, 20), m_g=min(n, 15), deg=deg))


def test_npz_and_pcc_round_trip_bit_exactly_and_agree(tmp_path, quantized):
    npz, pcc = tmp_path / "a.npz", tmp_path / "a.pcc3dgs"
    assert save_npz(quantized, npz) == npz.stat().st_size
    assert save_pcc(quantized, pcc) == pcc.stat().st_size
    a, b = load_npz(npz), load_pcc(pcc)
    assert a.equal(quantized) and b.equal(quantized) and a.equal(b)
    ma, mb = a.to_gaussian_model(), b.to_gaussian_model()
    for name, t in ma.tensors().items():
        assert torch.equal(t, getattr(mb, name)), name


def test_loaded_model_renders_exactly_as_in_memory(tmp_path):
    q = finalize(_indexed(n=200))
    cam = make_camera((0.0, -6.0, 1.0), (0.0, 0.0, 0.0), 40, 30)
    ref = render(q.to_gaussian_model(), cam).image
    for fmt in ("npz", "pcc"):
        path = tmp_path / f"m.{fmt}"
        save_compressed(q, path, fmt)
        assert torch.equal(render(load_compressed(path).to_gaussian_model(), cam).image, ref)


def test_npz_layout_matches_c3dgs(tmp_path):
    q = finalize(_indexed(n=100, m_c=10, m_g=12))
    save_npz(q, tmp_path / "a.npz")
    z = np.load(tmp_path / "a.npz", allow_pickle=False)
    n, m_c, m_g = 100, q.color_dc.shape[0], q.scale_dir.shape[0]
    expect = {
        "xyz": (np.float16, (n, 3)),
        "features_dc": (np.int8, (m_c, 1, 3)),
        "features_rest": (np.int8, (m_c, 15, 3)),
        "opacity": (np.int8, (n, 1)),
        "scaling": (np.int8, (m_g, 3)),
        "scaling_factor": (np.int8, (n, 1)),
        "rotation": (np.int8, (m_g, 4)),
        "feature_indices": (np.int32, (n,)),
        "gaussian_indices": (np.int32, (n,)),
        "opacity_scale": (np.float32, (1,)),
        "rotation_zero_point": (np.int32, (1,)),
    }
    for key, (dtype, shape) in expect.items():
        assert z[key].dtype == dtype and z[key].shape == shape, key
    # decode one Gaussian the way c3dgs's load_npz does
    i = 7
    dc = (
        z["features_dc"][z["feature_indices"][i]].astype(np.float32)
        - z["features_dc_zero_point"][0]
    ) * z["features_dc_scale"][0]
    model = q.to_gaussian_model()
    assert np.allclose(dc, model.sh[i, :1].numpy(), atol=1e-6)
    op = (z["opacity"][i, 0].astype(np.float32) - z["opacity_zero_point"][0]) * z["opacity_scale"][
        0
    ]
    assert op == pytest.approx(float(model.opacities[i]), abs=1e-5)


def test_unsorted_and_unordered_models_still_round_trip(tmp_path):
    # not Morton-sorted, tables not in first-use order: the coder's fallback modes
    q = finalize(_indexed(n=150), sort_morton=False)
    perm = torch.randperm(q.color_dc.shape[0])
    q.color_dc, q.color_rest = q.color_dc[perm], q.color_rest[perm]
    q.color_indices = torch.argsort(perm)[q.color_indices]
    assert not storage_pcc.is_first_use_order(q.color_indices.numpy())
    save_pcc(q, tmp_path / "u.pcc3dgs")
    assert load_pcc(tmp_path / "u.pcc3dgs").equal(q)


def test_symbol_coder_modes_round_trip():
    rng = np.random.default_rng(0)
    runs = np.repeat(rng.integers(0, 200, 100), rng.integers(1, 20, 100))
    for symbols in (rng.integers(0, 7, 3000), runs, np.zeros(0, np.int64), np.full(10, 255)):
        data = encode_symbols(symbols, 256)
        assert np.array_equal(decode_symbols(data, symbols.size, 256), symbols)
    assert encode_symbols(runs, 256)[0] == storage_pcc.MODE_REPEAT


@pytest.mark.parametrize("fmt", ["npz", "pcc"])
def test_truncated_and_corrupted_files_raise_clear_errors(tmp_path, fmt):
    q = finalize(_indexed(n=300))
    path = tmp_path / f"a.{fmt}"
    save_compressed(q, path, fmt)
    data = path.read_bytes()
    bad = tmp_path / f"bad.{fmt}"
    for broken in (data[: len(data) // 2], data[:-3], data[:10]):
        bad.write_bytes(broken)
        with pytest.raises(FormatError, match=str(bad.name)):
            load_compressed(bad)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x55
    bad.write_bytes(bytes(flipped))
    with pytest.raises(FormatError, match=str(bad.name)):
        load_compressed(bad)
    bad.write_bytes(b"hello world")
    with pytest.raises(FormatError):
        load_compressed(bad)


def test_pcc_errors_are_bitstream_errors(tmp_path):
    q = finalize(_indexed(n=50))
    data = storage_pcc.encode(q)
    with pytest.raises(BitstreamError, match="checksum"):
        storage_pcc.decode(data[:-5] + bytes([data[-5] ^ 1]) + data[-4:])
    with pytest.raises(BitstreamError, match="version"):
        storage_pcc.decode(data[:5] + bytes([99]) + data[6:])


def test_npz_missing_key_is_reported(tmp_path):
    q = finalize(_indexed(n=20, m_c=5, m_g=5))
    from pcc.c3dgs.storage_npz import to_npz_arrays

    arrays = to_npz_arrays(q)
    del arrays["rotation"]
    np.savez_compressed(tmp_path / "x.npz", **arrays)
    with pytest.raises(FormatError, match="rotation"):
        load_npz(tmp_path / "x.npz")
