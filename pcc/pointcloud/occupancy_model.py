"""The learned occupancy model: a small MLP over the context features, and its exact integer form.

:class:`OccupancyMLP` (float, torch) maps the 379 context features of one child bit
(:mod:`pcc.pointcloud.occupancy_context`) to the logit of P(occupied): two ReLU layers
(``hidden`` units each, activations clipped at 64), then one output. It is trained in float
(:mod:`pcc.pointcloud.occupancy_train`) and then **quantised** (:class:`QuantizedMLP`):

* weights become integers (``round(w 2^12)``; in the first layer, whose inputs are the integer
  features with their scale folded in, ``round(w 2^s1)`` with ``s1 <= 12`` the largest shift that
  keeps every possible sum below ``2^23``), activations are rounded to multiples of ``2^-8`` and
  clipped to ``[0, 64]``;
* every matrix product then multiplies and adds integers whose partial sums stay below the
  mantissa of the float type it runs in (``2^24`` for the float32 first layer, the widest, and
  ``2^53`` for the float64 others), so the matmul is *exact*: any summation order (one thread or
  many, any BLAS blocking) gives the same numbers. The decoder therefore recomputes bit-exactly the
  probabilities the encoder used, which a float network does not guarantee (the lossy codec
  reaches the same goal with quantised CDFs, ``pcc.codec``).

Checkpoints are plain ``torch.save`` dicts of tensors and numbers (``weights_only`` loadable):
``{"format": "pcc-occupancy-mlp", "version": 1, "hidden": H, "n_features": 379,
"state_dict": {...}, "meta": {...}}``. Taught in ``notebooks/17_learned_lossless.ipynb``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pcc.errors import FormatError
from pcc.pointcloud.occupancy_context import N_DYNAMIC, N_FEATURES, N_STATIC

FORMAT = "pcc-occupancy-mlp"
VERSION = 1
W_SHIFT = 12  # weights are integers / 2^12
A_SHIFT = 8  # activations are integers / 2^8
A_MAX = 64.0  # activation clip
MAX_HIDDEN = 512


def input_scale() -> torch.Tensor:
    """Per-feature scale ``[379]`` applied to the integer features (logits / 8, counts / 8)."""
    scale = torch.ones(N_FEATURES)
    scale[N_STATIC:] = 1.0 / 8.0
    return scale


class OccupancyMLP(nn.Module):
    """Float model: integer features ``[n, 379]`` -> logit of P(bit = 1) ``[n]``."""

    def __init__(self, hidden: int = 96):
        super().__init__()
        self.hidden = int(hidden)
        self.register_buffer("scale", input_scale(), persistent=False)
        self.fc1 = nn.Linear(N_FEATURES, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.clamp(torch.relu(self.fc1(x * self.scale)), max=A_MAX)  # [n, H]
        h = torch.clamp(torch.relu(self.fc2(h)), max=A_MAX)  # [n, H]
        return self.out(h).squeeze(-1)  # [n]


class QuantizedMLP:
    """Integer-exact inference of an :class:`OccupancyMLP` (see the module docstring)."""

    def __init__(self, model: OccupancyMLP):
        sd = {k: v.detach().double() for k, v in model.state_dict().items()}
        scale = input_scale().double()
        w1 = sd["fc1.weight"].T * scale[:, None]  # [F, H] float
        # first layer in float32: integer weights / 2^s1 with s1 as large as lets every sum stay
        # below 2^24 (exact in float32) for any input (binary static, |dynamic| <= 64)
        bound = torch.cat([torch.ones(N_STATIC), torch.full((N_DYNAMIC,), 64.0)]).double()
        reach = float((w1.abs() * bound[:, None]).sum(0).max() + sd["fc1.bias"].abs().max())
        self.s1 = int(min(W_SHIFT, math.floor(math.log2(2.0**23 / max(reach, 1e-9)))))
        if self.s1 < A_SHIFT:
            raise ValueError("occupancy model first-layer weights are too large to quantise")
        w = float(1 << W_SHIFT)
        self.w1 = torch.round(w1 * 2.0**self.s1)  # [F, H]
        self.b1 = torch.round(sd["fc1.bias"] * 2.0**self.s1)  # [H]
        self.w2 = torch.round(sd["fc2.weight"].T * w)  # [H, H]
        self.b2 = torch.round(sd["fc2.bias"] * w * (1 << A_SHIFT))
        self.w3 = torch.round(sd["out.weight"].T * w)  # [H, 1]
        self.b3 = torch.round(sd["out.bias"] * w * (1 << A_SHIFT))
        self.w1s = self.w1[:N_STATIC].float().contiguous()  # exact: |w1| < 2^23
        self.w1d = self.w1[N_STATIC:].float().contiguous()
        self.b1f = self.b1.float()
        if self.w2.abs().max() > 2**24 or self.w3.abs().max() > 2**24:
            raise ValueError("occupancy model weights are too large to quantise exactly")

    @staticmethod
    def _act(h: torch.Tensor, shift: int) -> torch.Tensor:
        """ReLU, rescale by ``2^-shift`` (exact), round, clip: integer activations ``/ 2^8``."""
        return torch.clamp(torch.floor(h * 2.0**-shift + 0.5), 0.0, A_MAX * (1 << A_SHIFT))

    def static_part(self, static: np.ndarray) -> torch.Tensor:
        """First-layer sums of the static features, float32 ``[n, H]`` (exact integers).

        Computed once per coding pass for all its nodes (one large product instead of one per
        chunk); :meth:`logits_from_static` finishes the network chunk by chunk.
        """
        xs = torch.from_numpy(np.ascontiguousarray(static, dtype=np.float32))
        return xs @ self.w1s  # [n, H]

    def logits_from_static(self, h_static: torch.Tensor, dynamic: np.ndarray) -> np.ndarray:
        """Exact logits (float64 ``[n]``) from :meth:`static_part` rows and int ``[n, 12]``."""
        xd = torch.from_numpy(np.ascontiguousarray(dynamic, dtype=np.float32))
        h1 = (h_static + xd @ self.w1d + self.b1f).double()  # integers < 2^24, scale 2^s1
        a1 = self._act(h1, self.s1 - A_SHIFT)  # scale 2^8
        h2 = a1 @ self.w2 + self.b2  # integers < 2^53, scale 2^20
        a2 = self._act(h2, W_SHIFT)  # scale 2^8
        z = (a2 @ self.w3).squeeze(-1) + self.b3  # scale 2^20
        return z.numpy() * 2.0 ** -(W_SHIFT + A_SHIFT)

    def logits(self, static: np.ndarray, dynamic: np.ndarray) -> np.ndarray:
        """Exact logits (float64 ``[n]``) for features uint8 ``[n, 367]`` and int ``[n, 12]``."""
        return self.logits_from_static(self.static_part(static), dynamic)

    def probability(self, static: np.ndarray, dynamic: np.ndarray) -> np.ndarray:
        """P(bit = 1) float64 ``[n]`` (elementwise from the exact logits)."""
        z = np.clip(self.logits(static, dynamic), -30.0, 30.0)
        return 1.0 / (1.0 + np.exp(-z))


class OnlineMixer:
    """Logistic mixing of the network's logit with the count models', learned while coding.

    ``p = sigmoid(w_c . [z_net, z_count, 1] / 4)`` with one weight vector per context ``c``
    (levels above the leaves 0, 1, >= 2, times 5 buckets of the deepest count model's count,
    so rare and frequent count contexts are trusted differently), started at ``(2, 2, 0)`` and
    moved after every chunk by ``lr`` times the chunk's summed log-loss gradient
    ``(bit - p) x`` (the online mixing of PAQ-style coders, Mahoney 2005). The network was
    trained on procedural shapes; the mixer lets each cloud decide how far to trust it against
    the counts made on the cloud itself (on the bunny it shrinks the over-confident network's
    logit, on CAD models with axis-aligned planes or dense clutter it leans on the counts).
    Elementwise float64 and ``np.bincount`` sums only: identical in encoder and decoder.
    """

    N_LEVELS = 3
    N_COUNT = 5
    N_CONTEXTS = N_LEVELS * N_COUNT
    LR = 0.0075  # measured (bpp): bunny 0.005 0.4163 / 0.0075 0.4159 / 0.01 0.4157,
    # ModelNet chair_0002 0.786 / 0.789 / 0.795; 0.02 diverged there (0.86)
    MAX_STEP = 0.5  # clip of one chunk's update of a weight (keeps a bad chunk from diverging)

    def __init__(self):
        self.w = np.tile(np.array([2.0, 2.0, 0.0]), (self.N_CONTEXTS, 1))  # [C, 3]

    @classmethod
    def contexts(cls, levels_above_leaves: int, dynamic: np.ndarray) -> np.ndarray:
        """Mixer context int64 ``[n]``: level bucket x count bucket of the deepest model."""
        count = np.minimum(dynamic[:, 11].astype(np.int64) // 8, cls.N_COUNT - 1)
        return min(levels_above_leaves, cls.N_LEVELS - 1) * cls.N_COUNT + count

    @staticmethod
    def inputs(z_net: np.ndarray, dynamic: np.ndarray) -> np.ndarray:
        """Mixer inputs ``[n, 3]``: network logit, deepest count model's logit, bias (/ 4)."""
        z_count = dynamic[:, 10].astype(np.float64) / 8.0
        z_net = np.clip(z_net, -12.0, 12.0)
        return np.stack([z_net, z_count, np.ones_like(z_net)], axis=1) / 4.0

    def probability(self, x: np.ndarray, ctx: np.ndarray) -> np.ndarray:
        """P(bit = 1) ``[n]`` for inputs ``[n, 3]`` with contexts ``[n]``."""
        w = self.w[ctx]  # [n, 3]
        z = x[:, 0] * w[:, 0] + x[:, 1] * w[:, 1] + x[:, 2] * w[:, 2]  # elementwise, one order
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))

    def update(self, x: np.ndarray, p: np.ndarray, bits: np.ndarray, ctx: np.ndarray) -> None:
        """One gradient step per context on the chunk just coded (``bits`` ``[n]``)."""
        err = np.asarray(bits, dtype=np.float64) - p  # [n]
        for j in range(3):
            g = np.bincount(ctx, weights=err * x[:, j], minlength=self.N_CONTEXTS)  # [C]
            self.w[:, j] += np.clip(self.LR * g, -self.MAX_STEP, self.MAX_STEP)


