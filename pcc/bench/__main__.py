"""Run the benchmarks: ``python -m pcc.bench [NAME ...] [--quick] [--out DIR]`` (see
:mod:`pcc.bench` for what is written and how to add a benchmark)."""

from __future__ import annotations

import sys

from pcc.bench.runner import main

if __name__ == "__main__":
    sys.exit(main())
