// Tile-based alpha compositing of projected 3D Gaussians on the CPU, forward and backward.
//
// The compiled counterpart of steps 1-3 of pcc/gaussians/render.py (same image formation, INRIA
// semantics; see that module's docstring). Python (pcc/gaussians/render_native.py) projects the
// Gaussians, evaluates their colours and gathers one row per composited Gaussian, already in
// front-to-back order, into a table
//
//     table [V, 10] = (u, v, conic a, conic b, conic c, opacity, r, g, b, view depth)
//
// with rect [V, 4] = the Gaussian's tile rectangle (tx0, ty0, tx1, ty1), exclusive ends.
// Here every tile keeps the list of the Gaussians binned to it (in the table's order, which is
// depth order) and walks it Gaussian by Gaussian over the pixels of the tile that lie inside the
// Gaussian's alpha >= 1/255 ellipse, so each thread works on whole tiles (dynamic scheduling over
// tiles, torch's intra-op thread count). Per pixel:
//
//     alpha = min(0.99, o exp(power)), power = -1/2 (a dx^2 + c dy^2) - b dx dy, dx = u - x, ...
//     skipped if power > 0 or alpha < 1/255; the pixel stops before a Gaussian that would take
//     T below 1e-4; C += alpha T c, D += alpha T z, T *= 1 - alpha.
//
// The alpha test is evaluated in the table's dtype with the same operations, in the same order, as
// the PyTorch renderer (compile with -ffp-contract=off), so both pick the same pairs; the
// transmittance and the sums are kept in double.
//
// Backward walks each tile's list back to front (as INRIA's renderCUDA backward does), recovering
// T_j = T_{j+1} / (1 - alpha_j) from the final transmittance saved by the forward pass, and
// accumulates per-Gaussian gradients of the table's 10 columns in per-thread double buffers.

#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace {

constexpr int kCols = 10;  // columns of the per-Gaussian table

struct Params {
  int64_t width, height, tile_size, tiles_x, tiles_y;
  double alpha_max, alpha_min, t_min;
};

// The alpha >= 1/255 ellipse of one Gaussian in double, to bound the pixels evaluated: the same
// closed form and the same generous margins as render._select_pairs (only adds candidates; the
// alpha test decides).
struct Ellipse {
  double u, v, a, b, c, q, det;
  bool unbounded;
  int64_t y_lo, y_hi;  // rows that may be inside

  template <typename scalar_t>
  void init(const scalar_t* row, const Params& p) {
    u = row[0];
    v = row[1];
    a = row[2];
    b = row[3];
    c = row[4];
    q = std::max(0.0, 2.0 * std::log(static_cast<double>(row[5]) * 255.0));
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
  }

  // True if the rectangle [x0, x1] x [y0, y1] lies inside the ellipse (all four corners do:
  // it is convex), so every row's span is the whole rectangle row.
  bool covers(int64_t x0, int64_t y0, int64_t x1, int64_t y1) const {
    if (unbounded) return true;
    auto inside = [&](int64_t x, int64_t y) {
      const double dx = u - static_cast<double>(x), dy = v - static_cast<double>(y);
      return a * dx * dx + 2.0 * b * dx * dy + c * dy * dy <= q;
    };
    return inside(x0, y0) && inside(x1, y0) && inside(x0, y1) && inside(x1, y1);
  }

  // Columns [x0, x1] of row y that may be inside, clipped to [cx0, cx1]; empty when x0 > x1.
  void span(int64_t y, int64_t cx0, int64_t cx1, int64_t& x0, int64_t& x1) const {
    if (unbounded) {
      x0 = cx0;
      x1 = cx1;
      return;
    }
    double dy = v - static_cast<double>(y);
    double disc = std::max(0.0, a * q - det * dy * dy);
    double root = std::sqrt(disc) / a;
    double centre = u + b * dy / a;
    double margin = 0.1 + 0.01 * root;
    double lo = std::ceil(centre - root - margin);
    double hi = std::floor(centre + root + margin);
    if (!std::isfinite(lo) || !std::isfinite(hi)) {
      x0 = cx0;
      x1 = cx1;
      return;
    }
    x0 = std::max(cx0, static_cast<int64_t>(std::max(lo, -2.0)));
    x1 = std::min(cx1, static_cast<int64_t>(std::min(hi, 1e15)));
  }
};

// The exact per-pixel test, in the table's dtype, operation for operation like render.composite.
template <typename scalar_t>
inline bool pixel_alpha(const scalar_t* g, int64_t x, int64_t y, scalar_t amax, scalar_t amin,
                        scalar_t& alpha, scalar_t& gauss, scalar_t& raw, scalar_t& dx,
                        scalar_t& dy) {
  dx = g[0] - static_cast<scalar_t>(x);
  dy = g[1] - static_cast<scalar_t>(y);
  scalar_t power = static_cast<scalar_t>(-0.5) * (g[2] * dx * dx + g[4] * dy * dy) - g[3] * dx * dy;
  if (power > 0) return false;
  gauss = std::exp(power);
  raw = g[5] * gauss;
  alpha = raw > amax ? amax : raw;
  return alpha >= amin;
}