def save_model(model: OccupancyMLP, path: str | os.PathLike, meta: dict | None = None) -> None:
    """Write a ``weights_only``-loadable checkpoint (atomic)."""
    from pcc.io.atomic import atomic_path

    payload = {
        "format": FORMAT,
        "version": VERSION,
        "hidden": model.hidden,
        "n_features": N_FEATURES,
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_model(path: str | os.PathLike) -> tuple[OccupancyMLP, dict]:
    """Read a checkpoint written by :func:`save_model`; ``FormatError`` naming ``path`` if bad."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FormatError(path, "occupancy model checkpoint not found") from None
    except Exception as err:  # torch raises many types on a corrupt file
        raise FormatError(path, f"not a readable torch checkpoint ({err})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise FormatError(path, f"not an occupancy model checkpoint (format != {FORMAT!r})")
    if payload.get("version") != VERSION or payload.get("n_features") != N_FEATURES:
        raise FormatError(path, "occupancy checkpoint version or feature count is not supported")
    hidden = payload.get("hidden")
    if not isinstance(hidden, int) or not 1 <= hidden <= MAX_HIDDEN:
        raise FormatError(path, f"occupancy checkpoint hidden size {hidden!r} is invalid")
    model = OccupancyMLP(hidden)
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError, TypeError) as err:
        raise FormatError(path, f"occupancy checkpoint weights do not fit ({err})") from None
    model.eval()
    return model, dict(payload.get("meta") or {})


def default_model_path() -> Path:
    """The bundled checkpoint ``input_models/occupancy/occupancy_mlp.pt`` of the repository."""
    return Path(__file__).resolve().parents[2] / "input_models" / "occupancy" / "occupancy_mlp.pt"


assert N_STATIC + N_DYNAMIC == N_FEATURES
