"""The measuring functions of ``pcc/bench/bench_codec_ops.py`` (notebook 15) at tiny sizes: rows
have their columns and the compared variants compute the same thing. Nothing here asserts a
time (timed tests are flaky on shared machines)."""

from __future__ import annotations

import torch

from pcc.bench import bench_codec_ops as bench
from pcc.pointcloud.shapes import shape_at


def test_scale_lookup_rows():
    (row,) = bench.scale_lookup_rows([2000], repeat=1)
    assert row["identical"] and row["table"] == 64 and row["n"] == 2000
    assert row["search_ms"] > 0 and row["argmin_ms"] > 0 and row["argmin_mib"] >= 0


def test_mask_rows():
    (row,) = bench.mask_rows([3], channels=(4, 8), repeat=1)
    assert row["identical"] and row["weight_shape"] == "8x4x3x3x3"


def test_attention_rows_agree_and_crossover():
    rows = bench.attention_rows([2, 3], dim=16, heads=2, repeat=1)
    assert [r["tokens"] for r in rows] == [8, 27]
    assert all(r["taps"] == 62 and r["max_abs_diff"] < 1e-5 for r in rows)
    fake = [{"tokens": t, "time_ratio": v} for t, v in ((8, 0.5), (64, 1.2), (512, 0.9), (1000, 2))]
    assert bench.crossover(fake) == 1000
    assert bench.crossover([{"tokens": 8, "time_ratio": 0.5}]) is None


def test_attention_peak_in_a_fresh_process():
    out = bench.in_fresh_process("attention_peak", 3, "full", 2, 16, 2)
    assert out["mib"] >= 0


def test_constants_rows():
    (row,) = bench.constants_rows(shapes=((2, 4, 2, 2, 2),), calls=3, repeat=1)
    assert row["same_value"] and row["elements"] == 64 and row["constant_us"] > 0
    assert {"recomputed_us", "precomputed_us", "log2_us", "noise_pct", "max_gain_pct"} <= set(row)


def test_precision_and_step_rows(tiny_hyperprior):
    blocks = bench.procedural_blocks(2)
    assert blocks.shape == (2, 1, 32, 32, 32) and blocks.sum() > 0
    rows = bench.precision_rows(tiny_hyperprior, blocks, repeat=1)
    assert [r["stage"] for r in rows] == ["g_s (decoder)", "g_a"]
    assert 0.0 <= rows[0]["topk_agreement"] <= 1.0 and rows[0]["dtype"] == "bfloat16"
    step = bench.codec_step_ms(tiny_hyperprior, blocks, repeat=1)
    assert step["batch"] == 2 and step["train_step_ms"] > 0
    assert not tiny_hyperprior.training  # left in eval mode
    assert all(p.grad is None for p in tiny_hyperprior.parameters())


def test_throughput_rows(tiny_hyperprior):
    cloud = shape_at(5, 0, bits=6)
    rows = bench.throughput_rows(cloud, [tiny_hyperprior], draco=False)
    learned, octree = rows
    assert learned["decoded"] == learned["points"] == len(cloud)
    assert learned["encode_pts_per_s"] > 0 and learned["decode_mib"] >= 0
    assert octree["codec"] == "octree (lossless)" and octree["decoded"] == len(cloud)
    assert torch.get_num_threads() >= 1


def test_format_rows():
    text = bench.format_rows([{"a": 1, "b": 0.123456}, {"a": 22, "b": None}])
    lines = text.splitlines()
    assert lines[0].split() == ["a", "b"] and "0.123" in lines[1] and "None" in lines[2]
