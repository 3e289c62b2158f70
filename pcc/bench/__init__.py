"""Speed and size benchmarks: ``python -m pcc.bench [NAME ...] [--quick] [--out DIR]``
(``make bench``).

Every number is measured in the run that prints it, and every table carries *ratios measured side
by side in that run* (ours vs a reference, one codec vs the lossless octree coder, ...): absolute
times on a shared machine vary from run to run, ratios much less. Speed is never asserted in tests
(timed tests are flaky on shared machines); it is printed here and written to disk.

The runner (:mod:`pcc.bench.runner`) discovers the modules, runs the ones named (all by default),
prints their tables and writes a fresh folder ``output/bench-<YYYYmmdd-HHMMSS>/`` with

* ``run.json``: date, machine (CPU model, cores, load average before and after, torch / numpy /
  Python versions), arguments, and per benchmark its status (``ok`` / ``no rows`` / ``error``)
  and wall time;
* ``<name>.json``: ``{"benchmark", "quick", "seconds", "tables": {table: [row, ...]}}``;
* ``<name>.csv`` (one table) or ``<name>-<table>.csv`` (several tables).

Convention for a benchmark module (how to add one)
---------------------------------------------------
A module ``pcc/bench/bench_<name>.py`` is found automatically (``python -m pcc.bench <name>``).
It defines::

    def main(quick: bool = False) -> list[dict] | dict[str, list[dict]] | None:
        ...

* ``quick=True`` is the smoke size: the whole ``python -m pcc.bench --quick`` stays under two
  minutes on two shared cores, so each module should take a few seconds to ~30 s.
* It prints its own table(s) (fixed-width columns, units in the headers) as it goes.
* It **returns the rows** it printed: a list of flat dicts (one table) or a dict
  ``{table name: rows}``. Values are JSON scalars (str, int, float, bool, None). Name columns
  with their unit (``encode_ms``, ``bpp``, ``peak_mib``) and put the side-by-side ratio in a
  column of its own (``speedup``, ``x_smaller``, ``time_vs_ours``). Returning ``None`` is allowed:
  the runner then only records that the module ran.
* Optionally ``main(quick, out_dir)``: when the signature has an ``out_dir`` parameter the runner
  passes ``<bench folder>/<name>/`` (created) for files the benchmark writes (e.g. the real
  compressed files whose sizes :mod:`pcc.bench.bench_compare` reports).
* Torch on one thread unless the benchmark is about threads (restore the old count after);
  seeds fixed; a module that needs optional packages or ``../shared/data`` says what it skipped.
* An exception in one module is printed and recorded in ``run.json``; the others still run and
  the runner exits with status 1.

``python -m pcc.bench.results`` (``make results``) turns a full (not ``--quick``) bench folder
plus the codec RD ladders and a c3dgs run into ``docs/results.md``.
"""

from __future__ import annotations

__all__ = ["available"]


def available() -> list[str]:
    """Names of the benchmark modules (``bench_<name>.py`` in this package), sorted."""
    import pkgutil

    return sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules(__path__)
        if m.name.startswith("bench_")
    )
