"""Every bundled learned-codec model against the lossless octree coder, on clouds it never saw.

``python -m pcc.bench compare [--quick]``: one table with, per model, the **real** bits per input
point (8 x the size of the compressed file written to disk / input points), D1 and D2 PSNR of the
decoded cloud, encode and decode wall time, and how many times smaller the file is than the
lossless octree coder's file of the same cloud (``x_octree``), measured side by side in this run.

* Models: every checkpoint of ``input_models/codec`` (``pcc pc models``) that was trained
  (``steps > 0`` in its metadata; an untrained file would be skipped and named). ``--quick``: the
  six entropy models at lambda 0.1 only.
* Held-out clouds: procedural shapes (:func:`pcc.pointcloud.shapes.shape_at`) of stream seed
  ``HELD_OUT_SEED`` = 777. The bundled models were trained on the block pools of
  :func:`pcc.codec.train.procedural_blocks`, whose shape streams have seeds ``16 s + part``
  (training) and ``16 (s + 1000) + part`` (validation) for the data seed ``s`` (0) and one part per
  grid size: 0-2 and 16000-16002. The seeds are read back from every checkpoint's metadata and
  777 is checked to be outside them. Full run: shapes 0-3 in a 7-bit grid (peak 127); quick: shape
  1 only.
* Real cloud: the canonical 10-bit Stanford bunny (458,477 points, peak 1023,
  :func:`pcc.pointcloud.canonical.canonical_bunny`); quick: the same recipe in an 8-bit grid
  (span 95 voxels, peak 255). Skipped, with a note, when ``../shared/data`` is absent.
* Honesty: sizes are ``os.path.getsize`` of the written files; the estimate ``-sum log2 p`` is
  kept next to it (``estimated_bpp``) and never replaces it. Each file is read back and decoded
  by a fresh decoder call and the result must equal the encoder's own reconstruction bit for bit
  (the benchmark fails otherwise); the lossless octree file must decode to the input exactly.
  Encode = partition + g_a + entropy coding, decode = entropy decoding + g_s + top-k, model loaded,
  one untimed warm-up per model, one torch thread; PSNR at the cloud's peak with PCA normals of
  the input (k = 12) for D2 (:func:`pcc.metrics.pointcloud.evaluate_geometry`).

Returns two tables: ``summary`` (the printed one, a row per codec) and ``clouds`` (a row per codec
and cloud, with the file path and its size). Taught in ``notebooks/14_rate_distortion.ipynb``.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pcc.codec.pipeline import decompress_point_cloud, encode_point_cloud, encoder_reconstruction
from pcc.codec.registry import ModelInfo, list_models, load_model
from pcc.io.atomic import write_bytes_atomic
from pcc.metrics.pointcloud import estimate_normals, evaluate_geometry
from pcc.metrics.rate import bits_per_point
from pcc.pointcloud.octree_codec import decode_octree, encode_octree
from pcc.pointcloud.shapes import shape_at

HELD_OUT_SEED = 777
SHAPES_FULL = tuple((HELD_OUT_SEED, i, 7) for i in range(4))  # (seed, index, bits)
SHAPES_QUICK = ((HELD_OUT_SEED, 1, 7),)
QUICK_LAMBDA = 0.1
OCTREE = "octree (lossless)"


@dataclass
class Cloud:
    """One test cloud: unique integer voxels and the peak its PSNR uses."""

    name: str
    kind: str  # "held-out shape" | "real"
    coords: np.ndarray  # [N, 3] int64, unique
    peak: float
    normals: np.ndarray | None = None  # [N, 3], PCA of the input (shared by every codec)


def training_shape_seeds(models: list[ModelInfo]) -> set[int]:
    """Shape-stream seeds the models' training and validation pools were cut from (from each
    checkpoint's ``meta.data``; see :func:`pcc.codec.train.procedural_blocks`)."""
    from pcc.codec.checkpoint import read_checkpoint
    from pcc.codec.registry import REPO

    seeds: set[int] = set()
    for m in models:
        path = Path(m.file) if Path(m.file).is_absolute() else REPO / m.file
        data = read_checkpoint(path).get("meta", {}).get("data", {})
        if data.get("source", "procedural") != "procedural":
            continue
        s, parts = int(data.get("seed", 0)), len(data.get("shape_bits", (7, 8, 9)))
        seeds |= {16 * s + p for p in range(parts)} | {16 * (s + 1000) + p for p in range(parts)}
    return seeds


