"""Learned occupancy coder vs the context octree coder: real bpp and times side by side, per level.

Clouds: the canonical 10-bit bunny (:func:`pcc.pointcloud.canonical.canonical_bunny`, 458,477
points) and the six ModelNet meshes of ``../shared/data/point_clouds/modelnet_off`` as 10-bit
clouds (:func:`pcc.pointcloud.canonical.canonical_modelnet`); none of them is training data of
the bundled model. ``--quick`` codes the top quarter of the bunny (head and ears, ~115k points)
only; without the shared data a procedural shape stands in and is named as such.

Both coders are run on the same cloud in the same run: every file is decoded and compared with
the input (``exact``), sizes are the real container sizes, ``bpp_ratio`` = learned / octree and
``encode_x`` / ``decode_x`` = learned time / octree time. A second table gives the real bits of
every octree level for both coders (bunny only). G-PCC v23 / v14 lossless figures on the bunny
(0.575 / 0.816 bpp, measured by the maintainers with TMC13) are printed for reference.
Run: ``python -m pcc.bench occupancy [--quick]``. Taught in
``notebooks/17_learned_lossless.ipynb``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from pcc.pointcloud.occupancy_codec import decode_occupancy, encode_occupancy
from pcc.pointcloud.octree_codec import decode_octree, encode_octree

GPCC_BUNNY_BPP = {"G-PCC v23": 0.575, "G-PCC v14": 0.816}
MODELNET = (
    "airplane/airplane_0001.off",
    "airplane/airplane_0002.off",
    "airplane/airplane_0003.off",
    "chair/chair_0001.off",
    "chair/chair_0002.off",
    "toilet/toilet_0001.off",
)


def _clouds(quick: bool) -> list[tuple[str, np.ndarray]]:
    from pcc.pointcloud.canonical import canonical_bunny, canonical_modelnet, default_bunny_path

    if not default_bunny_path().is_file():
        from pcc.pointcloud.shapes import shape_at

        return [("STAND-IN procedural shape (shared data absent)", shape_at(7, 0, bits=8))]
    bunny = canonical_bunny().astype(np.int64)
    if quick:
        top = bunny[bunny[:, 1] >= np.quantile(bunny[:, 1], 0.75)]
        return [("bunny top quarter", top)]
    out = [("canonical bunny", bunny)]
    root = default_bunny_path().parents[2] / "modelnet_off"
    for rel in MODELNET:
        path = Path(root, rel)
        if path.is_file():
            out.append((f"ModelNet {Path(rel).stem}", canonical_modelnet(path, 10)))
    return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(np.unique(a, axis=0), np.unique(b, axis=0))


def compare(name: str, coords: np.ndarray) -> tuple[dict, list[dict]]:
    """Code one cloud with both coders; returns the summary row and the per-level rows."""
    coords = np.asarray(coords, dtype=np.int64)
    n = len(coords)
    octree = encode_octree(coords)
    t = time.perf_counter()
    oct_dec = decode_octree(octree.data).coords
    t_oct_dec = time.perf_counter() - t
    learned = encode_occupancy(coords)
    t = time.perf_counter()
    occ_dec = decode_occupancy(learned.data)
    t_occ_dec = time.perf_counter() - t
    row = {
        "cloud": name,
        "points": n,
        "octree_bpp": 8 * len(octree.data) / n,
        "learned_bpp": 8 * len(learned.data) / n,
        "bpp_ratio": len(learned.data) / len(octree.data),
        "octree_encode_s": octree.encode_seconds,
        "learned_encode_s": learned.encode_seconds,
        "encode_x": learned.encode_seconds / octree.encode_seconds,
        "octree_decode_s": t_oct_dec,
        "learned_decode_s": t_occ_dec,
        "decode_x": t_occ_dec / t_oct_dec,
        "exact": bool(_same(oct_dec, coords) and _same(occ_dec, coords)),
    }
    levels = [
        {
            "cloud": name,
            "level": a.level,
            "nodes": a.nodes,
            "octree_bits": a.real_bits,
            "learned_bits": b.real_bits,
            "octree_bits_per_node": a.bits_per_node,
            "learned_bits_per_node": b.bits_per_node,
            "ratio": b.real_bits / a.real_bits if a.real_bits else None,
        }
        for a, b in zip(octree.levels, learned.levels)
    ]
    return row, levels


def main(quick: bool = False) -> dict[str, list[dict]]:
    """Print and return the tables ``clouds`` (one row per cloud) and ``levels`` (first cloud)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows, level_rows = [], []
        print(
            f"{'cloud':<24} {'points':>8} {'octree bpp':>10} {'learned bpp':>11} {'ratio':>6} "
            f"{'enc s oct/lrn':>14} {'enc x':>6} {'dec s oct/lrn':>14} {'dec x':>6} exact"
        )
        for name, coords in _clouds(quick):
            row, levels = compare(name, coords)
            rows.append(row)
            if not level_rows:
                level_rows = levels
            print(
                f"{name:<24} {row['points']:>8} {row['octree_bpp']:>10.4f} "
                f"{row['learned_bpp']:>11.4f} {row['bpp_ratio']:>6.3f} "
                f"{row['octree_encode_s']:>6.2f}/{row['learned_encode_s']:<7.2f} "
                f"{row['encode_x']:>6.1f} {row['octree_decode_s']:>6.2f}/"
                f"{row['learned_decode_s']:<7.2f} {row['decode_x']:>6.1f} {row['exact']}"
            )
        if rows and rows[0]["cloud"] == "canonical bunny":
            for label, bpp in GPCC_BUNNY_BPP.items():
                print(f"  reference {label} lossless on the bunny: {bpp:.3f} bpp")
        print(f"\nbits per level ({level_rows[0]['cloud'] if level_rows else '-'}):")
        print(f"{'level':>5} {'nodes':>8} {'octree bits':>11} {'learned bits':>12} {'ratio':>6}")
        for r in level_rows:
            ratio = f"{r['ratio']:.3f}" if r["ratio"] is not None else "-"
            print(
                f"{r['level']:>5} {r['nodes']:>8} {r['octree_bits']:>11} "
                f"{r['learned_bits']:>12} {ratio:>6}"
            )
        return {"clouds": rows, "levels": level_rows}
    finally:
        torch.set_num_threads(threads)
