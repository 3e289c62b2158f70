// Tile-based alpha compositing of projected 3D Gaussians on the CPU: shared declarations.
//
// The compiled counterpart of steps 1-3 of pcc/gaussians/render.py (same image formation, INRIA
// semantics; see that module's docstring). Inputs are the per-Gaussian screen-space arrays of the
// projection ([N] rows: means2d, conics, opacities, colours, view depths, tile rectangles).
//
// binning.cpp   picks the Gaussians that can be composited (tile rectangle not empty, opacity
//               >= 1/255), orders them front to back (stable: ties keep the model's order),
//               computes for every pixel row of each one the span of columns that may lie inside
//               its alpha >= 1/255 ellipse, and bins it to the tiles those spans reach;
// composite_forward.cpp / composite_backward.cpp walk every tile's depth-ordered list.
//
// The Binning is returned to Python by the forward pass and handed back to the backward pass,
// so the backward pass does not sort and bin again.

#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "parallel.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace pcc {

constexpr int kCols = 10;  // u, v, conic a, b, c, opacity, r, g, b, view depth
// A pixel whose power is below ln(alpha_min / o) - kPowerSlack fails the alpha test whatever the
// rounding of exp and of the product (float errors are ~1e-7 relative), so exp is not evaluated.
constexpr double kPowerSlack = 1e-4;

struct Params {
  int64_t width, height, tile_size, tiles_x, tiles_y;
  double alpha_max, alpha_min, t_min;
};

Params make_params(int64_t width, int64_t height, int64_t tile_size, double alpha_max,
                   double alpha_min, double t_min);

// The per-Gaussian inputs, checked (CPU, one dtype, shapes [N, k], rect int64 inside the grid).
struct Inputs {
  at::Tensor means2d, conics, opacities, colors, depths, rect;  // contiguous
  int64_t n;
};

Inputs check_inputs(const at::Tensor& means2d, const at::Tensor& conics,
                    const at::Tensor& opacities, const at::Tensor& colors,
                    const at::Tensor& depths, const at::Tensor& rect, const Params& p);

// One composited Gaussian as the tile loops read it: its 10 values and where its row spans are.
template <typename scalar_t>
struct alignas(64) Record {
  scalar_t g[kCols];
  double power_min;     // ln(alpha_min / o) - kPowerSlack
  int64_t span_offset;  // index of its first row in Binning::spans
  int32_t y_first;      // first pixel row with a span
  int32_t n_rows;       // rows y_first .. y_first + n_rows - 1
};

// The result of binning, as tensors (saved by autograd between the two passes).
// Records are stored in screen order (by the top-left tile of their rectangle), so the records of
// neighbouring tiles sit close together in memory; the tile lists hold them in depth order.
struct Binning {
  at::Tensor gauss;    // [V] int64: Gaussian (input row) of each record
  at::Tensor rows;     // [V, 3] int64: span_offset, y_first, n_rows
  at::Tensor spans;    // [R, 2] int32: first and last column of each row (empty when first > last)
  at::Tensor offsets;  // [tiles + 1] int64: tile t's list is list[offsets[t] .. offsets[t + 1])
  at::Tensor list;     // [E] int32: record indices, front to back within a tile
};

// Gaussians that can be composited, front to back: [V] int64 (stable order of the depths).
at::Tensor depth_order(const Inputs& in, const Params& p);

Binning bin_gaussians(const Inputs& in, const Params& p);

// The records of a binning, with their values gathered from the inputs.
template <typename scalar_t>
std::vector<Record<scalar_t>> gather_records(const Inputs& in, const Binning& b, const Params& p);