// One Gaussian as the tile loops read it: its table row and its ellipse, side by side.
template <typename scalar_t>
struct Splat {
  scalar_t g[kCols];
  Ellipse el;
};

// The table rearranged for the tile loops. The tile lists hold Gaussians in table (depth)
// order, but the records themselves are stored in screen order (by the top-left tile of their
// rectangle), so the Gaussians of neighbouring tiles sit close together in memory: walking a
// list in depth order over a depth-ordered table would be a cache miss per entry.
template <typename scalar_t>
struct Prepared {
  std::vector<Splat<scalar_t>> splats;  // [V] in screen order
  std::vector<int32_t> perm;            // [V] table row of each record
  std::vector<int64_t> offsets;         // [tiles + 1]
  std::vector<int32_t> list;            // [E] record indices, depth order within a tile
};

template <typename scalar_t>
void prepare(const scalar_t* tab, const int64_t* rect, int64_t n, const Params& p,
             Prepared<scalar_t>& out) {
  const int64_t n_tiles = p.tiles_x * p.tiles_y;
  auto key = [&](int64_t i) {
    const int64_t* r = rect + 4 * i;
    return std::min(r[1] * p.tiles_x + r[0], n_tiles - 1);
  };
  std::vector<int64_t> start(n_tiles + 1, 0);
  for (int64_t i = 0; i < n; ++i) start[key(i) + 1] += 1;
  for (int64_t t = 0; t < n_tiles; ++t) start[t + 1] += start[t];
  out.perm.resize(n);
  std::vector<int32_t> inv(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = start[key(i)]++;
    out.perm[j] = static_cast<int32_t>(i);
    inv[i] = static_cast<int32_t>(j);
  }
  out.splats.resize(n);
  at::parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const scalar_t* row = tab + kCols * out.perm[j];
      std::copy(row, row + kCols, out.splats[j].g);
      out.splats[j].el.init(row, p);
    }
  });
  out.offsets.assign(n_tiles + 1, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t* r = rect + 4 * i;
    for (int64_t ty = r[1]; ty < r[3]; ++ty)
      for (int64_t tx = r[0]; tx < r[2]; ++tx) out.offsets[ty * p.tiles_x + tx + 1] += 1;
  }
  for (int64_t t = 0; t < n_tiles; ++t) out.offsets[t + 1] += out.offsets[t];
  out.list.resize(out.offsets[n_tiles]);
  std::vector<int64_t> fill(out.offsets.begin(), out.offsets.end() - 1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t* r = rect + 4 * i;
    for (int64_t ty = r[1]; ty < r[3]; ++ty)
      for (int64_t tx = r[0]; tx < r[2]; ++tx) out.list[fill[ty * p.tiles_x + tx]++] = inv[i];
  }
}

// Runs body(worker, tile) for every tile, tiles handed out dynamically to torch's threads.
template <typename F>
void for_each_tile(int64_t n_tiles, int64_t n_workers, F body) {
  std::atomic<int64_t> next{0};
  at::parallel_for(0, n_workers, 1, [&](int64_t begin, int64_t end) {
    for (int64_t worker = begin; worker < end; ++worker) {
      for (int64_t t = next.fetch_add(1); t < n_tiles; t = next.fetch_add(1)) body(worker, t);
    }
  });
}

Params make_params(int64_t width, int64_t height, int64_t tile_size, double alpha_max,
                   double alpha_min, double t_min) {
  TORCH_CHECK(width > 0 && height > 0 && tile_size > 0, "bad image or tile size");
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

void check_inputs(const at::Tensor& table, const at::Tensor& rect, const Params& p) {
  TORCH_CHECK(table.device().is_cpu() && rect.device().is_cpu(), "CPU tensors expected");
  TORCH_CHECK(table.dim() == 2 && table.size(1) == kCols && table.is_contiguous(),
              "table must be a contiguous [V, 10] tensor");
  TORCH_CHECK(rect.dim() == 2 && rect.size(1) == 4 && rect.size(0) == table.size(0) &&
                  rect.scalar_type() == at::kLong && rect.is_contiguous(),
              "rect must be a contiguous int64 [V, 4] tensor");
  TORCH_CHECK(table.size(0) < std::numeric_limits<int32_t>::max(), "too many Gaussians");
  const int64_t* r = rect.data_ptr<int64_t>();
  for (int64_t i = 0; i < rect.size(0); ++i) {
    const int64_t* q = r + 4 * i;
    TORCH_CHECK(q[0] >= 0 && q[1] >= 0 && q[2] <= p.tiles_x && q[3] <= p.tiles_y,
                "tile rectangle outside the tile grid");
  }
}

}  // namespace

