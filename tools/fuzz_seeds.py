"""Small valid seed inputs of every reader fuzzed by ``tools/fuzz.py`` (``tools/fuzz_readers.py``).

Each seed is written by pcc's own writers where they exist (PLY, PCD, XYZ, COLMAP, NeRF, INRIA,
Gaussian PLY, .splat, .spz, compressed PLY, checkpoints) and by hand from the format description
where pcc only reads (LAS 1.2, PCD ``binary_compressed`` via the small LZF compressor below, OFF,
a mesh PLY, KITTI/nuScenes sweeps). Deterministic: the same bytes on every run.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from fuzz_readers import READERS, stable_torch_zip


def lzf_compress(raw: bytes) -> bytes:
    """A small greedy LZF compressor (back-references of 3+ bytes within 8 kB) for seed files."""
    out = bytearray()
    lit = bytearray()
    table: dict[bytes, int] = {}
    i, n = 0, len(raw)

    def flush():
        for s in range(0, len(lit), 32):
            chunk = lit[s : s + 32]
            out.append(len(chunk) - 1)
            out.extend(chunk)
        lit.clear()

    while i < n:
        key = raw[i : i + 3]
        ref = table.get(key) if len(key) == 3 else None
        table[key] = i
        if ref is not None and 0 < i - ref <= 8192:
            length = 3
            while i + length < n and length < 264 and raw[ref + length] == raw[i + length]:
                length += 1
            flush()
            off = i - ref - 1
            ln = length - 2
            if ln < 7:
                out.append((ln << 5) | (off >> 8))
            else:
                out.append((7 << 5) | (off >> 8))
                out.append(ln - 7)
            out.append(off & 0xFF)
            i += length
        else:
            lit.append(raw[i])
            i += 1
    flush()
    return bytes(out)


def _gaussians(n: int, degree: int, seed: int = 0):
    import torch

    from pcc.gaussians.model import GaussianModel

    g = torch.Generator().manual_seed(seed)
    return GaussianModel(
        means=torch.randn(n, 3, generator=g),
        log_scales=torch.randn(n, 3, generator=g) - 3,
        quats=torch.randn(n, 4, generator=g),
        opacity_logits=torch.randn(n, generator=g),
        sh=0.3 * torch.randn(n, (degree + 1) ** 2, 3, generator=g),
    )


def _las_bytes(points: np.ndarray, colors: np.ndarray) -> bytes:
    """A minimal LAS 1.2, point format 2 (XYZ + RGB), written from the ASPRS layout."""
    n = len(points)
    scale = np.array([0.01, 0.01, 0.01])
    offset = np.array([1.0, 2.0, 3.0])
    head = bytearray(227)
    head[0:4] = b"LASF"
    head[24], head[25] = 1, 2
    head[26:58] = b"pcc fuzz seed".ljust(32, b"\x00")
    struct.pack_into("<H", head, 94, 227)
    struct.pack_into("<I", head, 96, 227)
    head[104] = 2
    struct.pack_into("<H", head, 105, 26)
    struct.pack_into("<I", head, 107, n)
    struct.pack_into("<3d", head, 131, *scale)
    struct.pack_into("<3d", head, 155, *offset)
    mx, mn = points.max(0), points.min(0)
    struct.pack_into("<6d", head, 179, mx[0], mn[0], mx[1], mn[1], mx[2], mn[2])
    rec = np.zeros(n, dtype=[("xyz", "<i4", 3), ("rest", "u1", 8), ("rgb", "<u2", 3)])
    rec["xyz"] = np.round((points - offset) / scale).astype(np.int32)
    rec["rgb"] = colors.astype(np.uint16) * 257
    return bytes(head) + rec.tobytes()


def _pcd_compressed_bytes(points: np.ndarray, colors: np.ndarray) -> bytes:
    n = len(points)
    packed = (colors[:, 0].astype(np.uint32) << 16) | (colors[:, 1].astype(np.uint32) << 8)
    packed |= colors[:, 2].astype(np.uint32)
    raw = points.astype("<f4").T.tobytes() + packed.astype("<u4").tobytes()
    comp = lzf_compress(raw)
    head = (
        "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F U\nCOUNT 1 1 1 1\n"
        f"WIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA binary_compressed\n"
    )
    return head.encode() + struct.pack("<II", len(comp), len(raw)) + comp


_SCENE = ("colmap_bin", "colmap_txt", "nerf_json", "cameras_json", "cfg_args", "gaussian_ply",
          "splat", "spz", "spz_v4", "compressed_ply")  # fmt: skip


def seed_reader_files(workdir: Path, names=None) -> dict[str, dict[str, bytes]]:
    """One small valid input per reader in ``names`` (default: all; deterministic)."""
    names = set(names or READERS)
    tmp = workdir / "reader-seeds"
    tmp.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, bytes]] = {}
    if names - {*_SCENE, "checkpoint"}:
        out.update(_point_cloud_seeds(tmp))
    if names & set(_SCENE):
        out.update(_scene_seeds(tmp))
    if "checkpoint" in names:
        out["checkpoint"] = {"codec.pt": _checkpoint_seed(tmp)}
    return {k: v for k, v in out.items() if k in names}


def _point_cloud_seeds(tmp: Path) -> dict[str, dict[str, bytes]]:
    from pcc.io.pointcloud import PointCloud, write_point_cloud

    rng = np.random.default_rng(0)
    out: dict[str, dict[str, bytes]] = {}
    pts = rng.uniform(-5, 5, size=(40, 3)).round(3)
    cols = rng.integers(0, 256, size=(40, 3)).astype(np.uint8)
    nrm = rng.normal(size=(40, 3)).astype(np.float32)
    pc = PointCloud(pts, cols, nrm)

    def write(name, ext, **kw):
        p = tmp / f"{name}{ext}"
        write_point_cloud(p, pc, **kw)
        return p.read_bytes()

    out["ply_ascii"] = {"cloud.ply": write("a", ".ply", ascii=True)}
    out["ply_binary"] = {"cloud.ply": write("b", ".ply")}
    out["pcd_ascii"] = {"cloud.pcd": write("a", ".pcd", ascii=True)}
    out["pcd_binary"] = {"cloud.pcd": write("b", ".pcd")}
    out["pcd_compressed"] = {"cloud.pcd": _pcd_compressed_bytes(pts, cols)}
    out["xyz"] = {"cloud.xyz": write("a", ".xyz")}
    out["las"] = {"cloud.las": _las_bytes(pts, cols)}
    # a LiDAR-like sweep (scan order, so the stride inference has something to find)
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    ring = np.stack([10 * np.cos(t), 10 * np.sin(t), np.full_like(t, -1.5)], 1)
    kitti = np.concatenate([ring, rng.uniform(0, 1, (60, 1))], 1).astype("<f4")
    nusc = np.concatenate([ring, rng.uniform(0, 255, (60, 1)), np.zeros((60, 1))], 1)
    out["kitti_bin"] = {"000000.bin": kitti.tobytes()}
    out["nuscenes_bin"] = {"sweep.pcd.bin": nusc.astype("<f4").tobytes()}
    verts = rng.uniform(-1, 1, size=(8, 3)).round(4)
    faces = [[0, 1, 2], [2, 3, 4, 5], [5, 6, 7], [0, 4, 7]]
    off = ["OFF", f"{len(verts)} {len(faces)} 0"]
    off += [" ".join(f"{v:g}" for v in row) for row in verts]
    off += [" ".join(str(x) for x in [len(f), *f]) for f in faces]
    out["off"] = {"mesh.off": ("\n".join(off) + "\n").encode()}
    tris = np.array([[0, 1, 2], [2, 3, 4], [4, 5, 6], [6, 7, 0]])
    mesh_head = (
        b"ply\nformat binary_little_endian 1.0\nelement vertex 8\nproperty float x\n"
        b"property float y\nproperty float z\nelement face 4\n"
        b"property list uchar int vertex_indices\nend_header\n"
    )
    face_rec = np.zeros(4, dtype=[("n", "u1"), ("idx", "<i4", 3)])
    face_rec["n"], face_rec["idx"] = 3, tris
    out["ply_mesh"] = {"mesh.ply": mesh_head + verts.astype("<f4").tobytes() + face_rec.tobytes()}
    return out


def _scene_seeds(tmp: Path) -> dict[str, dict[str, bytes]]:
    from pcc.io.cameras import make_camera
    from pcc.io.colmap import (
        ColmapCamera,
        ColmapImage,
        ColmapModel,
        ColmapPoints,
        rotmat_to_qvec,
        write_colmap_model,
    )
    from pcc.io.compressed_ply import encode_compressed_ply
    from pcc.io.gaussian_ply import write_gaussian_ply
    from pcc.io.inria_model import format_cfg_args, write_cameras_json
    from pcc.io.nerf import write_nerf_synthetic
    from pcc.io.splat import encode_splat
    from pcc.io.spz import encode_spz

    out: dict[str, dict[str, bytes]] = {}
    rng = np.random.default_rng(1)
    cams = [make_camera((3 * np.cos(a), 3 * np.sin(a), 1), (0, 0, 0), 8, 6, name=f"r_{i}")
            for i, a in enumerate([0.0, 2.0, 4.0])]  # fmt: skip
    ccams = {1: ColmapCamera(1, "PINHOLE", 8, 6, np.array([7.0, 7.5, 4.0, 3.0])),
             2: ColmapCamera(2, "SIMPLE_RADIAL", 8, 6, np.array([7.0, 4.0, 3.0, 0.0]))}  # fmt: skip
    images = {}
    for k, c in enumerate(cams):
        images[k + 1] = ColmapImage(
            k + 1, rotmat_to_qvec(c.R), np.asarray(c.t, float), 1 + k % 2, f"img_{k}.png",
            np.array([[1.5, 2.5], [3.0, 4.0]]), np.array([100 + k, -1], np.int64),
        )  # fmt: skip
    pts = ColmapPoints(
        np.arange(3, dtype=np.int64) + 100,
        rng.uniform(-1, 1, (3, 3)),
        rng.integers(0, 256, (3, 3)).astype(np.uint8),
        rng.uniform(0, 2, 3),
        [np.array([[k + 1, 0]], np.int64) for k in range(3)],
    )
    for binary, key in ((True, "colmap_bin"), (False, "colmap_txt")):
        d = tmp / key
        write_colmap_model(d, ColmapModel(ccams, images, pts), binary=binary)
        out[key] = {p.name: p.read_bytes() for p in sorted(d.iterdir())}
    nerf_dir = tmp / "nerf"
    imgs = [np.full((6, 8, 3), 0.25 * (i + 1), np.float32) for i in range(3)]
    write_nerf_synthetic(nerf_dir, "train", cams, imgs)
    out["nerf_json"] = {
        str(p.relative_to(nerf_dir)): p.read_bytes()
        for p in sorted(nerf_dir.rglob("*"))
        if p.is_file()
    }
    write_cameras_json(tmp / "cameras.json", cams)
    out["cameras_json"] = {"cameras.json": (tmp / "cameras.json").read_bytes()}
    cfg = {"sh_degree": 1, "source_path": "data/scene", "white_background": True, "eval": False,
           "resolution": -1, "images": "images", "model_path": "output/m"}  # fmt: skip
    out["cfg_args"] = {"cfg_args": format_cfg_args(cfg).encode()}
    model = _gaussians(20, 1)
    write_gaussian_ply(tmp / "g.ply", model)
    out["gaussian_ply"] = {"point_cloud.ply": (tmp / "g.ply").read_bytes()}
    out["splat"] = {"scene.splat": encode_splat(model)}
    out["spz"] = {"scene.spz": encode_spz(model, version=3)}
    out["spz_v4"] = {"scene.spz": encode_spz(model, version=4)}
    out["compressed_ply"] = {"scene.compressed.ply": encode_compressed_ply(model)[0]}
    return out


def _checkpoint_seed(tmp: Path) -> bytes:
    import torch

    from pcc.codec.checkpoint import save_checkpoint
    from pcc.codec.model import BlockCodec

    torch.manual_seed(0)
    from fuzz import TINY_CODEC

    codec = BlockCodec(TINY_CODEC, entropy_model="gaussian")
    path = tmp / "codec.pt"
    save_checkpoint(path, codec)
    return stable_torch_zip(path.read_bytes())
