"""Entropy coding: integer pmfs, range coder round trips, escapes, stream headers, scale lookup."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pcc.codec import coding
from pcc.codec.entropy.factorized import FactorizedPrior
from pcc.codec.entropy.gaussian_conditional import (
    GaussianConditional,
    gaussian_likelihood,
    make_scale_table,
    scale_index,
    scale_index_reference,
)
from pcc.errors import BitstreamError


def _real_bits(writer: coding.RangeWriter) -> int:
    return 8 * len(writer.payload())


def test_quantize_pmf_is_a_valid_integer_pmf():
    rng = np.random.default_rng(1)
    prob = rng.dirichlet(np.full(50, 0.3), size=20)  # [20, 50], many tiny entries
    prob[:, 7] = 0.0
    pmf = coding.quantize_pmf(prob)
    assert pmf.dtype == np.int64
    assert np.all(pmf >= 1)
    assert np.all(pmf.sum(-1) == coding.TOTAL)
    assert np.array_equal(pmf, coding.quantize_pmf(prob.copy()))  # deterministic
    # close to the input: the extra bits (cross-entropy - entropy) are tiny
    q = pmf / coding.TOTAL
    extra = (prob * (np.log2(np.maximum(prob, 1e-300)) - np.log2(q))).sum(-1)
    assert extra.max() < 0.01


def test_quantize_pmf_rejects_bad_input():
    with pytest.raises(ValueError):
        coding.quantize_pmf(np.array([0.5, np.nan]))
    with pytest.raises(ValueError):
        coding.quantize_pmf(np.array([0.5, -0.1]))


def test_scale_lookup_equals_broadcast_argmin_reference():
    table = make_scale_table()
    assert table.numel() == 64
    assert torch.isclose(table[0], torch.tensor(0.11)) and torch.isclose(
        table[-1], torch.tensor(256.0)
    )
    scales = torch.cat(
        [
            torch.exp(torch.empty(5000).uniform_(np.log(0.01), np.log(1000.0))),
            table,  # exact entries map to themselves
            torch.nextafter(table, torch.full_like(table, 1e9)),  # just above an entry
            torch.tensor([0.0, 1e-9, 300.0, 1e9]),
        ]
    )
    fast = scale_index(scales, table)
    ref = scale_index_reference(scales, table)
    assert torch.equal(fast, ref)
    assert torch.equal(fast[5000 : 5000 + 64], torch.arange(64))
    chosen = table[fast]
    inside = scales <= table[-1]
    assert torch.all(chosen[inside] >= scales[inside])  # rounds up


@pytest.mark.parametrize("shared", [False, True])
def test_range_coder_round_trip_with_escapes(shared):
    rng = np.random.default_rng(2)
    n, k = 3000, 9
    if shared:
        pmf = coding.quantize_pmf(rng.dirichlet(np.ones(k)))  # [K]
        lows = rng.integers(-20, 20, n)
        widths = k
    else:
        widths = rng.integers(2, k + 1, n)  # rows padded with zeros beyond their width
        pmf = np.zeros((n, k), dtype=np.int64)  # [N, K]
        for w in np.unique(widths):
            rows = widths == w
            pmf[rows, :w] = coding.quantize_pmf(rng.dirichlet(np.ones(w), size=int(rows.sum())))
        lows = rng.integers(-20, 20, n)
    values = lows + rng.integers(0, k, n)
    values[::97] += rng.integers(-5000, 5000, values[::97].size)  # far outside: escapes
    values[5] = coding.MAX_ABS_SYMBOL
    values[6] = -coding.MAX_ABS_SYMBOL
    writer = coding.RangeWriter()
    writer.encode(values, pmf, lows, widths, key="k" if shared else None)
    writer.encode(values[:10], pmf if shared else pmf[:10], lows[:10], 9 if shared else widths[:10])
    reader = coding.RangeReader(writer.payload())
    out1 = reader.decode(n, pmf, lows, widths, key="k" if shared else None)
    out2 = reader.decode(10, pmf if shared else pmf[:10], lows[:10], 9 if shared else widths[:10])
    reader.finish()
    assert np.array_equal(out1, values) and np.array_equal(out2, values[:10])
    counter = coding.BitCounter()
    counter.encode(values, pmf, lows, widths)
    counter.encode(
        values[:10], pmf if shared else pmf[:10], lows[:10], 9 if shared else widths[:10]
    )
    real = _real_bits(writer)
    assert abs(real - counter.bits) <= 0.01 * counter.bits + 64


def test_symbols_outside_the_codable_range_are_refused():
    writer = coding.RangeWriter()
    pmf = coding.quantize_pmf(np.ones(3))
    with pytest.raises(ValueError, match="codable range"):
        writer.encode(np.array([coding.MAX_ABS_SYMBOL + 1]), pmf, 0, 3)


def test_escape_bits_match_the_code():
    e = np.array([0, 1, 2, 3, 4, 7, 8, 1000, 2**20, 2**30])
    assert np.array_equal(coding._bit_length(e), [int(x).bit_length() for x in e])
    assert np.array_equal(coding.escape_bits(e), 5 + np.maximum(coding._bit_length(e) - 1, 0))


def test_stream_header_detects_corruption_truncation_and_wrong_model():
    writer = coding.RangeWriter()
    pmf = coding.quantize_pmf(np.ones(5))
    writer.encode(np.arange(200) % 5, pmf, 0, 5)
    data = coding.pack_stream(0x11, writer.payload())
    assert coding.unpack_stream(data, 0x11) == writer.payload()
    corrupt = bytearray(data)
    corrupt[len(data) // 2] ^= 0x10
    with pytest.raises(BitstreamError, match="CRC32"):
        coding.unpack_stream(bytes(corrupt), 0x11)
    with pytest.raises(BitstreamError, match="CRC32"):
        coding.unpack_stream(data[:-3], 0x11)
    with pytest.raises(BitstreamError, match="truncated"):
        coding.unpack_stream(data[:3], 0x11)
    with pytest.raises(BitstreamError, match="model code"):
        coding.unpack_stream(data, 0x12, "channel")
    with pytest.raises(BitstreamError):
        coding.unpack_stream("not bytes", 0x11)  # type: ignore[arg-type]


def test_reader_reports_leftover_data():
    writer = coding.RangeWriter()
    pmf = coding.quantize_pmf(np.array([0.1, 0.2, 0.3, 0.4]))
    values = np.random.default_rng(3).integers(0, 4, 5000)
    writer.encode(values[:100], pmf, 0, 4)
    writer.encode(values, pmf, 0, 4)
    reader = coding.RangeReader(writer.payload())
    assert np.array_equal(reader.decode(100, pmf, 0, 4), values[:100])
    with pytest.raises(BitstreamError, match="left"):
        reader.finish()


def test_reader_on_garbage_raises_bitstream_error_not_a_hang():
    pmf = coding.quantize_pmf(np.array([1e-6, 1.0, 1e-6]))
    garbage = bytes(np.random.default_rng(4).integers(0, 256, 64, dtype=np.uint8))
    reader = coding.RangeReader(garbage)
    with pytest.raises(BitstreamError):
        for _ in range(50):  # bounded: every call decodes a fixed count
            reader.decode(1000, pmf, 0, 3)
        reader.finish()


@pytest.mark.parametrize("offsets", [False, True])
def test_gaussian_tables_round_trip_grouped_and_serial(offsets):
    g = GaussianConditional(offsets=offsets)
    g.update()
    rng = np.random.default_rng(5)
    n = 4000
    s_idx = rng.integers(0, 40, n)
    sigma = g.scale_table.numpy()[s_idx]
    m_idx = rng.integers(-300, 300, n) if offsets else np.zeros(n, np.int64)
    values = np.round(m_idx / 64 + rng.normal(size=n) * sigma).astype(np.int64)
    values[::501] += 10_000  # escapes
    for grouped in (True, False):
        writer, counter = coding.RangeWriter(), coding.BitCounter()
        g.encode(writer, values, s_idx, m_idx, grouped=grouped)
        g.encode(counter, values, s_idx, m_idx, grouped=grouped)
        reader = coding.RangeReader(writer.payload())
        assert np.array_equal(g.decode(reader, s_idx, m_idx, grouped=grouped), values)
        assert abs(_real_bits(writer) - counter.bits) <= 0.01 * counter.bits + 64


def test_gaussian_tables_match_the_continuous_likelihood():
    g = GaussianConditional(offsets=True)
    g.update()
    s_idx = np.array([0, 10, 20, 30])
    m_idx = np.array([0, 13, -70, 100])
    pmfs, lows, widths = g.rows(s_idx, m_idx)
    for row in range(4):
        v = np.arange(lows[row] + 1, lows[row] + widths[row] - 1)  # interior bins
        p_table = pmfs[row, 1 : widths[row] - 1] / coding.TOTAL
        p_cont = gaussian_likelihood(
            torch.tensor(v, dtype=torch.float64),
            torch.tensor(m_idx[row] / 64.0, dtype=torch.float64),
            g.scale_table[s_idx[row]].double(),
        ).numpy()
        assert np.allclose(p_table, p_cont, rtol=0.01, atol=3 / coding.TOTAL)
        assert pmfs[row, : widths[row]].sum() == coding.TOTAL


def test_factorized_prior_round_trip_and_normalisation():
    prior = FactorizedPrior(4).eval()
    grid = torch.arange(-400, 401, dtype=torch.float32).view(1, 1, -1).expand(1, 4, -1)
    total = prior.likelihood(grid.reshape(1, 4, -1)).sum(-1)
    assert torch.allclose(total, torch.ones_like(total), atol=1e-4)
    z = torch.randn(3, 4, 2, 2, 2) * 4
    z[0, 0, 0, 0, 0] = 500.0  # beyond the quantile support: escape
    writer, counter = coding.RangeWriter(), coding.BitCounter()
    z_hat = prior.encode(writer, z)
    prior.encode(counter, z)
    assert torch.equal(z_hat, prior(z)[0])  # eval forward gives the coded z_hat
    back = prior.decode(coding.RangeReader(writer.payload()), tuple(z.shape))
    assert torch.equal(back, z_hat)
    assert abs(_real_bits(writer) - counter.bits) <= 0.01 * counter.bits + 64


def test_factorized_aux_loss_moves_quantiles_only_and_decreases():
    prior = FactorizedPrior(2)
    before = [p.detach().clone() for n, p in prior.named_parameters() if n != "quantiles"]
    opt = torch.optim.Adam([prior.quantiles], lr=1.0)
    first = float(prior.aux_loss().detach())
    for _ in range(250):
        opt.zero_grad()
        loss = prior.aux_loss()
        loss.backward()
        opt.step()
    assert float(prior.aux_loss().detach()) < 0.05 * first
    after = [p.detach() for n, p in prior.named_parameters() if n != "quantiles"]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    # the learned median is where the cumulative is one half
    med = prior.medians().view(2, 1, 1)
    assert torch.allclose(
        torch.sigmoid(prior.logits_cdf(med)), torch.full_like(med, 0.5), atol=0.02
    )
