"""pcc: a notebook-first teaching package for point-cloud and 3D Gaussian Splatting compression.

Layers (imports flow downwards only):

* bottom: :mod:`pcc.errors`, :mod:`pcc.io` (file formats, cameras), :mod:`pcc.metrics`
* 3DGS side: :mod:`pcc.gaussians` (model, SH, renderer, trainer) -> :mod:`pcc.c3dgs`
* codec side: :mod:`pcc.pointcloud` (voxels, octree) -> :mod:`pcc.codec`
* top: :mod:`pcc.cli`, :mod:`pcc.bench`, :mod:`pcc.demo`

The two sides never import each other. See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
