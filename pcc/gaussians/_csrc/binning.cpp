// Which Gaussians a tile composites, in which order, over which pixels (see composite.h).
//
// Row spans: the alpha >= 1/255 ellipse of a Gaussian, a dx^2 + 2 b dx dy + c dy^2 <= q with
// q = 2 ln(255 o) and the conic entries as stored, bounds the pixels where alpha can pass the
// test. Its rows and, per row, its columns are found in closed form in double with the same
// generous margins as render._select_pairs (they only add candidates; the per-pixel alpha test
// decides), clipped to the Gaussian's tile rectangle. A Gaussian is binned only to the tiles its
// row spans reach, a subset of its rectangle (about half of it for small splats), which is exact:
// pixels outside the spans are skipped by the alpha test anyway.

#include "composite.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

namespace pcc {

namespace {

struct Ellipse {
  double u, v, a, b, c, q, det, inv_a;
  bool unbounded;
  int64_t y_lo, y_hi;  // rows that may be inside

  void init(double u_, double v_, double a_, double b_, double c_, double o, const Params& p) {
    u = u_;
    v = v_;
    a = a_;
    b = b_;
    c = c_;
    q = std::max(0.0, 2.0 * std::log(o * 255.0));
    det = a * c - b * b;
    double hy = (det > 0 && a > 0) ? std::sqrt(q * a / std::max(det, 1e-300))
                                   : std::numeric_limits<double>::infinity();
    if (!(hy >= 0)) hy = std::numeric_limits<double>::infinity();  // NaN input
    hy = std::min(hy, 4.0 * static_cast<double>(p.height + p.width));
    double lo = std::ceil(v - hy - 0.1 - 0.01 * hy);
    double hi = std::floor(v + hy + 0.1 + 0.01 * hy);
    lo = std::min(std::max(lo, -1.0), static_cast<double>(p.height));
    hi = std::min(std::max(hi, -1.0), static_cast<double>(p.height));
    y_lo = static_cast<int64_t>(lo);
    y_hi = static_cast<int64_t>(hi);
    unbounded = !(a > 0) || !(det > 0);
    inv_a = 1.0 / a;
  }

  // Columns [x0, x1] of row y that may be inside, clipped to [cx0, cx1]; empty when x0 > x1.
  // (Multiplying by 1 / a instead of dividing moves the ends by far less than the margins.)
  void span(int64_t y, int64_t cx0, int64_t cx1, int64_t& x0, int64_t& x1) const {
    x0 = cx0;
    x1 = cx1;
    if (unbounded) return;
    const double dy = v - static_cast<double>(y);
    const double disc = std::max(0.0, a * q - det * dy * dy);
    const double root = std::sqrt(disc) * inv_a;
    const double centre = u + b * dy * inv_a;
    const double margin = 0.1 + 0.01 * root;
    const double lo = std::ceil(centre - root - margin);
    const double hi = std::floor(centre + root + margin);
    if (!std::isfinite(lo) || !std::isfinite(hi)) return;
    x0 = std::max(cx0, static_cast<int64_t>(std::max(lo, -2.0)));
    x1 = std::min(cx1, static_cast<int64_t>(std::min(hi, 1e15)));
  }
};

template <typename scalar_t>
bool composited(const Inputs& in, const Params& p, int64_t i) {
  const int64_t* r = in.rect.data_ptr<int64_t>() + 4 * i;
  const scalar_t o = in.opacities.data_ptr<scalar_t>()[i];
  return (r[2] - r[0]) * (r[3] - r[1]) > 0 && o >= static_cast<scalar_t>(p.alpha_min);
}

template <typename scalar_t>
at::Tensor depth_order_impl(const Inputs& in, const Params& p) {
  const scalar_t* z = in.depths.data_ptr<scalar_t>();
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < in.n; ++i)
    if (composited<scalar_t>(in, p, i)) idx.push_back(i);
  bool positive = true;  // positive floats order like their bit patterns
  for (int64_t i : idx) positive = positive && z[i] > 0;
  if (sizeof(scalar_t) == 4 && positive) {
    // Keys (depth bits, index): one sort of integers, ties in index order (stable).
    std::vector<uint64_t> keys(idx.size());
    for (size_t k = 0; k < idx.size(); ++k) {
      uint32_t bits;
      std::memcpy(&bits, &z[idx[k]], 4);
      keys[k] = (static_cast<uint64_t>(bits) << 32) | static_cast<uint64_t>(idx[k]);
    }
    std::sort(keys.begin(), keys.end());
    for (size_t k = 0; k < idx.size(); ++k) idx[k] = static_cast<int64_t>(keys[k] & 0xffffffffu);
  } else {
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return z[a] < z[b]; });
  }
  at::Tensor out = at::empty({static_cast<int64_t>(idx.size())}, at::kLong);
  std::copy(idx.begin(), idx.end(), out.data_ptr<int64_t>());
  return out;
}