// Returns image [H, W, 3], alpha [H, W], depth [H, W] (table dtype), t_final [H * W] (double),
// n_contrib [H * W] (int32: 1 + position in its tile's list of the last composited Gaussian) and
// the number of composited pairs [1] (int64).
std::vector<at::Tensor> composite_forward(const at::Tensor& table, const at::Tensor& rect,
                                          const at::Tensor& background, int64_t width,
                                          int64_t height, int64_t tile_size, double alpha_max,
                                          double alpha_min, double t_min) {
  const Params p = make_params(width, height, tile_size, alpha_max, alpha_min, t_min);
  check_inputs(table, rect, p);
  const int64_t n = table.size(0);
  const int64_t npix = width * height;
  auto opts = table.options();
  at::Tensor image = at::empty({height, width, 3}, opts);
  at::Tensor alpha_out = at::empty({height, width}, opts);
  at::Tensor depth_out = at::empty({height, width}, opts);
  at::Tensor t_final = at::empty({npix}, opts.dtype(at::kDouble));
  at::Tensor n_contrib = at::empty({npix}, opts.dtype(at::kInt));
  const int64_t n_tiles = p.tiles_x * p.tiles_y;
  const int64_t n_workers = std::max<int64_t>(1, at::get_num_threads());
  std::vector<int64_t> pair_count(n_workers, 0);
  const at::Tensor bg64 = background.to(at::kDouble).contiguous();
  const double bg[3] = {bg64[0].item<double>(), bg64[1].item<double>(), bg64[2].item<double>()};

  AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "composite_forward", [&] {
    Prepared<scalar_t> prep;
    prepare(table.data_ptr<scalar_t>(), rect.data_ptr<int64_t>(), n, p, prep);
    scalar_t* img = image.data_ptr<scalar_t>();
    scalar_t* alp = alpha_out.data_ptr<scalar_t>();
    scalar_t* dep = depth_out.data_ptr<scalar_t>();
    double* tf = t_final.data_ptr<double>();
    int32_t* last = n_contrib.data_ptr<int32_t>();
    const scalar_t amax = static_cast<scalar_t>(alpha_max);
    const scalar_t amin = static_cast<scalar_t>(alpha_min);

    for_each_tile(n_tiles, n_workers, [&](int64_t worker, int64_t tile) {
      const int64_t tx = tile % p.tiles_x, ty = tile / p.tiles_x;
      const int64_t x0 = tx * p.tile_size, y0 = ty * p.tile_size;
      const int64_t x1 = std::min(x0 + p.tile_size, p.width) - 1;
      const int64_t y1 = std::min(y0 + p.tile_size, p.height) - 1;
      const int64_t tw = x1 - x0 + 1, th = y1 - y0 + 1, np = tw * th;
      std::vector<double> T(np, 1.0), C(3 * np, 0.0), D(np, 0.0);
      std::vector<int32_t> lst(np, 0);
      std::vector<uint8_t> done(np, 0);
      int64_t n_done = 0, pairs = 0;
      const int64_t k0 = prep.offsets[tile], k1 = prep.offsets[tile + 1];
      for (int64_t k = k0; k < k1 && n_done < np; ++k) {
        const Splat<scalar_t>& s = prep.splats[prep.list[k]];
        const scalar_t* g = s.g;
        const int64_t ya = std::max(y0, s.el.y_lo), yb = std::min(y1, s.el.y_hi);
        const bool whole = s.el.covers(x0, y0, x1, y1);
        for (int64_t y = ya; y <= yb; ++y) {
          int64_t xa = x0, xb = x1;
          if (!whole) s.el.span(y, x0, x1, xa, xb);
          for (int64_t x = xa; x <= xb; ++x) {
            const int64_t pi = (y - y0) * tw + (x - x0);
            if (done[pi]) continue;
            scalar_t alpha, gauss, raw, dx, dy;
            if (!pixel_alpha(g, x, y, amax, amin, alpha, gauss, raw, dx, dy)) continue;
            const double a = static_cast<double>(alpha);
            const double test = T[pi] * (1.0 - a);
            if (test < p.t_min) {
              done[pi] = 1;
              ++n_done;
              continue;
            }
            const double w = a * T[pi];
            C[3 * pi] += w * static_cast<double>(g[6]);
            C[3 * pi + 1] += w * static_cast<double>(g[7]);
            C[3 * pi + 2] += w * static_cast<double>(g[8]);
            D[pi] += w * static_cast<double>(g[9]);
            T[pi] = test;
            lst[pi] = static_cast<int32_t>(k - k0 + 1);
            ++pairs;
          }
        }
      }
      for (int64_t y = y0; y <= y1; ++y) {
        for (int64_t x = x0; x <= x1; ++x) {
          const int64_t pi = (y - y0) * tw + (x - x0), q = y * p.width + x;
          for (int ch = 0; ch < 3; ++ch)
            img[3 * q + ch] = static_cast<scalar_t>(C[3 * pi + ch] + T[pi] * bg[ch]);
          alp[q] = static_cast<scalar_t>(1.0 - T[pi]);
          dep[q] = static_cast<scalar_t>(D[pi]);
          tf[q] = T[pi];
          last[q] = lst[pi];
        }
      }
      pair_count[worker] += pairs;
    });
  });

  int64_t total = 0;
  for (int64_t c : pair_count) total += c;
  return {image, alpha_out, depth_out, t_final, n_contrib, at::full({1}, total, at::kLong)};
}

