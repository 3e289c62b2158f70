"""The few lines every pcc notebook shares: setup, output folder, figures, animations, metrics.

Each lesson in ``notebooks/`` starts with :func:`setup` (run from the repository root, seeded,
on CUDA when there is one) and ends with :func:`save_metrics`. Nothing here computes anything a
lesson teaches: that is ``pcc``'s job.
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import matplotlib

ROOT = Path(__file__).resolve().parents[1]  # the repository (notebooks/, input_models/, output/)


def setup(seed: int = 0, threads: int | None = None):
    """Prepare a notebook run and return the torch device to use.

    Changes the working directory to the repository root, so the relative paths of a
    ``parameters`` cell mean the same in JupyterLab (started in ``notebooks/``), papermill and
    nbval; seeds ``random``, NumPy and torch; applies the figure style; returns
    ``torch.device("cuda")`` when CUDA is available, else the CPU.
    """
    import numpy as np
    import torch

    from visualisation.style import apply_style

    os.chdir(ROOT)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - legacy global seed for code that uses it
    torch.manual_seed(seed)
    if threads is not None:
        torch.set_num_threads(int(threads))
    apply_style()
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def output_dir(path: str | os.PathLike) -> Path:
    """``path`` (relative to the repository root unless absolute), created if missing."""
    out = Path(path)
    if not out.is_absolute():
        out = ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    return out


def _plain(value):
    """JSON-friendly copy: tensors/arrays to lists or numbers, non-finite floats to ``None``."""
    if hasattr(value, "tolist"):  # numpy / torch scalars and arrays
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def save_metrics(metrics: dict, out_dir: str | os.PathLike, quiet: bool = False) -> Path:
    """Write ``metrics`` to ``out_dir/metrics.json`` (atomically) and print it; returns the path."""
    path = output_dir(out_dir) / "metrics.json"
    text = json.dumps(_plain(metrics), indent=2, sort_keys=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
    if not quiet:
        print(f"metrics written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        print(text)
    return path


def save_figure(fig, out_dir: str | os.PathLike, name: str, dpi: int = 110) -> Path:
    """Save a matplotlib Figure (PNG) or a plotly Figure (HTML) as ``out_dir/name``; returns the path."""
    out = output_dir(out_dir)
    if hasattr(fig, "savefig"):
        path = out / (name if name.endswith(".png") else f"{name}.png")
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    else:
        path = out / (name if name.endswith(".html") else f"{name}.html")
        fig.write_html(path, include_plotlyjs="cdn")
    return path


def show_animation(anim, gif_path: str | os.PathLike | None = None, fps: int | None = None):
    """Display a ``FuncAnimation`` in Jupyter (``to_jshtml``) and optionally save it as a GIF.

    The GIF is for places that strip JavaScript (GitHub's notebook view, some exporters); the
    returned ``IPython.display.HTML`` is interactive in Jupyter and in exported HTML. The
    animation's figure is closed afterwards so it is not drawn a second time as a still.
    """
    import matplotlib.pyplot as plt
    from IPython.display import HTML

    if gif_path is not None:
        gif_path = Path(gif_path)
        gif_path.parent.mkdir(parents=True, exist_ok=True)
        interval = getattr(anim, "_interval", 200)
        rate = fps or max(1, round(1000 / max(interval, 1)))
        anim.save(gif_path, writer=matplotlib.animation.PillowWriter(fps=rate))
    html = HTML(anim.to_jshtml())
    plt.close(anim._fig)
    return html
