"""Entropy-model benchmarks, measured side by side in one run.

1. Scale lookup: binary search (``torch.searchsorted``, what the codec uses) vs the broadcast
   argmin reference over the 64-entry log scale table (identical indices, checked).
2. Attention: the windowed causal attention layer the attention entropy model uses (gathered
   (2w+1)^3 half-windows, memory O(P T)) vs full masked P x P attention, time and peak memory
   (peak RSS increase over the call, Linux VmHWM reset via /proc/self/clear_refs, in a fresh
   subprocess per variant).
3. Coding: compress / decompress time and real bits of the six entropy models (random weights,
   32 channels) on a batch of 4^3 latents, one stream for the whole batch.

Run with ``python -m pcc.bench entropy [--quick]``; returns the tables ``scale_lookup``,
``attention`` and ``coding`` (``speedup`` = reference time / fast time, ``memory_ratio`` = full /
windowed peak, ``decode_vs_hyperprior``, all from this run). Taught in
``notebooks/12_entropy_models.ipynb`` and ``notebooks/15_performance.ipynb``.
"""

from __future__ import annotations

import subprocess
import sys
import time

import torch

from pcc.codec.entropy import ENTROPY_MODELS, build_entropy_model
from pcc.codec.entropy.gaussian_conditional import (
    make_scale_table,
    scale_index,
    scale_index_reference,
)


