import pytest

pytestmark = pytest.mark.notebooks

MODELS = ("gaussian", "hyperprior", "channel", "context", "attention", "hybrid")


def test_12_entropy_models(run_notebook):
    m = run_notebook("12_entropy_models")
    real, table = m["same_latent_real_bits"], m["same_latent_table_bits"]
    assert set(real) == set(MODELS)
    for name in MODELS:  # a real stream costs the estimate plus a few bytes
        assert abs(real[name] - table[name]) <= 0.01 * table[name] + 64
    # on the same latent: gaussian >> hyperprior > channel, and every spatial model below it
    assert real["gaussian"] > 3 * real["hyperprior"]
    assert real["channel"] < real["hyperprior"]
    for name in ("context", "attention", "hybrid"):
        assert real[name] < 0.95 * real["hyperprior"]
    # the files decode bit-exactly; the anchored models decode the hyperprior's very cloud
    assert all(m["bit_exact"].values())
    for name in ("context", "attention", "hybrid"):
        assert m["d1_psnr"][name] == m["d1_psnr"]["hyperprior"]
        assert m["file_bytes"][name] < m["file_bytes"]["hyperprior"]
    assert m["file_bpp"]["hyperprior"] > m["estimated_bpp"]["hyperprior"]  # header, octree, counts
    # causality: nothing read that is not decoded, and the context really is read
    assert m["causal_leaks"] == 0
    assert m["causal_read"]["hyperprior"] == 0 and m["causal_decoded"]["hyperprior"] == 0
    assert 0 < m["causal_read"]["context"] < m["causal_decoded"]["context"]
    assert m["causal_read"]["hybrid"] > m["causal_read"]["context"]
