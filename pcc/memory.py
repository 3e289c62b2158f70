"""Peak memory of a block of code: ``with MemoryProfiler() as mem: ...; mem.peak_mib``.

Three counters, because no single one sees everything:

* **RSS high-water mark** (resident set size of the whole process, any allocator: numpy, torch
  CPU tensors, Python objects, C libraries). ``getrusage().ru_maxrss`` is the peak over the
  *process lifetime*, so it says nothing about a block that stays below an earlier peak. On Linux
  the profiler resets the kernel's high-water mark to the current RSS on entry (writing ``5`` to
  ``/proc/self/clear_refs``) and reads ``VmHWM`` from ``/proc/self/status`` on exit: exact, no
  thread, nothing missed. Where that is not allowed (not Linux, a locked-down ``/proc``) a thread
  samples the RSS every ``interval`` seconds instead; it can miss a spike shorter than the
  interval, or one inside a C call that holds the GIL. ``method`` says which was used.
  ``rss_increase`` = peak RSS during the block - RSS at entry.
* **tracemalloc** (Python's allocation tracer): allocations made through Python's allocators,
  which includes numpy arrays (numpy reports its buffers to tracemalloc) but **not torch CPU
  tensors** (torch allocates with its own C++ allocator and does not report to tracemalloc): a
  200 MB torch tensor shows up in the RSS peak and not here. Tracing slows Python code down
  (every allocation is recorded), so it can be switched off (``python=False``).
* **CUDA** (when torch is imported and a GPU is present): ``torch.cuda.max_memory_allocated``
  after ``reset_peak_memory_stats``, minus what was allocated at entry: the caching allocator's
  peak of live tensors on that device.

The RSS peak counts pages actually touched: ``np.empty(10**9)`` costs nothing until written. It is
a per-process number: memory used by another thread during the block counts too. Memory that an
earlier computation freed but the C allocator kept for reuse (glibc keeps freed chunks in its
arenas) is still resident, so a block that reuses it looks free: on entry the profiler therefore
asks glibc to give such memory back (``malloc_trim(0)``; ``trim=False`` skips it), after which
the block's own allocations must fault in new pages and are counted. Resetting ``VmHWM`` also
lowers what ``ru_maxrss`` reports afterwards (Linux computes it from the same mark). Profilers
nest: an inner block's reset does not hide a peak from the outer one.

Used by ``pcc/bench/bench_codec_ops.py`` and taught in ``notebooks/15_performance.ipynb``.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass

__all__ = [
    "MemoryProfiler",
    "MemoryReport",
    "current_rss",
    "release_free_memory",
    "reset_rss_peak",
    "rss_peak",
]

MIB = float(1 << 20)
_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"
_active: list[MemoryProfiler] = []  # open profilers, outermost first
_lock = threading.Lock()


def _status_kib(key: str) -> int | None:
    try:
        with open(_STATUS, encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss() -> int:
    """Resident set size of this process in bytes (``/proc/self/statm``; else ``psutil``; else
    ``ru_maxrss``, which is only an upper bound)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        return _ru_maxrss()


def _ru_maxrss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB on Linux


def rss_peak() -> int | None:
    """The kernel's RSS high-water mark ``VmHWM`` in bytes (None where /proc is not there)."""
    kib = _status_kib("VmHWM:")
    return None if kib is None else kib * 1024


def release_free_memory() -> bool:
    """Return the C allocator's free memory to the OS (glibc ``malloc_trim(0)``); False where
    there is no glibc."""
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if not _LIBC:
        return False
    _LIBC.malloc_trim(0)
    return True


_LIBC = None


