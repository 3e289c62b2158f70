"""The INRIA 3DGS model directory: ``point_cloud/iteration_N/point_cloud.ply``, ``cameras.json``,
``cfg_args``.

This is the layout the reference trainer (Kerbl et al., SIGGRAPH 2023) writes and that c3dgs
(Niedermayr et al., CVPR 2024) and viewers read::

    <model>/point_cloud/iteration_30000/point_cloud.ply   # see pcc.io.gaussian_ply
    <model>/cameras.json   # [{id, img_name, width, height, position, rotation, fx, fy}, ...]
    <model>/cfg_args       # "Namespace(sh_degree=3, source_path='...', ...)"

In ``cameras.json`` ``position`` is the camera centre and ``rotation`` the camera-to-world rotation
(OpenCV axes, rows as lists), i.e. the inverse of the world-to-camera ``R, t`` of
:class:`~pcc.io.cameras.Camera`. INRIA writes no principal point (it assumes the centre); we add
``cx``/``cy`` only when they are off-centre, and read them when present.

``cfg_args`` is the ``repr`` of an ``argparse.Namespace``; INRIA tools ``eval`` it, we parse it with
:mod:`ast` and accept literals only (reading never executes code).

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pcc.errors import FormatError
from pcc.io.atomic import write_text_atomic
from pcc.io.cameras import Camera
from pcc.io.gaussian_model import GaussianModel
from pcc.io.gaussian_ply import read_gaussian_ply, write_gaussian_ply

__all__ = [
    "find_model_ply",
    "load_model",
    "write_model_dir",
    "read_cameras_json",
    "write_cameras_json",
    "read_cfg_args",
    "format_cfg_args",
]


def find_model_ply(model_dir: str | os.PathLike) -> Path:
    """The ``point_cloud.ply`` of the highest ``point_cloud/iteration_N`` in ``model_dir``."""
    model_dir = Path(model_dir)
    root = model_dir / "point_cloud"
    found = []
    if root.is_dir():
        for d in root.iterdir():
            m = re.fullmatch(r"iteration_(\d+)", d.name)
            if m and (d / "point_cloud.ply").is_file():
                found.append((int(m.group(1)), d / "point_cloud.ply"))
    if not found:
        raise FormatError(
            model_dir, "not an INRIA model directory (no point_cloud/iteration_N/point_cloud.ply)"
        )
    return max(found)[1]


def load_model(path: str | os.PathLike) -> GaussianModel:
    """Load a Gaussian scene from an INRIA model directory (latest iteration) or a ``.ply`` file."""
    path = Path(path)
    if path.is_dir():
        return read_gaussian_ply(find_model_ply(path))
    if not path.exists():
        raise FormatError(path, "no such file or directory")
    return read_gaussian_ply(path)


# ----------------------------------------------------------------------------- cameras.json
def _camera_entry(index: int, cam: Camera) -> dict:
    entry = {
        "id": index,
        "img_name": cam.name or f"{index:05d}",
        "width": cam.width,
        "height": cam.height,
        "position": cam.center.tolist(),
        "rotation": cam.R.T.tolist(),
        "fy": cam.fy,
        "fx": cam.fx,
    }
    if abs(cam.cx - cam.width / 2.0) > 1e-9 or abs(cam.cy - cam.height / 2.0) > 1e-9:
        entry["cx"], entry["cy"] = cam.cx, cam.cy
    return entry


def write_cameras_json(path: str | os.PathLike, cameras: Sequence[Camera]) -> None:
    """Write ``cameras`` as an INRIA ``cameras.json`` (atomically)."""
    write_text_atomic(path, json.dumps([_camera_entry(i, c) for i, c in enumerate(cameras)]))


def read_cameras_json(path: str | os.PathLike) -> list[Camera]:
    """Read an INRIA ``cameras.json`` -> cameras without images (the inverse of the writer)."""
    path = Path(path)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FormatError(path, f"not a valid JSON file: {err}") from None
    if not isinstance(entries, list) or not entries:
        raise FormatError(path, "expected a non-empty JSON list of cameras")
    cameras = []
    for i, e in enumerate(entries):
        try:
            rot = np.asarray(e["rotation"], dtype=np.float64)
            pos = np.asarray(e["position"], dtype=np.float64)
            w, h = int(e["width"]), int(e["height"])
            fx, fy = float(e["fx"]), float(e["fy"])
            cx = float(e.get("cx", w / 2.0))
            cy = float(e.get("cy", h / 2.0))
            name = str(e.get("img_name", f"{i:05d}"))
        except (KeyError, TypeError, ValueError, OverflowError):
            raise FormatError(path, f"camera {i}: missing or malformed field") from None
        if rot.shape != (3, 3) or pos.shape != (3,):
            raise FormatError(path, f"camera {i}: rotation must be 3x3 and position 3 numbers")
        if not (np.isfinite(rot).all() and np.isfinite(pos).all()):
            raise FormatError(path, f"camera {i}: non-finite pose")
        if not (0 < w <= _MAX_SIDE and 0 < h <= _MAX_SIDE):
            raise FormatError(path, f"camera {i}: image size {w}x{h} outside 1..{_MAX_SIDE}")
        if not (all(np.isfinite((fx, fy, cx, cy))) and fx > 0 and fy > 0):
            raise FormatError(path, f"camera {i}: focal lengths must be finite and positive")
        R = rot.T
        with np.errstate(over="ignore", invalid="ignore"):
            t = -R @ pos  # [3]
        if not np.isfinite(t).all():
            raise FormatError(path, f"camera {i}: the pose overflows float64")
        try:
            cameras.append(Camera(w, h, fx, fy, cx, cy, R, t, name=name))
        except ValueError as err:
            raise FormatError(path, f"camera {i}: {err}") from None
    return cameras


_MAX_SIDE = 1 << 20  # pixels


# ----------------------------------------------------------------------------- cfg_args
def format_cfg_args(cfg: dict) -> str:
    """``Namespace(key=value, ...)``: the ``cfg_args`` text INRIA and c3dgs tools parse."""
    return repr(argparse.Namespace(**cfg))


_MAX_CFG_ARGS = 1 << 20  # characters; real files are a few hundred


def read_cfg_args(path: str | os.PathLike) -> dict:
    """Parse a ``cfg_args`` file into a dict without executing it (literal values only)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise FormatError(path, f"cannot read: {err}") from None
    except UnicodeDecodeError as err:
        raise FormatError(path, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    if len(text) > _MAX_CFG_ARGS:
        raise FormatError(path, f"{len(text)} characters: too long for a cfg_args file")
    try:
        node = ast.parse(text, mode="eval").body
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Namespace"
            and not node.args
            and all(kw.arg is not None for kw in node.keywords)
        ):
            raise ValueError
        return {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        raise FormatError(path, "not a Namespace(key=literal, ...) cfg_args file") from None


def write_model_dir(
    model_dir: str | os.PathLike,
    model: GaussianModel,
    iteration: int,
    cameras: Sequence[Camera] | None = None,
    cfg: dict | None = None,
) -> Path:
    """Write an INRIA model directory; returns the PLY path.

    Writes ``point_cloud/iteration_<iteration>/point_cloud.ply``, ``cfg_args`` (defaults of the
    reference trainer, with ``sh_degree`` from the model, overridden by ``cfg``) and, when
    ``cameras`` are given, ``cameras.json``.
    """
    model_dir = Path(model_dir)
    ply = model_dir / "point_cloud" / f"iteration_{int(iteration)}" / "point_cloud.ply"
    write_gaussian_ply(ply, model)
    args = {
        "data_device": "cuda",
        "eval": False,
        "images": "images",
        "model_path": str(model_dir),
        "resolution": -1,
        "sh_degree": model.sh_degree,
        "source_path": "",
        "white_background": False,
    }
    args.update(cfg or {})
    write_text_atomic(model_dir / "cfg_args", format_cfg_args(args))
    if cameras is not None:
        write_cameras_json(model_dir / "cameras.json", cameras)
    return ply
