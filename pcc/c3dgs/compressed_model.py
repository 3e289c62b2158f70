"""The indexed (codebook) Gaussian model of c3dgs and its 8-bit quantised form.

After vector quantisation (c3dgs a.5/a.6) a scene is:

* per Gaussian: mean ``[N, 3]``, opacity, log scale magnitude, a colour index and a shape index;
* shared tables: SH colours ``[M_c, (deg+1)^2, 3]``, unit scale directions ``[M_g, 3]`` and
  quaternions ``[M_g, 4]``.

:class:`IndexedGaussians` holds these as float tensors (what fine-tuning optimises);
:func:`IndexedGaussians.to_gaussian_model` expands them to a dense
:class:`~pcc.gaussians.model.GaussianModel` (``table[index]``; autograd's index backward is the
scatter-add into the shared rows, as c3dgs's indexed rasteriser). :class:`QuantizedGaussians` is
what gets stored: fp16 means (or, with a :class:`PositionGrid`, float32 means on a uniform grid
of ``2^bits`` steps over the bounding cube), int8 codes with per-tensor scale/zero point (the c3dgs
npz layout, research brief b.1; each field may use fewer than 8 bits of levels), int64 indices. Both storage formats write and read exactly this object, so a
loaded file renders exactly as the in-memory compressed model. Taught in
``notebooks/05_storage_and_evaluation.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import torch

from pcc.c3dgs.features import join_scale
from pcc.c3dgs.quantize import QParams, dequantize, quantize_tensor
from pcc.coding.morton import MAX_BITS, morton_decode, morton_encode
from pcc.gaussians.model import (
    GaussianModel,
    opacity_activation,
    opacity_logit,
    sh_degree_from_coeffs,
)

#: The six int8-quantised tensors, in the order the storage formats write them.
QUANTIZED_FIELDS = ("color_dc", "color_rest", "opacity", "scale_dir", "log_magnitude", "rotation")


@dataclass(frozen=True)
class PositionGrid:
    """A uniform grid for positions: ``origin + coords * step`` in float32, coords in
    ``[0, 2^bits)`` per axis. ``origin`` and ``step`` are float32 values (stored as f32), so every
    reader computes bit-identical means."""

    origin: tuple[float, float, float]
    step: float
    bits: int

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= MAX_BITS:
            raise ValueError(f"position grid bits={self.bits}: must be in [1, {MAX_BITS}]")

    @staticmethod
    def fit(means: torch.Tensor, bits: int) -> PositionGrid:
        """The grid of ``2^bits`` steps along the longest side of the bounding box of ``means``."""
        m = means.detach().to(torch.float64)  # [N, 3]
        lo = m.min(0).values if m.numel() else torch.zeros(3, dtype=torch.float64)
        hi = m.max(0).values if m.numel() else torch.zeros(3, dtype=torch.float64)
        span = float((hi - lo).max())
        step = span / ((1 << bits) - 1) if span > 0 else 1.0
        f32 = lambda v: float(torch.tensor(v, dtype=torch.float32))  # noqa: E731
        return PositionGrid(tuple(f32(v) for v in lo.tolist()), f32(step), bits)

    def positions(self, coords: torch.Tensor) -> torch.Tensor:
        """Float32 means of integer grid coordinates ``[N, 3]``.  # [N, 3] float32"""
        origin = torch.tensor(self.origin, dtype=torch.float32)
        return origin + coords.to(torch.float32) * torch.tensor(self.step, dtype=torch.float32)

    def coords(self, means: torch.Tensor) -> torch.Tensor:
        """Nearest grid coordinates of ``means [N, 3]``, clamped to the grid.  # [N, 3] int64"""
        origin = torch.tensor(self.origin, dtype=torch.float64)
        c = torch.round((means.to(torch.float64) - origin) / self.step).to(torch.int64)
        return c.clamp(0, (1 << self.bits) - 1)