template <typename scalar_t>
Binning bin_impl(const Inputs& in, const Params& p) {
  Binning out;
  const at::Tensor order_t = depth_order_impl<scalar_t>(in, p);  // [V] depth rank -> Gaussian
  const int64_t n = order_t.size(0);
  const int64_t* order = order_t.data_ptr<int64_t>();
  const int64_t* rect = in.rect.data_ptr<int64_t>();
  const scalar_t* m2 = in.means2d.data_ptr<scalar_t>();
  const scalar_t* cn = in.conics.data_ptr<scalar_t>();
  const scalar_t* op = in.opacities.data_ptr<scalar_t>();
  const int64_t T = p.tile_size;
  const int64_t n_tiles = p.tiles_x * p.tiles_y;

  // Records in screen order: a counting sort by the top-left tile of the rectangle. Everything
  // per Gaussian below (rectangle, ellipse, row spans) is stored in record order, so the tile
  // loops read neighbouring memory for neighbouring tiles.
  out.gauss = at::empty({n}, at::kLong);
  int64_t* gauss = out.gauss.data_ptr<int64_t>();
  std::vector<int32_t> record_of(n);  // depth rank -> record
  {
    auto key = [&](int64_t d) {
      const int64_t* r = rect + 4 * order[d];
      return std::min(r[1] * p.tiles_x + r[0], n_tiles - 1);
    };
    std::vector<int64_t> start(n_tiles + 1, 0);
    std::vector<int64_t> keys(n);
    for (int64_t d = 0; d < n; ++d) keys[d] = key(d);
    for (int64_t d = 0; d < n; ++d) start[keys[d] + 1] += 1;
    for (int64_t t = 0; t < n_tiles; ++t) start[t + 1] += start[t];
    for (int64_t d = 0; d < n; ++d) {
      const int64_t j = start[keys[d]]++;
      record_of[d] = static_cast<int32_t>(j);
      gauss[j] = order[d];
    }
  }

  // Rows of each record: its ellipse's rows inside its tile rectangle.
  std::vector<Ellipse> el(n);
  std::vector<int64_t> row_start(n + 1, 0), y_first(n), rect_r(4 * n);
  at::parallel_for(0, n, kGaussianGrain, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const int64_t i = gauss[j];
      el[j].init(m2[2 * i], m2[2 * i + 1], cn[3 * i], cn[3 * i + 1], cn[3 * i + 2], op[i], p);
      const int64_t* r = rect + 4 * i;
      std::copy(r, r + 4, rect_r.data() + 4 * j);
      const int64_t ya = std::max(el[j].y_lo, r[1] * T);
      const int64_t yb = std::min(el[j].y_hi, std::min(r[3] * T, p.height) - 1);
      y_first[j] = ya;
      row_start[j + 1] = std::max<int64_t>(0, yb - ya + 1);
    }
  });
  for (int64_t j = 0; j < n; ++j) row_start[j + 1] += row_start[j];
  out.spans = at::empty({row_start[n], 2}, at::kInt);
  int32_t* spans = out.spans.data_ptr<int32_t>();
  // Per record and tile row of its rectangle, the tile columns its spans reach: [lo, hi].
  std::vector<int64_t> band_start(n + 1, 0);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t* r = rect_r.data() + 4 * j;
    band_start[j + 1] = band_start[j] + (r[3] - r[1]);
  }
  std::vector<int32_t> bands(2 * band_start[n]);
  at::parallel_for(0, n, kGaussianGrain, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const int64_t* r = rect_r.data() + 4 * j;
      const int64_t cx0 = r[0] * T, cx1 = std::min(r[2] * T, p.width) - 1;
      int32_t* band = bands.data() + 2 * band_start[j];
      const int64_t y_end = y_first[j] + (row_start[j + 1] - row_start[j]);  // exclusive
      int32_t* sp = spans + 2 * row_start[j];
      for (int64_t ty = r[1]; ty < r[3]; ++ty, band += 2) {
        // Rows of this tile row with a span; the tile columns they reach.
        const int64_t ya = std::max(y_first[j], ty * T), yb = std::min(y_end, (ty + 1) * T);
        int64_t lo = cx1 + 1, hi = cx0 - 1;
        for (int64_t y = ya; y < yb; ++y, sp += 2) {
          int64_t x0, x1;
          el[j].span(y, cx0, cx1, x0, x1);
          sp[0] = static_cast<int32_t>(x0);
          sp[1] = static_cast<int32_t>(x1);
          if (x0 > x1) continue;
          lo = std::min(lo, x0);
          hi = std::max(hi, x1);
        }
        band[0] = lo <= hi ? static_cast<int32_t>(lo / T) : 1;
        band[1] = lo <= hi ? static_cast<int32_t>(hi / T) : 0;
      }
    }
  });
  out.rows = at::empty({n, 3}, at::kLong);
  int64_t* rows = out.rows.data_ptr<int64_t>();
  for (int64_t j = 0; j < n; ++j) {
    rows[3 * j] = row_start[j];
    rows[3 * j + 1] = y_first[j];
    rows[3 * j + 2] = row_start[j + 1] - row_start[j];
  }

  // Tile lists, front to back: count, prefix sum, fill in depth order.
  out.offsets = at::zeros({n_tiles + 1}, at::kLong);
  int64_t* off = out.offsets.data_ptr<int64_t>();
  auto each_tile = [&](int64_t j, auto fn) {
    const int64_t* r = rect_r.data() + 4 * j;
    const int32_t* band = bands.data() + 2 * band_start[j];
    for (int64_t ty = r[1]; ty < r[3]; ++ty, band += 2)
      for (int64_t tx = band[0]; tx <= band[1]; ++tx) fn(ty * p.tiles_x + tx);
  };
  for (int64_t j = 0; j < n; ++j) each_tile(j, [&](int64_t t) { off[t + 1] += 1; });
  for (int64_t t = 0; t < n_tiles; ++t) off[t + 1] += off[t];
  out.list = at::empty({off[n_tiles]}, at::kInt);
  int32_t* list = out.list.data_ptr<int32_t>();
  std::vector<int64_t> fill(off, off + n_tiles);
  for (int64_t d = 0; d < n; ++d) {
    const int32_t j = record_of[d];
    each_tile(j, [&](int64_t t) { list[fill[t]++] = j; });
  }
  return out;
}

}  // namespace

