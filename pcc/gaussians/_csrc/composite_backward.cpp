// Gradient of the compositing (see composite.h and composite_forward.cpp).
//
// Each tile walks the pairs its forward pass composited back to front (as INRIA's renderCUDA
// backward does), recovering T_j = T_{j+1} / (1 - alpha_j) from the final transmittance and
// alpha from the saved exp(power) with the forward pass's float operations. Per pixel it keeps the colour
// and depth composited behind the current Gaussian (background included). Per-Gaussian gradients
// of the 10 values are summed in per-thread double buffers, then added up and scattered to the
// input rows.

#include "composite.h"

#include <algorithm>

namespace pcc {

namespace {

// Per-pixel state of one tile for the backward walk.
struct PixelState {
  std::vector<double> T, RC, RD, G, tail;
  explicit PixelState(int64_t most) : T(most), RC(3 * most), RD(most), G(5 * most), tail(most) {}
};

template <typename scalar_t>
const scalar_t* gauss_of(const TilePairs& t);
template <>
const float* gauss_of<float>(const TilePairs& t) {
  return t.gauss_f.data();
}
template <>
const double* gauss_of<double>(const TilePairs& t) {
  return t.gauss_d.data();
}

template <typename scalar_t>
void backward_tile(const TileBox& box, const Record<scalar_t>* rec, const int32_t* list,
                   const TilePairs& pairs, const Params& p, PixelState& ps, double* acc) {
  const scalar_t amax = static_cast<scalar_t>(p.alpha_max);
  const int64_t tw = box.width();
  double* T = ps.T.data();
  double* RD = ps.RD.data();
  const double* tail = ps.tail.data();
  const int16_t* xy = pairs.xy.data();
  const scalar_t* gs = gauss_of<scalar_t>(pairs);
  for (int64_t e = static_cast<int64_t>(pairs.entry.size()) - 1; e >= 0; --e) {
    if (e >= kPrefetch) __builtin_prefetch(&rec[list[pairs.entry[e - kPrefetch]]]);
    const int32_t si = list[pairs.entry[e]];
    const Record<scalar_t>& s = rec[si];
    const scalar_t* g = s.g;
    const double cr = g[6], cg = g[7], cb = g[8], z = g[9];
    const double ca = g[2], cbb = g[3], cc = g[4];
    double d_u = 0, d_v = 0, d_a = 0, d_b = 0, d_c = 0, d_o = 0, d_r = 0, d_g = 0, d_bl = 0,
           d_z = 0;
    for (int64_t q = e > 0 ? pairs.end[e - 1] : 0; q < pairs.end[e]; ++q) {
      const int64_t lx = xy[2 * q], ly = xy[2 * q + 1];
      const int64_t pi = ly * tw + lx;
      // The forward pass's values, with its float operations (see pixel_alpha).
      const scalar_t dxs = g[0] - static_cast<scalar_t>(box.x0 + lx);
      const scalar_t dys = g[1] - static_cast<scalar_t>(box.y0 + ly);
      const scalar_t gauss = gs[q];
      const scalar_t raw = g[5] * gauss;
      const scalar_t alpha = raw > amax ? amax : raw;
      const double a = alpha, inv_one_m = 1.0 / (1.0 - a);
      const double Tj = T[pi] * inv_one_m;
      T[pi] = Tj;
      const double w = a * Tj;
      const double* gp = &ps.G[5 * pi];
      d_r += w * gp[0];
      d_g += w * gp[1];
      d_bl += w * gp[2];
      d_z += w * gp[4];
      double* rc = &ps.RC[3 * pi];
      const double behind = gp[0] * rc[0] + gp[1] * rc[1] + gp[2] * rc[2] + gp[4] * RD[pi];
      const double g_alpha = Tj * (gp[0] * cr + gp[1] * cg + gp[2] * cb + gp[4] * z) -
                             (behind - tail[pi]) * inv_one_m;
      rc[0] += w * cr;
      rc[1] += w * cg;
      rc[2] += w * cb;
      RD[pi] += w * z;
      if (raw <= amax) {  // the 0.99 clamp passes no gradient when it is active
        d_o += g_alpha * static_cast<double>(gauss);
        const double g_pow = g_alpha * static_cast<double>(raw);
        const double dx = dxs, dy = dys;
        d_u -= g_pow * (ca * dx + cbb * dy);
        d_v -= g_pow * (cc * dy + cbb * dx);
        d_a -= 0.5 * g_pow * dx * dx;
        d_b -= g_pow * dx * dy;
        d_c -= 0.5 * g_pow * dy * dy;
      }
    }
    double* o = acc + kCols * static_cast<int64_t>(si);
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

}  // namespace

at::Tensor composite_backward(const at::Tensor& means2d, const at::Tensor& conics,
                              const at::Tensor& opacities, const at::Tensor& colors,
                              const at::Tensor& depths, const at::Tensor& rect,
                              const std::vector<at::Tensor>& binning,
                              const std::shared_ptr<SavedPairs>& pairs,
                              const at::Tensor& background, const at::Tensor& t_final,
                              const at::Tensor& grad_image, const at::Tensor& grad_alpha,
                              const at::Tensor& grad_depth, int64_t width, int64_t height,
                              int64_t tile_size, double alpha_max, double alpha_min,
                              double t_min) {
  const Params p = make_params(width, height, tile_size, alpha_max, alpha_min, t_min);
  const Inputs in = check_inputs(means2d, conics, opacities, colors, depths, rect, p);
  TORCH_CHECK(binning.size() == 5, "binning must be the forward pass's five tensors");
  Binning bins;
  bins.gauss = binning[0];
  bins.rows = binning[1];
  bins.spans = binning[2];
  bins.offsets = binning[3];
  bins.list = binning[4];
  const int64_t n_tiles = p.tiles_x * p.tiles_y;
  const int64_t npix = width * height;
  TORCH_CHECK(bins.offsets.numel() == n_tiles + 1, "binning does not match the image");
  TORCH_CHECK(t_final.numel() == npix && t_final.scalar_type() == at::kDouble,
              "saved forward state does not match the image");
  TORCH_CHECK(pairs && static_cast<int64_t>(pairs->tiles.size()) == n_tiles,
              "the forward pass did not save its pairs");
  TORCH_CHECK(grad_image.numel() == 3 * npix && grad_alpha.numel() == npix &&
                  grad_depth.numel() == npix,
              "gradient shapes do not match the image");
  const int64_t v = bins.gauss.size(0);
  const int64_t n_workers = std::max<int64_t>(1, at::get_num_threads());
  std::vector<double> buffers(static_cast<size_t>(n_workers * v * kCols), 0.0);
  const at::Tensor gi_t = grad_image.to(at::kDouble).contiguous();
  const at::Tensor ga_t = grad_alpha.to(at::kDouble).contiguous();
  const at::Tensor gd_t = grad_depth.to(at::kDouble).contiguous();
  const double* gimg = gi_t.data_ptr<double>();
  const double* galp = ga_t.data_ptr<double>();
  const double* gdep = gd_t.data_ptr<double>();
  const double* tf = t_final.data_ptr<double>();
  const at::Tensor bg64 = background.to(at::kDouble).contiguous().reshape({3});
  const double bg[3] = {bg64[0].item<double>(), bg64[1].item<double>(), bg64[2].item<double>()};
  at::Tensor result = at::zeros({in.n, kCols}, in.means2d.options());

  AT_DISPATCH_FLOATING_TYPES(in.means2d.scalar_type(), "composite_backward", [&] {
    const std::vector<Record<scalar_t>> rec = gather_records<scalar_t>(in, bins, p);
    const int64_t* off = bins.offsets.data_ptr<int64_t>();
    const int32_t* list = bins.list.data_ptr<int32_t>();
    const int64_t most = p.tile_size * p.tile_size;
    std::atomic<int64_t> next{0};
    at::parallel_for(0, n_workers, 1, [&](int64_t wb, int64_t we) {
      PixelState ps(most);
      for (int64_t worker = wb; worker < we; ++worker) {
        double* acc = buffers.data() + worker * v * kCols;
        for (int64_t tile = next.fetch_add(1); tile < n_tiles; tile = next.fetch_add(1)) {
          const TileBox box = tile_box(tile, p);
          const int64_t tw = box.width();
          for (int64_t y = box.y0; y <= box.y1; ++y) {
            for (int64_t x = box.x0; x <= box.x1; ++x) {
              const int64_t pi = (y - box.y0) * tw + (x - box.x0), q = y * p.width + x;
              ps.T[pi] = tf[q];
              for (int ch = 0; ch < 3; ++ch) {
                ps.RC[3 * pi + ch] = tf[q] * bg[ch];
                ps.G[5 * pi + ch] = gimg[3 * q + ch];
              }
              ps.G[5 * pi + 3] = galp[q];
              ps.G[5 * pi + 4] = gdep[q];
              ps.RD[pi] = 0.0;
              ps.tail[pi] = galp[q] * tf[q];
            }
          }
          const TilePairs& tp = pairs->tiles[tile];
          const int64_t count = off[tile + 1] - off[tile];
          for (int32_t k : tp.entry) TORCH_CHECK(k >= 0 && k < count, "saved pairs do not match");
          backward_tile(box, rec.data(), list + off[tile], tp, p, ps, acc);
        }
      }
    });
    // Sum the workers' buffers into the input rows of the records.
    scalar_t* res = result.data_ptr<scalar_t>();
    const int64_t* gauss = bins.gauss.data_ptr<int64_t>();
    at::parallel_for(0, v, kGaussianGrain, [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) {
        scalar_t* out = res + kCols * gauss[j];
        for (int col = 0; col < kCols; ++col) {
          double sum = 0.0;
          for (int64_t w = 0; w < n_workers; ++w) sum += buffers[(w * v + j) * kCols + col];
          out[col] = static_cast<scalar_t>(sum);
        }
      }
    });
  });
  return result;
}

}  // namespace pcc