@dataclass
class IndexedGaussians:
    """Float parameters of a codebook-indexed Gaussian scene (see the module docstring).

    Attributes:
        means: ``[N, 3]``
        opacity_logits: ``[N]``
        log_magnitude: ``[N]`` ``log |scale|``
        color_table: ``[M_c, (deg+1)^2, 3]`` SH coefficients
        color_indices: ``[N]`` int64 rows of ``color_table``
        scale_table: ``[M_g, 3]`` scale directions (made unit-norm by ``normalize(relu(.))``)
        rotation_table: ``[M_g, 4]`` quaternions (w, x, y, z), normalised on use
        shape_indices: ``[N]`` int64 rows of ``scale_table`` / ``rotation_table``
    """

    means: torch.Tensor
    opacity_logits: torch.Tensor
    log_magnitude: torch.Tensor
    color_table: torch.Tensor
    color_indices: torch.Tensor
    scale_table: torch.Tensor
    rotation_table: torch.Tensor
    shape_indices: torch.Tensor

    def __post_init__(self) -> None:
        n = self.means.shape[0]
        checks = {
            "means": (self.means.shape, (n, 3)),
            "opacity_logits": (self.opacity_logits.shape, (n,)),
            "log_magnitude": (self.log_magnitude.shape, (n,)),
            "color_indices": (self.color_indices.shape, (n,)),
            "shape_indices": (self.shape_indices.shape, (n,)),
            "scale_table": (self.scale_table.shape[1:], (3,)),
            "rotation_table": (self.rotation_table.shape[1:], (4,)),
        }
        for name, (got, want) in checks.items():
            if tuple(got) != want:
                raise ValueError(f"IndexedGaussians.{name} has shape {tuple(got)}, expected {want}")
        if self.scale_table.shape[0] != self.rotation_table.shape[0]:
            raise ValueError("scale_table and rotation_table must have the same number of rows")
        if self.color_table.ndim != 3 or self.color_table.shape[2] != 3:
            raise ValueError(f"color_table has shape {tuple(self.color_table.shape)}")
        sh_degree_from_coeffs(self.color_table.shape[1])
        for name, idx, rows in (
            ("color_indices", self.color_indices, self.color_table.shape[0]),
            ("shape_indices", self.shape_indices, self.scale_table.shape[0]),
        ):
            if n and (int(idx.min()) < 0 or int(idx.max()) >= rows):
                raise ValueError(f"IndexedGaussians.{name} out of range for a table of {rows} rows")

    def __len__(self) -> int:
        return self.means.shape[0]

    @property
    def sh_degree(self) -> int:
        return sh_degree_from_coeffs(self.color_table.shape[1])

    def to_gaussian_model(self) -> GaussianModel:
        """The dense model: ``table[index]`` per Gaussian (differentiable w.r.t. every table)."""
        return GaussianModel(
            means=self.means,
            log_scales=join_scale(self.scale_table[self.shape_indices], self.log_magnitude),
            quats=self.rotation_table[self.shape_indices],
            opacity_logits=self.opacity_logits,
            sh=self.color_table[self.color_indices],
        )

    def detach(self) -> IndexedGaussians:
        return IndexedGaussians(**{f.name: getattr(self, f.name).detach() for f in fields(self)})

    def mask(self, keep: torch.Tensor) -> IndexedGaussians:
        """Keep the Gaussians selected by ``keep`` (bool ``[N]`` or indices); tables unchanged."""
        per = ("means", "opacity_logits", "log_magnitude", "color_indices", "shape_indices")
        return replace(self, **{k: getattr(self, k)[keep] for k in per})