Params make_params(int64_t width, int64_t height, int64_t tile_size, double alpha_max,
                   double alpha_min, double t_min) {
  TORCH_CHECK(width > 0 && height > 0 && tile_size > 0, "bad image or tile size");
  TORCH_CHECK(width < (1 << 30) && height < (1 << 30), "image too large");
  Params p;
  p.width = width;
  p.height = height;
  p.tile_size = tile_size;
  p.tiles_x = (width + tile_size - 1) / tile_size;
  p.tiles_y = (height + tile_size - 1) / tile_size;
  p.alpha_max = alpha_max;
  p.alpha_min = alpha_min;
  p.t_min = t_min;
  return p;
}

Inputs check_inputs(const at::Tensor& means2d, const at::Tensor& conics,
                    const at::Tensor& opacities, const at::Tensor& colors,
                    const at::Tensor& depths, const at::Tensor& rect, const Params& p) {
  const int64_t n = means2d.size(0);
  const auto dtype = means2d.scalar_type();
  auto check = [&](const at::Tensor& t, int64_t cols, const char* name) {
    TORCH_CHECK(t.device().is_cpu(), name, ": CPU tensor expected");
    TORCH_CHECK(t.scalar_type() == dtype, name, ": dtype differs from means2d");
    TORCH_CHECK(t.numel() == n * cols && t.size(0) == n, name, ": expected ", n, " x ", cols);
    return t.contiguous();
  };
  Inputs in;
  in.n = n;
  in.means2d = check(means2d, 2, "means2d");
  in.conics = check(conics, 3, "conics");
  in.opacities = check(opacities, 1, "opacities");
  in.colors = check(colors, 3, "colors");
  in.depths = check(depths, 1, "depths");
  TORCH_CHECK(dtype == at::kFloat || dtype == at::kDouble, "float32 or float64 expected");
  TORCH_CHECK(rect.device().is_cpu() && rect.scalar_type() == at::kLong && rect.dim() == 2 &&
                  rect.size(0) == n && rect.size(1) == 4,
              "rect must be an int64 [N, 4] tensor");
  TORCH_CHECK(n < std::numeric_limits<int32_t>::max(), "too many Gaussians");
  in.rect = rect.contiguous();
  const int64_t* r = in.rect.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t* q = r + 4 * i;
    TORCH_CHECK(q[0] >= 0 && q[1] >= 0 && q[2] <= p.tiles_x && q[3] <= p.tiles_y,
                "tile rectangle outside the tile grid");
  }
  return in;
}

