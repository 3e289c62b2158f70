"""``DecodedOctree.coords`` is int32: clouds whose decoded positions leave the int32 range are
refused by the encoder, and a forged header (origin, quant_step) that would make them wrap is a
BitstreamError naming the file (issue 14)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from pcc.errors import BitstreamError
from pcc.pointcloud import container
from pcc.pointcloud.octree_codec import compress_octree, decode_octree, decompress_octree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import fuzz  # noqa: E402

I32 = np.iinfo(np.int32)


def _cloud(offset: int) -> np.ndarray:
    pts = np.random.default_rng(0).integers(0, 64, size=(200, 3))
    return pts + np.array([offset, 0, -offset])


def test_positions_at_the_int32_limits_round_trip():
    for offset in (I32.max - 63, -I32.min - 63):
        pts = _cloud(offset)
        got = decompress_octree(compress_octree(pts))
        assert got.dtype == np.int32
        want = np.unique(pts, axis=0)
        assert np.array_equal(np.unique(got.astype(np.int64), axis=0), want)


@pytest.mark.parametrize("offset", [2**31, 2**31 - 10, 2**35])
def test_encoder_refuses_positions_beyond_int32(offset):
    with pytest.raises(ValueError, match="int32"):
        compress_octree(_cloud(offset))


def test_lossy_rounding_past_int32_is_refused():
    """round(q step) + origin may exceed the largest input: the check is on decoded positions."""
    pts = np.array([[I32.max - 5, 0, 0], [I32.max, 0, 0]])  # q = 0, 2 -> origin + 6
    with pytest.raises(ValueError, match="int32"):
        compress_octree(pts, quant_step=3.0)


@pytest.mark.parametrize("origin", [[2**31, 0, 0], [0, -(2**31) - 1, 0], [2**39, 2**39, 2**39]])
def test_forged_origin_cannot_wrap(tmp_path, origin):
    codec, header, streams = container.unpack(compress_octree(_cloud(0)))
    header["origin"] = origin
    path = tmp_path / "forged.pccf"
    data = fuzz.pack_container(codec, header, streams)
    with pytest.raises(BitstreamError, match="forged.pccf: .*int32"):
        decode_octree(data, path)


def test_forged_quant_step_cannot_wrap(tmp_path):
    codec, header, streams = container.unpack(compress_octree(_cloud(0)))
    header["quant_step"] = 2.0**26  # 63 * 2^26 > 2^31, still < 2^53: passes the type checks
    path = tmp_path / "forged.pccf"
    with pytest.raises(BitstreamError, match="forged.pccf: .*int32"):
        decode_octree(fuzz.pack_container(codec, header, streams), path)