def held_out_shapes(specs) -> list[Cloud]:
    clouds = []
    for seed, index, bits in specs:
        coords = np.unique(shape_at(seed, index, bits=bits).astype(np.int64), axis=0)
        clouds.append(Cloud(f"shape {seed}/{index} ({bits}-bit)", "held-out shape", coords,
                            float((1 << bits) - 1)))  # fmt: skip
    return clouds


def real_cloud(bits: int) -> Cloud | None:
    """The Stanford bunny voxelised with the canonical recipe in a ``bits`` grid (10: the
    canonical cloud itself), or None when the mesh is not in ``../shared/data``."""
    from pcc.pointcloud.canonical import (
        BUNNY_BITS,
        BUNNY_SPAN,
        canonical_bunny,
        default_bunny_path,
        mesh_to_voxels,
    )

    path = default_bunny_path()
    if not path.is_file():
        return None
    if bits == BUNNY_BITS:
        coords = canonical_bunny()
    else:
        from pcc.io.mesh import read_mesh

        vertices, faces = read_mesh(path)
        lo, hi = vertices.min(axis=0), vertices.max(axis=0)
        scale = (BUNNY_SPAN >> (BUNNY_BITS - bits)) / float((hi - lo).max())
        offset = ((1 << bits) - 1) / 2.0 - (lo + hi) / 2.0 * scale
        coords = mesh_to_voxels(vertices, faces, scale, offset, bits)
    coords = np.unique(np.asarray(coords, dtype=np.int64), axis=0)
    return Cloud(f"bunny ({bits}-bit)", "real", coords, float((1 << bits) - 1))


def select_models(quick: bool) -> tuple[list[ModelInfo], list[str]]:
    """``(models to run, names skipped because untrained)``."""
    models = list_models()
    untrained = [m.name for m in models if m.steps <= 0]
    models = [m for m in models if m.steps > 0]
    if quick:
        models = [m for m in models if np.isclose(m.lmbda, QUICK_LAMBDA)]
    return models, untrained


def _octree_row(cloud: Cloud, folder: Path) -> dict:
    start = time.perf_counter()
    encoded = encode_octree(cloud.coords)
    encode_s = time.perf_counter() - start
    path = folder / "octree.bin"
    write_bytes_atomic(path, encoded.data)
    data = path.read_bytes()
    start = time.perf_counter()
    decoded = decode_octree(data).coords  # [N, 3]
    decode_s = time.perf_counter() - start
    exact = len(decoded) == len(cloud.coords) and np.array_equal(
        np.unique(decoded, axis=0), cloud.coords
    )
    if not exact:
        raise RuntimeError(f"{cloud.name}: the lossless octree file does not decode to the input")
    size = os.path.getsize(path)
    n = len(cloud.coords)
    return {
        "cloud": cloud.name,
        "kind": cloud.kind,
        "points": n,
        "codec": OCTREE,
        "entropy_model": "",
        "lmbda": None,
        "file": str(path),
        "bytes": size,
        "bpp": bits_per_point(size, n),
        "estimated_bpp": encoded.estimated_bits / n,
        "d1_psnr": None,  # lossless: infinite
        "d2_psnr": None,
        "encode_ms": 1e3 * encode_s,
        "decode_ms": 1e3 * decode_s,
        "decoded_points": int(len(decoded)),
        "decode_checked": True,
        "octree_bytes": size,
        "x_octree": 1.0,
    }


