"""Determinism across machines (issue 14): a stream encoded with 2 torch threads decodes bit-exactly
with 1 and with 4 threads (different reduction orders inside the convolutions must not change
the entropy parameters the decoder recomputes), and the decoded cloud equals the encoder's
reconstruction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pcc.codec.pipeline import (
    decompress_point_cloud,
    encode_point_cloud,
    encoder_reconstruction,
    read_header,
)


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("mode", ["topk", "rd"])
def test_two_thread_stream_decodes_identically_with_one_and_four(
    tiny_hyperprior, restore_threads, mode
):
    rng = np.random.default_rng(3)
    # a surface-like cloud spanning several 32^3 blocks
    u, v = rng.random(600), rng.random(600)
    cloud = np.stack([60 * u, 60 * v, 20 + 10 * np.sin(6 * u) * np.cos(4 * v)], axis=1)
    cloud = np.unique(np.round(cloud).astype(np.int64), axis=0)
    torch.set_num_threads(2)
    encoded = encode_point_cloud(cloud, tiny_hyperprior, mode=mode, blocks_per_stream=2)
    assert read_header(encoded.data)[0]["n_blocks"] > 2
    expected = encoder_reconstruction(encoded, tiny_hyperprior)
    assert len(expected) > 0
    for threads in (1, 4):
        torch.set_num_threads(threads)
        decoded = decompress_point_cloud(encoded.data, tiny_hyperprior)
        assert decoded.dtype == np.int32
        np.testing.assert_array_equal(decoded, expected, err_msg=f"{threads} threads")
