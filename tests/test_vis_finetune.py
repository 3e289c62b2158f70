"""Smoke tests for visualisation.finetune: loss curves, render animations, before/after, guard."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from visualisation import finetune as vis  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted")


def test_moving_average_is_a_trailing_mean():
    ma = vis.moving_average([1.0, 3.0, 5.0, 7.0], 2)
    assert np.allclose(ma, [1.0, 2.0, 4.0, 6.0])
    assert np.allclose(vis.moving_average([2.0, 4.0], 10), [2.0, 3.0])
    assert vis.moving_average([], 3).size == 0
    with pytest.raises(ValueError):
        vis.moving_average([1.0], 0)


def test_loss_curve_has_raw_average_and_levels():
    losses = 0.05 + 0.01 * np.random.default_rng(0).random(50)
    fig = vis.plot_loss_curve(losses, window=10, levels={"guard, before": 0.06})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "fine-tuning iteration" and "loss" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["loss per iteration", "moving average (10 it.)"]
    assert labels[2] == "guard, before: 0.0600"


def test_render_animation_has_one_frame_per_render():
    frames = [np.full((6, 8, 3), v) for v in (0.2, 0.5, 0.8)]
    anim = vis.animate_renders(
        frames,
        [0, 5, 10],
        target=torch.full((6, 8, 3), 0.5),
        psnrs=[10.0, 20.0, 30.0],
        losses=np.linspace(0.1, 0.05, 10),
    )
    assert isinstance(anim, FuncAnimation)
    assert len(list(anim.new_frame_seq())) == 3
    fig = anim._fig
    assert len(fig.axes) == 3 and fig.axes[1].get_title() == "ground truth"
    anim._func(2)
    assert fig.axes[0].get_title() == "iteration 10: 30.00 dB"
    assert anim.to_jshtml().count("data:image/png") == 3
    with pytest.raises(ValueError):
        vis.animate_renders(frames, [0, 5])


def test_before_after_and_guard():
    gt = np.full((6, 6, 3), 0.5)
    fig = vis.plot_before_after(
        gt, {"before": gt + 0.1, "after": gt + 0.05}, psnrs={"before": 20.0, "after": 26.0}
    )
    titles = [ax.get_title() for ax in fig.axes]
    assert "before: 20.00 dB" in titles and "after: 26.00 dB" in titles
    assert "|after − ground truth|" in titles
    with pytest.raises(ValueError):
        vis.plot_before_after(gt, {"x": np.zeros((4, 4, 3))})
    fig = vis.plot_guard({"normal": (0.02, 0.015, True), "harmful": (0.02, 0.04, False)})
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("kept tuned") for t in texts)
    assert any(t.startswith("reverted") for t in texts)
    assert len(ax.patches) == 4 and "loss" in ax.get_ylabel()
