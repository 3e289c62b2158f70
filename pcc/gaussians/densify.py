"""Adaptive density control of 3DGS: clone, split, prune, opacity reset.

Kerbl et al., "3D Gaussian Splatting for Real-Time Radiance Field Rendering" (SIGGRAPH 2023),
Sec. 5.2, with the rules of the reference code (``scene/gaussian_model.py``):

* statistics: for every Gaussian visible in a training view, the norm of the gradient of the loss
  w.r.t. its projected 2D mean *in NDC units* (pixels times ``(W/2, H/2)``) is accumulated; the
  densification criterion is its mean over the views in which the Gaussian was visible;
* **clone** (under-reconstruction): mean gradient ``>= grad_threshold`` and largest scale
  ``<= percent_dense * extent`` -> an identical copy is added (the two then drift apart);
* **split** (over-reconstruction): mean gradient ``>= grad_threshold`` and largest scale
  ``> percent_dense * extent`` -> replaced by two Gaussians sampled from the original
  (``N(mu, Sigma)``) with scales divided by ``0.8 * 2``;
* **prune**: opacity ``< min_opacity``, or (after the first opacity reset) world-space largest
  scale ``> 0.1 * extent``, or optionally a screen radius above ``max_screen_radius`` pixels;
* **opacity reset**: every opacity is clamped to at most 0.01 (its Adam moments cleared), so
  Gaussians that are not needed fade out and get pruned.

Parameters live in a :class:`~pcc.gaussians.optim.GaussianAdam` under the names ``means
log_scales quats opacity_logits sh_dc sh_rest`` (see :mod:`pcc.gaussians.train`).

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pcc.gaussians.model import opacity_activation, opacity_logit, quaternion_to_rotation
from pcc.gaussians.optim import GaussianAdam

__all__ = ["DensifyStats", "densify_and_prune", "reset_opacity", "clone_and_split", "prune_mask"]


@dataclass
class DensifyStats:
    """Running per-Gaussian statistics between two densification steps."""

    grad_accum: torch.Tensor  # [N] sum of NDC-gradient norms over the views where visible
    denom: torch.Tensor  # [N] number of those views
    max_radii: torch.Tensor  # [N] largest screen radius seen (pixels)

    @classmethod
    def zeros(cls, n: int) -> DensifyStats:
        return cls(torch.zeros(n), torch.zeros(n), torch.zeros(n))

    def __len__(self) -> int:
        return self.grad_accum.shape[0]

    @torch.no_grad()
    def update(
        self, means2d_grad: torch.Tensor, radii: torch.Tensor, width: int, height: int
    ) -> None:
        """Add one view: ``means2d_grad [N, 2]`` in pixels, ``radii [N]`` (0 = not visible)."""
        visible = radii > 0
        ndc = means2d_grad[visible] * torch.tensor(
            [width / 2.0, height / 2.0], dtype=means2d_grad.dtype
        )
        self.grad_accum[visible] += ndc.norm(dim=-1).to(self.grad_accum.dtype)
        self.denom[visible] += 1
        self.max_radii[visible] = torch.maximum(
            self.max_radii[visible], radii[visible].to(self.max_radii.dtype)
        )

    def mean_grad(self) -> torch.Tensor:
        """``grad_accum / denom`` with 0 where never visible.  # [N]"""
        return torch.where(self.denom > 0, self.grad_accum / self.denom.clamp_min(1), 0.0)

    def state_dict(self) -> dict:
        return {"grad_accum": self.grad_accum, "denom": self.denom, "max_radii": self.max_radii}

    @classmethod
    def from_state_dict(cls, state: dict) -> DensifyStats:
        return cls(state["grad_accum"].clone(), state["denom"].clone(), state["max_radii"].clone())


