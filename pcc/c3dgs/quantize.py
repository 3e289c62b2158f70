"""8-bit affine (fake) quantisation with straight-through gradients, and fp16 rounding.

c3dgs (Niedermayr et al., CVPR 2024, a.7) trains the compressed model with PyTorch's
``FakeQuantize(dtype=qint8)``: per-tensor affine int8 with a moving-average min/max observer
(averaging constant 0.01); forward ``x~ = (clamp(round(x / scale) + zp, -128, 127) - zp) * scale``;
backward identity inside the representable range and zero outside. Positions are rounded to fp16
with an identity backward. This module is our own CPU implementation of both.

The final codes are taken from the *exact* min/max of the final values (:func:`affine_qparams`),
so nothing is clamped at save time (the reference clamps values outside its moving-average range,
research brief g.9). Every function takes ``bits`` (default 8, the reference): with fewer bits the
codes use only ``[-128, -128 + 2^bits - 1]`` of the int8 range (same storage layout, fewer levels,
which the entropy coder of ``.pcc3dgs`` turns into fewer bytes). Taught in
``notebooks/04_finetuning.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

QMIN, QMAX = -128, 127


@dataclass(frozen=True)
class QParams:
    """Per-tensor affine int8 parameters: ``x = (q - zero_point) * scale``."""

    scale: float  # stored as float32
    zero_point: int  # stored as int32


def qmax(bits: int = 8) -> int:
    """The largest code of a ``bits``-bit quantiser stored as int8: ``-128 + 2^bits - 1``."""
    if not 1 <= bits <= 8:
        raise ValueError(f"bits={bits}: must be in [1, 8]")
    return QMIN + (1 << bits) - 1


def affine_qparams(lo: float, hi: float, bits: int = 8) -> QParams:
    """Scale and zero point that map ``[lo, hi]`` onto ``[-128, qmax(bits)]`` (``[-128, 127]``).

    Unlike PyTorch's observers the range is not widened to include 0 (no code is wasted on
    all-negative tensors such as log-magnitudes); the zero point is an int32 and may fall outside
    the int8 range. ``scale`` is rounded to float32 first so the decoder computes identical values.
    """
    lo, hi = float(lo), float(hi)
    if not (lo == lo and hi == hi) or hi < lo:  # NaN or empty range
        raise ValueError(f"cannot quantise the range [{lo}, {hi}]")
    # the floor keeps the zero point inside int32 for (nearly) constant tensors
    floor = max(1e-12, max(abs(lo), abs(hi)) * 2.0**-20)
    levels = qmax(bits) - QMIN
    scale = float(torch.tensor(max((hi - lo) / levels, floor), dtype=torch.float32))
    zero_point = int(QMIN - round(lo / scale))
    return QParams(scale, zero_point)


def quantize(x: torch.Tensor, qp: QParams) -> torch.Tensor:
    """Integer codes of ``x`` (any shape) as int8: ``clamp(round(x / scale) + zp, -128, 127)``."""
    q = torch.round(x.double() / qp.scale) + qp.zero_point
    return q.clamp(QMIN, QMAX).to(torch.int8)


def dequantize(q: torch.Tensor, qp: QParams) -> torch.Tensor:
    """Float32 values of int8 codes: ``(q - zp) * scale``, computed the same way everywhere."""
    scale = torch.tensor(qp.scale, dtype=torch.float32)
    return (q.to(torch.int32) - qp.zero_point).to(torch.float32) * scale


def quantize_tensor(x: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, QParams]:
    """Codes and parameters of a whole tensor from its exact min/max (``bits`` levels)."""
    if x.numel() == 0:
        return torch.zeros(x.shape, dtype=torch.int8), QParams(1.0, 0)
    qp = affine_qparams(float(x.min()), float(x.max()), bits)
    return quantize(x, qp), qp


class _FakeQuantSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, zero_point, top):  # noqa: D102 - autograd hook
        q = torch.round(x / scale) + zero_point
        inside = (q >= QMIN) & (q <= top)
        ctx.save_for_backward(inside)
        return (q.clamp(QMIN, top) - zero_point) * scale

    @staticmethod
    def backward(ctx, grad):  # noqa: D102 - autograd hook
        (inside,) = ctx.saved_tensors
        return grad * inside.to(grad.dtype), None, None, None


def fake_quantize(x: torch.Tensor, qp: QParams, bits: int = 8) -> torch.Tensor:
    """Quantise-dequantise ``x`` with a straight-through gradient inside the representable range.

    The gradient is passed unchanged where ``round(x / scale) + zp`` lies in ``[-128, 127]`` and is
    zero where the value is clamped (as PyTorch's ``FakeQuantize``); with ``bits < 8`` the range
    is ``[-128, qmax(bits)]``.
    """
    return _FakeQuantSTE.apply(x, qp.scale, qp.zero_point, qmax(bits))


class FakeQuantizer(torch.nn.Module):
    """A fake-quantisation stage with a moving-average min/max observer (c3dgs defaults).

    While ``observe`` is on, every forward call updates ``lo, hi <- lo + c (min - lo)`` (the first
    call sets them directly), with ``c = averaging_constant`` (0.01 in PyTorch and c3dgs).
    """

    def __init__(self, averaging_constant: float = 0.01, enabled: bool = True, bits: int = 8):
        super().__init__()
        self.bits = bits
        self.averaging_constant = averaging_constant
        self.enabled = enabled
        self.observe = True
        self.lo: float | None = None
        self.hi: float | None = None

    def qparams(self) -> QParams:
        assert self.lo is not None and self.hi is not None, "observer has not seen data"
        return affine_qparams(self.lo, self.hi, self.bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.enabled or x.numel() == 0:
            return x
        if self.observe:
            lo, hi = float(x.detach().min()), float(x.detach().max())
            if self.lo is None:
                self.lo, self.hi = lo, hi
            else:
                c = self.averaging_constant
                self.lo += c * (lo - self.lo)
                self.hi += c * (hi - self.hi)
        return fake_quantize(x, self.qparams(), self.bits)


class _HalfSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # noqa: D102 - autograd hook
        return x.half().to(x.dtype)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102 - autograd hook
        return grad


def fake_half(x: torch.Tensor) -> torch.Tensor:
    """Round to fp16 and back; identity gradient (c3dgs ``FakeQuantizationHalf``)."""
    return _HalfSTE.apply(x)