def reset_rss_peak() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        with open(_CLEAR_REFS, "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return rss_peak() is not None


@dataclass
class MemoryReport:
    """What one profiled block used (bytes; ``None`` = not measured)."""

    rss_start: int  # RSS at entry
    rss_end: int  # RSS at exit
    rss_peak: int  # highest RSS seen during the block
    python_peak: int | None  # tracemalloc: peak traced bytes above the level at entry
    cuda_peak: int | None  # torch.cuda: peak allocated bytes above the level at entry
    method: str  # "vmhwm" (kernel high-water mark) or "sampling" (thread every `interval` s)
    seconds: float  # wall time of the block

    @property
    def rss_increase(self) -> int:
        """Peak RSS during the block minus RSS at entry."""
        return max(0, self.rss_peak - self.rss_start)

    def as_dict(self) -> dict:
        """Plain numbers in MiB (and the method), for tables and metrics.json."""

        def mib(v):
            return None if v is None else v / MIB

        return {
            "rss_increase_mib": mib(self.rss_increase),
            "rss_peak_mib": mib(self.rss_peak),
            "rss_start_mib": mib(self.rss_start),
            "rss_end_mib": mib(self.rss_end),
            "python_peak_mib": mib(self.python_peak),
            "cuda_peak_mib": mib(self.cuda_peak),
            "method": self.method,
            "seconds": self.seconds,
        }


class MemoryProfiler:
    """Context manager measuring the peak memory of the enclosed code (see the module docstring).

    ``with MemoryProfiler() as mem: work()`` then ``mem.peak_mib`` (the RSS increase, or the CUDA
    peak when ``device`` is a CUDA device), ``mem.report`` (:class:`MemoryReport`).

    Args:
        python: also trace Python allocations with tracemalloc (slower Python code).
        cuda: measure torch.cuda peaks: None = when torch is imported and CUDA is available.
        method: "auto" (kernel high-water mark where allowed, else sampling), "vmhwm", "sampling".
        interval: sampling period in seconds (sampling method only).
        device: the CUDA device for the CUDA counters (default: the current one).
        trim: give the allocator's free memory back to the OS on entry (see the module
            docstring), so that reusing it counts.
    """

    def __init__(
        self,
        *,
        python: bool = True,
        cuda: bool | None = None,
        method: str = "auto",
        interval: float = 0.001,
        device=None,
        trim: bool = True,
    ):
        if method not in ("auto", "vmhwm", "sampling"):
            raise ValueError(f"method must be 'auto', 'vmhwm' or 'sampling', got {method!r}")
        self.python = python
        self.cuda = cuda
        self.method = method
        self.interval = float(interval)
        self.device = device
        self.trim = trim
        self.report: MemoryReport | None = None
        self._seen = 0  # highest RSS seen (bytes)
        self._py_seen = 0  # highest traced bytes seen (absolute)

    # -- the RSS counter ------------------------------------------------------------------
    def _observe(self, value: int) -> None:
        if value > self._seen:
            self._seen = value

    @staticmethod
    def _propagate() -> None:
        """Record the current high-water marks in every open profiler (before a reset)."""
        hwm = rss_peak()
        rss = current_rss()
        traced = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0
        for p in _active:
            p._observe(max(rss, hwm or 0) if p._method == "vmhwm" else rss)
            p._py_seen = max(p._py_seen, traced)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._observe(current_rss())

    def __enter__(self) -> MemoryProfiler:
        with _lock:
            self._propagate()
            if self.trim:
                release_free_memory()
            self._method = self.method
            if self._method in ("auto", "vmhwm"):
                if reset_rss_peak():
                    self._method = "vmhwm"
                elif self._method == "vmhwm":
                    raise OSError("cannot reset the RSS high-water mark (/proc/self/clear_refs)")
                else:
                    self._method = "sampling"
            self._start_rss = current_rss()
            self._seen = self._start_rss
            self._started_tracing = False
            if self.python:
                if not tracemalloc.is_tracing():
                    tracemalloc.start()
                    self._started_tracing = True
                else:
                    tracemalloc.reset_peak()
                self._py_start = tracemalloc.get_traced_memory()[0]
                self._py_seen = self._py_start
            self._cuda = self._cuda_module()
            if self._cuda is not None:
                self._cuda_start = self._cuda.memory_allocated(self.device)
                self._cuda.reset_peak_memory_stats(self.device)
            _active.append(self)
        if self._method == "sampling":
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        self._t0 = time.perf_counter()
        return self

    def _cuda_module(self):
        if self.cuda is False:
            return None
        torch = sys.modules.get("torch")
        if torch is None and self.cuda:
            import torch
        if torch is not None and torch.cuda.is_available():
            return torch.cuda
        return None

    def __exit__(self, *exc) -> None:
        seconds = time.perf_counter() - self._t0
        if self._method == "sampling":
            self._stop.set()
            self._thread.join()
        with _lock:
            end = current_rss()
            self._observe(end)
            if self._method == "vmhwm":
                self._observe(rss_peak() or end)
            python_peak = None
            if self.python:
                self._py_seen = max(self._py_seen, tracemalloc.get_traced_memory()[1])
                python_peak = max(0, self._py_seen - self._py_start)
                if self._started_tracing:
                    tracemalloc.stop()
            cuda_peak = None
            if self._cuda is not None:
                cuda_peak = max(0, self._cuda.max_memory_allocated(self.device) - self._cuda_start)
            _active.remove(self)
            for outer in _active:  # what this block saw, the enclosing blocks saw too
                outer._observe(self._seen)
                outer._py_seen = max(outer._py_seen, self._py_seen)
        self.report = MemoryReport(
            rss_start=self._start_rss,
            rss_end=end,
            rss_peak=self._seen,
            python_peak=python_peak,
            cuda_peak=cuda_peak,
            method=self._method,
            seconds=seconds,
        )

    # -- convenient numbers -----------------------------------------------------------------
    def _check(self) -> MemoryReport:
        if self.report is None:
            raise RuntimeError("the profiled block has not finished yet")
        return self.report

    @property
    def peak_bytes(self) -> int:
        """The peak of the block: CUDA peak when profiling a CUDA device, else the RSS increase."""
        r = self._check()
        if r.cuda_peak is not None and self.device is not None and "cuda" in str(self.device):
            return r.cuda_peak
        return r.rss_increase

    @property
    def peak_mib(self) -> float:
        """``peak_bytes`` in MiB (2^20 bytes)."""
        return self.peak_bytes / MIB

    @property
    def peak_mb(self) -> float:
        """``peak_bytes`` in MB (10^6 bytes)."""
        return self.peak_bytes / 1e6

    def as_dict(self) -> dict:
        """:meth:`MemoryReport.as_dict` of the finished block."""
        return self._check().as_dict()
