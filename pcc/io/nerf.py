"""NeRF-synthetic (Blender) datasets: ``transforms_<split>.json`` plus PNG images.

Format (Mildenhall et al., "NeRF", ECCV 2020; read as in the INRIA 3DGS ``dataset_readers.py``):
``camera_angle_x`` (horizontal field of view in radians) and ``frames``, each with a ``file_path``
(".png" appended when it has no extension) and a 4x4 camera-to-world ``transform_matrix`` in
Blender/OpenGL axes (camera looks down -Z, +Y up). We convert to the OpenCV frame of
:class:`~pcc.io.cameras.Camera` by negating columns 1 and 2 of the camera-to-world matrix, then
invert it. Focal ``f = W / (2 tan(fov_x / 2))``, principal point at the image centre, unless the
instant-ngp style keys ``fl_x fl_y cx cy w h`` are present (top level or per frame; per frame wins).

RGBA images are composited on ``background`` in linear [0, 1] values:
``rgb * a + background * (1 - a)``; down-scaling is an exact area (box) filter applied after
compositing, to the colour and to the alpha (the image helpers are :mod:`pcc.io.images`).

:func:`write_nerf_synthetic` is the exact inverse (up to 8-bit PNG quantisation): it is what the
synthetic dataset generator uses. Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pcc.errors import FormatError
from pcc.io.atomic import write_text_atomic
from pcc.io.cameras import Camera
from pcc.io.images import (  # the image helpers used to live here: re-exported
    area_weights,
    composite,
    load_image_rgba,
    resize_area,
    save_png,
)

__all__ = [
    "read_nerf_synthetic",
    "write_nerf_synthetic",
    "load_image_rgba",
    "composite",
    "resize_area",
    "area_weights",
    "save_png",
]


# ----------------------------------------------------------------------------- cameras
def _load_json(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        available = sorted(p.name for p in path.parent.glob("transforms_*.json"))
        raise FormatError(
            path, f"not found (available: {', '.join(available) or 'no transforms_*.json'})"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FormatError(path, f"not a valid JSON file: {err}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("frames"), list):
        raise FormatError(path, "no 'frames' list: not a NeRF-synthetic transforms file")
    return meta


_MAX_POSE_VALUE = 1e9  # larger entries are corrupt (and would overflow the inverse)


def _json_int(value) -> int:
    """An integer JSON value (``8`` or ``8.0``); ValueError/TypeError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"{value!r} is not an integer")
    return int(value)


def _frame_image_path(folder: Path, frame: dict) -> Path:
    rel = frame["file_path"]
    p = folder / rel
    return p if p.suffix else p.with_name(p.name + ".png")


