"""Synthetic data made by pcc itself: an analytic still-life scene ray-traced into a NeRF dataset.

The bundled 3DGS scene (``input_models/``) is trained on images rendered here, so every notebook
has a scene without downloading anything. Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from pcc.data.synthetic import (
    StillLife,
    dataset_cameras,
    make_dataset,
    render_view,
    trace_pixels,
)

__all__ = ["StillLife", "dataset_cameras", "make_dataset", "render_view", "trace_pixels"]
