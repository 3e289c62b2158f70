"""The memory profiler (``pcc.memory``) sees known allocations, and only inside its block."""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest
import torch

from pcc.memory import MIB, MemoryProfiler, current_rss, release_free_memory, reset_rss_peak

SIZE = 200 * 1_000_000  # bytes: the known allocation (200 MB)


def _touch_numpy() -> float:
    a = np.ones(SIZE // 8)  # float64, every page written
    value = float(a[-1])
    del a
    return value


def _touch_torch() -> float:
    t = torch.ones(SIZE // 4)  # float32, every page written
    value = float(t[-1])
    del t
    return value


def test_sees_a_200_mb_numpy_array():
    gc.collect()
    with MemoryProfiler() as mem:
        _touch_numpy()
    r = mem.report
    assert r.method in ("vmhwm", "sampling")
    # the array was freed inside the block: the peak saw it, the end did not keep it
    assert 0.95 * SIZE <= r.rss_increase <= SIZE + 60 * MIB
    assert r.rss_end - r.rss_start < 0.5 * SIZE
    # numpy reports its buffers to tracemalloc
    assert 0.99 * SIZE <= r.python_peak <= SIZE + 5 * MIB
    assert mem.peak_bytes == r.rss_increase
    assert mem.peak_mb == pytest.approx(r.rss_increase / 1e6)


def test_sampling_sees_an_array_held_for_a_while():
    gc.collect()
    with MemoryProfiler(method="sampling", interval=0.001) as mem:
        a = np.ones(SIZE // 8)
        time.sleep(0.1)  # held long enough for many samples
        del a
    assert mem.report.method == "sampling"
    assert 0.95 * SIZE <= mem.report.rss_increase <= SIZE + 60 * MIB


def test_torch_cpu_tensors_are_seen_by_rss_not_by_tracemalloc():
    gc.collect()
    with MemoryProfiler() as mem:
        _touch_torch()
    r = mem.report
    assert 0.95 * SIZE <= r.rss_increase <= SIZE + 60 * MIB
    assert r.python_peak < 10 * MIB  # torch's allocator does not report to tracemalloc
    if not torch.cuda.is_available():
        assert r.cuda_peak is None


def test_a_block_below_an_earlier_peak_is_not_charged_for_it():
    """ru_maxrss would report the earlier 200 MB peak; the profiler reports the block's own."""
    _touch_numpy()  # an earlier, larger peak in this process
    with MemoryProfiler() as mem:
        small = np.ones(2_000_000)  # 16 MB
        small[-1] = 2.0
    assert mem.report.rss_increase < 60 * MIB
    assert mem.report.python_peak >= 15_000_000


def _fragment(chunk: int, count: int) -> list:
    """Leave ``count`` freed ``chunk``-byte holes in glibc's heap: a first round is mmapped and
    freed (which raises glibc's mmap threshold above ``chunk``), a second round comes from the
    heap, interleaved with small objects that stay alive, and is freed: the holes cannot be
    trimmed from the top of the heap, so the allocator keeps them resident."""
    first = [np.ones(chunk // 8) for _ in range(count)]
    del first
    pins, holes = [], []
    for _ in range(count):
        holes.append(np.ones(chunk // 8))
        pins.append(bytearray(64 * 1024))
    del holes
    return pins


@pytest.mark.parametrize("trim", [False, True])
def test_memory_the_allocator_kept_is_counted_when_reused(trim):
    """Reusing memory the allocator kept does not raise the RSS; with ``trim`` (the default)
    that memory is returned to the OS first, so the block pays for what it allocates."""
    chunk, count = 1 << 20, 150  # 150 x 1 MiB
    pins = _fragment(chunk, count)
    with MemoryProfiler(trim=trim) as mem:
        again = [np.ones(chunk // 8) for _ in range(count)]
        del again
    del pins
    if trim:
        assert mem.report.rss_increase >= 0.9 * chunk * count
    elif mem.report.rss_increase >= 0.5 * chunk * count:
        pytest.skip("this allocator returned the holes by itself: nothing to show")


def test_nested_profilers_keep_the_outer_peak():
    if not reset_rss_peak():
        pytest.skip("no /proc/self/clear_refs: nothing to nest")
    gc.collect()
    with MemoryProfiler() as outer:
        _touch_numpy()  # peak of the outer block, before the inner one resets the mark
        with MemoryProfiler() as inner:
            x = np.ones(1000)
            del x
    assert inner.report.rss_increase < 40 * MIB
    assert outer.report.rss_increase >= 0.95 * SIZE
    assert outer.report.python_peak >= 0.99 * SIZE


def test_report_as_dict_and_errors():
    with pytest.raises(ValueError):
        MemoryProfiler(method="guess")
    mem = MemoryProfiler(python=False)
    with pytest.raises(RuntimeError):
        _ = mem.peak_mib
    with mem:
        pass
    d = mem.as_dict()
    assert d["python_peak_mib"] is None and d["method"] in ("vmhwm", "sampling")
    assert d["rss_increase_mib"] >= 0 and d["seconds"] >= 0
    assert current_rss() > 0
    assert isinstance(release_free_memory(), bool)