@dataclass
class QuantizedGaussians:
    """The stored form: fp16 means, int8 codes + :class:`QParams`, int64 indices.

    Attributes:
        means: ``[N, 3]`` float16
        color_dc: ``[M_c, 1, 3]`` int8; color_rest: ``[M_c, (deg+1)^2 - 1, 3]`` int8
        opacity: ``[N]`` int8 codes of the *activated* opacity (c3dgs layout)
        log_magnitude: ``[N]`` int8
        scale_dir: ``[M_g, 3]`` int8 codes of ``normalize(relu(scale_table))``
        rotation: ``[M_g, 4]`` int8 codes of the normalised quaternions
        color_indices, shape_indices: ``[N]`` int64
        qparams: one :class:`QParams` per name in :data:`QUANTIZED_FIELDS`
        position_grid: None (fp16 means) or the :class:`PositionGrid` the float32 means lie on
    """

    means: torch.Tensor
    color_dc: torch.Tensor
    color_rest: torch.Tensor
    opacity: torch.Tensor
    log_magnitude: torch.Tensor
    scale_dir: torch.Tensor
    rotation: torch.Tensor
    color_indices: torch.Tensor
    shape_indices: torch.Tensor
    qparams: dict[str, QParams]
    position_grid: PositionGrid | None = None

    def __len__(self) -> int:
        return self.means.shape[0]

    @property
    def sh_degree(self) -> int:
        return sh_degree_from_coeffs(1 + self.color_rest.shape[1])

    def dequantize(self) -> IndexedGaussians:
        """Float parameters decoded from the codes (the same arithmetic for every reader)."""
        dq = {
            name: dequantize(getattr(self, name), self.qparams[name]) for name in QUANTIZED_FIELDS
        }
        return IndexedGaussians(
            means=self.means.to(torch.float32),
            opacity_logits=opacity_logit(dq["opacity"]),
            log_magnitude=dq["log_magnitude"],
            color_table=torch.cat([dq["color_dc"], dq["color_rest"]], dim=1),
            color_indices=self.color_indices.to(torch.int64),
            scale_table=dq["scale_dir"],
            rotation_table=dq["rotation"],
            shape_indices=self.shape_indices.to(torch.int64),
        )

    def to_gaussian_model(self) -> GaussianModel:
        """The dense, renderable model."""
        return self.dequantize().to_gaussian_model()

    def equal(self, other: QuantizedGaussians) -> bool:
        """Bit-exact equality of every array and quantisation parameter."""
        names = [f.name for f in fields(self) if f.name not in ("qparams", "position_grid")]
        same_grid = self.position_grid == other.position_grid
        return (
            same_grid
            and self.qparams == other.qparams
            and all(
                getattr(self, k).dtype == getattr(other, k).dtype
                and torch.equal(getattr(self, k), getattr(other, k))
                for k in names
            )
        )


# --------------------------------------------------------------------------- building
def morton_codes(points: torch.Tensor, bits: int = 21) -> torch.Tensor:
    """63-bit Morton codes of ``points [N, 3]`` on a ``2^bits`` grid over their bounding box.

    As c3dgs's ``_sort_morton``: per axis ``(p - min) / (max - min) * (2^bits - 1)`` cast to an
    integer, then bit ``b`` of x, y, z goes to bit ``3b``, ``3b + 1``, ``3b + 2``: the shared
    interleaving (:func:`pcc.coding.morton.morton_encode`, x most significant) of the columns
    in the order z, y, x.  # [N] int64
    """
    p = points.detach().cpu().double()
    lo, hi = p.min(0).values, p.max(0).values
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    grid = ((p - lo) / span * (2**bits - 1)).to(torch.int64)  # [N, 3]
    codes = morton_encode(grid.numpy()[:, ::-1])  # [N] uint64 < 2^63
    return torch.from_numpy(codes.astype(np.int64))


def half_to_ordered(h: torch.Tensor) -> torch.Tensor:
    """Order-preserving 16-bit integer keys of fp16 values (``-0.0`` just below ``+0.0``).

    Positive values get ``bits | 0x8000``, negative ones ``0x7FFF - (bits & 0x7FFF)``; the map is
    a bijection on all 65536 bit patterns.  # same shape, int64
    """
    u = h.contiguous().view(torch.int16).to(torch.int64) & 0xFFFF
    return torch.where(u & 0x8000 != 0, 0x7FFF - (u & 0x7FFF), u | 0x8000)


