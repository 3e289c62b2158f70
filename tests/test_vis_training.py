"""Smoke tests of visualisation.training (Agg backend, tiny inputs)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from visualisation import training as vis  # noqa: E402


def _records(n=12, val_every=4, offset=0.0):
    out = []
    for s in range(1, n + 1):
        r = {"step": s, "loss": 1.0 / s + offset, "focal": 0.8 / s, "bpov": 2.0 - s / n}
        if s % val_every == 0:
            r |= {
                "val_loss": 1.1 / s,
                "val_focal": 0.9 / s,
                "val_bpov": 1.5,
                "val_topk_recall": s / n,
            }
        out.append(r)
    return out


def test_smooth_is_a_trailing_mean():
    assert np.allclose(vis.smooth([1, 2, 3, 4], window=2), [1, 1.5, 2.5, 3.5])
    assert vis.smooth([], 5).size == 0


def test_training_curves_have_four_labelled_panels():
    fig = vis.plot_training_curves(_records(), total_steps=20)
    assert len(fig.axes) == 4
    assert all(ax.get_xlabel() == "training step" for ax in fig.axes)
    assert fig.axes[2].get_ylabel() == "bits per occupied voxel"
    assert fig.axes[0].get_xlim() == (0.0, 20.0)
    assert len(fig.axes[3].lines) == 1  # recall: validation only
    plt.close(fig)


def test_live_curves_collect_quietly_outside_jupyter():
    live = vis.LiveCurves(total_steps=12, every=2)
    assert live.live is False  # pytest is not an interactive kernel
    for r in _records():
        live(r)
    assert len(live.records) == 12
    fig = live.figure()
    assert "step 12" in fig._suptitle.get_text()
    plt.close(fig)


def test_live_curves_update_one_display(monkeypatch):
    import IPython.display

    shown = []

    class Handle:
        def update(self, fig):
            shown.append(("update", fig))

    def fake_display(fig, display_id=False):
        shown.append(("display", fig))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    live = vis.LiveCurves(every=4, live=True)
    for r in _records(8, val_every=8):
        live(r)
    assert [kind for kind, _ in shown] == ["display", "update"]  # steps 4 and 8


def test_resume_check_and_bundled_validation():
    ref = _records()
    fig = vis.plot_resume_check(ref, [r for r in ref if r["step"] > 6], interrupted_at=6)
    ax, bx = fig.axes
    assert ax.get_xlabel() == "training step"
    assert "6 of 6" in bx.get_title()
    assert bx.get_yscale() == "log"
    plt.close(fig)
    rows = [
        {"name": "hyperprior-l0.1", "entropy_model": "hyperprior", "lambda": 0.1,
         "val_bpov": 0.3, "val_focal": 0.06},
        {"name": "hyperprior-l4", "entropy_model": "hyperprior", "lambda": 4.0,
         "val_bpov": 0.05, "val_focal": 0.24},
        {"name": "gaussian-l0.1", "entropy_model": "gaussian", "lambda": 0.1,
         "val_bpov": 2.4, "val_focal": 0.07},
    ]  # fmt: skip
    fig = vis.plot_bundled_validation(rows)
    ax, bx = fig.axes
    assert ax.get_xscale() == "log" and "bits per occupied voxel" in ax.get_xlabel()
    assert len(ax.get_legend().get_texts()) == 2
    assert len(bx.patches) == 2  # the two models at lambda 0.1
    assert [t.get_text() for t in ax.texts] == ["λ = 0.1", "λ = 4"]  # the hyperprior ladder
    plt.close(fig)
