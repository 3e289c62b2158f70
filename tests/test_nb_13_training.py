import pytest

pytestmark = pytest.mark.notebooks


def test_13_training(run_notebook):
    m = run_notebook("13_training")
    assert m["records"] == m["steps"]
    # the model learns even in a few steps: validation distortion falls
    assert m["final"]["val_focal"] < m["first_val"]["val_focal"]
    # the run resumed from its checkpoint continues bit for bit
    assert m["resumed_steps"] == m["steps"] - m["interrupt_at"]
    assert m["resume_identical_losses"] is True
    assert m["resume_identical_weights"] is True
    # two processes under torchrun: the global batch is 2 x the per-process batch
    assert m["ddp"] is not None and m["ddp"]["batch"] == 4
    assert m["bundled_models"] >= 6
