"""Rates and Pareto fronts (pcc.metrics.rate)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pcc.metrics import pointcloud
from pcc.metrics.rate import bits_per_point, pareto_front


def test_bits_per_point_from_sizes_or_bytes():
    assert bits_per_point(1000, 8000) == 1.0
    assert bits_per_point(b"\x00" * 3, 4) == 6.0
    assert pointcloud.bits_per_point is bits_per_point  # one function, two addresses
    with pytest.raises(ValueError, match="positive"):
        bits_per_point(b"abc", 0)
    with pytest.raises(ValueError, match=">= 0"):
        bits_per_point(-1, 3)


def test_pareto_front_keeps_undominated_points_by_rate():
    rows = [
        {"id": "a", "bpp": 0.3, "d1_psnr": 65.0},
        {"id": "b", "bpp": 0.2, "d1_psnr": 59.0},  # beaten by c: lower rate, higher PSNR
        {"id": "c", "bpp": 0.1, "d1_psnr": 60.0},
        {"id": "d", "bpp": 0.3, "d1_psnr": 64.0},  # same rate as a, worse
        {"id": "e", "bpp": 0.5, "d1_psnr": 65.0},  # no better than a at a higher rate
        {"id": "f", "bpp": 0.9, "d1_psnr": math.inf},  # lossless
    ]
    assert [r["id"] for r in pareto_front(rows)] == ["c", "a"]
    assert [r["id"] for r in pareto_front(rows, finite_only=False)] == ["c", "a", "f"]
    assert pareto_front([]) == []
    d2 = [{"bpp": 1.0, "d2_psnr": 50.0}, {"bpp": 2.0, "d2_psnr": 49.0}]
    assert pareto_front(d2, "d2_psnr") == d2[:1]


def test_pareto_front_against_brute_force():
    rng = np.random.default_rng(0)
    bpp = rng.integers(0, 40, 200)
    psnr = bpp + rng.integers(-15, 15, 200)  # quality rises with rate, with scatter
    rows = [{"bpp": float(b), "d1_psnr": float(q)} for b, q in zip(bpp, psnr)]
    points = {(r["bpp"], r["d1_psnr"]) for r in rows}
    expected = sorted(
        (b, q)
        for b, q in points
        if not any(b2 <= b and q2 >= q and (b2, q2) != (b, q) for b2, q2 in points)
    )
    assert [(r["bpp"], r["d1_psnr"]) for r in pareto_front(rows)] == expected
    assert len(expected) >= 3
