"""Storage formats side by side: INRIA PLY, .splat, compressed PLY, SPZ, c3dgs npz, .pcc3dgs.

``python -m pcc.bench formats [--quick]``: per scene and format, the real file size, bytes per
Gaussian, the INRIA PLY's size over it (``ratio_vs_ply``), mean PSNR/SSIM on the test views,
and one write (``encode_s``) and one read (``decode_s``) in this run; the c3dgs rows also give
the compression time (``compress_s``), and "c3dgs -> X" rows store the c3dgs-decoded model in
the viewer format X (:mod:`pcc.c3dgs.formats_table`).

* Scenes: the bundled still life (``input_models/still_life``; PSNR against its dataset's test
  images) and, when ``../shared/data`` is there, the camera-less ``kacytran_3dgs_sh3`` scene
  (PSNR against renders of the uncompressed model on orbit views, so its PLY row is exact).
* Test views at most 200 px wide (the still life's are 128 px, used as they are). Full run: c3dgs
  preset ``default``, all test views. Quick: the still life only, preset ``tiny``, 3 test views.

Returns one table, ``formats``. Taught in ``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
STILL_LIFE = REPO / "input_models" / "still_life"
KACYTRAN = "gaussian_splats/kacytran_3dgs_sh3/point_cloud_iter7000.ply"


def shared_data_dir() -> Path:
    """``$PCC_SHARED_DATA`` or ``../shared/data`` next to the repository."""
    return Path(os.environ.get("PCC_SHARED_DATA", REPO.parent / "shared" / "data"))


def _print(rows: list[dict]) -> None:
    head = (
        f"{'scene':<12} {'format':<26} {'N':>7} {'bytes':>10} {'B/G':>7} {'x PLY':>6} "
        f"{'PSNR dB':>8} {'SSIM':>6} {'enc s':>6} {'dec s':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        psnr = "exact" if r["psnr"] is None else f"{r['psnr']:.2f}"
        print(
            f"{r['scene'][:12]:<12} {r['format'][:26]:<26} {r['n_gaussians']:>7} "
            f"{r['bytes']:>10} {r['bytes_per_gaussian']:>7.1f} {r['ratio_vs_ply']:>6.1f} "
            f"{psnr:>8} {r['ssim']:>6.4f} {r['encode_s']:>6.2f} {r['decode_s']:>6.2f}"
        )


def main(quick: bool = False, out_dir: str | os.PathLike | None = None) -> dict[str, list[dict]]:
    """Print the table; return ``{"formats": rows}``."""
    from pcc.c3dgs.formats_table import scene_format_rows

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    tmp = None
    if out_dir is None:  # the files still go to disk: their sizes are what is reported
        tmp = tempfile.TemporaryDirectory(prefix="pcc-formats-")
        out_dir = tmp.name
    try:
        scenes = [("still_life", STILL_LIFE / "model", STILL_LIFE / "dataset")]
        kacytran = shared_data_dir() / KACYTRAN
        if quick:
            pass
        elif kacytran.is_file():
            scenes.append(("kacytran", kacytran, None))
        else:
            print(f"kacytran scene skipped: {kacytran} is not there")
        rows: list[dict] = []
        for name, path, data in scenes:
            rows += scene_format_rows(
                path,
                Path(out_dir) / name,
                data_dir=data,
                preset="tiny" if quick else "default",
                eval_width=200,
                max_views=3 if quick else None,
                scene=name,
            )
        _print(rows)
        return {"formats": rows}
    finally:
        torch.set_num_threads(old)
        if tmp is not None:
            tmp.cleanup()
