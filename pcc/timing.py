"""Wall-clock timings of named steps, gathered into one dict.

Usage::

    timings = Timings()
    with timings("prune"):
        ...
    with timer("encode", timings):   # the same, for a plain dict
        ...
    timings.rounded()                # {"prune": 0.012, "encode": 0.4}

Repeated names accumulate (two ``with timings("render")`` blocks add up). Seconds are measured with
:func:`time.perf_counter`; a step that raises is still recorded. Taught in
``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager


@contextmanager
def timer(name: str, timings: MutableMapping[str, float]) -> Iterator[None]:
    """Add the seconds spent inside the ``with`` block to ``timings[name]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + (time.perf_counter() - start)


class Timings(dict):
    """A ``dict`` of step name -> seconds that is also a timer: ``with timings("step"): ...``."""

    def __call__(self, name: str):
        return timer(name, self)

    @property
    def total(self) -> float:
        """Sum of all recorded steps (seconds)."""
        return float(sum(self.values()))

    def rounded(self, digits: int = 3) -> dict[str, float]:
        """A plain dict with the seconds rounded (for ``metrics.json``)."""
        return {k: round(v, digits) for k, v in self.items()}
