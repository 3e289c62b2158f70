"""Smoke tests of visualisation.entropy (Agg backend, tiny inputs)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from pcc.codec import anatomy  # noqa: E402
from visualisation import entropy as vis  # noqa: E402


def _view(used_positions: int, element=(1, 1, 1, 1)) -> anatomy.CausalView:
    labels = np.full((4, 2, 2, 2), anatomy.FUTURE, dtype=np.int8)
    flat = labels.reshape(4, -1)
    flat[:, :used_positions] = anatomy.USED
    flat[:, used_positions : used_positions + 1] = anatomy.KNOWN
    labels[element] = anatomy.TARGET
    return anatomy.CausalView(element, labels)


def test_causal_matrices_and_slices():
    views = {"context": _view(3), "hyperprior": _view(0)}
    fig = vis.plot_causal_matrices(views)
    axes = [a for a in fig.axes if a.images]
    assert len(axes) == 2
    assert axes[0].get_xlabel() == "raster position (decoding order)"
    assert axes[0].get_ylabel() == "latent channel"
    assert "reads" in axes[0].get_title()
    assert fig.legends and len(fig.legends[0].get_texts()) >= 4
    plt.close(fig)
    fig = vis.plot_causal_slices(views)
    assert len([a for a in fig.axes if a.images]) == 2 * 2  # models x depth slices
    assert fig.axes[-1].get_xlabel() == "w (latent voxel)"
    plt.close(fig)
    fig = vis.plot_causal_slices(views, channel=0)
    assert "channel 0" in fig._suptitle.get_text()
    plt.close(fig)
    with pytest.raises(ValueError):
        vis.plot_causal_matrices({})


def test_kernel_mask():
    from pcc.codec.entropy.context import raster_mask

    fig = vis.plot_kernel_mask(raster_mask(3, "A").numpy())
    assert len([a for a in fig.axes if a.images]) == 3
    assert "13 of 27" in fig._suptitle.get_text()
    assert fig.axes[0].get_xlabel() == "dx"
    plt.close(fig)
    with pytest.raises(ValueError):
        vis.plot_kernel_mask(np.ones((3, 3)))


def test_file_anatomy_and_real_vs_estimate():
    parts = {
        "hyperprior": {"framing": 57, "header": 100, "block_octree": 9, "counts": 50,
                       "latents": 1500, "total": 1716},
        "gaussian": {"framing": 57, "header": 100, "block_octree": 9, "counts": 50,
                     "latents": 9000, "total": 9216},
    }  # fmt: skip
    fig = vis.plot_file_anatomy(parts, n_points=40000)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "bits per input point (real file)"
    assert len(ax.patches) == 5 * 2  # five parts x two models
    plt.close(fig)
    fig = vis.plot_real_vs_estimate({"a": 1000.0, "b": 20000.0}, {"a": 1040.0, "b": 19990.0})
    ax, bx = fig.axes
    assert ax.get_xscale() == "log" and "estimate" in ax.get_xlabel()
    assert "real" in ax.get_ylabel() and "%" in bx.get_xlabel()
    assert any("+4.00 %" in t.get_text() for t in bx.texts)
    plt.close(fig)


def test_context_savings():
    neighbours = {"context": np.arange(8), "attention": np.arange(8)}
    saving = {"context": np.linspace(0, 20, 8), "attention": np.linspace(5, 30, 8)}
    by_channel = {"hyperprior": np.array([1.0, 0.0, 2.0]), "attention": np.array([0.8, 0, 1.5])}
    fig = vis.plot_context_savings(neighbours, saving, by_channel)
    ax, bx = fig.axes
    assert ax.get_xlabel() == "decoded positions the model reads"
    assert "%" in ax.get_ylabel()
    assert len(ax.lines) >= 2  # one fit line per model (+ the zero line)
    assert len(bx.patches) == 2 * 3
    assert vis.model_colour("attention-l0.1") == vis.MODEL_COLOURS["attention"]
    plt.close(fig)


@pytest.mark.filterwarnings("ignore:Animation was deleted")
def test_animate_decoding_has_one_frame_per_view():
    views = [_view(k, element=(0, 0, 0, 0)) for k in range(3)]
    anim = vis.animate_decoding(views, name="context")
    assert len(list(anim.new_frame_seq())) == 3
    fig = anim._fig
    assert len([a for a in fig.axes if a.images]) == 2  # the depth slices
    assert fig.axes[0].get_xlabel() == "w (latent voxel)"
    frame = anim._func(2)
    assert "context decoding" in frame[-1].get_text()
    plt.close(fig)
    with pytest.raises(ValueError):
        vis.animate_decoding([])
