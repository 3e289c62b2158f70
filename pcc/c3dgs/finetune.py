"""Quantisation-aware fine-tuning of the indexed model (c3dgs ``finetune.py``, research brief a.7).

Trainable: the colour table (DC and rest with separate learning rates), the shape tables (scale
directions and quaternions), per-Gaussian opacities and log scale magnitudes. Indices stay fixed,
no densification happens. Every quantised quantity passes through an 8-bit fake quantiser with a
moving-average min/max observer and straight-through gradients (:mod:`pcc.c3dgs.quantize`);
positions are rounded to fp16 (identity gradient) and, as in the reference, not optimised by
default (its position learning rate is effectively 0, g.5; ``lr_position`` makes it an option).
The loss is ``(1 - lambda) L1 + lambda (1 - SSIM)`` with ``lambda = 0.2``, one random training view
per iteration (the list is reshuffled when exhausted), Adam with ``eps = 1e-15``. The reference keeps
the learning rates constant; ``lr_final_factor < 1`` decays them exponentially, which matters for
short CPU runs (the last steps otherwise leave Adam's step-size noise in the parameters).
Taught in ``notebooks/04_finetuning.ipynb`` (the loss curve, one camera's renders during
fine-tuning and the guard that drops a harmful fine-tune, through
:func:`pcc.c3dgs.stages.finetune`, which records what :func:`finetune` reports through its
callbacks).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from pcc.c3dgs.compressed_model import IndexedGaussians
from pcc.c3dgs.features import join_scale
from pcc.c3dgs.quantize import FakeQuantizer, fake_half
from pcc.gaussians.model import GaussianModel, opacity_activation, opacity_logit
from pcc.gaussians.quality import photometric_loss
from pcc.gaussians.render import render
from pcc.io.cameras import Camera


@dataclass
class FinetuneConfig:
    """Hyper-parameters of :func:`finetune` (defaults: c3dgs, except the iteration count).

    c3dgs runs 5000 iterations; learning rates are those of its ``training_setup``.
    """

    iterations: int = 5000
    lr_color_dc: float = 0.0025
    lr_color_rest: float = 0.0025 / 20.0
    lr_opacity: float = 0.05
    lr_scale_dir: float = 0.005
    lr_log_magnitude: float = 0.005
    lr_rotation: float = 0.001
    lr_position: float = 0.0
    lr_final_factor: float = 1.0  # learning rates decay exponentially to this factor (1: constant)
    lambda_dssim: float = 0.2
    quantization_aware: bool = True
    averaging_constant: float = 0.01
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seed: int = 0


class QuantAwareModel(torch.nn.Module):
    """Trainable parameters of an :class:`IndexedGaussians` plus one fake quantiser per tensor."""

    def __init__(
        self, model: IndexedGaussians, config: FinetuneConfig, bits: dict[str, int] | None = None
    ):
        super().__init__()
        bits = bits or {}
        m = model.detach()
        p = torch.nn.Parameter
        self.means = p(m.means.clone(), requires_grad=config.lr_position > 0)
        self.color_dc = p(m.color_table[:, :1].clone())
        self.color_rest = p(m.color_table[:, 1:].clone())
        self.opacity_logits = p(m.opacity_logits.clone())
        self.log_magnitude = p(m.log_magnitude.clone())
        self.scale_table = p(m.scale_table.clone())
        self.rotation_table = p(m.rotation_table.clone())
        self.register_buffer("color_indices", m.color_indices.clone())
        self.register_buffer("shape_indices", m.shape_indices.clone())
        qa, c = config.quantization_aware, config.averaging_constant
        self.fq = torch.nn.ModuleDict(
            {
                name: FakeQuantizer(c, enabled=qa, bits=bits.get(name, 8))
                for name in ("color_dc", "color_rest", "scale_dir", "log_magnitude", "rotation")
            }
        )
        # The reference always fake-quantises opacity (g.6); we do so only when quantisation-aware.
        self.fq["opacity"] = FakeQuantizer(c, enabled=qa, bits=bits.get("opacity", 8))
        self.quantization_aware = qa

    @contextlib.contextmanager
    def frozen_observers(self):
        """Inside this block the fake quantisers use their ranges without updating them, so a
        preview render leaves training exactly as it would be without it."""
        saved = {name: fq.observe for name, fq in self.fq.items()}
        try:
            for fq in self.fq.values():
                fq.observe = False
            yield self
        finally:
            for name, fq in self.fq.items():
                fq.observe = saved[name]

    def dense(self) -> GaussianModel:
        """The dense model seen by the renderer, with fake quantisation applied."""
        fq = self.fq
        means = fake_half(self.means) if self.quantization_aware else self.means
        sh = torch.cat([fq["color_dc"](self.color_dc), fq["color_rest"](self.color_rest)], dim=1)
        direction = torch.relu(self.scale_table)
        direction = direction / direction.norm(dim=1, keepdim=True).clamp_min(1e-12)
        direction = fq["scale_dir"](direction)
        rot = self.rotation_table / self.rotation_table.norm(dim=1, keepdim=True).clamp_min(1e-12)
        rot = fq["rotation"](rot)
        opacity = fq["opacity"](opacity_activation(self.opacity_logits))
        return GaussianModel(
            means=means,
            log_scales=join_scale(
                direction[self.shape_indices], fq["log_magnitude"](self.log_magnitude)
            ),
            quats=rot[self.shape_indices],
            opacity_logits=opacity_logit(opacity),
            sh=sh[self.color_indices],
        )

    def indexed(self) -> IndexedGaussians:
        """The current (un-quantised) parameters as an :class:`IndexedGaussians`."""
        return IndexedGaussians(
            means=self.means.detach().clone(),
            opacity_logits=self.opacity_logits.detach().clone(),
            log_magnitude=self.log_magnitude.detach().clone(),
            color_table=torch.cat([self.color_dc, self.color_rest], dim=1).detach().clone(),
            color_indices=self.color_indices.clone(),
            scale_table=self.scale_table.detach().clone(),
            rotation_table=self.rotation_table.detach().clone(),
            shape_indices=self.shape_indices.clone(),
        )


class Adam:
    """Plain Adam (Kingma & Ba 2015) over parameter groups ``{"params": [...], "lr": float}``.

    The same update as ``torch.optim.Adam`` (no weight decay, no amsgrad); written out because
    constructing a ``torch.optim`` optimiser imports ``torch._dynamo``, which costs many seconds on
    a busy CPU machine, and fine-tuning needs nothing more.
    """

    def __init__(self, groups, betas=(0.9, 0.999), eps=1e-15):
        self.groups = [{"params": list(g["params"]), "lr": float(g["lr"])} for g in groups]
        self.betas, self.eps, self.t = betas, eps, 0
        self.state = {
            id(p): (torch.zeros_like(p), torch.zeros_like(p))
            for g in self.groups
            for p in g["params"]
        }

    def zero_grad(self) -> None:
        for g in self.groups:
            for p in g["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1.0 - b1**self.t, 1.0 - b2**self.t
        for g in self.groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                m, v = self.state[id(p)]
                m.mul_(b1).add_(p.grad, alpha=1.0 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1.0 - b2)
                denom = (v / c2).sqrt_().add_(self.eps)
                p.addcdiv_(m, denom, value=-g["lr"] / c1)


def finetune(
    model: IndexedGaussians,
    cameras: Sequence[Camera],
    config: FinetuneConfig | None = None,
    *,
    progress: bool = True,
    loss_callback: Callable[[int, float], None] | None = None,
    render_every: int = 0,
    render_camera: Camera | None = None,
    render_callback: Callable[[int, torch.Tensor], None] | None = None,
    bits: dict[str, int] | None = None,
) -> IndexedGaussians:
    """Fine-tune ``model`` on ``cameras`` (each with ``.image``); returns the tuned parameters.

    Args:
        model: the indexed model after VQ.
        cameras: training views with ground-truth images ``[H, W, 3]``.
        config: hyper-parameters (:class:`FinetuneConfig`).
        progress: tqdm progress bar over iterations.
        loss_callback: called as ``loss_callback(iteration, loss)`` after every iteration.
        render_every / render_camera / render_callback: every ``render_every`` iterations render
            ``render_camera`` and call ``render_callback(iteration, image [H, W, 3])``.
        bits: levels of each fake quantiser (names of ``QUANTIZED_FIELDS``; default 8).
    """
    config = config or FinetuneConfig()
    cams = [c for c in cameras if c.image is not None]
    if not cams:
        raise ValueError("fine-tuning needs cameras with images")
    qa = QuantAwareModel(model, config, bits)
    groups = [
        {"params": [qa.color_dc], "lr": config.lr_color_dc},
        {"params": [qa.color_rest], "lr": config.lr_color_rest},
        {"params": [qa.opacity_logits], "lr": config.lr_opacity},
        {"params": [qa.scale_table], "lr": config.lr_scale_dir},
        {"params": [qa.log_magnitude], "lr": config.lr_log_magnitude},
        {"params": [qa.rotation_table], "lr": config.lr_rotation},
    ]
    if config.lr_position > 0:
        groups.append({"params": [qa.means], "lr": config.lr_position})
    optimizer = Adam(groups, eps=1e-15)
    gen = torch.Generator().manual_seed(config.seed)
    order: list[int] = []
    bar = tqdm(range(1, config.iterations + 1), desc="fine-tune", disable=not progress, leave=False)
    base_lrs = [g["lr"] for g in optimizer.groups]
    for it in bar:
        decay = config.lr_final_factor ** ((it - 1) / max(config.iterations - 1, 1))
        for g, lr in zip(optimizer.groups, base_lrs, strict=True):
            g["lr"] = lr * decay
        if not order:
            order = torch.randperm(len(cams), generator=gen).tolist()
        cam = cams[order.pop()]
        out = render(qa.dense(), cam, background=config.background)
        loss = photometric_loss(out.image, cam.image.to(out.image.dtype), config.lambda_dssim)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        value = float(loss.detach())
        if loss_callback is not None:
            loss_callback(it, value)
        if progress and it % 10 == 0:
            bar.set_postfix(loss=f"{value:.4f}")
        if render_every and render_callback is not None and it % render_every == 0:
            with torch.no_grad(), qa.frozen_observers():
                view = render_camera or cams[0]
                render_callback(it, render(qa.dense(), view, background=config.background).image)
    return qa.indexed()