// Gradient of the table [V, 10] (table dtype) given the gradients of image, alpha and depth.
at::Tensor composite_backward(const at::Tensor& table, const at::Tensor& rect,
                              const at::Tensor& background, const at::Tensor& t_final,
                              const at::Tensor& n_contrib, const at::Tensor& grad_image,
                              const at::Tensor& grad_alpha, const at::Tensor& grad_depth,
                              int64_t width, int64_t height, int64_t tile_size, double alpha_max,
                              double alpha_min, double t_min) {
  const Params p = make_params(width, height, tile_size, alpha_max, alpha_min, t_min);
  check_inputs(table, rect, p);
  const int64_t n = table.size(0);
  const int64_t n_tiles = p.tiles_x * p.tiles_y;
  const int64_t npix = width * height;
  TORCH_CHECK(t_final.numel() == npix && n_contrib.numel() == npix &&
                  t_final.scalar_type() == at::kDouble && n_contrib.scalar_type() == at::kInt,
              "saved forward state does not match the image");
  TORCH_CHECK(grad_image.numel() == 3 * npix && grad_alpha.numel() == npix &&
                  grad_depth.numel() == npix,
              "gradient shapes do not match the image");
  const int64_t n_workers = std::max<int64_t>(1, at::get_num_threads());
  std::vector<double> buffers(static_cast<size_t>(n_workers * n * kCols), 0.0);
  const at::Tensor gi_t = grad_image.to(at::kDouble).contiguous();
  const at::Tensor ga_t = grad_alpha.to(at::kDouble).contiguous();
  const at::Tensor gd_t = grad_depth.to(at::kDouble).contiguous();
  const double* gimg = gi_t.data_ptr<double>();
  const double* galp = ga_t.data_ptr<double>();
  const double* gdep = gd_t.data_ptr<double>();
  const double* tf = t_final.data_ptr<double>();
  const int32_t* last = n_contrib.data_ptr<int32_t>();
  const at::Tensor bg64 = background.to(at::kDouble).contiguous();
  const double bg[3] = {bg64[0].item<double>(), bg64[1].item<double>(), bg64[2].item<double>()};
  at::Tensor result = at::empty({n, kCols}, table.options());

  AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "composite_backward", [&] {
    Prepared<scalar_t> prep;
    prepare(table.data_ptr<scalar_t>(), rect.data_ptr<int64_t>(), n, p, prep);
    const scalar_t amax = static_cast<scalar_t>(alpha_max);
    const scalar_t amin = static_cast<scalar_t>(alpha_min);

    for_each_tile(n_tiles, n_workers, [&](int64_t worker, int64_t tile) {
      double* acc = buffers.data() + worker * n * kCols;
      const int64_t tx = tile % p.tiles_x, ty = tile / p.tiles_x;
      const int64_t x0 = tx * p.tile_size, y0 = ty * p.tile_size;
      const int64_t x1 = std::min(x0 + p.tile_size, p.width) - 1;
      const int64_t y1 = std::min(y0 + p.tile_size, p.height) - 1;
      const int64_t tw = x1 - x0 + 1, th = y1 - y0 + 1, np = tw * th;
      // Per pixel: T (recovered back to front), the colour / depth composited behind the current
      // Gaussian (background included), the incoming gradients and the final-T term.
      std::vector<double> T(np), RC(3 * np), RD(np, 0.0), G(5 * np), tail(np);
      std::vector<int32_t> lst(np);
      int32_t max_last = 0;
      for (int64_t y = y0; y <= y1; ++y) {
        for (int64_t x = x0; x <= x1; ++x) {
          const int64_t pi = (y - y0) * tw + (x - x0), q = y * p.width + x;
          T[pi] = tf[q];
          for (int ch = 0; ch < 3; ++ch) {
            RC[3 * pi + ch] = tf[q] * bg[ch];
            G[5 * pi + ch] = gimg[3 * q + ch];
          }
          G[5 * pi + 3] = galp[q];
          G[5 * pi + 4] = gdep[q];
          tail[pi] = galp[q] * tf[q];
          lst[pi] = last[q];
          max_last = std::max(max_last, last[q]);
        }
      }
      const int64_t k0 = prep.offsets[tile];
      for (int64_t k = max_last - 1; k >= 0; --k) {
        const int32_t si = prep.list[k0 + k];
        const Splat<scalar_t>& s = prep.splats[si];
        const scalar_t* g = s.g;
        const double cr = g[6], cg = g[7], cb = g[8], z = g[9];
        const double ca = g[2], cbb = g[3], cc = g[4];
        double d_u = 0, d_v = 0, d_a = 0, d_b = 0, d_c = 0, d_o = 0, d_r = 0, d_g = 0, d_bl = 0,
               d_z = 0;
        bool touched = false;
        const int64_t ya = std::max(y0, s.el.y_lo), yb = std::min(y1, s.el.y_hi);
        const bool whole = s.el.covers(x0, y0, x1, y1);
        for (int64_t y = ya; y <= yb; ++y) {
          int64_t xa = x0, xb = x1;
          if (!whole) s.el.span(y, x0, x1, xa, xb);
          for (int64_t x = xa; x <= xb; ++x) {
            const int64_t pi = (y - y0) * tw + (x - x0);
            if (k >= lst[pi]) continue;
            scalar_t alpha, gauss, raw, dxs, dys;
            if (!pixel_alpha(g, x, y, amax, amin, alpha, gauss, raw, dxs, dys)) continue;
            touched = true;
            const double a = alpha, inv_one_m = 1.0 / (1.0 - a);
            const double Tj = T[pi] * inv_one_m;
            T[pi] = Tj;
            const double w = a * Tj;
            const double* gp = &G[5 * pi];
            d_r += w * gp[0];
            d_g += w * gp[1];
            d_bl += w * gp[2];
            d_z += w * gp[4];
            double* rc = &RC[3 * pi];
            const double behind = gp[0] * rc[0] + gp[1] * rc[1] + gp[2] * rc[2] + gp[4] * RD[pi];
            const double g_alpha =
                Tj * (gp[0] * cr + gp[1] * cg + gp[2] * cb + gp[4] * z) -
                (behind - tail[pi]) * inv_one_m;
            rc[0] += w * cr;
            rc[1] += w * cg;
            rc[2] += w * cb;
            RD[pi] += w * z;
            if (raw <= amax) {  // the 0.99 clamp passes no gradient when it is active
              const double e = gauss;
              d_o += g_alpha * e;
              const double g_pow = g_alpha * static_cast<double>(raw);
              const double dx = dxs, dy = dys;
              d_u -= g_pow * (ca * dx + cbb * dy);
              d_v -= g_pow * (cc * dy + cbb * dx);
              d_a -= 0.5 * g_pow * dx * dx;
              d_b -= g_pow * dx * dy;
              d_c -= 0.5 * g_pow * dy * dy;
            }
          }
        }
        if (touched) {
          double* o = acc + kCols * si;
          o[0] += d_u;
          o[1] += d_v;
          o[2] += d_a;
          o[3] += d_b;
          o[4] += d_c;
          o[5] += d_o;
          o[6] += d_r;
          o[7] += d_g;
          o[8] += d_bl;
          o[9] += d_z;
        }
      }
    });
    // Sum the workers' buffers and put the rows back in table order.
    scalar_t* res = result.data_ptr<scalar_t>();
    at::parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) {
        scalar_t* out = res + kCols * static_cast<int64_t>(prep.perm[j]);
        for (int col = 0; col < kCols; ++col) {
          double sum = 0.0;
          for (int64_t w = 0; w < n_workers; ++w) sum += buffers[(w * n + j) * kCols + col];
          out[col] = static_cast<scalar_t>(sum);
        }
      }
    });
  });
  return result;
}