def ordered_to_half(k: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`half_to_ordered`.  # same shape, float16"""
    u = torch.where(k & 0x8000 != 0, k & 0x7FFF, (0x7FFF - k) | 0x8000)
    return u.to(torch.int32).to(torch.int16).view(torch.float16)


def fp16_morton_codes(means16: torch.Tensor) -> torch.Tensor:
    """48-bit Morton codes of fp16 positions ``[N, 3]``: the bits of the order-preserving keys of
    x, y, z interleaved (x -> bit 0). Sorting by them is a Morton order on the fp16 grid, and the
    sorted codes are what :mod:`pcc.c3dgs.storage_pcc` codes as gaps.  # [N] int64"""
    keys = half_to_ordered(means16).cpu().numpy()  # [N, 3] in [0, 2^16)
    return torch.from_numpy(morton_encode(keys[:, ::-1]).astype(np.int64))


def morton_decode_keys(codes: torch.Tensor) -> torch.Tensor:
    """Inverse of the interleaving in :func:`fp16_morton_codes`: codes ``[N]`` -> keys ``[N, 3]``."""
    keys = morton_decode(codes.cpu().numpy().astype(np.uint64))[:, ::-1]  # [N, 3] int64
    return torch.from_numpy(np.ascontiguousarray(keys))


def _compact(indices: torch.Tensor, n_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Renumber table rows in order of first use; drop unused rows.

    Returns ``(old row of every new row [M'], new indices [N])``.
    """
    n = indices.numel()
    first = torch.full((n_rows,), n, dtype=torch.int64)
    first.scatter_reduce_(0, indices, torch.arange(n, dtype=torch.int64), reduce="amin")
    used = torch.nonzero(first < n).flatten()
    order = used[torch.argsort(first[used], stable=True)]
    remap = torch.full((n_rows,), -1, dtype=torch.int64)
    remap[order] = torch.arange(order.numel(), dtype=torch.int64)
    return order, remap[indices]


def finalize(
    model: IndexedGaussians,
    sort_morton: bool = True,
    bits: dict[str, int] | None = None,
    position_bits: int | None = None,
) -> QuantizedGaussians:
    """Sort, compact and quantise: the in-memory compressed model that storage writes.

    Steps: fp16 means; Morton order of the Gaussians (c3dgs a.8 sorts on a 21-bit grid over the
    bounding box; we sort on the fp16 grid itself, :func:`fp16_morton_codes`, which is as local and
    lets the entropy coder send sorted codes as small gaps); table rows renumbered in order of
    first use and unused rows dropped (so kept, used-once rows follow the Gaussians' order, which
    the entropy coder exploits); per-tensor int8 codes from the exact min/max (c3dgs layout b.1,
    without its clamping defect).

    ``bits`` (per name of :data:`QUANTIZED_FIELDS`, default 8) sets the number of levels of each
    field's codes. With ``position_bits`` the means are snapped to a :class:`PositionGrid` of that
    many bits (float32 means, Morton order of the grid coordinates) instead of fp16.
    """
    m = model.detach()
    bits = bits or {}
    grid = None
    if position_bits is None:
        means = m.means.to(torch.float16)
        keys = fp16_morton_codes(means)
    else:
        grid = PositionGrid.fit(m.means, position_bits)
        coords = grid.coords(m.means)  # [N, 3]
        means = grid.positions(coords)
        keys = torch.from_numpy(morton_encode(coords.numpy()).astype(np.int64))
    if sort_morton and len(m) > 1:
        order = torch.argsort(keys, stable=True)
        m = m.mask(order)
        means = means[order]
    c_rows, c_idx = _compact(m.color_indices, m.color_table.shape[0])
    g_rows, g_idx = _compact(m.shape_indices, m.scale_table.shape[0])
    color = m.color_table[c_rows]  # [M_c, K, 3]
    direction = torch.relu(m.scale_table[g_rows])
    direction = direction / direction.norm(dim=1, keepdim=True).clamp_min(1e-12)
    rot = m.rotation_table[g_rows]
    rot = rot / rot.norm(dim=1, keepdim=True).clamp_min(1e-12)
    values = {
        "color_dc": color[:, :1],
        "color_rest": color[:, 1:],
        "opacity": opacity_activation(m.opacity_logits),
        "scale_dir": direction,
        "log_magnitude": m.log_magnitude,
        "rotation": rot,
    }
    codes, qparams = {}, {}
    for name in QUANTIZED_FIELDS:
        codes[name], qparams[name] = quantize_tensor(values[name], bits.get(name, 8))
    return QuantizedGaussians(
        means=means,
        position_grid=grid,
        color_indices=c_idx,
        shape_indices=g_idx,
        qparams=qparams,
        **codes,
    )
