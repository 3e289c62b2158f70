"""The interactive codebook-size / keep-fraction explorer and its static result figure.

Part of :mod:`visualisation.vq` (import the public names from there)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from visualisation.arrays import as_numpy
from visualisation.style import CMAPS


# --------------------------------------------------------------------------- explorer
def plot_explorer_result(
    reference,
    quantised,
    *,
    psnr_db: float,
    info: Mapping[str, object] | None = None,
    error_gain: float = 10.0,
    title: str | None = None,
    figsize=(10.5, 3.9),
) -> Figure:
    """Reference render, render with quantised features, and their difference (x ``error_gain``).

    ``psnr_db`` is the PSNR of the quantised render against the reference; ``info`` (e.g.
    ``{"k": 256, "kept exact": "0.5 %", "table rows": 391}``) goes into the title.
    """
    ref = np.clip(as_numpy(reference), 0.0, 1.0)
    q = np.clip(as_numpy(quantised), 0.0, 1.0)
    if ref.shape != q.shape:
        raise ValueError(f"images of shapes {ref.shape} and {q.shape}")
    err = np.abs(ref - q).mean(axis=-1)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(1, 3)
    axes[0].imshow(ref)
    axes[0].set_title("uncompressed colours")
    axes[1].imshow(q)
    axes[1].set_title(f"quantised colours: {psnr_db:.2f} dB")
    im = axes[2].imshow(np.clip(err * error_gain, 0, 1), cmap=CMAPS["error"], vmin=0.0, vmax=1.0)
    axes[2].set_title(f"|difference| x {error_gain:g}")
    fig.colorbar(im, ax=axes[2], shrink=0.8, label=f"mean abs. error x {error_gain:g} (0-1 scale)")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
    head = title or "Colour VQ explorer"
    if info:
        head += ": " + ", ".join(f"{k} {v}" for k, v in info.items())
    fig.suptitle(head)
    return fig


def vq_explorer(
    compute: Callable[..., Figure],
    k_options: Sequence[int],
    keep_options: Sequence[float],
    *,
    k: int | None = None,
    keep: float | None = None,
    run_now: bool = False,
):
    """An ipywidgets explorer: a codebook-size dropdown, a keep-fraction slider and a figure.

    ``compute(k=..., keep_fraction=...)`` does the work (it is a plain function the notebook
    also calls directly, so headless runs never depend on the widget) and returns a Figure,
    which is shown in the widget's output area whenever a control changes. Nothing is computed
    when the widget is built unless ``run_now``. Returns the ``VBox``; its ``.controls`` dict
    holds the two controls and ``.output`` the output area.
    """
    import ipywidgets as widgets
    from IPython.display import display

    k_options = [int(v) for v in k_options]
    keep_options = [float(v) for v in keep_options]
    k_dd = widgets.Dropdown(
        options=k_options,
        value=k if k is not None else k_options[0],
        description="codebook k",
    )
    keep_sl = widgets.SelectionSlider(
        options=[(f"{100 * v:g} %", v) for v in keep_options],
        value=keep if keep is not None else keep_options[0],
        description="kept exact",
        continuous_update=False,
    )
    out = widgets.Output()

    def refresh(_change=None) -> None:
        fig = compute(k=k_dd.value, keep_fraction=keep_sl.value)
        out.clear_output(wait=True)
        with out:
            display(fig)

    k_dd.observe(refresh, names="value")
    keep_sl.observe(refresh, names="value")
    box = widgets.VBox([widgets.HBox([k_dd, keep_sl]), out])
    box.controls = {"k": k_dd, "keep_fraction": keep_sl}
    box.output = out
    box.refresh = refresh
    if run_now:
        refresh()
    return box
