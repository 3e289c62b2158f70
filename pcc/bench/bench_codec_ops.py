"""Codec operations measured honestly: what the speed-ups of DeepCompress V2's README are worth.

Every function returns rows (plain dicts) so that ``notebooks/15_performance.ipynb`` can plot
them; ``main(quick)`` prints them as tables (``python -m pcc.bench codec_ops [--quick]``). All
variants of one comparison run side by side in the same process, alternated, best of
``repeat``; peak memory comes from :class:`pcc.memory.MemoryProfiler` (RSS increase over the
call, kernel high-water mark, allocator's free memory returned first). One torch thread unless ``threads`` says otherwise. Times are
from a shared machine: compare the ratios within one run, not absolute numbers across runs.

1. :func:`scale_lookup_rows`: binary search (``torch.searchsorted``, what the codec uses) vs the
   broadcast argmin over the 64-entry scale table; time and peak memory vs the number of scales.
2. :func:`mask_rows`: vectorised vs loop creation of the raster-order causal mask of a k^3
   masked convolution (expanded to a 64 -> 128 channel weight), next to one forward pass of that
   convolution, which the mask is made once for.
3. :func:`attention_rows`: windowed (gathered causal half-window) vs full masked P x P attention,
   time and peak memory vs the number of latent positions P (the crossover is where full
   attention stops being faster).
4. :func:`constants_rows`: the rate ``-sum log2 p`` with log(2) recomputed on every call vs a
   precomputed constant vs ``torch.log2``, plus an A/A row (the same variant timed twice) that
   shows the measurement noise, and the codec's forward pass for scale.
5. :func:`precision_rows`: fp32 vs bf16 autocast on the synthesis transform (the decoder's cost)
   and the whole block codec, with the logit error and the top-k agreement.
6. :func:`throughput_rows`: encode / decode points per second and peak memory of the bundled
   learned models, the octree coder and Draco on one cloud.
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch

from pcc.codec.entropy.attention import WindowAttention, neighbour_table
from pcc.codec.entropy.context import causal_offsets, raster_mask, raster_mask_reference
from pcc.codec.entropy.gaussian_conditional import (
    make_scale_table,
    scale_index,
    scale_index_reference,
)
from pcc.memory import MemoryProfiler
from pcc.metrics.rate import bits_per_point

LOG2 = math.log(2.0)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch threads (None: leave as is), restoring after."""
    old = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def time_variants(fns: dict[str, Callable[[], object]], repeat: int = 5) -> dict[str, float]:
    """Best wall time (s) of each function over ``repeat`` rounds, the variants alternated in
    every round (each round starting with the next variant) so that a slow moment of a shared
    machine, or being first in a round, hits all of them alike."""
    best = {name: float("inf") for name in fns}
    names = list(fns)
    for i in range(repeat):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            fn = fns[name]
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def peak_mib(fn: Callable[[], object]) -> float:
    """Peak RSS increase (MiB) while ``fn`` runs (tracemalloc off: it would slow Python down).
    The profiler first returns the allocator's free memory to the OS, so memory kept from earlier
    calls is not silently reused; :func:`in_fresh_process` is the stricter check."""
    with MemoryProfiler(python=False) as mem:
        fn()
    return mem.peak_mib


