"""Speed benchmarks: ``python -m pcc.bench [NAME ...] [--quick]`` (``make bench``).

Each benchmark is a module ``pcc/bench/bench_<name>.py`` defining ``main(quick: bool) -> None``
that prints a table of timings *and ratios measured side by side in the same run*. Speed is never
asserted in tests (timed tests are flaky on shared machines); it is printed here.
"""