@torch.no_grad()
def clone_and_split(
    opt: GaussianAdam,
    grads: torch.Tensor,
    *,
    grad_threshold: float,
    percent_dense: float,
    extent: float,
    generator: torch.Generator | None = None,
    max_new: int | None = None,
) -> tuple[int, int, torch.Tensor]:
    """Clone small and split large Gaussians whose mean NDC gradient ``grads [N]`` is high.

    ``max_new`` caps the number of Gaussians added (clones + net splits); when the candidates
    exceed it, those with the largest gradients win (a CPU budget knob, not in the paper).
    Rows afterwards: the originals that were not split (in order), the clones, then two rows per
    split Gaussian. Returns ``(n_cloned, n_split, split [N] bool)``.
    """
    p = opt.params
    n = len(opt)
    if grads.shape != (n,):
        raise ValueError(f"grads must have shape ({n},), got {tuple(grads.shape)}")
    max_scale = p["log_scales"].exp().max(dim=1).values  # [N]
    big = max_scale > percent_dense * extent
    candidates = grads >= grad_threshold
    if max_new is not None:
        # each clone and each split adds one Gaussian net
        order = torch.argsort(torch.where(candidates, grads, -1.0), descending=True)
        budget = max(int(max_new), 0)
        chosen = torch.zeros(n, dtype=torch.bool)
        chosen[order[:budget]] = True
        candidates &= chosen
    clone = candidates & ~big
    split = candidates & big

    # split samples are drawn from the originals before the clones are appended
    n_split = int(split.sum())
    if n_split:
        scales = p["log_scales"][split].exp()  # [S, 3]
        rot = quaternion_to_rotation(p["quats"][split])  # [S, 3, 3]
        samples = torch.randn((2, n_split, 3), generator=generator, dtype=scales.dtype) * scales
        new_means = (rot[None] @ samples[..., None]).squeeze(-1) + p["means"][split][None]
        split_rows = {
            "means": new_means.reshape(-1, 3),
            "log_scales": torch.log(scales / (0.8 * 2)).repeat(2, 1),
        }
        for name in ("quats", "opacity_logits", "sh_dc", "sh_rest"):
            split_rows[name] = p[name][split].repeat(2, *([1] * (p[name].dim() - 1)))
    clone_rows = {name: t[clone].clone() for name, t in p.items()}
    opt.append(clone_rows)
    if n_split:
        opt.append(split_rows)
        keep = torch.ones(len(opt), dtype=torch.bool)
        keep[:n][split] = False  # the split originals go
        opt.keep(keep)
    return int(clone.sum()), n_split, split


@torch.no_grad()
def prune_mask(
    opt: GaussianAdam,
    *,
    min_opacity: float,
    extent: float | None = None,
    max_radii: torch.Tensor | None = None,
    max_screen_radius: float | None = None,
) -> torch.Tensor:
    """Bool ``[N]``: Gaussians to remove (transparent; huge in the world; huge on screen)."""
    p = opt.params
    prune = opacity_activation(p["opacity_logits"]) < min_opacity
    if extent is not None:
        prune |= p["log_scales"].exp().max(dim=1).values > 0.1 * extent
    if max_screen_radius is not None and max_radii is not None:
        prune |= max_radii > max_screen_radius
    return prune


@torch.no_grad()
def densify_and_prune(
    opt: GaussianAdam,
    stats: DensifyStats,
    *,
    grad_threshold: float = 0.0002,
    percent_dense: float = 0.01,
    extent: float,
    min_opacity: float = 0.005,
    prune_huge: bool = False,
    max_screen_radius: float | None = None,
    generator: torch.Generator | None = None,
    max_gaussians: int | None = None,
) -> dict[str, int]:
    """One densification step (clone, split, then prune), as INRIA's ``densify_and_prune``.

    ``prune_huge`` enables the world-space ``0.1 * extent`` rule (INRIA: after the first
    opacity reset). Statistics must be reset by the caller afterwards. Returns counts.
    """
    n_before = len(opt)
    grads = stats.mean_grad()
    max_new = None if max_gaussians is None else max(max_gaussians - n_before, 0)
    n_clone, n_split, split = clone_and_split(
        opt,
        grads,
        grad_threshold=grad_threshold,
        percent_dense=percent_dense,
        extent=extent,
        generator=generator,
        max_new=max_new,
    )
    # new rows have no screen statistics yet (radius 0): they are never pruned for screen size
    old = stats.max_radii[~split]
    radii = torch.cat([old, torch.zeros(len(opt) - old.shape[0])])
    prune = prune_mask(
        opt,
        min_opacity=min_opacity,
        extent=extent if prune_huge else None,
        max_radii=radii if max_screen_radius is not None else None,
        max_screen_radius=max_screen_radius,
    )
    opt.keep(~prune)
    return {
        "cloned": n_clone,
        "split": n_split,
        "pruned": int(prune.sum()),
        "before": n_before,
        "after": len(opt),
    }


@torch.no_grad()
def reset_opacity(opt: GaussianAdam, max_opacity: float = 0.01) -> None:
    """Clamp every opacity to at most ``max_opacity`` and clear its Adam moments (INRIA)."""
    logit_max = opacity_logit(max_opacity)
    opt.reset("opacity_logits", torch.clamp_max(opt.params["opacity_logits"], logit_max))
