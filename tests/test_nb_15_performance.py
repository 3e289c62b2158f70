import pytest

pytestmark = pytest.mark.notebooks


def test_15_performance(run_notebook):
    m = run_notebook("15_performance")
    # the memory profiler sees a known 200 MB allocation (191 MiB), numpy in tracemalloc too,
    # torch only in the RSS
    numpy_demo, torch_demo, small = m["memory_demo"]
    assert 180 <= numpy_demo["rss_increase_mib"] <= 240 and numpy_demo["python_peak_mib"] >= 180
    assert 180 <= torch_demo["rss_increase_mib"] <= 240 and torch_demo["python_peak_mib"] < 10
    assert small["rss_increase_mib"] < 60  # a later small block is not charged the old peak
    # the compared variants compute the same thing
    assert all(r["identical"] for r in m["scale_lookup"] + m["masks"])
    assert all(r["max_abs_diff"] < 1e-5 for r in m["attention"])
    assert all(r["same_value"] for r in m["constants"])
    # memory: the broadcast argmin needs far more than the search at the largest size
    big = max(m["scale_lookup"], key=lambda r: r["n"])
    assert big["argmin_mib"] > 10 * max(big["search_mib"], 0.1)
    # full attention needs more memory than windowed at the largest token count, less at 64
    assert m["attention_largest_tokens"] >= 1000
    assert m["attention_largest_full_mib"] > m["attention_largest_windowed_mib"]
    at64 = [r for r in m["attention"] if r["tokens"] == 64]
    if at64:
        assert at64[0]["full_mib"] < at64[0]["windowed_mib"]
    # a precomputed log(2) cannot save more than computing it costs: a tiny share of a step
    assert all(r["of_train_step_pct"] < 1.0 for r in m["constants"])
    # throughput rows come from real coding of every point
    assert all(r["decoded"] == r["points"] for r in m["throughput"])
    assert all(r["encode_pts_per_s"] > 0 and r["decode_pts_per_s"] > 0 for r in m["throughput"])
    assert {r["stage"] for r in m["precision"]} == {"g_s (decoder)", "g_a"}
