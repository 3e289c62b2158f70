"""Notebook 17 runs at its test parameters, and the numbers it teaches hold."""

import pytest

pytestmark = pytest.mark.notebooks


def test_17_learned_lossless(run_notebook):
    m = run_notebook("17_learned_lossless")
    assert m["exact"] == {"octree": True, "learned": True}  # both files decode to the cloud
    # the learned coder writes a smaller file than the context octree coder on the same cloud
    assert m["bpp"]["learned"] < m["bpp"]["octree"]
    # and its per-symbol cost is below what the count models alone would pay
    assert m["learned_bits_per_symbol"] < m["count_bits_per_symbol"]
    levels = m["level_real_bits"]
    assert len(levels["octree"]) == len(levels["learned"])
    # the last two levels hold most of the bits, for both coders
    for bits in levels.values():
        assert sum(bits[-2:]) > 0.6 * sum(bits)