at::Tensor depth_order(const Inputs& in, const Params& p) {
  return AT_DISPATCH_FLOATING_TYPES(in.means2d.scalar_type(), "depth_order",
                                    [&] { return depth_order_impl<scalar_t>(in, p); });
}

Binning bin_gaussians(const Inputs& in, const Params& p) {
  return AT_DISPATCH_FLOATING_TYPES(in.means2d.scalar_type(), "bin_gaussians",
                                    [&] { return bin_impl<scalar_t>(in, p); });
}

template <typename scalar_t>
std::vector<Record<scalar_t>> gather_records(const Inputs& in, const Binning& b, const Params& p) {
  const int64_t n = b.gauss.size(0);
  TORCH_CHECK(b.rows.numel() == 3 * n, "binning does not match");
  std::vector<Record<scalar_t>> rec(n);
  const int64_t* gauss = b.gauss.data_ptr<int64_t>();
  const int64_t* rows = b.rows.data_ptr<int64_t>();
  const scalar_t* m2 = in.means2d.data_ptr<scalar_t>();
  const scalar_t* cn = in.conics.data_ptr<scalar_t>();
  const scalar_t* op = in.opacities.data_ptr<scalar_t>();
  const scalar_t* co = in.colors.data_ptr<scalar_t>();
  const scalar_t* z = in.depths.data_ptr<scalar_t>();
  at::parallel_for(0, n, kGaussianGrain, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      const int64_t i = gauss[j];
      TORCH_CHECK(i >= 0 && i < in.n, "binning does not match");
      scalar_t* g = rec[j].g;
      g[0] = m2[2 * i];
      g[1] = m2[2 * i + 1];
      g[2] = cn[3 * i];
      g[3] = cn[3 * i + 1];
      g[4] = cn[3 * i + 2];
      g[5] = op[i];
      g[6] = co[3 * i];
      g[7] = co[3 * i + 1];
      g[8] = co[3 * i + 2];
      g[9] = z[i];
      rec[j].power_min = std::log(p.alpha_min / static_cast<double>(op[i])) - kPowerSlack;
      rec[j].span_offset = rows[3 * j];
      rec[j].y_first = static_cast<int32_t>(rows[3 * j + 1]);
      rec[j].n_rows = static_cast<int32_t>(rows[3 * j + 2]);
    }
  });
  return rec;
}

template std::vector<Record<float>> gather_records<float>(const Inputs&, const Binning&,
                                                          const Params&);
template std::vector<Record<double>> gather_records<double>(const Inputs&, const Binning&,
                                                            const Params&);

at::Tensor visible_depth_order(const at::Tensor& opacities, const at::Tensor& depths,
                               const at::Tensor& rect, int64_t width, int64_t height,
                               int64_t tile_size, double alpha_min) {
  const Params p = make_params(width, height, tile_size, 1.0, alpha_min, 0.0);
  const int64_t n = opacities.numel();
  const auto opts = opacities.options();
  const at::Tensor z2 = at::zeros({n, 2}, opts), z3 = at::zeros({n, 3}, opts);
  const Inputs in = check_inputs(z2, z3, opacities.reshape({n}), z3, depths.reshape({n}), rect, p);
  return depth_order(in, p);
}

}  // namespace pcc