// ------------------------------------------------------------------------------------------
// EWA projection (pcc/gaussians/projection.py, INRIA's preprocessCUDA), fused: one pass per
// Gaussian instead of some forty tensor operations, and a hand-written backward pass. The
// arithmetic follows projection.py operation for operation in the input dtype; the matrix
// products are summed in the same index order but BLAS may fuse or reorder, so values can differ
// from the PyTorch projection in the last bit.

struct Cam {
  double R[9], t[3], fx, fy, cx, cy, x_min, x_max, y_min, y_max, near, low_pass, sigmas;
  int64_t width, height, tile_size, tiles_x, tiles_y;
};

Cam make_cam(const at::Tensor& camera, int64_t width, int64_t height, int64_t tile_size) {
  // camera = [R (9), t (3), fx, fy, cx, cy, x_min, x_max, y_min, y_max, near, low_pass, sigmas]
  TORCH_CHECK(camera.numel() == 23 && camera.scalar_type() == at::kDouble,
              "camera must be 23 float64 values");
  TORCH_CHECK(width > 0 && height > 0 && tile_size > 0, "bad image or tile size");
  const at::Tensor c = camera.contiguous();
  const double* v = c.data_ptr<double>();
  Cam k;
  std::copy(v, v + 9, k.R);
  std::copy(v + 9, v + 12, k.t);
  k.fx = v[12]; k.fy = v[13]; k.cx = v[14]; k.cy = v[15];
  k.x_min = v[16]; k.x_max = v[17]; k.y_min = v[18]; k.y_max = v[19];
  k.near = v[20]; k.low_pass = v[21]; k.sigmas = v[22];
  k.width = width; k.height = height; k.tile_size = tile_size;
  k.tiles_x = (width + tile_size - 1) / tile_size;
  k.tiles_y = (height + tile_size - 1) / tile_size;
  return k;
}

