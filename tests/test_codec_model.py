"""The block codec model: shapes, bit-exact coding of blocks, checkpoints, bundled models."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch
from conftest import sphere_shell_block

from pcc.codec.checkpoint import (
    architecture_signature,
    load_codec,
    load_state_into,
    read_checkpoint,
    save_checkpoint,
)
from pcc.codec.entropy import ENTROPY_MODELS, entropy_model_class
from pcc.codec.model import BlockCodec, normalise_architecture
from pcc.codec.threshold import topk_occupancy
from pcc.errors import FormatError

TINY = {"block_size": 32, "filters": [4, 8, 8], "latent_channels": 8}


def _available(name: str) -> bool:
    try:
        entropy_model_class(name)
    except (ImportError, AttributeError):
        return False
    return True


def _shell_block(seed=0, size=32):
    rng = np.random.default_rng(seed)
    centre, radius = rng.uniform(0, size, 3), rng.uniform(size / 3, size)
    return sphere_shell_block(centre, radius, size)  # [S, S, S] uint8


def _trained_a_little(model: BlockCodec, steps=3) -> BlockCodec:
    """A few optimiser steps so the weights are not at their initial values."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.from_numpy(np.stack([_shell_block(i) for i in range(2)]))[:, None].float()
    for _ in range(steps):
        out = model(x)
        loss = out["x_logits"].abs().mean() + out["aux_loss"]
        loss = loss + sum(-torch.log2(p).mean() for p in out["likelihoods"].values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def test_architecture_normalisation_and_errors():
    arch = normalise_architecture(TINY)
    assert arch["entropy_model"] == "hyperprior" and arch["inception"] is True
    with pytest.raises(ValueError, match="multiple of 8"):
        normalise_architecture(block_size=20)
    with pytest.raises(ValueError, match="unknown architecture keys"):
        normalise_architecture(colour=True)
    assert architecture_signature(TINY) == architecture_signature(dict(TINY))
    assert architecture_signature(TINY) != architecture_signature(dict(TINY, latent_channels=4))


@pytest.mark.parametrize("name", ENTROPY_MODELS)
def test_block_codec_forward_and_bit_exact_block_coding(name):
    if not _available(name):
        pytest.skip(f"entropy model {name} not implemented yet")
    torch.manual_seed(0)
    model = BlockCodec(TINY, entropy_model=name)
    x = torch.from_numpy(np.stack([_shell_block(1), _shell_block(2)]))[:, None].float()
    out = model(x)
    assert out["x_logits"].shape == (2, 1, 32, 32, 32)
    assert out["y_hat"].shape == (2, 8, 4, 4, 4)
    assert model.latent_shape == (8, 4, 4, 4)
    assert all(torch.all((p > 0) & (p <= 1)) for p in out["likelihoods"].values())
    _trained_a_little(model)
    model.update(force=True)
    block = _shell_block(3)
    data = model.compress(block)
    assert isinstance(data, bytes) and len(data) > 0
    y_hat = model.decompress_latent(data)
    with torch.no_grad():
        eval_y_hat = model(torch.from_numpy(block)[None, None].float())["y_hat"]
    assert torch.equal(y_hat, eval_y_hat)  # decoder's latent == encoder's eval latent
    k = int(block.sum())
    decoded = model.decompress(data, n_points=k)
    assert decoded.dtype == torch.bool and int(decoded.sum()) == k
    expected = topk_occupancy(model.synthesise(eval_y_hat)[0, 0], k)
    assert torch.equal(decoded, expected)  # bit-exact reconstruction
    thresholded = model.decompress(data, threshold=128)
    assert thresholded.shape == (32, 32, 32)
    with pytest.raises(ValueError, match="exactly one"):
        model.decompress(data)


def test_block_codec_rejects_wrong_block_shapes():
    model = BlockCodec(TINY)
    with pytest.raises(ValueError, match=r"\[B, 1, 32, 32, 32\]"):
        model(torch.zeros(1, 1, 16, 16, 16))
    with pytest.raises(ValueError, match="one block"):
        model.compress(np.zeros((16, 16, 16)))


def test_checkpoint_round_trip_and_weights_only(tmp_path):
    torch.manual_seed(1)
    model = _trained_a_little(BlockCodec(TINY))
    path = save_checkpoint(tmp_path / "m.pt", model, {"lambda": 2.0, "steps": 3})
    restored, meta = load_codec(path)
    assert meta == {"lambda": 2.0, "steps": 3}
    for (name, a), b in zip(model.state_dict().items(), restored.state_dict().values()):
        assert torch.equal(a, b), name
    payload = torch.load(path, weights_only=True)  # plain data only: no code runs on load
    assert payload["format"] == "pcc-codec"
    assert payload["signature"] == architecture_signature(TINY)


def test_wrong_architecture_checkpoint_gives_a_clear_error(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", BlockCodec(TINY))
    other = BlockCodec(TINY, latent_channels=4)
    with pytest.raises(FormatError, match=r"different architecture \(latent_channels: file 8"):
        load_state_into(path, other)
    # a checkpoint whose weights were tampered to the wrong shape
    payload = torch.load(path, weights_only=True)
    key = next(iter(payload["model"]))
    payload["model"][key] = torch.zeros(3)
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(FormatError, match="wrong shape"):
        load_codec(tmp_path / "bad.pt")


def test_corrupt_truncated_and_foreign_checkpoints(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", BlockCodec(TINY))
    data = path.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="trunc.pt: not a readable torch checkpoint"):
        read_checkpoint(tmp_path / "trunc.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(FormatError, match="not a pcc-codec checkpoint"):
        read_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(FormatError, match="not found"):
        read_checkpoint(tmp_path / "missing.pt")

    class Evil:  # unpickling this would run os.system; weights_only must refuse it
        def __reduce__(self):
            import os

            return (os.system, ("echo pwned",))

    buffer = io.BytesIO()
    torch.save({"format": "pcc-codec", "x": Evil()}, buffer, pickle_module=pickle)
    (tmp_path / "evil.pt").write_bytes(buffer.getvalue())
    with pytest.raises(FormatError, match="not a readable torch checkpoint"):
        read_checkpoint(tmp_path / "evil.pt")
    payload = torch.load(path, weights_only=True)
    payload["signature"] = "0" * 16
    torch.save(payload, tmp_path / "sig.pt")
    with pytest.raises(FormatError, match="signature"):
        read_checkpoint(tmp_path / "sig.pt")


def test_float16_export_halves_the_file_and_loads_as_float32(tmp_path):
    from pcc.codec.checkpoint import export_checkpoint

    torch.manual_seed(2)
    model = _trained_a_little(BlockCodec(TINY))
    full = save_checkpoint(tmp_path / "full.pt", model, {"lambda": 0.1}, training={"step": 3})
    half = export_checkpoint(full, tmp_path / "half.pt")
    assert half.stat().st_size < 0.6 * full.stat().st_size
    assert "training" not in read_checkpoint(half)
    restored, meta = load_codec(half)
    assert meta["lambda"] == 0.1
    for (name, a), b in zip(model.state_dict().items(), restored.state_dict().values()):
        assert b.dtype == a.dtype, name
        if a.is_floating_point():
            assert torch.equal(b, a.half().float()), name
    block = _shell_block(4)
    assert torch.equal(
        restored.decompress(restored.compress(block), n_points=int(block.sum())),
        load_codec(half)[0].decompress(restored.compress(block), n_points=int(block.sum())),
    )
