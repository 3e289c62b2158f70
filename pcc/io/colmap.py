"""COLMAP sparse reconstructions (``sparse/0/{cameras,images,points3D}.{bin,txt}``): read and write.

Layout (Schönberger & Frahm, "Structure-from-Motion Revisited", CVPR 2016; COLMAP's
``src/colmap/scene/reconstruction_io.cc``), all binaries little-endian:

* ``cameras``: ``camera_id, model, width, height, params[]``;
* ``images``: ``image_id, qw qx qy qz, tx ty tz, camera_id, name`` and the 2D observations
  ``(x, y, point3D_id)``; the pose is world-to-camera, ``X_cam = R(q) X_world + t``, which is
  already the OpenCV frame of :class:`~pcc.io.cameras.Camera`;
* ``points3D``: ``point3D_id, xyz, rgb (uint8), error, track[(image_id, point2D_idx)]``.

:func:`read_colmap_scene` turns a scene folder into :class:`Camera` objects the way the INRIA 3DGS
trainer does (images sorted by name; test split = every 8th image, ``index % 8 == 0``), except
that the principal point is honoured. PINHOLE and SIMPLE_PINHOLE are exact; SIMPLE_RADIAL is
accepted with its distortion ignored (a warning); other models must be undistorted first
(``colmap image_undistorter``). The points3D give the initial Gaussians.

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pcc.errors import FormatError
from pcc.io.atomic import atomic_path
from pcc.io.cameras import Camera

__all__ = [
    "CAMERA_MODELS",
    "ColmapCamera",
    "ColmapImage",
    "ColmapPoints",
    "ColmapModel",
    "ColmapScene",
    "qvec_to_rotmat",
    "rotmat_to_qvec",
    "read_colmap_model",
    "write_colmap_model",
    "read_colmap_scene",
    "colmap_camera_to_camera",
    "find_sparse_dir",
]

# model id -> (name, number of parameters), from COLMAP's camera model list.
CAMERA_MODELS = {
    0: ("SIMPLE_PINHOLE", 3),
    1: ("PINHOLE", 4),
    2: ("SIMPLE_RADIAL", 4),
    3: ("RADIAL", 5),
    4: ("OPENCV", 8),
    5: ("OPENCV_FISHEYE", 8),
    6: ("FULL_OPENCV", 12),
    7: ("FOV", 5),
    8: ("SIMPLE_RADIAL_FISHEYE", 4),
    9: ("RADIAL_FISHEYE", 5),
    10: ("THIN_PRISM_FISHEYE", 12),
}
_MODEL_IDS = {name: (mid, n) for mid, (name, n) in CAMERA_MODELS.items()}
SUPPORTED_MODELS = ("SIMPLE_PINHOLE", "PINHOLE", "SIMPLE_RADIAL")


@dataclass
class ColmapCamera:
    id: int
    model: str
    width: int
    height: int
    params: np.ndarray  # [P] float64


@dataclass
class ColmapImage:
    id: int
    qvec: np.ndarray  # [4] (w, x, y, z), world-to-camera rotation
    tvec: np.ndarray  # [3] world-to-camera translation
    camera_id: int
    name: str
    xys: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # [M, 2] float64
    point3d_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # [M], -1: none


@dataclass
class ColmapPoints:
    ids: np.ndarray  # [N] int64
    xyz: np.ndarray  # [N, 3] float64
    rgb: np.ndarray  # [N, 3] uint8
    errors: np.ndarray  # [N] float64
    tracks: list[np.ndarray]  # N arrays [L, 2] int64: (image_id, point2D_idx)

    @staticmethod
    def empty() -> ColmapPoints:
        return ColmapPoints(
            np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3), np.uint8), np.zeros(0), []
        )


@dataclass
class ColmapModel:
    cameras: dict[int, ColmapCamera]
    images: dict[int, ColmapImage]
    points: ColmapPoints


@dataclass
class ColmapScene:
    """What a trainer needs from a COLMAP scene."""

    cameras: list[Camera]  # sorted by image name, split applied
    points: np.ndarray  # [N, 3] float64 initial positions
    colors: np.ndarray  # [N, 3] float32 in [0, 1]


# ----------------------------------------------------------------------------- rotations
def qvec_to_rotmat(q: np.ndarray) -> np.ndarray:
    """Unit quaternion ``(w, x, y, z)`` ``[4]`` -> rotation matrix ``[3, 3]`` (normalised first)."""
    q = np.asarray(q, dtype=np.float64)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def rotmat_to_qvec(R: np.ndarray) -> np.ndarray:
    """Rotation matrix ``[3, 3]`` -> quaternion ``(w, x, y, z)`` ``[4]`` with ``w >= 0``.

    Uses the symmetric 4x4 matrix whose top eigenvector is the quaternion (Bar-Itzhack 2000), which
    is stable for every rotation and tolerant of slightly non-orthogonal input.
    """
    (r11, r12, r13), (r21, r22, r23), (r31, r32, r33) = np.asarray(R, dtype=np.float64)
    K = (
        np.array(
            [
                [r11 - r22 - r33, 0, 0, 0],
                [r21 + r12, r22 - r11 - r33, 0, 0],
                [r31 + r13, r32 + r23, r33 - r11 - r22, 0],
                [r23 - r32, r31 - r13, r12 - r21, r11 + r22 + r33],
            ]
        )
        / 3.0
    )
    vals, vecs = np.linalg.eigh(K)
    x, y, z, w = vecs[:, np.argmax(vals)]
    # K above uses R^T's convention; flip the vector part to get R's quaternion.
    q = np.array([w, -x, -y, -z])
    return -q if q[0] < 0 else q


# ----------------------------------------------------------------------------- binary reading
class _Reader:
    """Bounds-checked little-endian reads from a bytes buffer."""

    def __init__(self, path: Path, data: bytes):
        self.path, self.data, self.pos = path, data, 0

    def read(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            raise FormatError(self.path, f"truncated at byte {self.pos} (need {size} more bytes)")
        out = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return out

    def array(self, dtype: str, count: int) -> np.ndarray:
        dt = np.dtype(dtype)
        if count < 0 or self.pos + count * dt.itemsize > len(self.data):
            raise FormatError(self.path, f"truncated at byte {self.pos} (array of {count})")
        out = np.frombuffer(self.data, dtype=dt, count=count, offset=self.pos).copy()
        self.pos += count * dt.itemsize
        return out

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise FormatError(self.path, f"truncated: unterminated image name at byte {self.pos}")
        try:
            s = self.data[self.pos : end].decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError(self.path, f"image name at byte {self.pos} is not UTF-8") from None
        self.pos = end + 1
        return s

    def count(self, what: str, item_bytes: int) -> int:
        (n,) = self.read("Q")
        if n * item_bytes > len(self.data) - self.pos:
            raise FormatError(
                self.path, f"declares {n} {what} but the file is too short for that many"
            )
        return n


def _open(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except OSError as err:
        raise FormatError(path, f"cannot read file: {err}") from None


MAX_IMAGE_SIDE = 1 << 20  # pixels; a larger declared width or height is taken as corrupt


def _int64_overflows(value: int) -> bool:
    return not -(1 << 63) <= value < 1 << 63


def _read_cameras_bin(path: Path) -> dict[int, ColmapCamera]:
    r = _Reader(path, _open(path))
    cams = {}
    for _ in range(r.count("cameras", 24)):
        cam_id, model_id, width, height = r.read("iiQQ")
        if model_id not in CAMERA_MODELS:
            raise FormatError(path, f"camera {cam_id}: unknown camera model id {model_id}")
        name, n_params = CAMERA_MODELS[model_id]
        cams[cam_id] = ColmapCamera(cam_id, name, width, height, r.array("<f8", n_params))
    return cams


def _read_images_bin(path: Path) -> dict[int, ColmapImage]:
    r = _Reader(path, _open(path))
    images = {}
    for _ in range(r.count("images", 64)):
        image_id, qw, qx, qy, qz, tx, ty, tz, cam_id = r.read("idddddddi")
        name = r.cstring()
        (m,) = r.read("Q")
        obs = r.array("<u1", m * 24).view(np.dtype([("xy", "<f8", 2), ("id", "<i8")]))
        images[image_id] = ColmapImage(
            image_id,
            np.array([qw, qx, qy, qz]),
            np.array([tx, ty, tz]),
            cam_id,
            name,
            obs["xy"].astype(np.float64).reshape(m, 2),
            obs["id"].astype(np.int64),
        )
    return images


def _read_points_bin(path: Path) -> ColmapPoints:
    r = _Reader(path, _open(path))
    n = r.count("points", 43)
    ids, xyz, rgb, errors, tracks = (
        np.zeros(n, np.int64),
        np.zeros((n, 3)),
        np.zeros((n, 3), np.uint8),
        np.zeros(n),
        [],
    )
    for i in range(n):
        point_id, *p = r.read("Qddd")
        if point_id >= 1 << 63:
            raise FormatError(path, f"point {i}: id {point_id} does not fit an int64")
        ids[i] = point_id
        xyz[i] = p
        rgb[i] = r.read("BBB")
        (errors[i],) = r.read("d")
        (length,) = r.read("Q")
        tracks.append(r.array("<i4", 2 * length).reshape(length, 2).astype(np.int64))
    return ColmapPoints(ids, xyz, rgb, errors, tracks)


# ----------------------------------------------------------------------------- text reading
def _text_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise FormatError(path, f"cannot read text file: {err}") from None


def _read_cameras_txt(path: Path) -> dict[int, ColmapCamera]:
    cams = {}
    for lineno, line in enumerate(_text_lines(path), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        w = line.split()
        try:
            cam_id, model, width, height = int(w[0]), w[1], int(w[2]), int(w[3])
            params = np.array([float(v) for v in w[4:]])
        except (IndexError, ValueError):
            raise FormatError(path, f"line {lineno} is malformed: {line!r}") from None
        if model not in _MODEL_IDS:
            raise FormatError(path, f"line {lineno}: unknown camera model {model!r}")
        if len(params) != _MODEL_IDS[model][1]:
            raise FormatError(
                path,
                f"line {lineno}: {model} takes {_MODEL_IDS[model][1]} parameters, got {len(params)}",
            )
        cams[cam_id] = ColmapCamera(cam_id, model, width, height, params)
    return cams


def _read_images_txt(path: Path) -> dict[int, ColmapImage]:
    lines = _text_lines(path)
    images = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        w = line.split()
        try:
            image_id = int(w[0])
            q = np.array([float(v) for v in w[1:5]])
            t = np.array([float(v) for v in w[5:8]])
            cam_id = int(w[8])
            name = line.split(maxsplit=9)[9]
            if len(q) != 4 or len(t) != 3:
                raise ValueError
        except (IndexError, ValueError):
            raise FormatError(path, f"line {i} is malformed: {line!r}") from None
        obs_line = lines[i] if i < len(lines) else ""
        i += 1
        vals = obs_line.split()
        if len(vals) % 3:
            raise FormatError(path, f"line {i}: observations are not (x, y, point3D_id) triples")
        try:
            obs = np.array([float(v) for v in vals]).reshape(-1, 3)
        except ValueError:
            raise FormatError(path, f"line {i}: observation is not a number") from None
        pid = obs[:, 2]
        if not (np.isfinite(pid).all() and (pid == np.round(pid)).all()):
            raise FormatError(path, f"line {i}: a point3D_id is not an integer")
        if pid.size and (np.abs(pid).max() >= 2.0**63):
            raise FormatError(path, f"line {i}: a point3D_id does not fit an int64")
        images[image_id] = ColmapImage(
            image_id, q, t, cam_id, name, obs[:, :2].copy(), obs[:, 2].astype(np.int64)
        )
    return images


def _read_points_txt(path: Path) -> ColmapPoints:
    ids, xyz, rgb, errors, tracks = [], [], [], [], []
    for lineno, line in enumerate(_text_lines(path), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        w = line.split()
        try:
            ids.append(int(w[0]))
            xyz.append([float(v) for v in w[1:4]])
            rgb.append([int(v) for v in w[4:7]])
            errors.append(float(w[7]))
            track = np.array([int(v) for v in w[8:]], dtype=np.int64)
            if len(xyz[-1]) != 3 or len(rgb[-1]) != 3 or len(track) % 2:
                raise ValueError
        except (IndexError, ValueError, OverflowError):
            raise FormatError(path, f"line {lineno} is malformed") from None
        tracks.append(track.reshape(-1, 2))
    if not ids:
        return ColmapPoints.empty()
    too_big = [v for v in ids if _int64_overflows(v)]
    if too_big:
        raise FormatError(path, f"point id {too_big[0]} does not fit an int64")
    return ColmapPoints(
        np.array(ids, np.int64),
        np.array(xyz, np.float64),
        np.array([[min(max(c, 0), 255) for c in row] for row in rgb], np.uint8),
        np.array(errors),
        tracks,
    )


# ----------------------------------------------------------------------------- public readers
def read_colmap_model(sparse_dir: str | os.PathLike) -> ColmapModel:
    """Read ``cameras``, ``images`` and ``points3D`` from ``sparse_dir`` (``.bin`` preferred over
    ``.txt`` when both exist). A missing points3D file gives an empty point set."""
    d = Path(sparse_dir)
    if (d / "cameras.bin").is_file() and (d / "images.bin").is_file():
        cams = _read_cameras_bin(d / "cameras.bin")
        images = _read_images_bin(d / "images.bin")
        pts_path, pts_reader = d / "points3D.bin", _read_points_bin
    elif (d / "cameras.txt").is_file() and (d / "images.txt").is_file():
        cams = _read_cameras_txt(d / "cameras.txt")
        images = _read_images_txt(d / "images.txt")
        pts_path, pts_reader = d / "points3D.txt", _read_points_txt
    else:
        raise FormatError(d, "no COLMAP model here (need cameras.bin + images.bin or .txt)")
    points = pts_reader(pts_path) if pts_path.is_file() else ColmapPoints.empty()
    cam_file = d / ("cameras.bin" if pts_reader is _read_points_bin else "cameras.txt")
    for cam in cams.values():
        if not (0 < cam.width <= MAX_IMAGE_SIDE and 0 < cam.height <= MAX_IMAGE_SIDE):
            raise FormatError(
                cam_file,
                f"camera {cam.id}: image size {cam.width}x{cam.height} outside 1..{MAX_IMAGE_SIDE}",
            )
        if not np.isfinite(cam.params).all():
            raise FormatError(cam_file, f"camera {cam.id} has non-finite parameters")
    for img in images.values():
        if img.camera_id not in cams:
            raise FormatError(d, f"image {img.name!r} refers to missing camera {img.camera_id}")
        if not (np.isfinite(img.qvec).all() and np.isfinite(img.tvec).all()):
            raise FormatError(d, f"image {img.name!r} has a non-finite pose")
        with np.errstate(over="ignore"):
            norm = float(np.linalg.norm(img.qvec))
        if not 0 < norm < np.inf:
            raise FormatError(d, f"image {img.name!r} has a zero or overflowing quaternion")
    if not np.isfinite(points.xyz).all():
        raise FormatError(pts_path, "points3D contains NaN or infinite coordinates")
    return ColmapModel(cams, images, points)


def colmap_camera_to_camera(cam: ColmapCamera, image: ColmapImage, source=None) -> Camera:
    """One COLMAP image + its camera -> an OpenCV :class:`Camera` (principal point honoured)."""
    p = cam.params
    if cam.model == "SIMPLE_PINHOLE":
        fx = fy = p[0]
        cx, cy = p[1], p[2]
    elif cam.model == "PINHOLE":
        fx, fy, cx, cy = p
    elif cam.model == "SIMPLE_RADIAL":
        fx = fy = p[0]
        cx, cy = p[1], p[2]
        if p[3] != 0:
            warnings.warn(
                f"{source or 'COLMAP'}: camera {cam.id} is SIMPLE_RADIAL with k={p[3]:.4g}; the "
                "radial distortion is ignored (undistort the images for exact results)",
                stacklevel=3,
            )
    else:
        raise FormatError(
            source,
            f"camera {cam.id} uses the {cam.model} model; only "
            f"{', '.join(SUPPORTED_MODELS)} are supported (run colmap image_undistorter first)",
        )
    return Camera(
        cam.width,
        cam.height,
        float(fx),
        float(fy),
        float(cx),
        float(cy),
        qvec_to_rotmat(image.qvec),
        image.tvec,
        name=image.name,
    )


def find_sparse_dir(scene_dir: str | os.PathLike) -> Path | None:
    """``scene/sparse/0`` or ``scene/sparse`` if it holds a model (or ``scene`` itself), else None."""
    scene_dir = Path(scene_dir)
    for d in (scene_dir / "sparse" / "0", scene_dir / "sparse", scene_dir):
        if any((d / f"cameras.{ext}").is_file() for ext in ("bin", "txt")):
            return d
    return None


def _split(items: list, split: str, every: int = 8) -> list:
    if split == "all":
        return items
    if split == "test":
        return [x for i, x in enumerate(items) if i % every == 0]
    if split == "train":
        return [x for i, x in enumerate(items) if i % every != 0]
    raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")


def read_colmap_scene(
    scene_dir: str | os.PathLike,
    split: str = "train",
    *,
    images: str = "images",
    scale: float = 1.0,
    background=(0.0, 0.0, 0.0),
    load_images: bool = True,
    max_images: int | None = None,
) -> ColmapScene:
    """Cameras (with images) and initial points of a COLMAP scene, INRIA-style.

    Args:
        scene_dir: folder with ``sparse/0`` and an ``images`` folder.
        split: ``"train"``, ``"test"`` (every 8th image by sorted name, ``index % 8 == 0``) or
            ``"all"``.
        images: the image folder name (``images_4`` for pre-downscaled copies: intrinsics are
            rescaled to the size of the image found).
        scale: additional resolution factor (area filtering).
        background: RGB that RGBA images are composited on.
        load_images: False returns cameras without images (no image files needed).
        max_images: keep only the first this many cameras after the split.
    """
    from pcc.io.nerf import composite, load_image_rgba, resize_area

    scene_dir = Path(scene_dir)
    sparse = find_sparse_dir(scene_dir)
    if sparse is None:
        raise FormatError(scene_dir, "no COLMAP model (sparse/0/cameras.bin or .txt) found")
    model = read_colmap_model(sparse)
    ordered = sorted(model.images.values(), key=lambda im: im.name)
    chosen = _split(ordered, split)
    if max_images is not None:
        chosen = chosen[:max_images]
    cameras = []
    for img in chosen:
        cam = colmap_camera_to_camera(model.cameras[img.camera_id], img, sparse)
        if load_images:
            path = scene_dir / images / img.name
            rgb, alpha = load_image_rgba(path)
            h, w = rgb.shape[:2]
            if (w, h) != (cam.width, cam.height):  # a pre-downscaled folder such as images_4
                cam = _resize_intrinsics(cam, w, h)
            cam = cam.scaled(scale) if scale != 1.0 else cam
            image = resize_area(composite(rgb, alpha, background), cam.width, cam.height)
            cam.image = torch.from_numpy(np.array(image, dtype=np.float32))
            if alpha is not None:
                a = resize_area(alpha, cam.width, cam.height)
                cam.alpha = torch.from_numpy(np.array(a, dtype=np.float32))
        elif scale != 1.0:
            cam = cam.scaled(scale)
        cameras.append(cam)
    colors = model.points.rgb.astype(np.float32) / 255.0
    return ColmapScene(cameras, model.points.xyz.copy(), colors)


def _resize_intrinsics(cam: Camera, width: int, height: int) -> Camera:
    sx, sy = width / cam.width, height / cam.height
    return Camera(
        width,
        height,
        cam.fx * sx,
        cam.fy * sy,
        cam.cx * sx,
        cam.cy * sy,
        cam.R,
        cam.t,
        name=cam.name,
    )


# ----------------------------------------------------------------------------- writers
def _write_bin(d: Path, model: ColmapModel) -> None:
    buf = io.BytesIO()
    buf.write(struct.pack("<Q", len(model.cameras)))
    for cam in model.cameras.values():
        mid, n_params = _MODEL_IDS[cam.model]
        if len(cam.params) != n_params:
            raise ValueError(f"camera {cam.id}: {cam.model} takes {n_params} parameters")
        buf.write(struct.pack("<iiQQ", cam.id, mid, cam.width, cam.height))
        buf.write(np.asarray(cam.params, "<f8").tobytes())
    with atomic_path(d / "cameras.bin") as tmp:
        tmp.write_bytes(buf.getvalue())

    buf = io.BytesIO()
    buf.write(struct.pack("<Q", len(model.images)))
    for img in model.images.values():
        buf.write(struct.pack("<i7di", img.id, *img.qvec, *img.tvec, img.camera_id))
        buf.write(img.name.encode("utf-8") + b"\0")
        obs = np.zeros(len(img.xys), dtype=np.dtype([("xy", "<f8", 2), ("id", "<i8")]))
        obs["xy"], obs["id"] = img.xys, img.point3d_ids
        buf.write(struct.pack("<Q", len(obs)) + obs.tobytes())
    with atomic_path(d / "images.bin") as tmp:
        tmp.write_bytes(buf.getvalue())

    pts = model.points
    buf = io.BytesIO()
    buf.write(struct.pack("<Q", len(pts.ids)))
    for i in range(len(pts.ids)):
        track = np.asarray(pts.tracks[i], dtype="<i4").reshape(-1, 2)
        buf.write(struct.pack("<Q3d3Bd", int(pts.ids[i]), *pts.xyz[i], *pts.rgb[i], pts.errors[i]))
        buf.write(struct.pack("<Q", len(track)) + track.tobytes())
    with atomic_path(d / "points3D.bin") as tmp:
        tmp.write_bytes(buf.getvalue())


def _write_txt(d: Path, model: ColmapModel) -> None:
    def num(v: float) -> str:
        return repr(float(v))  # shortest repr that round-trips float64 exactly

    lines = ["# Camera list with one line of data per camera:"]
    lines += ["#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]"]
    for cam in model.cameras.values():
        lines.append(
            f"{cam.id} {cam.model} {cam.width} {cam.height} " + " ".join(map(num, cam.params))
        )
    with atomic_path(d / "cameras.txt") as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")

    lines = ["# Image list with two lines of data per image:"]
    lines += ["#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME"]
    lines += ["#   POINTS2D[] as (X, Y, POINT3D_ID)"]
    for img in model.images.values():
        pose = " ".join(map(num, [*img.qvec, *img.tvec]))
        lines.append(f"{img.id} {pose} {img.camera_id} {img.name}")
        lines.append(
            " ".join(
                f"{num(x)} {num(y)} {int(pid)}" for (x, y), pid in zip(img.xys, img.point3d_ids)
            )
        )
    with atomic_path(d / "images.txt") as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")

    pts = model.points
    lines = ["# 3D point list with one line of data per point:"]
    lines += ["#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)"]
    for i in range(len(pts.ids)):
        track = " ".join(f"{int(a)} {int(b)}" for a, b in np.asarray(pts.tracks[i]).reshape(-1, 2))
        rgb = " ".join(str(int(c)) for c in pts.rgb[i])
        xyz = " ".join(map(num, pts.xyz[i]))
        lines.append(f"{int(pts.ids[i])} {xyz} {rgb} {num(pts.errors[i])} {track}".rstrip())
    with atomic_path(d / "points3D.txt") as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_colmap_model(
    sparse_dir: str | os.PathLike, model: ColmapModel, *, binary: bool = True
) -> Path:
    """Write ``model`` as ``cameras``/``images``/``points3D`` ``.bin`` (or ``.txt``) in ``sparse_dir``.

    Text output uses Python's shortest round-trip float repr, so both formats read back exactly.
    """
    d = Path(sparse_dir)
    d.mkdir(parents=True, exist_ok=True)
    for cam in model.cameras.values():
        if cam.model not in _MODEL_IDS:
            raise ValueError(f"camera {cam.id}: unknown model {cam.model!r}")
    (_write_bin if binary else _write_txt)(d, model)
    return d
