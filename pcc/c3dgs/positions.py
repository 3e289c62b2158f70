"""Choosing the position grid of a scene: the fewest bits the renders do not notice.

fp16 positions (c3dgs) spend their precision near the origin, wherever the scene is; a uniform
grid over the scene's bounding cube (:class:`~pcc.c3dgs.compressed_model.PositionGrid`) spends
it evenly and, Morton-sorted, costs about 3 bits per Gaussian per bit of grid. How many bits a
scene needs depends on its extent (outliers far away make the cube large) and on how small its
Gaussians are, so :func:`choose_position_bits` measures it: it renders a few training views
with the means on each candidate grid and compares them with renders at 21 bits (float
precision for practical purposes), keeping every other attribute as it will be stored. The
fewest bits whose mean PSNR against those renders reaches ``min_psnr`` win; if none does
(a scene of large extent with fine detail), the answer is None: fp16, as c3dgs stores.
Used by :func:`pcc.c3dgs.pipeline.compress` when ``position_bits`` is None and
``position_min_psnr`` is set; taught in ``notebooks/06_whole_pipeline.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from pcc.c3dgs.compressed_model import IndexedGaussians, finalize
from pcc.gaussians.render import render
from pcc.io.cameras import Camera
from pcc.metrics.image import psnr

REFERENCE_BITS = 21


@torch.no_grad()
def position_grid_psnr(
    indexed: IndexedGaussians,
    cameras: Sequence[Camera],
    candidates: Sequence[int],
    bits: dict[str, int] | None = None,
    background=(0.0, 0.0, 0.0),
) -> dict[int, float]:
    """Mean PSNR (dB) of renders with means on each candidate grid against 21-bit renders."""
    ref_model = finalize(indexed, False, bits, REFERENCE_BITS).to_gaussian_model()
    refs = [render(ref_model, c, background=background).image for c in cameras]  # [H, W, 3] each
    out = {}
    for b in candidates:
        model = finalize(indexed, False, bits, b).to_gaussian_model()
        values = [
            float(psnr(render(model, c, background=background).image, r))
            for c, r in zip(cameras, refs, strict=True)
        ]
        out[b] = sum(min(v, 100.0) for v in values) / max(len(values), 1)
    return out


@torch.no_grad()
def choose_position_bits(
    indexed: IndexedGaussians,
    cameras: Sequence[Camera],
    min_psnr: float,
    bits: dict[str, int] | None = None,
    background=(0.0, 0.0, 0.0),
    candidates: Sequence[int] = range(10, 17),
    views: int = 8,
) -> int | None:
    """The fewest ``candidates`` bits reaching ``min_psnr`` on ``views`` evenly spaced cameras,
    or None (keep fp16) if none does. Candidates are tried in increasing order."""
    cams = list(cameras)[:: max(1, len(cameras) // max(views, 1))][:views]
    if not cams or len(indexed) == 0:
        return None
    for b in sorted(candidates):
        if position_grid_psnr(indexed, cams, [b], bits, background)[b] >= min_psnr:
            return b
    return None