def _camera_from_frame(
    json_path: Path, meta: dict, frame: dict, index: int, width: int, height: int
) -> Camera:
    """The OpenCV camera of one frame for an image of ``width x height``."""

    def key(name):
        return frame.get(name, meta.get(name))

    try:
        c2w = np.asarray(frame["transform_matrix"], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        raise FormatError(
            json_path, f"frame {index}: missing or malformed transform_matrix"
        ) from None
    if c2w.shape != (4, 4) or not np.isfinite(c2w).all():
        raise FormatError(json_path, f"frame {index}: transform_matrix is not a finite 4x4 matrix")
    if np.abs(c2w).max() > _MAX_POSE_VALUE:
        raise FormatError(
            json_path, f"frame {index}: transform_matrix has values beyond {_MAX_POSE_VALUE:g}"
        )
    try:
        w_decl, h_decl = key("w"), key("h")
        if w_decl is not None and h_decl is not None:
            w_decl, h_decl = _json_int(w_decl), _json_int(h_decl)
            if (w_decl, h_decl) != (width, height):
                raise FormatError(
                    json_path,
                    f"frame {index}: declares {w_decl}x{h_decl} but its image is {width}x{height}",
                )
        fx, fy = key("fl_x"), key("fl_y")
        if fx is None:
            if key("camera_angle_x") is None:
                raise FormatError(json_path, "neither camera_angle_x nor fl_x is given")
            fx = width / (2.0 * math.tan(float(key("camera_angle_x")) / 2.0))
        if fy is None:
            angle_y = key("camera_angle_y")
            fy = fx if angle_y is None else height / (2.0 * math.tan(float(angle_y) / 2.0))
        fx, fy = float(fx), float(fy)
        cx = float(key("cx")) if key("cx") is not None else width / 2.0
        cy = float(key("cy")) if key("cy") is not None else height / 2.0
    except (TypeError, ValueError, OverflowError, ZeroDivisionError) as err:
        if isinstance(err, FormatError):
            raise
        raise FormatError(json_path, f"frame {index}: malformed intrinsics ({err})") from None
    if not all(math.isfinite(v) for v in (fx, fy, cx, cy)) or fx <= 0 or fy <= 0:
        raise FormatError(json_path, f"frame {index}: focal lengths must be finite and positive")
    c2w = c2w.copy()
    c2w[:3, 1:3] *= -1.0  # Blender/OpenGL (y up, -z forward) -> OpenCV (y down, +z forward)
    if abs(np.linalg.det(c2w[:3, :3])) < 1e-9 or not np.allclose(c2w[3], (0, 0, 0, 1), atol=1e-6):
        raise FormatError(
            json_path, f"frame {index}: transform_matrix is not a rigid 4x4 pose (singular rotation "
            "or last row not 0 0 0 1)"
        )  # fmt: skip
    w2c = np.linalg.inv(c2w)
    name = Path(frame["file_path"]).stem
    return Camera(width, height, fx, fy, cx, cy, w2c[:3, :3], w2c[:3, 3], name=name)


def read_nerf_synthetic(
    folder: str | os.PathLike,
    split: str = "train",
    background=(1.0, 1.0, 1.0),
    scale: float = 1.0,
    max_images: int | None = None,
    *,
    skip_missing: bool = False,
    load_images: bool = True,
) -> list[Camera]:
    """Read ``folder/transforms_<split>.json`` and its images -> cameras with ground-truth images.

    Args:
        folder: the scene folder (holding ``transforms_train.json`` etc.).
        split: ``"train"``, ``"test"``, ``"val"`` or any ``X`` with a ``transforms_X.json``.
        background: RGB in [0, 1] that RGBA images are composited on (white is customary).
        scale: resolution factor (0.5 halves width and height; intrinsics scale with it).
        max_images: keep only the first this many frames.
        skip_missing: drop frames whose image file does not exist instead of raising.
        load_images: with False, image files are only opened for their size (cameras only).
    Returns:
        cameras in file order; ``camera.image [H, W, 3]`` and ``camera.alpha [H, W]`` (None for
        images without an alpha channel) are float32 tensors in [0, 1].
    """
    folder = Path(folder)
    json_path = folder / f"transforms_{split}.json"
    meta = _load_json(json_path)
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    frames = meta["frames"]
    if not frames:
        raise FormatError(json_path, "the 'frames' list is empty")
    cameras = []
    for index, frame in enumerate(frames):
        if max_images is not None and len(cameras) >= max_images:
            break
        if not isinstance(frame, dict) or not isinstance(frame.get("file_path"), str):
            raise FormatError(json_path, f"frame {index} has no file_path string")
        try:
            image_path = _frame_image_path(folder, frame)
            exists = image_path.is_file()
        except (ValueError, OSError) as err:  # e.g. an embedded NUL byte, a name too long
            raise FormatError(json_path, f"frame {index}: unusable file_path ({err})") from None
        if not exists:
            if skip_missing:
                continue
            raise FormatError(
                json_path,
                f"frame {index}: image {image_path} does not exist "
                "(pass skip_missing=True to drop frames without images)",
            )
        if load_images:
            rgb, alpha = load_image_rgba(image_path)
            height, width = rgb.shape[:2]
        else:
            try:
                with Image.open(image_path) as img:
                    width, height = img.size
            except OSError as err:
                raise FormatError(image_path, f"cannot decode image: {err}") from None
            rgb = alpha = None
        cam = _camera_from_frame(json_path, meta, frame, index, width, height)
        if scale != 1.0:
            cam = cam.scaled(scale)
        if load_images:
            image = composite(rgb, alpha, background)
            image = resize_area(image, cam.width, cam.height)
            cam.image = torch.from_numpy(np.array(image, dtype=np.float32))
            if alpha is not None:
                alpha = resize_area(alpha, cam.width, cam.height)
                cam.alpha = torch.from_numpy(np.array(alpha, dtype=np.float32))
        cameras.append(cam)
    if not cameras:
        raise FormatError(json_path, "no frame has an existing image")
    return cameras


# ----------------------------------------------------------------------------- writer
def _blender_c2w(cam: Camera) -> list[list[float]]:
    c2w = cam.camera_to_world()
    c2w[:3, 1:3] *= -1.0  # OpenCV -> Blender/OpenGL
    c2w[3] = (0.0, 0.0, 0.0, 1.0)
    return c2w.tolist()


def write_nerf_synthetic(
    folder: str | os.PathLike,
    split: str,
    cameras: Sequence[Camera],
    images: Sequence | None,
    alphas: Sequence | None = None,
    *,
    premultiplied: bool = False,
) -> Path:
    """Write ``folder/transforms_<split>.json`` and ``folder/<split>/<name>.png``: the inverse of
    :func:`read_nerf_synthetic`.

    Args:
        cameras: OpenCV cameras; ``camera.name`` (or ``r_<i>``) names each PNG.
        images: one ``[H, W, 3]`` image in [0, 1] per camera (tensor or array), or None to use each
            camera's ``image``.
        alphas: optional ``[H, W]`` alpha per camera; then RGBA PNGs are written, and reading them
            back composites ``image * alpha + background * (1 - alpha)``.
        premultiplied: the images are premultiplied by alpha (a render on a black background,
            ``sum alpha_i T_i c_i``); they are divided by alpha before being stored.
    Returns:
        the JSON path. ``camera_angle_x`` comes from the first camera; exact ``fl_x fl_y cx cy w
        h`` are written too (at the top level when all cameras share them, else per frame).
    """
    folder = Path(folder)
    if not cameras:
        raise ValueError("write_nerf_synthetic: no cameras")
    if images is None:
        images = [c.image for c in cameras]
    if len(images) != len(cameras) or (alphas is not None and len(alphas) != len(cameras)):
        raise ValueError("write_nerf_synthetic: one image (and alpha) per camera is required")
    intr = [
        {"fl_x": c.fx, "fl_y": c.fy, "cx": c.cx, "cy": c.cy, "w": c.width, "h": c.height}
        for c in cameras
    ]
    shared = all(i == intr[0] for i in intr)
    meta: dict = {"camera_angle_x": cameras[0].fov_x}
    if shared:
        meta.update(intr[0])
    frames = []
    names = set()
    for i, cam in enumerate(cameras):
        name = cam.name or f"r_{i}"
        if name in names:
            raise ValueError(f"write_nerf_synthetic: duplicate camera name {name!r}")
        names.add(name)
        if images[i] is None:
            raise ValueError(f"write_nerf_synthetic: camera {name!r} has no image")
        rgb = torch.as_tensor(images[i]).detach().cpu().float()
        if tuple(rgb.shape) != (cam.height, cam.width, 3):
            raise ValueError(
                f"image {name!r} has shape {tuple(rgb.shape)}, camera wants "
                f"({cam.height}, {cam.width}, 3)"
            )
        alpha = None
        if alphas is not None and alphas[i] is not None:
            alpha = torch.as_tensor(alphas[i]).detach().cpu().float()
            if premultiplied:
                rgb = torch.where(alpha[..., None] > 0, rgb / alpha[..., None].clamp_min(1e-8), 0)
        save_png(folder / split / f"{name}.png", rgb, alpha)
        frame = {"file_path": f"./{split}/{name}", "transform_matrix": _blender_c2w(cam)}
        if not shared:
            frame.update(intr[i])
        frames.append(frame)
    meta["frames"] = frames
    json_path = folder / f"transforms_{split}.json"
    write_text_atomic(json_path, json.dumps(meta, indent=2))
    return json_path
