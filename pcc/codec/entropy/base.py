"""The contract every entropy model of the codec follows.

An entropy model sits between the analysis transform and the synthesis transform::

    y = g_a(x)                       # [B, C, D, H, W]; 32^3 block, 3 stride-2 stages: D=H=W=4
    out = entropy(y)                 # EntropyOutput(y_hat, likelihoods)
    x_hat = g_s(out.y_hat)           # the synthesis transform only ever sees y_hat
    rate_bits = sum(-log2(p).sum() for p in out.likelihoods.values())

The hyper transforms (h_a, h_s) live *inside* the entropy models, so the transforms only produce y
and consume y_hat. Every model is *causal*: the distribution parameters of a latent element are a
function of what the decoder already has when it decodes that element (the side information z_hat
and the elements decoded earlier, in the model's decoding order) and never of the element itself.

Quantisation (Minnen & Singh 2020, "Channel-wise autoregressive entropy models", mixed
quantisation): in training, ``y_hat`` is straight-through rounded exactly as at inference (what
g_s sees), while the likelihoods are evaluated on y + U(-1/2, 1/2) noise (what the rate term
differentiates); likelihoods are computed in float32 even under autocast. In eval mode
``forward`` returns the same ``y_hat`` that ``compress`` / ``decompress`` produce, bit for bit,
when given the same batch on one thread (a different batch composition can change convolution
rounding and, rarely, a snapped mean). Every model rounds around a predicted mean,
``y_hat = round(y - mu) + mu``: gaussian, hyperprior and channel around the mean of the Gaussian
they code with; the models with spatial context (context, attention, hybrid) around the
hyperprior's mean (the *anchor*, known from z_hat before any y is decoded), and their context,
which reads the integer residuals round(y - anchor) of earlier positions, refines the residual's
pmf (mean offset and scale). Their context thus reads in training exactly what the decoder has.

Bitstreams: ``compress`` accepts y [B, C, D, H, W] with B >= 1 and writes ONE byte string (a
one-byte header naming the model and format version, a CRC32, then a single range-coder stream with
z and y). The contract's per-block use is B = 1; coding all blocks of a cloud in one call (B =
number of blocks) is faster and saves the per-stream overhead (a 5-byte header and up to 4 bytes of
32-bit word padding per call). ``decompress(data, shape)`` takes shape = (C, D, H, W) for B = 1 or
(B, C, D, H, W). Corrupt or truncated input raises ``pcc.errors.BitstreamError``. Coding runs on
the CPU, single-threaded (``single_threaded``), with the model in eval mode; call ``update()``
after training or loading weights (``compress`` also does it and rebuilds stale z tables).

Taught in ``notebooks/12_entropy_models.ipynb``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from pcc.codec import coding
from pcc.codec.entropy.factorized import FactorizedPrior
from pcc.codec.entropy.gaussian_conditional import GaussianConditional

ENTROPY_MODELS: tuple[str, ...] = (
    "gaussian",
    "hyperprior",
    "channel",
    "context",
    "attention",
    "hybrid",
)
FORMAT_VERSION = 2  # 2: context models quantise around the hyperprior anchor
HEADER_BITS = 40  # one code byte + CRC32 in front of every stream (``coding.pack_stream``)


def model_code(name: str) -> int:
    """The stream's first byte: format version in the high nibble, model index in the low one."""
    return (FORMAT_VERSION << 4) | ENTROPY_MODELS.index(name)


