"""Per-level accounting of the octree coder: real sizes per level that add up to the file."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import voxel_sphere_shell

from pcc.pointcloud.entropy_coding import encode_bits, encode_bits_segmented
from pcc.pointcloud.octree import build_octree
from pcc.pointcloud.octree_codec import decompress_octree, encode_octree


def test_segmented_stream_is_byte_identical_and_sizes_add_up():
    rng = np.random.default_rng(1)
    p1 = rng.uniform(0.02, 0.98, 5000)
    bits = (rng.random(5000) < p1).astype(np.uint8)
    ends = np.array([0, 100, 100, 2500, 5000])  # includes empty segments
    data, seg, pad = encode_bits_segmented(bits, p1, ends)
    assert data == encode_bits(bits, p1)
    assert seg[0] == 0 and seg[2] == 0
    assert int(seg.sum()) + pad == 8 * len(data)
    assert 0 <= pad < 32
    # each segment's real size is close to its ideal code length
    lo = 0
    for hi, b in zip(ends, seg, strict=True):
        ideal = -np.log2(np.where(bits[lo:hi] == 1, p1[lo:hi], 1 - p1[lo:hi])).sum()
        assert abs(b - ideal) <= 0.02 * ideal + 40
        lo = hi
    with pytest.raises(ValueError, match="segment_ends"):
        encode_bits_segmented(bits, p1, np.array([10, 5, 5000]))


@pytest.mark.parametrize("coords", [voxel_sphere_shell(), np.array([[3, 9, 1]])])
def test_level_stats_sum_to_stream_and_file(coords):
    enc = encode_octree(coords)
    assert len(enc.levels) == enc.depth
    assert sum(s.real_bits for s in enc.levels) + enc.padding_bits == enc.stream_bits
    assert enc.stream_bits + enc.container_bits == 8 * len(enc.data)
    assert sum(s.estimated_bits for s in enc.levels) == pytest.approx(enc.estimated_bits)
    decoded = decompress_octree(enc.data)
    assert {tuple(r) for r in decoded.tolist()} == {tuple(r) for r in coords.tolist()}


def test_level_stats_count_nodes_children_and_symbols():
    coords = voxel_sphere_shell()
    enc = encode_octree(coords)
    occ = build_octree(coords - coords.min(0), enc.depth)
    for s, o in zip(enc.levels, occ, strict=True):
        assert s.nodes == o.size
        assert s.children == int(np.unpackbits(o).sum())
        # 8 bits per node minus the last child of nodes whose first seven are empty
        inferred = int(((o & 0x7F) == 0).sum())
        assert s.coded_symbols == 8 * s.nodes - inferred
        assert 1 <= s.children_per_node <= 8
    assert enc.levels[0].nodes == 1
    assert enc.levels[-1].children == enc.n_voxels
    # a surface: deep levels have ~4 children per node, and they hold most of the bits
    assert 2.5 < enc.levels[-1].children_per_node < 5.5
    assert enc.levels[-1].real_bits > enc.stream_bits / 3
