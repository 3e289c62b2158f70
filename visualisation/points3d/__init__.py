"""Generic 3D views of points, Gaussians and voxels: interactive plotly and static matplotlib.

Every function takes plain arrays (NumPy or torch, any float/int dtype) and RETURNS a figure;
nothing is shown or saved here. Each view comes in two flavours with the same arguments:

* ``points3d`` / ``gaussians3d`` / ``voxels3d`` -> a ``plotly.graph_objects.Figure`` (rotate and
  zoom in Jupyter; plotly does not render on GitHub's notebook preview);
* ``points3d_static`` / ``gaussians3d_static`` / ``voxels3d_static`` -> a matplotlib ``Figure``
  for PNG export, reports and places that strip JavaScript;
* ``points3d_panels`` -> several clouds side by side (static or plotly), e.g. input vs decoded;
  ``voxels3d_panels`` -> several voxel sets side by side in one frame (e.g. one per octree depth).

``up`` says which data axis points up on screen: ``"z"`` (default: LiDAR, voxel grids,
NeRF-synthetic scenes), ``"y"`` (many meshes, e.g. the Stanford bunny) or ``"-y"`` (OpenCV
camera frames, COLMAP reconstructions). Static views draw at most ``max_points`` (default
20,000: matplotlib is slow beyond that), plotly views 30,000.

Colouring (pick at most one):

* ``values=[N]`` scalars -> a continuous colour map with a colour bar labelled ``value_label``
  (say the unit, e.g. ``"error (voxels)"``);
* ``rgb=[N, 3]`` colours, floats in [0, 1] or uint8 in [0, 255];
* ``categories=[N]`` labels (bool, int or str) -> one colour per category from the Okabe-Ito
  palette and a legend; ``category_names`` renames them (``{True: "kept", False: "pruned"}``).

Large clouds are sub-sampled at random (seeded) to ``max_points``; the figure says so in its
title ("showing 20,000 of 110,000 points (18.2 %)"), and the numbers are in
``fig.layout.meta["subsample"]`` (plotly) or ``fig.pcc_subsample`` (matplotlib). Axes have equal
aspect (one unit is as long on x, y and z) and are labelled ``"x (<units>)"``.

Used by notebooks 10 and 11 (point clouds, voxels, decoded blocks), 01/02 (Gaussians kept or
pruned) and 14 (clouds coloured by error).

Example::

    from visualisation.points3d import points3d, points3d_static
    fig = points3d(xyz, values=err, value_label="D1 error (voxels)", units="voxels")
    png = points3d_static(xyz, categories=keep, category_names={True: "kept", False: "pruned"})
"""

from visualisation.points3d._common import SubsampleInfo, subsample
from visualisation.points3d.gaussians import gaussians3d, gaussians3d_static
from visualisation.points3d.interactive import points3d
from visualisation.points3d.panels import points3d_panels
from visualisation.points3d.static import points3d_static
from visualisation.points3d.voxel_views import voxels3d, voxels3d_panels
from visualisation.points3d.voxels import voxel_faces, voxels3d_static

__all__ = [
    "SubsampleInfo",
    "gaussians3d",
    "gaussians3d_static",
    "points3d",
    "points3d_panels",
    "points3d_static",
    "subsample",
    "voxel_faces",
    "voxels3d",
    "voxels3d_panels",
    "voxels3d_static",
]