// The exact per-pixel test, in the inputs' dtype, operation for operation like render.composite
// (compiled with -ffp-contract=off, so no fused multiply-adds change the rounding).
template <typename scalar_t>
inline bool pixel_alpha(const Record<scalar_t>& s, int64_t x, int64_t y, scalar_t amax,
                        scalar_t amin, scalar_t& alpha, scalar_t& gauss, scalar_t& raw,
                        scalar_t& dx, scalar_t& dy) {
  const scalar_t* g = s.g;
  dx = g[0] - static_cast<scalar_t>(x);
  dy = g[1] - static_cast<scalar_t>(y);
  scalar_t power = static_cast<scalar_t>(-0.5) * (g[2] * dx * dx + g[4] * dy * dy) - g[3] * dx * dy;
  if (power > 0 || static_cast<double>(power) < s.power_min) return false;
  gauss = std::exp(power);
  raw = g[5] * gauss;
  alpha = raw > amax ? amax : raw;
  return alpha >= amin;
}

// How many list entries ahead the tile loops prefetch records (and, half as far, row spans).
constexpr int64_t kPrefetch = 8;

// Pixel bounds of tile t: columns x0..x1, rows y0..y1 (inclusive).
struct TileBox {
  int64_t x0, y0, x1, y1;
  int64_t width() const { return x1 - x0 + 1; }
  int64_t count() const { return (x1 - x0 + 1) * (y1 - y0 + 1); }
};

inline TileBox tile_box(int64_t tile, const Params& p) {
  const int64_t tx = tile % p.tiles_x, ty = tile / p.tiles_x;
  TileBox b;
  b.x0 = tx * p.tile_size;
  b.y0 = ty * p.tile_size;
  b.x1 = std::min(b.x0 + p.tile_size, p.width) - 1;
  b.y1 = std::min(b.y0 + p.tile_size, p.height) - 1;
  return b;
}

// The pairs one forward pass composited, kept for its backward pass (8 bytes per pair: the
// pixel in its tile and exp(power), from which the backward pass recomputes alpha exactly as
// the forward pass did). Per tile, the entries of its list that composited pixels, front to
// back, each with the end of its run of pairs.
struct alignas(64) TilePairs {  // (own cache lines: neighbouring tiles run on other threads)
  std::vector<int16_t> xy;     // [2 M] column and row inside the tile
  std::vector<float> gauss_f;  // [M] exp(power) (float32 inputs)
  std::vector<double> gauss_d;  // [M] exp(power) (float64 inputs)
  std::vector<int32_t> entry;  // [K] position in the tile's list
  std::vector<int64_t> end;    // [K] end of the entry's pairs in xy / gauss
};

struct SavedPairs {
  std::vector<TilePairs> tiles;
  int64_t bytes() const;
};

// Forward: image [H, W, 3], alpha [H, W], depth [H, W] (inputs' dtype), t_final [H * W]
// (double), the number of composited pairs [1] (int64), then the Binning's five tensors; and the
// composited pairs if save_pairs (else null).
std::tuple<std::vector<at::Tensor>, std::shared_ptr<SavedPairs>> composite_forward(
    const at::Tensor& means2d, const at::Tensor& conics, const at::Tensor& opacities,
    const at::Tensor& colors, const at::Tensor& depths, const at::Tensor& rect,
    const at::Tensor& background, int64_t width, int64_t height, int64_t tile_size,
    double alpha_max, double alpha_min, double t_min, bool save_pairs);

// Backward: the gradient [N, 10] of (u, v, conic a, b, c, opacity, r, g, b, depth) of every
// input Gaussian (zero rows for those not composited).
at::Tensor composite_backward(const at::Tensor& means2d, const at::Tensor& conics,
                              const at::Tensor& opacities, const at::Tensor& colors,
                              const at::Tensor& depths, const at::Tensor& rect,
                              const std::vector<at::Tensor>& binning,
                              const std::shared_ptr<SavedPairs>& pairs,
                              const at::Tensor& background, const at::Tensor& t_final,
                              const at::Tensor& grad_image, const at::Tensor& grad_alpha,
                              const at::Tensor& grad_depth, int64_t width, int64_t height,
                              int64_t tile_size, double alpha_max, double alpha_min,
                              double t_min);

at::Tensor visible_depth_order(const at::Tensor& opacities, const at::Tensor& depths,
                               const at::Tensor& rect, int64_t width, int64_t height,
                               int64_t tile_size, double alpha_min);

}  // namespace pcc
