"""PLY reading and writing: pcc's own parser (:mod:`pcc.io.ply`) next to ``plyfile``, in one run.

``python -m pcc.bench ply [--quick]``. Files: the canonical 10-bit bunny (458,477 points,
:func:`pcc.pointcloud.canonical.canonical_bunny`) written as binary little-endian and as ascii
PLY (int32 x y z); when ``../shared/data`` is there also the Stanford ``bun_zipper.ply`` mesh
(ascii, 35,947 vertices + 69,451 triangles as list properties), the raw scan ``bun000.ply``
(ascii) and the INRIA Gaussian PLY ``kacytran_3dgs_sh3`` (binary, 62 float properties). Without
the shared data a sphere shell stands in for the bunny (named in the output). Quick: the
generated clouds are cut to 50,000 points and each time is the best of 1 (else of 3).

Per file: read time of both parsers (every element, every property materialised as an array) and
``plyfile_over_ours`` (how many times longer plyfile takes); for the generated clouds also the
write time of both (plain writes; pcc's :func:`~pcc.io.ply.write_ply` adds the atomic
temporary-file-and-rename on top). This is why pcc keeps its own parser (docs/architecture.md): plyfile is
4-12x slower on ascii files and raises its own exceptions instead of ``FormatError``.
Taught in ``notebooks/10_point_clouds_and_octrees.ipynb``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from pcc.io.ply import ply_bytes, read_ply

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PCC_SHARED_DATA", REPO.parent / "shared" / "data"))
REAL = {
    "bun_zipper (ascii mesh)": "point_clouds/stanford_bunny/reconstruction/bun_zipper.ply",
    "bun000 (ascii scan)": "point_clouds/stanford_bunny/data/bun000.ply",
    "kacytran 3DGS (binary)": "gaussian_splats/kacytran_3dgs_sh3/point_cloud_iter7000.ply",
}


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _plyfile_read(path: Path) -> None:
    from plyfile import PlyData

    data = PlyData.read(str(path))
    for element in data.elements:
        for prop in element.properties:
            np.array(element[prop.name])  # a copy: binary data are memory-mapped until read


def _cloud(quick: bool) -> tuple[np.ndarray, str]:
    try:
        from pcc.pointcloud.canonical import canonical_bunny, default_bunny_path

        if default_bunny_path().is_file():
            coords, name = canonical_bunny(), "canonical bunny"
        else:
            raise OSError
    except (ImportError, OSError):
        rng = np.random.default_rng(0)
        v = rng.normal(size=(458_477, 3))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        coords, name = np.round(v * 400 + 511.5), "STAND-IN sphere shell"
    if quick:
        coords = coords[:50_000]
    return coords.astype(np.int32), f"{name} {len(coords):,} pts"


def main(quick: bool = False) -> list[dict]:
    try:
        import plyfile  # noqa: F401
    except ImportError:
        print("plyfile is not installed: nothing to compare against")
        return []
    repeats = 1 if quick else 3
    rows = []
    coords, name = _cloud(quick)  # [N, 3] int32
    columns = {c: coords[:, i] for i, c in enumerate("xyz")}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("binary_little_endian", "ascii"):
            path = Path(tmp) / f"cloud_{fmt}.ply"

            def write_plyfile(path=path, fmt=fmt):
                from plyfile import PlyData, PlyElement

                rec = np.empty(len(coords), dtype=[(c, "<i4") for c in "xyz"])
                for i, c in enumerate("xyz"):
                    rec[c] = coords[:, i]
                PlyData([PlyElement.describe(rec, "vertex")], text=fmt == "ascii").write(str(path))

            t_write_theirs = _best(write_plyfile, repeats)
            t_write_ours = _best(
                lambda p=path, f=fmt: p.write_bytes(ply_bytes({"vertex": columns}, format=f)),
                repeats,
            )
            rows.append(_row(f"{name} ({fmt})", path, repeats, t_write_ours, t_write_theirs))
        for label, rel in REAL.items():
            path = SHARED / rel
            if path.is_file():
                rows.append(_row(label, path, repeats, None, None))
            else:
                print(f"skipped {label}: {path} not found")
    print(
        f"{'file':<48} {'MB':>6} {'ours ms':>8} {'plyfile ms':>10} {'x':>5} "
        f"{'write ours':>10} {'write plyf':>10}"
    )
    for r in rows:
        w1 = "" if r["write_ours_ms"] is None else f"{r['write_ours_ms']:.0f}"
        w2 = "" if r["write_plyfile_ms"] is None else f"{r['write_plyfile_ms']:.0f}"
        print(
            f"{r['file']:<48} {r['mb']:>6.1f} {r['read_ours_ms']:>8.1f} "
            f"{r['read_plyfile_ms']:>10.1f} {r['plyfile_over_ours']:>5.1f} {w1:>10} {w2:>10}"
        )
    return rows


def _row(label: str, path: Path, repeats: int, w_ours, w_theirs) -> dict:
    ours = _best(lambda: read_ply(path), repeats)
    theirs = _best(lambda: _plyfile_read(path), repeats)
    return {
        "file": label,
        "mb": path.stat().st_size / 1e6,
        "read_ours_ms": 1e3 * ours,
        "read_plyfile_ms": 1e3 * theirs,
        "plyfile_over_ours": theirs / ours,
        "write_ours_ms": None if w_ours is None else 1e3 * w_ours,
        "write_plyfile_ms": None if w_theirs is None else 1e3 * w_theirs,
    }
