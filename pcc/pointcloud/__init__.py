"""Voxel sets: mesh sampling, voxelisation, Morton order, octree blocks, procedural shapes.

The codec side of pcc builds on these integer clouds (``coords [N, 3] int32`` in ``[0, 2^bits)``).
Modules: :mod:`.sampling`, :mod:`.voxelize`, :mod:`.morton`, :mod:`.blocks`, :mod:`.canonical`,
:mod:`.shapes`, :mod:`.dataset` (torch; import it explicitly), :mod:`.stats` (octree occupancy,
spacing, decoding scores), :mod:`.lidar` (a synthetic LiDAR sweep), :mod:`.examples` (the lessons'
example clouds, read in place). Taught in ``notebooks/10_point_clouds_and_octrees.ipynb`` and
``notebooks/11_learned_codec.ipynb``.
"""

from pcc.coding.morton import morton_decode, morton_encode
from pcc.pointcloud.blocks import Block, departition, partition_blocks, select_largest, to_occupancy
from pcc.pointcloud.sampling import sample_mesh_surface
from pcc.pointcloud.voxelize import VoxelTransform, devoxelize, quantize_coords, voxelize

__all__ = [
    "Block",
    "VoxelTransform",
    "departition",
    "devoxelize",
    "morton_decode",
    "morton_encode",
    "partition_blocks",
    "quantize_coords",
    "sample_mesh_surface",
    "select_largest",
    "to_occupancy",
    "voxelize",
]