def in_fresh_process(function: str, *args) -> dict:
    """Call ``pcc.bench.bench_codec_ops.<function>(*args)`` in a new Python process and return
    the dict it returns (e.g. ``in_fresh_process("attention_peak", 10, "full")``): no memory
    kept by the allocator, no earlier state; the strictest peak-memory measurement, at the cost
    of starting Python and torch (seconds) per call."""
    code = (
        "import json, sys; import pcc.bench.bench_codec_ops as m; "
        f"print(json.dumps(m.{function}(*json.loads(sys.argv[1]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(args))],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- 1. scale lookup


def scale_lookup_rows(
    sizes=(10_000, 100_000, 1_000_000), repeat: int = 5, threads: int | None = 1
) -> list[dict]:
    """searchsorted vs broadcast argmin on N random scales (log-uniform over the table's range
    and beyond): ms, peak MiB, identical indices."""
    table = make_scale_table()
    rows = []
    with torch_threads(threads):
        for n in sizes:
            g = torch.Generator().manual_seed(n)
            scales = torch.exp(torch.empty(int(n)).uniform_(-3.0, 6.0, generator=g))
            t = time_variants(
                {
                    "search": lambda s=scales: scale_index(s, table),
                    "argmin": lambda s=scales: scale_index_reference(s, table),
                },
                repeat,
            )
            rows.append(
                {
                    "n": int(n),
                    "table": int(table.numel()),
                    "search_ms": 1e3 * t["search"],
                    "argmin_ms": 1e3 * t["argmin"],
                    "speedup": t["argmin"] / t["search"],
                    "search_mib": peak_mib(lambda s=scales: scale_index(s, table)),
                    "argmin_mib": peak_mib(lambda s=scales: scale_index_reference(s, table)),
                    "identical": bool(
                        torch.equal(
                            scale_index(scales, table), scale_index_reference(scales, table)
                        )
                    ),
                }
            )
    return rows


def scale_lookup_peak(n: int, variant: str) -> dict:
    """Peak RSS increase (MiB) of one lookup of ``n`` scales (run by :func:`in_fresh_process`)."""
    torch.set_num_threads(1)
    table = make_scale_table()
    scales = torch.exp(torch.empty(int(n)).uniform_(-3.0, 6.0))
    fn = scale_index if variant == "search" else scale_index_reference
    return {"mib": peak_mib(lambda: fn(scales, table))}


# ----------------------------------------------------------------------------- 2. masks


def mask_rows(
    kernels=(3, 5, 7, 9), channels=(64, 128), repeat: int = 5, threads: int | None = 1
) -> list[dict]:
    """Mask creation (vectorised vs loop, expanded to ``[out, in, k, k, k]``) next to one masked
    3D convolution forward on a ``[1, in, 8, 8, 8]`` input, for each kernel size."""
    c_in, c_out = channels
    rows = []
    with torch_threads(threads):
        for k in kernels:
            weight = torch.randn(c_out, c_in, k, k, k)
            x = torch.randn(1, c_in, 8, 8, 8)
            mask = raster_mask(k, "A")

            def conv(w=weight, m=mask, x=x, k=k):
                return torch.nn.functional.conv3d(x, w * m, padding=k // 2)

            t = time_variants(
                {
                    "vectorised": lambda k=k, w=weight: raster_mask(k, "A").expand_as(w).clone(),
                    "loop": lambda k=k, w=weight: (
                        raster_mask_reference(k, "A").expand_as(w).clone()
                    ),
                    "conv": conv,
                },
                repeat,
            )
            rows.append(
                {
                    "kernel": int(k),
                    "weight_shape": f"{c_out}x{c_in}x{k}x{k}x{k}",
                    "vectorised_ms": 1e3 * t["vectorised"],
                    "loop_ms": 1e3 * t["loop"],
                    "speedup": t["loop"] / t["vectorised"],
                    "conv_forward_ms": 1e3 * t["conv"],
                    "identical": bool(torch.equal(raster_mask(k, "A"), raster_mask_reference(k))),
                }
            )
    return rows


# ----------------------------------------------------------------------------- 3. attention


def attention_inputs(size: int, window: int = 2, dim: int = 64, heads: int = 4, seed: int = 0):
    """One attention layer and its inputs on a ``size^3`` latent grid (P = size^3 positions):
    ``(layer, h [1, P, E], memory [1, P, E], index [P, T], valid [P, T], offset_id [P, P],
    allowed [P, P])``; T = ((2 window + 1)^3 - 1) / 2 causal taps."""
    torch.manual_seed(seed)
    offsets = causal_offsets(2 * window + 1)
    index, valid = neighbour_table((size, size, size), offsets)
    layer = WindowAttention(dim, heads, offsets.shape[0]).eval()
    p = index.shape[0]
    h = torch.randn(1, p, dim)
    memory = torch.randn(1, p, dim)
    rows = torch.arange(p)[:, None].expand_as(index)
    allowed = torch.zeros(p, p, dtype=torch.bool)
    allowed[rows[valid], index[valid]] = True
    offset_id = torch.full((p, p), -1, dtype=torch.int64)
    offset_id[rows[valid], index[valid]] = torch.arange(index.shape[1]).expand_as(index)[valid]
    return layer, h, memory, index, valid, offset_id, allowed


def attention_rows(
    sizes=(2, 3, 4, 6, 8, 10, 12),
    window: int = 2,
    dim: int = 64,
    heads: int = 4,
    repeat: int = 3,
    threads: int | None = 1,
) -> list[dict]:
    """Windowed vs full attention, one layer (dim 64, 4 heads, window radius 2, 62 taps), on
    ``size^3`` positions: ms, peak MiB of one call, max |difference| of the outputs. The mask and
    offset tables of the full variant are inputs (built once per grid), as in the codec."""
    rows = []
    with torch_threads(threads), torch.no_grad():
        for size in sizes:
            layer, h, memory, index, valid, offset_id, allowed = attention_inputs(
                size, window, dim, heads
            )

            def windowed(layer=layer, h=h, memory=memory, index=index, valid=valid):
                return layer.forward_kv(h, layer.key_value(memory)[:, index], valid)

            def full(layer=layer, h=h, memory=memory, o=offset_id, a=allowed):
                return layer.forward_dense(h, memory, o, a)

            t = time_variants({"windowed": windowed, "full": full}, repeat)
            rows.append(
                {
                    "grid": int(size),
                    "tokens": int(size**3),
                    "taps": int(index.shape[1]),
                    "windowed_ms": 1e3 * t["windowed"],
                    "full_ms": 1e3 * t["full"],
                    "time_ratio": t["full"] / t["windowed"],
                    "windowed_mib": peak_mib(windowed),
                    "full_mib": peak_mib(full),
                    "max_abs_diff": float((windowed() - full()).abs().max()),
                }
            )
            rows[-1]["memory_ratio"] = rows[-1]["full_mib"] / max(rows[-1]["windowed_mib"], 1e-3)
            del layer, h, memory, index, valid, offset_id, allowed
    return rows


def attention_peak(size: int, variant: str, window: int = 2, dim: int = 64, heads: int = 4):
    """Peak RSS increase (MiB) of one attention call (run by :func:`in_fresh_process`); the
    inputs and tables are built before the measurement starts."""
    torch.set_num_threads(1)
    layer, h, memory, index, valid, offset_id, allowed = attention_inputs(size, window, dim, heads)
    with torch.no_grad():
        if variant == "windowed":
            mib = peak_mib(lambda: layer.forward_kv(h, layer.key_value(memory)[:, index], valid))
        else:
            mib = peak_mib(lambda: layer.forward_dense(h, memory, offset_id, allowed))
    return {"mib": mib}


def crossover(rows: list[dict], key: str = "time_ratio") -> int | None:
    """The smallest token count from which the full variant is slower (``key`` > 1) at every
    larger size measured; None when it never is."""
    ordered = sorted(rows, key=lambda r: r["tokens"])
    for i, r in enumerate(ordered):
        if all(s[key] > 1.0 for s in ordered[i:]):
            return int(r["tokens"])
    return None


# ----------------------------------------------------------------------------- 4. constants


def _rate_recomputed(p: torch.Tensor) -> torch.Tensor:
    return -torch.log(p).sum() / torch.log(torch.tensor(2.0))  # log(2) made on every call


def _rate_precomputed(p: torch.Tensor) -> torch.Tensor:
    return -torch.log(p).sum() / LOG2  # module constant


def _rate_log2(p: torch.Tensor) -> torch.Tensor:
    return -torch.log2(p).sum()  # what pcc.codec.loss does


def constants_rows(
    shapes=((4, 32, 4, 4, 4), (64, 32, 4, 4, 4), (16, 64, 8, 8, 8)),
    calls: int = 200,
    repeat: int = 7,
    threads: int | None = 1,
) -> list[dict]:
    """Time of ``calls`` rate evaluations on likelihoods of ``shape`` for each variant, in us per
    call, plus ``recomputed_again`` (the first variant timed a second time: the noise floor) and
    ``constant_us``, the cost of computing log(2) as a tensor alone: the most that precomputing
    it can save (``max_gain_pct`` of the recomputed variant)."""
    rows = []
    with torch_threads(threads), torch.no_grad():
        for shape in shapes:
            g = torch.Generator().manual_seed(0)
            p = torch.rand(*shape, generator=g).clamp_min(1e-9)
            variants = {
                "recomputed": _rate_recomputed,
                "precomputed": _rate_precomputed,
                "log2": _rate_log2,
                "recomputed_again": _rate_recomputed,
            }

            def many(fn, p=p):
                for _ in range(calls):
                    fn(p)

            t = time_variants({k: (lambda f=f: many(f)) for k, f in variants.items()}, repeat)
            us = {k: 1e6 * v / calls for k, v in t.items()}
            same = torch.allclose(_rate_recomputed(p), _rate_precomputed(p), rtol=1e-6)
            const = time_variants(
                {"c": lambda: [torch.log(torch.tensor(2.0)) for _ in range(calls)]}, repeat
            )["c"]
            constant_us = 1e6 * const / calls
            rows.append(
                {
                    "elements": int(p.numel()),
                    "shape": "x".join(str(v) for v in shape),
                    **{f"{k}_us": v for k, v in us.items()},
                    "precomputed_gain_pct": 100.0 * (1 - us["precomputed"] / us["recomputed"]),
                    "noise_pct": 100.0 * abs(1 - us["recomputed_again"] / us["recomputed"]),
                    "constant_us": constant_us,
                    "max_gain_pct": 100.0 * constant_us / us["recomputed"],
                    "same_value": bool(same),
                }
            )
    return rows


def codec_step_ms(codec, blocks: torch.Tensor, repeat: int = 3, threads: int | None = 1) -> dict:
    """Forward pass, and forward + backward (a training step without the optimiser), of the
    block codec on ``blocks [B, 1, S, S, S]``, in ms: the work one rate evaluation sits in."""
    from pcc.codec.loss import rate_distortion_loss

    codec.train()

    def forward():
        with torch.no_grad():
            return codec(blocks)

    def step():
        codec.zero_grad(set_to_none=True)
        out = codec(blocks)
        rate_distortion_loss(out["x_logits"], blocks, out["likelihoods"], 0.1).loss.backward()

    with torch_threads(threads):
        t = time_variants({"forward": forward, "step": step}, repeat)
    codec.zero_grad(set_to_none=True)
    codec.eval()
    return {
        "batch": int(blocks.shape[0]),
        "forward_ms": 1e3 * t["forward"],
        "train_step_ms": 1e3 * t["step"],
    }


# ----------------------------------------------------------------------------- 5. precision


def procedural_blocks(count: int, size: int = 32, seed: int = 3) -> torch.Tensor:
    """``count`` procedural shapes as occupancy blocks ``[count, 1, size, size, size]``."""
    from pcc.pointcloud.shapes import shape_at

    bits = int(size).bit_length() - 1
    x = torch.zeros(count, 1, size, size, size)
    for j in range(count):
        c = torch.from_numpy(shape_at(seed, j, bits=bits).astype(np.int64))
        x[j, 0, c[:, 0], c[:, 1], c[:, 2]] = 1.0
    return x


def bf16_supported() -> bool:
    """True when this CPU advertises native bf16 arithmetic (avx512_bf16 / amx_bf16 on x86;
    torch emulates bf16 elsewhere, usually slower than fp32)."""
    try:
        flags = open("/proc/cpuinfo", encoding="ascii").read()
    except OSError:
        return False
    return any(f in flags for f in ("avx512_bf16", "amx_bf16"))


def precision_rows(
    codec,
    blocks: torch.Tensor,  # [B, 1, S, S, S] occupancy
    repeat: int = 3,
    threads: int | None = 1,
    device: str = "cpu",
) -> list[dict]:
    """fp32 vs bf16 autocast (CPU) or fp16 autocast (CUDA) on g_s (the decoder's work) and on
    g_a: ms, speed-up, max |logit difference| and top-k agreement (share of decoded voxels the
    two precisions agree on, k = each block's point count)."""
    from pcc.codec.threshold import topk_occupancy

    dtype = torch.bfloat16 if device == "cpu" else torch.float16
    codec = codec.eval().to(device)
    blocks = blocks.to(device)
    rows = []
    with torch_threads(threads), torch.no_grad():
        y = codec.g_a(blocks.float())
        y_hat = torch.round(y)
        for stage, fn, inp in (("g_s (decoder)", codec.g_s, y_hat), ("g_a", codec.g_a, blocks)):

            def fp32(fn=fn, inp=inp):
                return fn(inp.float())

            def low(fn=fn, inp=inp):
                with torch.autocast(device_type=device, dtype=dtype):
                    return fn(inp.float())

            t = time_variants({"fp32": fp32, "low": low}, repeat)
            a, b = fp32().float(), low().float()
            row = {
                "stage": stage,
                "dtype": str(dtype).replace("torch.", ""),
                "batch": int(blocks.shape[0]),
                "fp32_ms": 1e3 * t["fp32"],
                "autocast_ms": 1e3 * t["low"],
                "speedup": t["fp32"] / t["low"],
                "max_abs_diff": float((a - b).abs().max()),
            }
            if stage.startswith("g_s"):
                agree = []
                for j in range(blocks.shape[0]):
                    k = int(blocks[j].sum())
                    m1, m2 = topk_occupancy(a[j, 0].cpu(), k), topk_occupancy(b[j, 0].cpu(), k)
                    agree.append(float((m1 & m2).sum()) / max(k, 1))
                row["topk_agreement"] = float(np.mean(agree))
            rows.append(row)
    return rows


# ----------------------------------------------------------------------------- 6. throughput


def throughput_rows(
    coords: np.ndarray,  # [N, 3] non-negative ints
    models=("hyperprior-l0.1", "attention-l0.1"),
    *,
    octree: bool = True,
    draco: bool = True,
    threads: int | None = 1,
    peak: float | None = None,
) -> list[dict]:
    """Encode / decode points per second (input points / wall seconds, model loaded) and peak
    RSS increase of each codec on ``coords``; rates are real file sizes."""
    from pcc.codec.evaluate import draco_available, evaluate_draco_point, evaluate_octree_point
    from pcc.codec.pipeline import _resolve, decompress_point_cloud, encode_point_cloud

    coords = np.asarray(coords)
    n = len(coords)
    rows = []
    with torch_threads(threads):
        for name in models:
            codec, _ = _resolve(name)  # loaded once: model loading is not coding
            with MemoryProfiler(python=False) as enc_mem:
                start = time.perf_counter()
                encoded = encode_point_cloud(coords, codec)
                t_enc = time.perf_counter() - start
            with MemoryProfiler(python=False) as dec_mem:
                start = time.perf_counter()
                decoded = decompress_point_cloud(encoded.data, codec)
                t_dec = time.perf_counter() - start
            rows.append(
                {
                    "codec": name if isinstance(name, str) else type(name).__name__,
                    "points": n,
                    "blocks": len(encoded.blocks),
                    "bpp": bits_per_point(encoded.data, n),
                    "encode_s": t_enc,
                    "decode_s": t_dec,
                    "encode_pts_per_s": n / t_enc,
                    "decode_pts_per_s": n / t_dec,
                    "encode_mib": enc_mem.peak_mib,
                    "decode_mib": dec_mem.peak_mib,
                    "decoded": int(len(decoded)),
                }
            )
        baselines = []
        if octree:
            baselines.append(("octree (lossless)", lambda: evaluate_octree_point(coords, 1.0)))
        if draco and draco_available():
            baselines.append(("draco q10", lambda: evaluate_draco_point(coords, 10)))
        for label, fn in baselines:  # timed inside (the profiler would see the metrics too)
            row = fn()
            rows.append(
                {
                    "codec": label,
                    "points": n,
                    "blocks": None,
                    "bpp": row["bpp"],
                    "encode_s": row["encode_s"],
                    "decode_s": row["decode_s"],
                    "encode_pts_per_s": n / row["encode_s"],
                    "decode_pts_per_s": n / row["decode_s"],
                    "encode_mib": None,
                    "decode_mib": None,
                    "decoded": row["n_decoded"],
                }
            )
    return rows


# ----------------------------------------------------------------------------- printing


def format_rows(rows: list[dict], columns: list[str] | None = None) -> str:
    """A plain fixed-width table of ``rows`` (floats with 3 significant digits)."""
    if not rows:
        return "(no rows)"
    columns = columns or list(rows[0])

    def cell(v):
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def main(quick: bool = False) -> dict[str, list[dict]]:
    """Print every table (one torch thread) and return them by name."""
    from pcc.codec.pipeline import _resolve
    from pcc.pointcloud.shapes import shape_at

    tables: dict[str, list[dict]] = {}

    def show(name: str, title: str, rows: list[dict]) -> None:
        print(f"-- {title} --")
        print(format_rows(rows), flush=True)
        tables[name] = rows

    sizes = (10_000, 200_000) if quick else (10_000, 100_000, 1_000_000)
    show("scale_lookup", "1. scale lookup: searchsorted vs argmin", scale_lookup_rows(sizes))
    kernels = (3, 5) if quick else (3, 5, 7, 9)
    show("masks", "2. causal mask creation vs one masked conv", mask_rows(kernels))
    rows = attention_rows((2, 4, 8, 10) if quick else (2, 3, 4, 6, 8, 10, 12, 14))
    show("attention", "3. attention: windowed vs full (dim 64, 4 heads, 62 taps)", rows)
    print(f"full attention slower from {crossover(rows)} tokens on (time)")
    print(f"full attention larger from {crossover(rows, 'memory_ratio')} tokens on (memory)")
    codec, _ = _resolve("hyperprior-l0.1")
    blocks = procedural_blocks(4)
    rows = constants_rows(calls=50 if quick else 200)
    step = codec_step_ms(codec, blocks, repeat=2 if quick else 3)
    for r in rows:
        saved_us = r["recomputed_us"] - r["precomputed_us"]
        r["saving_vs_train_step_pct"] = 100.0 * saved_us / (1e3 * step["train_step_ms"])
    show("constants", "4. precomputed log(2) (us per rate evaluation)", rows)
    show("codec_step", "   the codec step it sits in (4 blocks)", [step])
    show(
        "precision",
        f"5. mixed precision (native bf16 on this CPU: {bf16_supported()})",
        precision_rows(codec, blocks, repeat=2 if quick else 3),
    )
    bits = 7 if quick else 8
    models = ("hyperprior-l0.1",) if quick else ("hyperprior-l0.1", "attention-l0.1")
    show(
        "throughput",
        f"6. throughput on a procedural shape ({bits}-bit)",
        throughput_rows(shape_at(777, 0, bits=bits), models),
    )
    return tables


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
