"""Adam over per-Gaussian parameter tensors whose rows are added and removed during training.

3DGS training (Kerbl et al., SIGGRAPH 2023) clones, splits and prunes Gaussians every few hundred
steps; the optimiser's moment estimates must follow the rows (new rows start at zero, removed
rows are dropped, and an opacity reset clears the opacity moments). ``torch.optim.Adam`` hides
its state in a dict keyed by tensor identity, so INRIA patches it in place; this small Adam keeps
the moments next to the parameters instead, with the same update (Kingma & Ba, "Adam", ICLR 2015,
with bias correction and a shared step counter as INRIA's patched ``torch.optim.Adam`` keeps it).

Taught in ``notebooks/00_a_3dgs_scene.ipynb``.
"""

from __future__ import annotations

import math

import torch

__all__ = ["GaussianAdam", "exponential_lr"]


def exponential_lr(step: int, lr_init: float, lr_final: float, max_steps: int) -> float:
    """Log-linear interpolation from ``lr_init`` (step 0) to ``lr_final`` (``max_steps`` on).

    INRIA's ``get_expon_lr_func`` without its (unused by default) delay phase; applied to the
    Gaussian means with ``lr_init = 1.6e-4 * extent``, ``lr_final = 1.6e-6 * extent``.
    """
    if max_steps <= 0 or lr_init <= 0 or lr_final <= 0:
        return lr_final if max_steps <= 0 else 0.0
    t = min(max(step / max_steps, 0.0), 1.0)
    return math.exp(math.log(lr_init) * (1.0 - t) + math.log(lr_final) * t)


class GaussianAdam:
    """Adam for a dict of leaf tensors sharing their first dimension (one row per Gaussian).

    ``params[name]`` are leaf tensors with ``requires_grad``; after :meth:`step` they are updated
    in place. :meth:`append` and :meth:`keep` replace them by new leaf tensors (read them back
    from :attr:`params`), carrying the moment estimates along.
    """

    def __init__(
        self,
        params: dict[str, torch.Tensor],
        lrs: dict[str, float],
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-15,
    ) -> None:
        missing = set(params) - set(lrs)
        if missing:
            raise ValueError(f"no learning rate for {sorted(missing)}")
        n = {p.shape[0] for p in params.values()}
        if len(n) != 1:
            raise ValueError(f"parameter tensors disagree on the number of rows: {n}")
        self.params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
        self.lrs = dict(lrs)
        self.betas = betas
        self.eps = eps
        self.step_count = 0
        self.exp_avg = {k: torch.zeros_like(v) for k, v in self.params.items()}
        self.exp_avg_sq = {k: torch.zeros_like(v) for k, v in self.params.items()}

    def __len__(self) -> int:
        return next(iter(self.params.values())).shape[0]

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update of every parameter that has a gradient."""
        self.step_count += 1
        b1, b2 = self.betas
        bc1 = 1.0 - b1**self.step_count
        bc2 = 1.0 - b2**self.step_count
        for name, p in self.params.items():
            if p.grad is None:
                continue
            g = p.grad
            m, v = self.exp_avg[name], self.exp_avg_sq[name]
            m.mul_(b1).add_(g, alpha=1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            denom = (v / bc2).sqrt_().add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lrs[name] / bc1)

    # ------------------------------------------------------------------ row edits
    def _replace(self, name: str, value: torch.Tensor) -> None:
        self.params[name] = value.detach().requires_grad_(True)

    @torch.no_grad()
    def append(self, new_rows: dict[str, torch.Tensor]) -> None:
        """Add rows (``new_rows[name] [M, ...]`` for every parameter) with zero moments."""
        if set(new_rows) != set(self.params):
            raise ValueError(f"append needs exactly {sorted(self.params)}")
        for name, rows in new_rows.items():
            self._replace(name, torch.cat([self.params[name].detach(), rows.to(self.params[name])]))
            z = torch.zeros_like(rows, dtype=self.exp_avg[name].dtype)
            self.exp_avg[name] = torch.cat([self.exp_avg[name], z])
            self.exp_avg_sq[name] = torch.cat([self.exp_avg_sq[name], z])

    @torch.no_grad()
    def keep(self, mask: torch.Tensor) -> None:
        """Keep only the rows where ``mask [N]`` (bool) is True."""
        if mask.dtype != torch.bool or mask.shape != (len(self),):
            raise ValueError(f"keep needs a bool mask of shape ({len(self)},)")
        for name in list(self.params):
            self._replace(name, self.params[name].detach()[mask])
            self.exp_avg[name] = self.exp_avg[name][mask]
            self.exp_avg_sq[name] = self.exp_avg_sq[name][mask]

    @torch.no_grad()
    def reset(self, name: str, value: torch.Tensor) -> None:
        """Replace one parameter's values (same shape) and zero its moments (opacity reset)."""
        if value.shape != self.params[name].shape:
            raise ValueError(
                f"reset of {name}: shape {tuple(value.shape)} != {tuple(self.params[name].shape)}"
            )
        self._replace(name, value.clone())
        self.exp_avg[name].zero_()
        self.exp_avg_sq[name].zero_()

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Tensors and numbers only (loadable with ``torch.load(weights_only=True)``)."""
        return {
            "params": {k: v.detach().clone() for k, v in self.params.items()},
            "exp_avg": {k: v.clone() for k, v in self.exp_avg.items()},
            "exp_avg_sq": {k: v.clone() for k, v in self.exp_avg_sq.items()},
            "lrs": dict(self.lrs),
            "step_count": self.step_count,
            "betas": list(self.betas),
            "eps": self.eps,
        }

    @classmethod
    def from_state_dict(cls, state: dict) -> GaussianAdam:
        opt = cls(state["params"], state["lrs"], tuple(state["betas"]), state["eps"])
        opt.exp_avg = {k: v.clone() for k, v in state["exp_avg"].items()}
        opt.exp_avg_sq = {k: v.clone() for k, v in state["exp_avg_sq"].items()}
        opt.step_count = int(state["step_count"])
        return opt
