"""Point-cloud files: PLY, PCD, KITTI/nuScenes ``.bin``, XYZ text, OFF and LAS, read and written.

Every reader returns one :class:`PointCloud` (float64 positions, optional uint8 colours and float32
normals), so the voxeliser, the octree coder and the metrics never care where a cloud came from.
Bad input (truncated file, NaN coordinates, zero points, an unknown extension) raises
:class:`pcc.errors.FormatError` naming the file and the problem. Writers are atomic.

One module per format: :mod:`~pcc.io.pointcloud.ply` (through :mod:`pcc.io.ply`),
:mod:`~pcc.io.pointcloud.pcd` (PCL's format incl. LZF ``binary_compressed``),
:mod:`~pcc.io.pointcloud.lidar_bin`, :mod:`~pcc.io.pointcloud.xyz`, :mod:`~pcc.io.pointcloud.las`,
OFF through :mod:`pcc.io.off`; :mod:`~pcc.io.pointcloud.dispatch` picks one by extension.
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from pcc.io.ply import read_ply_elements
from pcc.io.pointcloud.cloud import PointCloud
from pcc.io.pointcloud.dispatch import POINT_CLOUD_EXTENSIONS, read_point_cloud, write_point_cloud
from pcc.io.pointcloud.pcd import lzf_decompress
from pcc.io.text import parse_floats

__all__ = [
    "PointCloud",
    "parse_floats",
    "read_point_cloud",
    "write_point_cloud",
    "read_ply_elements",
    "lzf_decompress",
    "POINT_CLOUD_EXTENSIONS",
]
