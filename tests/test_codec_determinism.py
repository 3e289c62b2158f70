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


# ----------------------------------------------------------------------------- CPU -> CUDA
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
def test_cpu_encoded_learned_stream_decodes_identically_on_cuda(tiny_hyperprior):
    """A stream encoded on the CPU decodes to the same cloud with the model on the GPU: the
    entropy parameters recomputed on the GPU must select the same coding tables."""
    import copy

    rng = np.random.default_rng(4)
    cloud = np.unique(rng.integers(0, 48, size=(500, 3)), axis=0)
    encoded = encode_point_cloud(cloud, tiny_hyperprior, mode="topk", blocks_per_stream=2)
    on_cpu = decompress_point_cloud(encoded.data, tiny_hyperprior)
    gpu_model = copy.deepcopy(tiny_hyperprior).to("cuda")
    gpu_model.update(force=True)
    on_gpu = decompress_point_cloud(encoded.data, gpu_model)
    np.testing.assert_array_equal(on_gpu, on_cpu)
    np.testing.assert_array_equal(on_cpu, encoder_reconstruction(encoded, tiny_hyperprior))


@cuda
def test_cpu_encoded_pcc3dgs_decodes_identically_on_cuda(tmp_path):
    """``.pcc3dgs`` written on the CPU, decoded and de-quantised with the tensors on the GPU:
    the codes are bit-exact and the de-quantised parameters equal the CPU ones."""
    import dataclasses
    import sys
    from pathlib import Path

    from pcc.c3dgs.storage_pcc import load_pcc

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    import fuzz

    path = tmp_path / "m.pcc3dgs"
    path.write_bytes(fuzz.seed_files(tmp_path)["pcc3dgs"])
    q = load_pcc(path)
    tensors = {
        f.name: getattr(q, f.name).to("cuda")
        for f in dataclasses.fields(q)
        if isinstance(getattr(q, f.name), torch.Tensor)
    }
    q_gpu = dataclasses.replace(q, **tensors)
    assert q_gpu.equal(q_gpu) and all(t.is_cuda for t in tensors.values())
    cpu, gpu = q.dequantize(), q_gpu.dequantize()
    for f in dataclasses.fields(cpu):
        a, b = getattr(cpu, f.name), getattr(gpu, f.name)
        if f.name == "opacity_logits":  # a logit: CUDA's log may differ in the last ulp
            torch.testing.assert_close(b.cpu(), a, rtol=1e-6, atol=0)
        else:
            assert torch.equal(b.cpu(), a), f.name