def _model_row(cloud: Cloud, codec, info: ModelInfo, folder: Path, octree_bytes: int) -> dict:
    start = time.perf_counter()
    encoded = encode_point_cloud(cloud.coords, codec)
    encode_s = time.perf_counter() - start
    path = folder / f"{info.name}.bin"
    write_bytes_atomic(path, encoded.data)
    data = path.read_bytes()
    start = time.perf_counter()
    decoded = decompress_point_cloud(data, codec)  # [M, 3]
    decode_s = time.perf_counter() - start
    if not np.array_equal(decoded, encoder_reconstruction(encoded, codec)):
        raise RuntimeError(
            f"{info.name} on {cloud.name}: decoded cloud differs from the encoder's reconstruction"
        )
    metrics = evaluate_geometry(cloud.coords, decoded, cloud.peak, normals_a=cloud.normals)
    size = os.path.getsize(path)
    n = len(cloud.coords)
    return {
        "cloud": cloud.name,
        "kind": cloud.kind,
        "points": n,
        "codec": info.name,
        "entropy_model": info.entropy_model,
        "lmbda": info.lmbda,
        "file": str(path),
        "bytes": size,
        "bpp": bits_per_point(size, n),
        "estimated_bpp": encoded.estimated_bits / n,
        "d1_psnr": metrics["d1_psnr"],
        "d2_psnr": metrics["d2_psnr"],
        "encode_ms": 1e3 * encode_s,
        "decode_ms": 1e3 * decode_s,
        "decoded_points": int(len(decoded)),
        "decode_checked": True,
        "octree_bytes": octree_bytes,
        "x_octree": octree_bytes / size,
    }


def _warm_up(codec) -> None:
    tiny = np.unique(shape_at(HELD_OUT_SEED, 99, bits=5).astype(np.int64), axis=0)
    decompress_point_cloud(encode_point_cloud(tiny, codec).data, codec)


def summarise(rows: list[dict]) -> list[dict]:
    """One row per codec: held-out shapes pooled (bits over all their points, mean PSNR, summed
    times, pooled octree ratio) and the real cloud, as the printed table shows them."""
    out = []
    for codec in dict.fromkeys(r["codec"] for r in rows):
        row: dict = {"codec": codec}
        for kind, prefix in (("held-out shape", "shapes"), ("real", "real")):
            part = [r for r in rows if r["codec"] == codec and r["kind"] == kind]
            if not part:
                continue
            first = part[0]
            row["entropy_model"], row["lmbda"] = first["entropy_model"], first["lmbda"]
            nbytes, points = sum(r["bytes"] for r in part), sum(r["points"] for r in part)
            d1 = [r["d1_psnr"] for r in part if r["d1_psnr"] is not None]
            d2 = [r["d2_psnr"] for r in part if r["d2_psnr"] is not None]
            row |= {
                f"{prefix}_clouds": len(part),
                f"{prefix}_points": points,
                f"{prefix}_bytes": nbytes,
                f"{prefix}_bpp": 8.0 * nbytes / points,
                f"{prefix}_d1_psnr": float(np.mean(d1)) if d1 else None,
                f"{prefix}_d2_psnr": float(np.mean(d2)) if d2 else None,
                f"{prefix}_encode_ms": sum(r["encode_ms"] for r in part),
                f"{prefix}_decode_ms": sum(r["decode_ms"] for r in part),
                f"{prefix}_x_octree": sum(r["octree_bytes"] for r in part) / nbytes,
            }
        out.append(row)
    return out


def _fmt(value, spec: str, width: int) -> str:
    return f"{'-' if value is None else format(value, spec):>{width}}"


def format_table(summary: list[dict], shapes_label: str, real_label: str | None) -> str:
    groups = [("shapes", shapes_label)] + ([("real", real_label)] if real_label else [])
    cols = (("bpp", ".4f", 8), ("d1_psnr", ".2f", 6), ("d2_psnr", ".2f", 6),
            ("encode_ms", ".0f", 7), ("decode_ms", ".0f", 7), ("x_octree", ".2f", 8))  # fmt: skip
    head = " ".join(f"{h:>{w}}" for h, w in zip(("bpp", "D1 dB", "D2 dB", "enc ms", "dec ms",
                                                  "x octree"), (8, 6, 6, 7, 7, 8)))  # fmt: skip
    group_width = len(head)
    lines = [f"{'':<18} | " + " | ".join(f"{label[:group_width]:<{group_width}}"
                                         for _, label in groups)]  # fmt: skip
    lines.append(f"{'codec':<18} | " + " | ".join(head for _ in groups))
    lines.append("-" * len(lines[-1]))
    for row in summary:
        cells = [
            " ".join(_fmt(row.get(f"{prefix}_{key}"), spec, w) for key, spec, w in cols)
            for prefix, _ in groups
        ]
        lines.append(f"{row['codec']:<18} | " + " | ".join(cells))
    return "\n".join(lines)