// Returns means2d [N, 2], depths [N], cov2d [N, 3] (a, b, c), conics [N, 3] (input dtype),
// radii [N] and tile rectangles [N, 4] (int64).
// With factor = true, cov3d holds a factor F [N, 3, 3] of the covariance, cov3d = F F^T (F = R S
// for a Gaussian's rotation R and scales S), and the gradient is returned for F.
std::vector<at::Tensor> project_forward(const at::Tensor& means, const at::Tensor& cov3d,
                                        const at::Tensor& camera, int64_t width, int64_t height,
                                        int64_t tile_size, bool factor) {
  const Cam k = make_cam(camera, width, height, tile_size);
  TORCH_CHECK(means.dim() == 2 && means.size(1) == 3, "means must be [N, 3]");
  const int64_t n = means.size(0);
  TORCH_CHECK(cov3d.numel() == 9 * n && cov3d.scalar_type() == means.scalar_type(),
              "cov3d must be [N, 3, 3] of the means' dtype");
  const at::Tensor mu_t = means.contiguous(), cov_t = cov3d.contiguous();
  auto opts = means.options();
  at::Tensor means2d = at::empty({n, 2}, opts), depths = at::empty({n}, opts);
  at::Tensor cov2d = at::empty({n, 3}, opts), conics = at::empty({n, 3}, opts);
  at::Tensor radii = at::empty({n}, opts.dtype(at::kLong));
  at::Tensor rect = at::empty({n, 4}, opts.dtype(at::kLong));
  AT_DISPATCH_FLOATING_TYPES(means.scalar_type(), "project_forward", [&] {
    using S = scalar_t;
    const S* mu = mu_t.data_ptr<S>();
    const S* cv = cov_t.data_ptr<S>();
    S* m2 = means2d.data_ptr<S>();
    S* dp = depths.data_ptr<S>();
    S* c2 = cov2d.data_ptr<S>();
    S* cn = conics.data_ptr<S>();
    int64_t* rd = radii.data_ptr<int64_t>();
    int64_t* rc = rect.data_ptr<int64_t>();
    S R[9];
    for (int i = 0; i < 9; ++i) R[i] = static_cast<S>(k.R[i]);
    const S fx = k.fx, fy = k.fy;
    at::parallel_for(0, n, 2048, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const S* m = mu + 3 * i;
        S p[3];
        for (int r = 0; r < 3; ++r)
          p[r] = (m[0] * R[3 * r] + m[1] * R[3 * r + 1] + m[2] * R[3 * r + 2]) +
                 static_cast<S>(k.t[r]);
        const S x = p[0], y = p[1], z = p[2];
        const bool in_front = z > static_cast<S>(k.near);
        const S inv_z = S(1) / (in_front ? z : S(1));
        const S u = fx * x * inv_z + static_cast<S>(k.cx - 0.5);
        const S v = fy * y * inv_z + static_cast<S>(k.cy - 0.5);
        m2[2 * i] = in_front ? u : S(0);
        m2[2 * i + 1] = in_front ? v : S(0);
        dp[i] = z;
        S tx = x * inv_z, ty = y * inv_z;
        tx = std::min(std::max(tx, static_cast<S>(k.x_min)), static_cast<S>(k.x_max));
        ty = std::min(std::max(ty, static_cast<S>(k.y_min)), static_cast<S>(k.y_max));
        const S J00 = fx * inv_z, J02 = -fx * tx * inv_z, J11 = fy * inv_z, J12 = -fy * ty * inv_z;
        S M[6];
        for (int col = 0; col < 3; ++col) {
          M[col] = J00 * R[col] + J02 * R[6 + col];
          M[3 + col] = J11 * R[3 + col] + J12 * R[6 + col];
        }
        S C[9];
        const S* F = cv + 9 * i;
        if (factor) {
          for (int j = 0; j < 3; ++j)
            for (int l = 0; l < 3; ++l)
              C[3 * j + l] = F[3 * j] * F[3 * l] + F[3 * j + 1] * F[3 * l + 1] +
                             F[3 * j + 2] * F[3 * l + 2];
        } else {
          std::copy(F, F + 9, C);
        }
        S MC[6];  // M @ cov3d
        for (int r = 0; r < 2; ++r)
          for (int col = 0; col < 3; ++col)
            MC[3 * r + col] = M[3 * r] * C[col] + M[3 * r + 1] * C[3 + col] +
                              M[3 * r + 2] * C[6 + col];
        auto dot = [&](int r, int q) {
          return MC[3 * r] * M[3 * q] + MC[3 * r + 1] * M[3 * q + 1] + MC[3 * r + 2] * M[3 * q + 2];
        };
        const S a = dot(0, 0) + static_cast<S>(k.low_pass);
        const S bb = dot(0, 1);
        const S c = dot(1, 1) + static_cast<S>(k.low_pass);
        c2[3 * i] = a;
        c2[3 * i + 1] = bb;
        c2[3 * i + 2] = c;
        const S det = a * c - bb * bb;
        const bool ok = in_front && det > 0;
        const S ds = ok ? det : S(1);
        cn[3 * i] = c / ds;
        cn[3 * i + 1] = -bb / ds;
        cn[3 * i + 2] = a / ds;
        int64_t radius = 0;
        int64_t r4[4] = {0, 0, 0, 0};
        if (ok) {
          const S mid = S(0.5) * (a + c);
          const S lam = mid + std::sqrt(std::max(mid * mid - det, static_cast<S>(0.1)));
          radius = static_cast<int64_t>(
              std::ceil(static_cast<S>(k.sigmas) * std::sqrt(std::max(lam, S(0)))));
          const S rr = static_cast<S>(radius), T = static_cast<S>(k.tile_size);
          auto cl = [](S val, int64_t hi) {
            return static_cast<int64_t>(std::min(std::max(std::floor(val), S(0)), S(hi)));
          };
          r4[0] = cl((u - rr) / T, k.tiles_x);
          r4[1] = cl((v - rr) / T, k.tiles_y);
          r4[2] = cl((u + rr + T - S(1)) / T, k.tiles_x);
          r4[3] = cl((v + rr + T - S(1)) / T, k.tiles_y);
          if ((r4[2] - r4[0]) * (r4[3] - r4[1]) <= 0) {
            radius = 0;
            r4[0] = r4[1] = r4[2] = r4[3] = 0;
          }
        }
        rd[i] = radius;
        for (int q = 0; q < 4; ++q) rc[4 * i + q] = r4[q];
      }
    });
  });
  return {means2d, depths, cov2d, conics, radii, rect};
}

