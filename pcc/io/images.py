"""Image helpers of the 3DGS side: decode, composite, exact area resizing, PNG writing, and
cameras whose target images are downscaled with them.

* :func:`load_image_rgba` / :func:`save_png`: 8- and 16-bit images <-> float ``[0, 1]`` arrays;
* :func:`composite`: RGBA on a background, ``rgb * a + background * (1 - a)``;
* :func:`resize_area`: exact area (box) resampling (the one image filter of pcc: the dataset
  readers, the c3dgs pipeline's evaluation views and ``pcc gs eval`` all use it);
* :func:`scaled_view` / :func:`downscale_cameras`: a :class:`~pcc.io.cameras.Camera` at another
  resolution, intrinsics scaled and its image (and alpha) area-resampled.

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pcc.errors import FormatError
from pcc.io.atomic import atomic_path
from pcc.io.cameras import Camera

__all__ = [
    "load_image_rgba",
    "composite",
    "area_weights",
    "resize_area",
    "save_png",
    "scaled_view",
    "downscale_cameras",
]


def load_image_rgba(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode an image file -> ``(rgb [H, W, 3] float32 in [0, 1], alpha [H, W] or None)``."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode.startswith("I"):  # 16/32-bit greyscale
                grey = np.asarray(img, dtype=np.float32)
                grey = grey / (65535.0 if mode.startswith("I;16") or grey.max() > 255 else 255.0)
                return np.repeat(grey[..., None], 3, axis=2), None
            has_alpha = mode in ("RGBA", "LA", "PA") or "transparency" in img.info
            arr = np.asarray(img.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise FormatError(path, "image file not found") from None
    except OSError as err:
        raise FormatError(path, f"cannot decode image: {err}") from None
    if has_alpha:
        return np.ascontiguousarray(arr[..., :3]), np.ascontiguousarray(arr[..., 3])
    return arr, None


def composite(rgb: np.ndarray, alpha: np.ndarray | None, background) -> np.ndarray:
    """``rgb * alpha + background * (1 - alpha)``: ``[H, W, 3]``, ``[H, W]`` -> ``[H, W, 3]``."""
    if alpha is None:
        return rgb
    bg = np.asarray(background, dtype=np.float32).reshape(1, 1, 3)
    a = alpha[..., None]
    return (rgb * a + bg * (1.0 - a)).astype(np.float32)


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``[n_out, n_in]`` weights of exact area resampling along one axis.

    Output pixel ``i`` covers the input interval ``[i s, (i + 1) s)`` with ``s = n_in / n_out``;
    input pixel ``j`` contributes its overlap with that interval, divided by ``s``.
    """
    s = n_in / n_out
    lo = np.arange(n_out)[:, None] * s  # [n_out, 1]
    j = np.arange(n_in)[None, :]  # [1, n_in]
    overlap = np.clip(np.minimum(lo + s, j + 1) - np.maximum(lo, j), 0.0, None)
    return overlap / s


def resize_area(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Exact area (box) resampling of ``[H, W]`` or ``[H, W, C]`` float images to ``width x height``.

    Each output pixel is the average of the input area it covers, partial pixels weighted by their
    overlap, so a factor-2 reduction is the mean of 2x2 blocks and the image mean is preserved.
    """
    if image.shape[1] == width and image.shape[0] == height:
        return image
    h_in, w_in = image.shape[:2]
    if h_in % height == 0 and w_in % width == 0:  # integer factors: the mean of k x k blocks
        fy, fx = h_in // height, w_in // width
        blocks = image.astype(np.float64).reshape(height, fy, width, fx, *image.shape[2:])
        return blocks.mean(axis=(1, 3)).astype(np.float32)
    wy = area_weights(image.shape[0], height)  # [height, H]
    wx = area_weights(image.shape[1], width)  # [width, W]
    flat = image.astype(np.float64).reshape(image.shape[0], image.shape[1], -1)  # [H, W, C]
    rows = np.tensordot(wy, flat, axes=(1, 0))  # [height, W, C]
    out = (rows.transpose(0, 2, 1) @ wx.T).transpose(0, 2, 1)  # [height, width, C]
    return out.reshape(height, width, *image.shape[2:]).astype(np.float32)


def save_png(path: str | os.PathLike, rgb, alpha=None) -> None:
    """Write ``rgb [H, W, 3]`` (and optional ``alpha [H, W]``) in [0, 1] as an 8-bit PNG, atomically."""
    rgb = np.asarray(torch.as_tensor(rgb).detach().cpu().float().numpy())
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"save_png: rgb must be [H, W, 3], got {rgb.shape}")
    channels = [rgb]
    if alpha is not None:
        alpha = np.asarray(torch.as_tensor(alpha).detach().cpu().float().numpy())
        if alpha.shape != rgb.shape[:2]:
            raise ValueError(f"save_png: alpha shape {alpha.shape} != {rgb.shape[:2]}")
        channels.append(alpha[..., None])
    data = np.concatenate(channels, axis=2)
    data = np.round(np.clip(np.nan_to_num(data), 0.0, 1.0) * 255.0).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(data, mode="RGBA" if alpha is not None else "RGB").save(tmp, format="PNG")


def _resized(t: torch.Tensor, width: int, height: int) -> torch.Tensor:
    out = resize_area(t.detach().cpu().float().numpy(), width, height)
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))


def scaled_view(cam: Camera, factor: float) -> Camera:
    """``cam`` with its resolution times ``factor`` (:meth:`Camera.scaled`), its ``image``
    ``[H, W, 3]`` and ``alpha`` ``[H, W]`` (when present) resampled by :func:`resize_area`."""
    small = cam.scaled(factor)
    if cam.image is not None:
        small.image = _resized(cam.image, small.width, small.height)  # [h, w, 3]
    if cam.alpha is not None:
        small.alpha = _resized(cam.alpha, small.width, small.height)  # [h, w]
    return small


def downscale_cameras(cameras: Sequence[Camera], max_width: int) -> list[Camera]:
    """Every camera wider than ``max_width`` scaled down to that width (:func:`scaled_view`);
    the others as they are."""
    return [scaled_view(c, max_width / c.width) if c.width > max_width else c for c in cameras]
