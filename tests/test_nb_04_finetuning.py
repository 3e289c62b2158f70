"""Notebook 04 (fine-tuning) at its test parameters: renders recorded, PSNR kept, guard works."""

import pytest

pytestmark = pytest.mark.notebooks


def test_04_finetuning(run_notebook):
    m = run_notebook("04_finetuning")
    assert m["iterations"] == 10
    assert m["n_renders"] == m["expected_renders"]  # iteration 0, then every render_every
    # VQ costs quality; fine-tuning (or the guard) never makes the stored model much worse
    assert m["psnr_before"] < m["psnr_uncompressed"]
    assert m["psnr_after"] >= m["psnr_before"] - 0.3
    if not m["finetune_applied"]:
        assert m["guard_loss_after"] > m["guard_loss_before"]
    # the deliberately harmful run raises the guard's loss and is thrown away
    assert m["harmful_guard_loss_after"] > m["harmful_guard_loss_before"]
    assert m["harmful_applied"] is False