def run_compare(
    models: list[ModelInfo],
    clouds: list[Cloud],
    out_dir: str | os.PathLike,
    *,
    progress: bool = True,
) -> list[dict]:
    """Code every cloud with the lossless octree coder and every model; one row each."""
    out_dir = Path(out_dir)
    rows = []
    for cloud in clouds:
        cloud.normals = estimate_normals(cloud.coords.astype(np.float64))
        folder = out_dir / cloud.name.split(" (")[0].replace(" ", "_").replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        rows.append(_octree_row(cloud, folder))
    octree_bytes = {r["cloud"]: r["bytes"] for r in rows}
    for info in models:
        codec, _ = load_model(info.name)
        codec.eval()
        codec.model_name = info.name  # the header names the bundled model
        _warm_up(codec)
        for cloud in clouds:
            folder = out_dir / cloud.name.split(" (")[0].replace(" ", "_").replace("/", "-")
            row = _model_row(cloud, codec, info, folder, octree_bytes[cloud.name])
            rows.append(row)
            if progress:
                print(
                    f"  {info.name:<18} {cloud.name:<22} {row['bytes']:>8} B "
                    f"{row['bpp']:.4f} bpp  D1 {row['d1_psnr']:.2f} dB  "
                    f"enc {row['encode_ms']:.0f} ms  dec {row['decode_ms']:.0f} ms",
                    flush=True,
                )
    return rows


def main(quick: bool = False, out_dir: str | os.PathLike | None = None) -> dict[str, list[dict]]:
    """Print the comparison table; return ``{"summary": [...], "clouds": [...]}``."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    tmp = None
    if out_dir is None:  # the files still go to disk: their sizes are what is reported
        tmp = tempfile.TemporaryDirectory(prefix="pcc-compare-")
        out_dir = tmp.name
    try:
        models, untrained = select_models(quick)
        if untrained:
            print(f"skipped (untrained, steps = 0): {', '.join(untrained)}")
        if not models:
            print("no trained bundled models found (input_models/codec): nothing to compare")
        seen = training_shape_seeds(models)
        if HELD_OUT_SEED in seen:
            raise RuntimeError(f"seed {HELD_OUT_SEED} was used in training: not held out")
        clouds = held_out_shapes(SHAPES_QUICK if quick else SHAPES_FULL)
        real = real_cloud(8 if quick else 10)
        if real is None:
            print("real cloud skipped: the bunny mesh of ../shared/data is not there")
        else:
            clouds.append(real)
        shapes = [c for c in clouds if c.kind != "real"]
        shapes_label = (
            f"held-out shapes: seed {HELD_OUT_SEED} x{len(shapes)}, "
            f"{sum(len(c.coords) for c in shapes):,} pts"
        )
        real_label = f"real: {real.name}, {len(real.coords):,} pts" if real else None
        print(
            f"{len(models)} bundled models + the lossless octree coder; training shape seeds "
            f"{sorted(seen)}, test seed {HELD_OUT_SEED}; one torch thread"
        )
        rows = run_compare(models, clouds, out_dir)
        summary = summarise(rows)
        print()
        print(format_table(summary, shapes_label, real_label))
        print(
            "bpp = 8 x file bytes / input points (real files); PSNR: mean over the shapes; "
            "times: summed over the shapes; x octree = lossless octree file / this file."
        )
        print("every decode equals the encoder's reconstruction (checked)")
        return {"summary": summary, "clouds": rows}
    finally:
        torch.set_num_threads(old)
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