// Gradients of means [N, 3] and cov3d [N, 3, 3] from those of means2d, depths and conics.
std::vector<at::Tensor> project_backward(const at::Tensor& means, const at::Tensor& cov3d,
                                         const at::Tensor& cov2d, const at::Tensor& camera,
                                         const at::Tensor& grad_means2d,
                                         const at::Tensor& grad_depths,
                                         const at::Tensor& grad_conics, int64_t width,
                                         int64_t height, int64_t tile_size, bool factor) {
  const Cam k = make_cam(camera, width, height, tile_size);
  const int64_t n = means.size(0);
  const at::Tensor mu_t = means.contiguous(), cov_t = cov3d.contiguous();
  const at::Tensor c2_t = cov2d.contiguous();
  TORCH_CHECK(c2_t.numel() == 3 * n && c2_t.scalar_type() == means.scalar_type(),
              "cov2d must be the forward pass's [N, 3]");
  const at::Tensor gm_t = grad_means2d.to(at::kDouble).contiguous();
  const at::Tensor gd_t = grad_depths.to(at::kDouble).contiguous();
  const at::Tensor gc_t = grad_conics.to(at::kDouble).contiguous();
  TORCH_CHECK(gm_t.numel() == 2 * n && gd_t.numel() == n && gc_t.numel() == 3 * n,
              "gradient shapes do not match");
  at::Tensor g_means = at::empty({n, 3}, means.options());
  at::Tensor g_cov = at::empty({n, 3, 3}, means.options());
  AT_DISPATCH_FLOATING_TYPES(means.scalar_type(), "project_backward", [&] {
    using S = scalar_t;
    const S* mu = mu_t.data_ptr<S>();
    const S* cv = cov_t.data_ptr<S>();
    const S* c2 = c2_t.data_ptr<S>();
    const double* gm = gm_t.data_ptr<double>();
    const double* gd = gd_t.data_ptr<double>();
    const double* gc = gc_t.data_ptr<double>();
    S* om = g_means.data_ptr<S>();
    S* oc = g_cov.data_ptr<S>();
    S Rs[9];
    for (int i = 0; i < 9; ++i) Rs[i] = static_cast<S>(k.R[i]);
    const double* R = k.R;
    at::parallel_for(0, n, 2048, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        // Forward values again, in the input dtype (as the forward pass computed them).
        const S* m = mu + 3 * i;
        S p[3];
        for (int r = 0; r < 3; ++r)
          p[r] = (m[0] * Rs[3 * r] + m[1] * Rs[3 * r + 1] + m[2] * Rs[3 * r + 2]) +
                 static_cast<S>(k.t[r]);
        const double x = p[0], y = p[1], z = p[2];
        const bool in_front = p[2] > static_cast<S>(k.near);
        const double iz = 1.0 / (in_front ? z : 1.0);
        const double rx = x * iz, ry = y * iz;
        const bool x_free = rx >= k.x_min && rx <= k.x_max;
        const bool y_free = ry >= k.y_min && ry <= k.y_max;
        const double tx = std::min(std::max(rx, k.x_min), k.x_max);
        const double ty = std::min(std::max(ry, k.y_min), k.y_max);
        const double J00 = k.fx * iz, J02 = -k.fx * tx * iz, J11 = k.fy * iz,
                     J12 = -k.fy * ty * iz;
        double M[6];
        for (int col = 0; col < 3; ++col) {
          M[col] = J00 * R[col] + J02 * R[6 + col];
          M[3 + col] = J11 * R[3 + col] + J12 * R[6 + col];
        }
        double C[9];
        double F[9];
        for (int q = 0; q < 9; ++q) F[q] = cv[9 * i + q];
        if (factor) {
          // C = F F^T, rounded to the input dtype as the forward pass did.
          const S* Fs = cv + 9 * i;
          for (int j = 0; j < 3; ++j)
            for (int l = 0; l < 3; ++l)
              C[3 * j + l] = static_cast<S>(Fs[3 * j] * Fs[3 * l] + Fs[3 * j + 1] * Fs[3 * l + 1] +
                                            Fs[3 * j + 2] * Fs[3 * l + 2]);
        } else {
          std::copy(F, F + 9, C);
        }
        double MC[6], MCt[6];  // M @ C and M @ C^T
        for (int r = 0; r < 2; ++r)
          for (int col = 0; col < 3; ++col) {
            MC[3 * r + col] = M[3 * r] * C[col] + M[3 * r + 1] * C[3 + col] +
                              M[3 * r + 2] * C[6 + col];
            MCt[3 * r + col] = M[3 * r] * C[3 * col] + M[3 * r + 1] * C[3 * col + 1] +
                               M[3 * r + 2] * C[3 * col + 2];
          }
        // The 2D covariance as the forward pass rounded it decides the culling, as there.
        const S as = c2[3 * i], bs = c2[3 * i + 1], cs = c2[3 * i + 2];
        const bool ok = in_front && as * cs - bs * bs > S(0);
        const double a = as, bb = bs, c = cs;
        const double det = a * c - bb * bb;
        // conics = (c, -b, a) / ds, ds = det if ok else 1.
        const double gA = gc[3 * i], gB = gc[3 * i + 1], gC = gc[3 * i + 2];
        double g_a, g_b, g_c;
        if (ok) {
          const double inv = 1.0 / det;
          const double s = (gA * c - gB * bb + gC * a) * inv * inv;  // -dL/d det
          g_a = gC * inv - s * c;
          g_b = -gB * inv + 2.0 * s * bb;
          g_c = gA * inv - s * a;
        } else {
          g_a = gC;
          g_b = -gB;
          g_c = gA;
        }
        // cov2d entries a = M0 C M0^T, b = M0 C M1^T, c = M1 C M1^T (b from entry [0, 1] only).
        double gC3[9];
        for (int j = 0; j < 3; ++j)
          for (int l = 0; l < 3; ++l)
            gC3[3 * j + l] = g_a * M[j] * M[l] + g_b * M[j] * M[3 + l] + g_c * M[3 + j] * M[3 + l];
        S* ocv = oc + 9 * i;
        if (factor) {  // d(F F^T): dF = (G + G^T) F
          for (int j = 0; j < 3; ++j)
            for (int l = 0; l < 3; ++l) {
              double acc = 0.0;
              for (int q = 0; q < 3; ++q) acc += (gC3[3 * j + q] + gC3[3 * q + j]) * F[3 * q + l];
              ocv[3 * j + l] = static_cast<S>(acc);
            }
        } else {
          for (int q = 0; q < 9; ++q) ocv[q] = static_cast<S>(gC3[q]);
        }
        // dL/dM: a -> 2-sided, b = M0 C M1^T -> dM0 = g_b (C M1^T), dM1 = g_b (M0 C).
        double gM[6];
        for (int col = 0; col < 3; ++col) {
          gM[col] = g_a * (MC[col] + MCt[col]) + g_b * MCt[3 + col];
          gM[3 + col] = g_c * (MC[3 + col] + MCt[3 + col]) + g_b * MC[col];
        }
        // M = J R: dJ = dM R^T.
        double gJ00 = 0, gJ02 = 0, gJ11 = 0, gJ12 = 0;
        for (int col = 0; col < 3; ++col) {
          gJ00 += gM[col] * R[col];
          gJ02 += gM[col] * R[6 + col];
          gJ11 += gM[3 + col] * R[3 + col];
          gJ12 += gM[3 + col] * R[6 + col];
        }
        double g_iz = gJ00 * k.fx - gJ02 * k.fx * tx + gJ11 * k.fy - gJ12 * k.fy * ty;
        const double g_tx = -gJ02 * k.fx * iz, g_ty = -gJ12 * k.fy * iz;
        double g_x = 0, g_y = 0, g_z = gd[i];
        if (x_free) {
          g_x += g_tx * iz;
          g_iz += g_tx * x;
        }
        if (y_free) {
          g_y += g_ty * iz;
          g_iz += g_ty * y;
        }
        if (in_front) {
          const double gu = gm[2 * i], gv = gm[2 * i + 1];
          g_x += gu * k.fx * iz;
          g_y += gv * k.fy * iz;
          g_iz += gu * k.fx * x + gv * k.fy * y;
          g_z -= g_iz * iz * iz;
        }
        for (int col = 0; col < 3; ++col)
          om[3 * i + col] = static_cast<S>(g_x * R[col] + g_y * R[3 + col] + g_z * R[6 + col]);
      }
    });
  });
  return {g_means, g_cov};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "pcc compiled tile rasteriser (see pcc/gaussians/render_native.py)";
  m.def("composite_forward", &composite_forward, "alpha compositing, forward");
  m.def("composite_backward", &composite_backward, "alpha compositing, backward");
  m.def("project_forward", &project_forward, "EWA projection, forward");
  m.def("project_backward", &project_backward, "EWA projection, backward");
}
