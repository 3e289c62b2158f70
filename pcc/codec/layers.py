"""Building blocks of the 3D convolutional transforms: GDN, simplified (CENIC) GDN, residual and
"1+2D" separable inception blocks.

* GDN / inverse GDN: Ballé et al., "Density modeling of images using a generalized normalization
  transformation", ICLR 2016 (arXiv 1511.06281), with the non-negative reparameterisation of
  Ballé et al., "Variational image compression with a scale hyperprior", ICLR 2018.
* Simplified GDN ("CENIC-GDN"): Johnston et al., "Computationally Efficient Neural Image
  Compression", 2019 (arXiv 1912.08771): ``y_i = x_i / (beta_i + sum_j gamma_ij |x_j|)``.
* Residual analysis / synthesis blocks: Quach et al., "Improved Deep Point Cloud Geometry
  Compression" (GEOv2, arXiv 2006.09043), ``AnalysisBlock`` / ``SynthesisBlock``.
* "1+2D" separable inception block and ``AnalysisBlockV4``: Killea et al., "DeepCompress:
  Efficient Point Cloud Geometry Compression" (arXiv 2106.01504), encoder c3p2.

Taught in ``notebooks/11_learned_codec.ipynb``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = ("relu", "gdn", "cgdn")


class _LowerBound(torch.autograd.Function):
    """``max(x, bound)`` whose gradient still flows when it pushes ``x`` upwards (Ballé 2018)."""

    @staticmethod
    def forward(ctx, x, bound):
        ctx.save_for_backward(x, bound)
        return torch.max(x, bound)

    @staticmethod
    def backward(ctx, grad_output):
        x, bound = ctx.saved_tensors
        pass_through = (x >= bound) | (grad_output < 0)
        return grad_output * pass_through.to(grad_output.dtype), None


def lower_bound(x: torch.Tensor, bound: float) -> torch.Tensor:
    """Elementwise ``max(x, bound)`` with the gradient of Ballé et al. 2018 (see ``_LowerBound``)."""
    return _LowerBound.apply(x, torch.as_tensor(bound, dtype=x.dtype, device=x.device))


class NonNegativeParametrizer(nn.Module):
    """Store a non-negative parameter ``v`` as ``p`` with ``v = max(p, sqrt(min + eps))^2 - eps``.

    The square keeps the optimisation well conditioned near zero and the lower bound keeps ``v``
    at or above ``minimum`` (the reparameterisation of tensorflow-compression's GDN).
    """

    def __init__(self, minimum: float = 0.0, reparam_offset: float = 2**-18):
        super().__init__()
        self.pedestal = reparam_offset**2
        self.bound = (minimum + self.pedestal) ** 0.5

    def init(self, value: torch.Tensor) -> torch.Tensor:
        """Raw parameter value that represents ``value``."""
        return torch.sqrt(torch.clamp(value + self.pedestal, min=self.pedestal))

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return lower_bound(raw, self.bound) ** 2 - self.pedestal


class GDN(nn.Module):
    """Generalized divisive normalisation on 5-D tensors (Ballé et al. 2016).

    ``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)``; the inverse (used in the synthesis
    transform) multiplies instead of divides. ``beta`` and ``gamma`` are kept non-negative by
    ``NonNegativeParametrizer``. The sum over channels is a 1x1x1 convolution.
    """

    def __init__(
        self,
        channels: int,
        inverse: bool = False,
        beta_min: float = 1e-6,
        gamma_init: float = 0.1,
    ):
        super().__init__()
        self.channels = int(channels)
        self.inverse = bool(inverse)
        self.beta_param = NonNegativeParametrizer(minimum=beta_min)
        self.gamma_param = NonNegativeParametrizer()
        self.beta = nn.Parameter(self.beta_param.init(torch.ones(channels)))
        self.gamma = nn.Parameter(self.gamma_param.init(gamma_init * torch.eye(channels)))

    def _norm(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta_param(self.beta)
        gamma = self.gamma_param(self.gamma).view(self.channels, self.channels, 1, 1, 1)
        return torch.sqrt(F.conv3d(x * x, gamma, beta))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, D, H, W] -> same
        _check_5d(x, self.channels)
        norm = self._norm(x)
        return x * norm if self.inverse else x / norm


class SimplifiedGDN(GDN):
    """Simplified GDN of CENIC (Johnston et al. 2019): ``y_i = x_i / (beta_i + sum_j gamma_ij |x_j|)``.

    No square and no square root; the inverse multiplies by the same denominator. This is what
    DeepCompress calls "CENIC-GDN" (``tfc.GDN(alpha_parameter=1, epsilon_parameter=1)``). Same
    parameters as :class:`GDN`; only the normaliser differs.
    """

    def _norm(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta_param(self.beta)
        gamma = self.gamma_param(self.gamma).view(self.channels, self.channels, 1, 1, 1)
        return F.conv3d(torch.abs(x), gamma, beta)


def _check_5d(x: torch.Tensor, channels: int) -> None:
    if x.dim() != 5 or x.shape[1] != channels:
        raise ValueError(f"expected a [B, {channels}, D, H, W] tensor, got {tuple(x.shape)}")


def make_activation(name: str, channels: int, inverse: bool = False) -> nn.Module:
    """The nonlinearity after a convolution: ``"relu"``, ``"gdn"`` or ``"cgdn"`` (simplified GDN).

    ``inverse=True`` gives the inverse normalisation used in synthesis transforms (ReLU is its
    own "inverse").
    """
    if name == "relu":
        return nn.ReLU(inplace=False)
    if name == "gdn":
        return GDN(channels, inverse=inverse)
    if name == "cgdn":
        return SimplifiedGDN(channels, inverse=inverse)
    raise ValueError(f"unknown activation {name!r}; choose one of {ACTIVATIONS}")


class ConvAct(nn.Sequential):
    """``Conv3d`` ('same' padding for odd kernels) followed by an activation."""

    def __init__(self, c_in, c_out, kernel=3, stride=1, activation="relu", inverse=False):
        kernel = (kernel,) * 3 if isinstance(kernel, int) else tuple(kernel)
        padding = tuple(k // 2 for k in kernel)
        super().__init__(
            nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=padding),
            make_activation(activation, c_out, inverse=inverse),
        )


class SeparableInception(nn.Module):
    """DeepCompress's "1+2D spatially separable" inception block (``AnalysisBlockV3Base``).

    Four parallel paths concatenated to ``channels`` outputs (each ``channels // 4``):
    (i) 1x1x1; (ii)-(iv) a shared 1x1x1 to ``channels // 2`` followed by one of three factorised
    branches, a 1-D kernel along one axis then a 2-D kernel over the other two:
    (1,1,3)->(3,3,1), (3,1,1)->(1,3,3), (1,3,1)->(3,1,3). Every conv has the activation.
    """

    def __init__(self, c_in: int, channels: int, activation: str = "relu"):
        super().__init__()
        if channels % 4:
            raise ValueError(f"SeparableInception needs channels divisible by 4, got {channels}")
        quarter, half = channels // 4, channels // 2
        self.direct = ConvAct(c_in, quarter, 1, activation=activation)
        self.reduce = ConvAct(c_in, half, 1, activation=activation)
        pairs = [((1, 1, 3), (3, 3, 1)), ((3, 1, 1), (1, 3, 3)), ((1, 3, 1), (3, 1, 3))]
        self.branches = nn.ModuleList(
            nn.Sequential(
                ConvAct(half, quarter, k1, activation=activation),
                ConvAct(quarter, quarter, k2, activation=activation),
            )
            for k1, k2 in pairs
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, c_in, D, H, W] -> [B, channels, ...]
        reduced = self.reduce(x)
        return torch.cat([self.direct(x)] + [b(reduced) for b in self.branches], dim=1)


class AnalysisResidualBlock(nn.Module):
    """GEOv2 ``AnalysisBlock``: ``t1 = act(conv3 stride 2)``, two more conv3+act, ``t1 + t3``."""

    def __init__(self, c_in: int, channels: int, activation: str = "relu"):
        super().__init__()
        self.down = ConvAct(c_in, channels, 3, stride=2, activation=activation)
        self.body = nn.Sequential(
            ConvAct(channels, channels, 3, activation=activation),
            ConvAct(channels, channels, 3, activation=activation),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, c_in, S, S, S] -> [B, c, S/2, ...]
        t1 = self.down(x)
        return t1 + self.body(t1)


class AnalysisInceptionBlock(nn.Module):
    """DeepCompress ``AnalysisBlockV4``: ``t1 = conv3 stride 2``, ``t2 = inc(t1)``,
    output ``t1 + t2 + inc'(t1 + t2)`` with two separable inception blocks."""

    def __init__(self, c_in: int, channels: int, activation: str = "relu"):
        super().__init__()
        self.down = ConvAct(c_in, channels, 3, stride=2, activation=activation)
        self.inception1 = SeparableInception(channels, channels, activation)
        self.inception2 = SeparableInception(channels, channels, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, c_in, S, S, S] -> [B, c, S/2, ...]
        t1 = self.down(x)
        t12 = t1 + self.inception1(t1)
        return t12 + self.inception2(t12)


class SynthesisResidualBlock(nn.Module):
    """GEOv2 ``SynthesisBlock``: transposed conv3 stride 2 (x2 upsampling) + act, two more
    conv3 + act at the new resolution, residual sum ``t1 + t3``. The activation is inverted
    (IGDN) when it is a GDN."""

    def __init__(self, c_in: int, channels: int, activation: str = "relu"):
        super().__init__()
        self.up = nn.Sequential(
            nn.ConvTranspose3d(c_in, channels, 3, stride=2, padding=1, output_padding=1),
            make_activation(activation, channels, inverse=True),
        )
        self.body = nn.Sequential(
            ConvAct(channels, channels, 3, activation=activation, inverse=True),
            ConvAct(channels, channels, 3, activation=activation, inverse=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, c_in, S, S, S] -> [B, c, 2S, ...]
        t1 = self.up(x)
        return t1 + self.body(t1)
