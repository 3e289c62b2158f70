"""Codec checkpoints are read with ``weights_only=True`` and validated before anything is built:
a pickled object is refused without running it, a forged architecture cannot make the model
builder allocate more than the file holds, and NaN weights or a forged scale table are one
FormatError naming the file (issue 14; the crashes the fuzzer found, as unit tests because the
files are 100 kB)."""

from __future__ import annotations

import math

import pytest
import torch

from pcc.codec.checkpoint import (
    architecture_signature,
    load_codec,
    read_checkpoint,
    save_checkpoint,
)
from pcc.codec.model import BlockCodec
from pcc.errors import FormatError

TINY = {"block_size": 16, "filters": [4, 8, 8], "latent_channels": 4}


class Boom:
    def __reduce__(self):
        return (exec, ("raise SystemExit('code ran')",))


@pytest.fixture
def payload(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "ok.pt"
    save_checkpoint(path, BlockCodec(TINY, entropy_model="gaussian"))
    return torch.load(path, weights_only=True)


def _save(tmp_path, payload, name="bad.pt"):
    path = tmp_path / name
    torch.save(payload, path)
    return path


def test_a_pickled_object_is_refused_without_running(tmp_path, payload):
    payload["meta"] = {"x": Boom()}
    path = _save(tmp_path, payload)
    with pytest.raises(FormatError, match="bad.pt: not a readable torch checkpoint"):
        read_checkpoint(path)


@pytest.mark.parametrize(
    "key, value", [("filters", [4, 8, 2**40]), ("latent_channels", 2**31), ("block_size", 2**20)]
)
def test_forged_architecture_is_refused_before_building(tmp_path, payload, key, value):
    payload["architecture"][key] = value
    payload["signature"] = architecture_signature(payload["architecture"])
    path = _save(tmp_path, payload)
    with pytest.raises(FormatError, match="bad.pt: .*(does not fit|outside)"):
        load_codec(path)


def test_non_finite_weights_are_refused(tmp_path, payload):
    key = next(k for k, v in payload["model"].items() if v.is_floating_point() and v.numel())
    payload["model"][key] = payload["model"][key].clone().fill_(math.nan)
    with pytest.raises(FormatError, match="bad.pt: .*NaN or infinite"):
        load_codec(_save(tmp_path, payload))


@pytest.mark.parametrize("value", [0.0, -1.0, 1e30])
def test_forged_scale_table_is_refused(tmp_path, payload, value):
    key = next(k for k in payload["model"] if k.endswith("scale_table"))
    table = payload["model"][key].clone()
    table[-1] = value
    payload["model"][key] = table
    with pytest.raises(FormatError, match="bad.pt: .*scale_table"):
        load_codec(_save(tmp_path, payload))


def test_a_weight_that_is_not_a_tensor_is_refused(tmp_path, payload):
    payload["model"][next(iter(payload["model"]))] = [1, 2, 3]
    with pytest.raises(FormatError, match="bad.pt: .*not a tensor"):
        load_codec(_save(tmp_path, payload))


def test_the_untouched_checkpoint_still_loads(tmp_path, payload):
    model, meta = load_codec(_save(tmp_path, payload, "ok2.pt"))
    assert isinstance(model, BlockCodec) and meta == {}
