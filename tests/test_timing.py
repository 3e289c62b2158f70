"""The timer context manager and the Timings dict."""

from __future__ import annotations

import time

import pytest

from pcc.timing import Timings, timer


def test_timer_records_and_accumulates():
    t = Timings()
    with t("a"):
        time.sleep(0.01)
    first = t["a"]
    assert first >= 0.009
    with t("a"):
        pass
    assert t["a"] >= first
    with t("b"):
        pass
    assert list(t) == ["a", "b"] and t.total == pytest.approx(t["a"] + t["b"])
    assert t.rounded(2) == {"a": round(t["a"], 2), "b": round(t["b"], 2)}


def test_timer_on_a_plain_dict_records_even_on_error():
    d: dict[str, float] = {}
    with pytest.raises(RuntimeError), timer("fails", d):
        raise RuntimeError("boom")
    assert d["fails"] >= 0.0