def _best_time(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_scale_lookup(quick: bool) -> list[dict]:
    """searchsorted vs broadcast argmin on N random scales."""
    rows = []
    table = make_scale_table()
    print(f"{'N scales':>10} {'searchsorted ms':>16} {'argmin ms':>10} {'ratio':>7} identical")
    for n in (10_000, 200_000) if quick else (10_000, 200_000, 2_000_000):
        scales = torch.exp(torch.empty(n).uniform_(-3.0, 6.0))
        t_fast = _best_time(lambda s=scales: scale_index(s, table))
        t_ref = _best_time(lambda s=scales: scale_index_reference(s, table))
        same = torch.equal(scale_index(scales, table), scale_index_reference(scales, table))
        print(f"{n:>10} {1e3 * t_fast:>16.2f} {1e3 * t_ref:>10.2f} {t_ref / t_fast:>7.1f} {same}")
        rows.append(
            {"scales": n, "searchsorted_ms": 1e3 * t_fast, "argmin_ms": 1e3 * t_ref,
             "speedup": t_ref / t_fast, "identical": bool(same)}
        )  # fmt: skip
    return rows


_ATTENTION_SCRIPT = """
import sys, time, torch
from pcc.codec.entropy.attention import WindowAttention, neighbour_table
from pcc.codec.entropy.context import causal_offsets
torch.set_num_threads(1)
torch.manual_seed(0)
size, window, variant, dim = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], 64
offsets = causal_offsets(2 * window + 1)
index, valid = neighbour_table((size, size, size), offsets)
p = index.shape[0]
layer = WindowAttention(dim, 4, offsets.shape[0]).eval()
h = torch.randn(1, p, dim)
memory = torch.randn(1, p, dim)
if variant == "dense":
    allowed = torch.zeros(p, p, dtype=torch.bool)
    offset_id = torch.full((p, p), -1, dtype=torch.int64)
    rows = torch.arange(p)[:, None].expand_as(index)
    allowed[rows[valid], index[valid]] = True
    offset_id[rows[valid], index[valid]] = torch.arange(index.shape[1]).expand_as(index)[valid]
    run = lambda: layer.forward_dense(h, memory, offset_id, allowed)
else:
    run = lambda: layer.forward_kv(h, layer.key_value(memory)[:, index], valid)
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])  # kB
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak RSS (VmHWM) to the current RSS
before = status("VmRSS:")
with torch.no_grad():
    start = time.perf_counter(); out = run(); seconds = time.perf_counter() - start
    peak = status("VmHWM:")
    start = time.perf_counter(); out = run(); seconds = min(seconds, time.perf_counter() - start)
print(seconds, (peak - before) / 1024.0, float(out.abs().sum()))
"""


def _attention_run(size: int, window: int, variant: str) -> tuple[float, float, float]:
    result = subprocess.run(
        [sys.executable, "-c", _ATTENTION_SCRIPT, str(size), str(window), variant],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, mib, checksum = (float(v) for v in result.stdout.split())
    return seconds, mib, checksum


def bench_attention(quick: bool) -> list[dict]:
    """One attention layer (dim 64, 4 heads, window radius 2) on a size^3 latent."""
    rows = []
    print(
        f"{'grid':>6} {'tokens':>7} {'windowed ms':>12} {'full ms':>9} {'ratio':>6} "
        f"{'windowed MiB':>13} {'full MiB':>9} same"
    )
    for size in (10,) if quick else (6, 10, 14):
        t_w, m_w, c_w = _attention_run(size, 2, "windowed")
        t_d, m_d, c_d = _attention_run(size, 2, "dense")
        same = abs(c_w - c_d) <= 1e-3 * max(1.0, abs(c_d))
        print(
            f"{size:>4}^3 {size**3:>7} {1e3 * t_w:>12.1f} {1e3 * t_d:>9.1f} {t_d / t_w:>6.1f} "
            f"{m_w:>13.1f} {m_d:>9.1f} {same}"
        )
        rows.append(
            {"grid": size, "tokens": size**3, "windowed_ms": 1e3 * t_w, "full_ms": 1e3 * t_d,
             "speedup": t_d / t_w, "windowed_mib": m_w, "full_mib": m_d,
             "memory_ratio": m_d / m_w if m_w > 0 else None, "same": bool(same)}
        )  # fmt: skip
    return rows


def bench_coding(quick: bool) -> list[dict]:
    """compress / decompress of B latents [B, 32, 4, 4, 4] with each entropy model."""
    blocks = 64 if quick else 512
    g = torch.Generator().manual_seed(0)
    y = torch.nn.functional.avg_pool3d(torch.randn(blocks, 32, 6, 6, 6, generator=g), 3, 1) * 3
    print(f"{blocks} latents [32, 4, 4, 4] in one stream (random weights)")
    print(f"{'model':>10} {'encode s':>9} {'decode s':>9} {'bits/elem':>10} {'est/real':>9} exact")
    rows = []
    for name in ENTROPY_MODELS:
        torch.manual_seed(0)
        model = build_entropy_model(name, 32).eval()
        model.update()
        start = time.perf_counter()
        data = model.compress(y)
        t_enc = time.perf_counter() - start
        start = time.perf_counter()
        y_hat = model.decompress(data, tuple(y.shape))
        t_dec = time.perf_counter() - start
        with torch.no_grad():
            exact = torch.equal(y_hat, model(y).y_hat)
        bits = 8 * len(data)
        ratio = model.estimate_bits(y) / bits
        print(
            f"{name:>10} {t_enc:>9.2f} {t_dec:>9.2f} {bits / y.numel():>10.3f} "
            f"{ratio:>9.4f} {exact}"
        )
        rows.append(
            {"model": name, "latents": blocks, "encode_s": t_enc, "decode_s": t_dec,
             "bytes": len(data), "bits_per_element": bits / y.numel(), "estimate_over_real": ratio,
             "exact": bool(exact)}
        )  # fmt: skip
    base = next((r for r in rows if r["model"] == "hyperprior"), None)
    for r in rows:
        r["decode_vs_hyperprior"] = r["decode_s"] / base["decode_s"] if base else None
    return rows


def main(quick: bool = False) -> dict[str, list[dict]]:
    """Print the three tables (torch on one thread: the codec codes single-threaded) and return
    them as ``scale_lookup``, ``attention`` and ``coding`` rows."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        print("-- scale lookup (64-entry table) --")
        lookup = bench_scale_lookup(quick)
        print("-- attention: windowed (gathered) vs full masked --")
        attention = bench_attention(quick)
        print("-- entropy coding --")
        coding = bench_coding(quick)
        return {"scale_lookup": lookup, "attention": attention, "coding": coding}
    finally:
        torch.set_num_threads(old)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