@dataclass
class EntropyOutput:
    """What an entropy model returns from ``forward``.

    ``y_hat``: the quantised latent the synthesis transform decodes, [B, C, D, H, W].
    ``likelihoods``: per-element probabilities in (0, 1] by name ("y", and "z" for the
    hyperprior side information); the rate in bits is ``-sum(log2(p))`` over all of them.
    """

    y_hat: torch.Tensor  # [B, C, D, H, W]
    likelihoods: dict[str, torch.Tensor] = field(default_factory=dict)

    def bits(self) -> torch.Tensor:
        """Total estimated rate -sum log2 p over every likelihood tensor (a 0-dim tensor)."""
        total = torch.zeros((), device=self.y_hat.device)
        for p in self.likelihoods.values():
            total = total + (-torch.log2(p)).sum()
        return total


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch on one thread inside the block and restore the previous thread count after.

    Encoder and decoder must compute every distribution parameter bit-identically; a single
    thread removes reduction-order differences between runs (``research/pc_codec.md`` (c)).
    """
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def check_latent(y: torch.Tensor, channels: int) -> None:
    """Raise ``ValueError`` unless y is a float tensor [B, channels, D, H, W]."""
    if not isinstance(y, torch.Tensor) or y.dim() != 5:
        raise ValueError(f"latent must be a tensor [B, C, D, H, W], got {getattr(y, 'shape', y)}")
    if y.shape[1] != channels:
        raise ValueError(f"latent has {y.shape[1]} channels, the entropy model expects {channels}")
    if not torch.is_floating_point(y):
        raise ValueError(f"latent must be floating point, got {y.dtype}")


def check_codable(model: nn.Module, y: torch.Tensor | None = None) -> None:
    """Raise ``ValueError`` unless the model sits on the CPU and y (if given) is finite.

    Entropy coding runs on the CPU (constriction, single-threaded torch for bit-exactness).
    """
    for p in model.parameters():
        if p.device.type != "cpu":
            raise ValueError(f"entropy coding runs on the CPU; the model is on {p.device} (.cpu())")
        break
    if y is not None and not bool(torch.isfinite(y).all()):
        raise ValueError("latent contains NaN or infinite values")


def normalise_shape(shape: Any, channels: int) -> tuple[int, int, int, int, int]:
    """(C, D, H, W) or (B, C, D, H, W) -> (B, C, D, H, W); ``ValueError`` on a bad shape."""
    dims = tuple(int(s) for s in shape)
    if len(dims) == 4:
        dims = (1, *dims)
    if len(dims) != 5 or any(s < 1 for s in dims):
        raise ValueError(f"shape must be (C, D, H, W) or (B, C, D, H, W), got {tuple(shape)}")
    if dims[1] != channels:
        raise ValueError(f"shape has {dims[1]} channels, the entropy model expects {channels}")
    return dims  # type: ignore[return-value]


class EntropyModel(nn.Module):
    """Base class of the six entropy models: see the module docstring for the contract.

    Subclasses implement ``forward``, ``compress``, ``decompress``, ``estimate_bits`` and the
    two causality hooks ``side_information`` / ``conditional_parameters`` /
    ``decoding_steps`` that the causality tests (``tests/test_codec_causality.py``) use.
    """

    name: ClassVar[str] = ""
    option_names: ClassVar[frozenset[str]] = frozenset()  # accepted keyword options

    def __init__(self, channels: int, **options: Any):
        super().__init__()
        if int(channels) < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        unknown = sorted(set(options) - self.option_names)
        if unknown:
            raise ValueError(
                f"unknown option(s) {', '.join(unknown)} for entropy model {self.name!r}; "
                f"accepted: {', '.join(sorted(self.option_names)) or 'none'}"
            )
        self.channels = int(channels)
        self.options = dict(options)

    # --- training / evaluation -------------------------------------------------------------
    def forward(self, y: torch.Tensor) -> EntropyOutput:  # y [B, C, D, H, W]
        """Quantise y and return y_hat with the likelihoods of everything the bitstream holds."""
        raise NotImplementedError

    def aux_loss(self) -> torch.Tensor:
        """Quantile loss of the factorized prior(s) (Ballé et al. 2018); 0 if there is none."""
        return torch.zeros(())

    def aux_parameters(self) -> list[nn.Parameter]:
        """Parameters trained only by ``aux_loss`` (the factorized prior's quantiles).

        Give these to the auxiliary optimiser and all other parameters to the main one.
        """
        return [p for n, p in self.named_parameters() if n.endswith("quantiles")]

    def main_parameters(self) -> list[nn.Parameter]:
        """All parameters except ``aux_parameters``."""
        return [p for n, p in self.named_parameters() if not n.endswith("quantiles")]

    # --- coding ------------------------------------------------------------------------------
    def update(self, force: bool = False) -> None:
        """Build the integer CDF tables; call after training / loading, before (de)compressing.

        Tables of the factorized prior are rebuilt automatically when its parameters changed
        since the last build; ``force`` rebuilds everything.
        """
        for module in self.modules():
            if isinstance(module, FactorizedPrior | GaussianConditional):
                module.update(force=force)

    def compress(self, y: torch.Tensor) -> bytes:  # y [B, C, D, H, W]
        """Everything the decoder needs to rebuild y_hat (z and y) in one byte string."""
        check_latent(y, self.channels)
        check_codable(self, y)
        with torch.no_grad(), single_threaded():
            self.update()
            writer = coding.RangeWriter()
            self._encode(y.detach().float().cpu(), writer)
        return coding.pack_stream(model_code(self.name), writer.payload())

    def decompress(self, data: bytes, shape: Any) -> torch.Tensor:
        """shape (C, D, H, W) or (B, C, D, H, W) -> y_hat [B, C, D, H, W], bit-exact."""
        dims = normalise_shape(shape, self.channels)
        check_codable(self)
        payload = coding.unpack_stream(data, model_code(self.name), self.name)
        with torch.no_grad(), single_threaded():
            self.update()
            reader = coding.RangeReader(payload)
            y_hat = self._decode(reader, dims)
            reader.finish()
        return y_hat

    def estimate_bits(self, y: torch.Tensor) -> float:  # y [B, C, D, H, W]
        """-sum log2 p of exactly what ``compress`` writes, under the same quantised tables.

        Includes the ``HEADER_BITS`` = 40 bits of the stream header; the rest of the real size
        is the range coder's termination and 32-bit word padding (at most about 32 bits).
        """
        check_latent(y, self.channels)
        check_codable(self, y)
        with torch.no_grad(), single_threaded():
            self.update()
            counter = coding.BitCounter()
            self._encode(y.detach().float().cpu(), counter)
        return counter.bits + HEADER_BITS

    def _encode(self, y: torch.Tensor, writer: Any) -> torch.Tensor:  # y [B, C, D, H, W]
        """Write z and y with ``writer`` (RangeWriter or BitCounter); return y_hat."""
        raise NotImplementedError

    def _decode(self, reader: coding.RangeReader, dims: tuple[int, ...]) -> torch.Tensor:
        """Read what ``_encode`` wrote for a latent of shape dims -> y_hat [B, C, D, H, W]."""
        raise NotImplementedError

    # --- causality hooks (tests) -------------------------------------------------------------
    def side_information(self, y: torch.Tensor) -> Any:  # y [B, C, D, H, W]
        """What the decoder knows before it decodes y (z_hat for hyperprior models, else None)."""
        return None

    def conditional_parameters(
        self, y_hat: torch.Tensor, side: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:  # y_hat [B, C, D, H, W] -> (mean, scale) both alike
        """Mean and scale of every element's Gaussian, computed in parallel as in training."""
        raise NotImplementedError

    def decoding_steps(self, shape: tuple[int, int, int, int]) -> torch.Tensor:
        """Step at which each element (C, D, H, W) is decoded -> int64 [C, D, H, W].

        Elements with equal steps are decoded together; the parameters of an element may only
        depend on elements with a strictly smaller step (and on the side information).
        """
        return torch.zeros(shape, dtype=torch.int64)
