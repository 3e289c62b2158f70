"""An analytic still-life scene, ray-traced on the CPU into a NeRF-synthetic dataset.

The scene is a potted flower on a round checkered table with an apple, a glossy ring, a small
crate and a marble. It has structure at several scales: a checkerboard and fine stripes on the
table, curved surfaces (apple, ring, pot, marble), thin parts (stem, leaves, petals), saturated
colours (red apple, magenta petals, yellow centre, blue band) next to subtle ones (cream table,
lavender crate), soft shadows and view-dependent Blinn-Phong highlights, so a 3DGS model needs
its SH bands to reproduce it.

Every object is a signed distance function (SDF); pixels are traced by sphere tracing (Hart,
"Sphere tracing: a geometric method for the antialiased ray tracing of implicit surfaces", The
Visual Computer 1996), vectorised over all rays with numpy. Each pixel averages ``s x s``
sub-pixel rays (anti-aliasing); the alpha channel is the covered fraction, as in Blender's
NeRF-synthetic renders (Mildenhall et al., "NeRF", ECCV 2020). The dataset is written in that
layout (``transforms_{train,test}.json`` + RGBA PNGs) plus a ``points3d.ply`` of sparse surface
points seen by the training views, the way an SfM run would give them. Everything is
deterministic for a seed.

Cameras are :class:`pcc.io.cameras.Camera` (OpenCV frame); pixel ``(i, j)`` covers the continuous
image area ``[j, j+1] x [i, i+1]``, its centre at ``(j + 0.5, i + 0.5)``, as in Blender.

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.

One module per job: :mod:`pcc.data.sdf` (primitives), :mod:`pcc.data.still_life` (the scene),
:mod:`pcc.data.raytrace` (sphere tracing), :mod:`pcc.data.dataset` (the dataset writer); this
module gathers them under the name the rest of pcc imports.
"""

from pcc.data.dataset import (
    GENERATOR_VERSION,
    dataset_cameras,
    make_dataset,
    sample_surface_points,
    write_points3d_ply,
)
from pcc.data.raytrace import camera_rays, render_view, trace_pixels, trace_rays
from pcc.data.still_life import MATERIALS, StillLife

__all__ = [
    "StillLife",
    "MATERIALS",
    "GENERATOR_VERSION",
    "dataset_cameras",
    "make_dataset",
    "render_view",
    "sample_surface_points",
    "trace_pixels",
    "trace_rays",
    "camera_rays",
    "write_points3d_ply",
]
