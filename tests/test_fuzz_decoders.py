"""Structure-aware fuzzing of the decoders (issue 14): forged files with a VALID checksum end in a
correct decode or one FormatError/BitstreamError naming the file, never in another exception, a
crash, a hang or a huge allocation. ``make fuzz N=10000`` runs the full campaign
(``tools/fuzz.py``); here a fixed-seed subset and the crashing inputs found so far."""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from pcc.errors import BitstreamError
from pcc.pointcloud import container

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import fuzz  # noqa: E402

REGRESSIONS = sorted(
    p
    for p in (REPO / "tests" / "data" / "fuzz").iterdir()
    if p.name.split("-")[0] in fuzz.DECODERS  # the readers' files: tests/test_fuzz_readers.py
)
DECODER_OF = {name: name for name in fuzz.DECODERS}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeds(workdir) -> dict[str, bytes]:
    return fuzz.seed_files(workdir)


@pytest.fixture(scope="module")
def targets(workdir, seeds) -> dict:
    return {name: fuzz._Target(name, workdir) for name in fuzz.DECODERS}


def test_seed_files_decode(tmp_path, seeds, targets):
    for name, data in seeds.items():
        path = tmp_path / f"seed{fuzz.SUFFIXES[name]}"
        path.write_bytes(data)
        assert fuzz.classify(targets[name], path) == ("decoded", ""), name


def test_mutants_are_reproducible_and_keep_a_valid_crc(seeds):
    for name in ("octree", "neural", "lidar", "occupancy"):
        for i in range(30):
            data = fuzz.mutant(name, seeds[name], 7, i)
            assert data == fuzz.mutant(name, seeds[name], 7, i)
            assert zlib.crc32(data[:-4]) == int.from_bytes(data[-4:], "little")
    changed = [
        fuzz.mutant("pcc3dgs", seeds["pcc3dgs"], 7, i) != seeds["pcc3dgs"] for i in range(30)
    ]
    assert sum(changed) >= 25


def test_forged_count_is_rejected_before_allocation(tmp_path, seeds):
    """A .pcc3dgs header declaring 2^32 - 1 Gaussians in a 1 kB file fails at the header."""
    from pcc.c3dgs.storage_pcc import load_pcc

    fields, qps, streams = fuzz.parse_pcc3dgs(seeds["pcc3dgs"])
    fields[2] = 2**32 - 1
    path = tmp_path / "forged.pcc3dgs"
    path.write_bytes(fuzz.pack_pcc3dgs(fields, qps, streams))
    with pytest.raises(BitstreamError, match="forged.pcc3dgs: header declares 4294967295"):
        load_pcc(path)


def test_non_finite_header_values_are_rejected(tmp_path, seeds):
    from pcc.pointcloud.octree_codec import decode_octree

    codec, header, streams = container.unpack(seeds["octree"])
    for value in (float("nan"), float("inf"), 1e300, True, "1", [2.0]):
        header["quant_step"] = value
        data = fuzz.pack_container(codec, header, streams)
        with pytest.raises(BitstreamError, match="x.pccf: .*(quant_step|non-finite|overflows)"):
            decode_octree(data, tmp_path / "x.pccf")


@pytest.mark.parametrize("decoder", fuzz.DECODERS)
def test_fixed_seed_campaign_has_no_failures(decoder, workdir, seeds):
    result = fuzz.run_campaign(decoder, 120, seed=1, workdir=workdir, seeds=seeds, timeout=120)
    assert result.n == 120
    assert result.failures == []
    # the mutants are neither all rejected nor all harmless: both outcomes occur
    assert result.counts["clean"] > 0 and result.counts["decoded"] > 0


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_regression_files_give_one_clean_error(path, targets):
    decoder = DECODER_OF[path.name.split("-")[0]]
    outcome, detail = fuzz.classify(targets[decoder], path)
    assert outcome == "clean", detail


def test_regression_files_are_small():
    assert REGRESSIONS and all(p.stat().st_size < 8192 for p in REGRESSIONS)
    assert np.sum([p.stat().st_size for p in REGRESSIONS]) < 100_000


def test_position_decoding_in_row_chunks_is_exact():
    """Positions are decoded in chunks of rows (bounded memory); more rows than one chunk."""
    from pcc.c3dgs import storage_pcc
    from pcc.c3dgs.compressed_model import fp16_morton_codes

    n = storage_pcc._MANTISSA_ROWS + 1234
    means = torch.randn(n, 3, generator=torch.Generator().manual_seed(0)).half()
    for sort in (False, True):
        m = means[torch.argsort(fp16_morton_codes(means))] if sort else means
        data = storage_pcc.encode_positions(m.numpy())
        decoded = storage_pcc.decode_positions(data, n)
        assert decoded.view(np.uint16).tolist() == m.numpy().view(np.uint16).tolist()
