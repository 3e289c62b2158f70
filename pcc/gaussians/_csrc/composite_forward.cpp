// Front-to-back compositing, tile by tile (see composite.h). Per pixel:
//
//     alpha = min(0.99, o exp(power)), power = -1/2 (a dx^2 + c dy^2) - b dx dy, dx = u - x, ...
//     skipped if power > 0 or alpha < 1/255; the pixel stops before a Gaussian that would take
//     T below 1e-4; C += alpha T c, D += alpha T z, T *= 1 - alpha.
//
// The alpha test is evaluated in the inputs' dtype with the same operations, in the same order,
// as the PyTorch renderer, so both pick the same pairs; the transmittance and the sums are kept
// in double. Each thread takes whole tiles; a tile walks its list Gaussian by Gaussian over the
// pixels of the Gaussian's row spans that fall inside the tile.

#include "composite.h"

#include <algorithm>
#include <tuple>

namespace pcc {

namespace {

template <typename scalar_t>
std::vector<scalar_t>& gauss_of(TilePairs& t);
template <>
std::vector<float>& gauss_of<float>(TilePairs& t) {
  return t.gauss_f;
}
template <>
std::vector<double>& gauss_of<double>(TilePairs& t) {
  return t.gauss_d;
}

template <typename scalar_t>
int64_t composite_tile(const TileBox& box, const Record<scalar_t>* rec, const int32_t* list,
                       int64_t count, const int32_t* spans, const Params& p, double* T,
                       double* C, double* D, uint8_t* done, TilePairs* saved) {
  const scalar_t amax = static_cast<scalar_t>(p.alpha_max);
  const scalar_t amin = static_cast<scalar_t>(p.alpha_min);
  const int64_t tw = box.width(), np = box.count();
  int64_t n_done = 0, pairs = 0;
  for (int64_t k = 0; k < count && n_done < np; ++k) {
    // The records and spans of a tile's list are scattered in memory: fetch them ahead.
    if (k + kPrefetch < count) __builtin_prefetch(&rec[list[k + kPrefetch]]);
    if (k + kPrefetch / 2 < count) {
      const Record<scalar_t>& r = rec[list[k + kPrefetch / 2]];
      const int64_t skip = std::max<int64_t>(0, box.y0 - r.y_first);
      __builtin_prefetch(spans + 2 * (r.span_offset + skip));
    }
    const Record<scalar_t>& s = rec[list[k]];
    const scalar_t* g = s.g;
    const int64_t ya = std::max<int64_t>(box.y0, s.y_first);
    const int64_t yb = std::min<int64_t>(box.y1, s.y_first + s.n_rows - 1);
    const int32_t* sp = spans + 2 * (s.span_offset + (ya - s.y_first));
    const double cr = g[6], cg = g[7], cb = g[8], z = g[9];
    for (int64_t y = ya; y <= yb; ++y, sp += 2) {
      const int64_t xa = std::max<int64_t>(box.x0, sp[0]);
      const int64_t xb = std::min<int64_t>(box.x1, sp[1]);
      const int64_t row = (y - box.y0) * tw - box.x0;
      for (int64_t x = xa; x <= xb; ++x) {
        const int64_t pi = row + x;
        if (done[pi]) continue;
        scalar_t alpha, gauss, raw, dx, dy;
        if (!pixel_alpha(s, x, y, amax, amin, alpha, gauss, raw, dx, dy)) continue;
        const double a = static_cast<double>(alpha);
        const double test = T[pi] * (1.0 - a);
        if (test < p.t_min) {
          done[pi] = 1;
          ++n_done;
          continue;
        }
        const double w = a * T[pi];
        C[3 * pi] += w * cr;
        C[3 * pi + 1] += w * cg;
        C[3 * pi + 2] += w * cb;
        D[pi] += w * z;
        T[pi] = test;
        ++pairs;
        if (saved) {
          saved->xy.push_back(static_cast<int16_t>(x - box.x0));
          saved->xy.push_back(static_cast<int16_t>(y - box.y0));
          gauss_of<scalar_t>(*saved).push_back(gauss);
        }
      }
    }
    if (saved && !saved->xy.empty() && (saved->end.empty() ||
                                        saved->end.back() < int64_t(saved->xy.size() / 2))) {
      saved->entry.push_back(static_cast<int32_t>(k));
      saved->end.push_back(static_cast<int64_t>(saved->xy.size() / 2));
    }
  }
  return pairs;
}

}  // namespace

int64_t SavedPairs::bytes() const {
  int64_t total = 0;
  for (const TilePairs& t : tiles)
    total += 2 * t.xy.size() + 4 * t.gauss_f.size() + 8 * t.gauss_d.size() +
             12 * t.entry.size();
  return total;
}

std::tuple<std::vector<at::Tensor>, std::shared_ptr<SavedPairs>> composite_forward(
    const at::Tensor& means2d, const at::Tensor& conics, const at::Tensor& opacities,
    const at::Tensor& colors, const at::Tensor& depths, const at::Tensor& rect,
    const at::Tensor& background, int64_t width, int64_t height, int64_t tile_size,
    double alpha_max, double alpha_min, double t_min, bool save_pairs) {
  const Params p = make_params(width, height, tile_size, alpha_max, alpha_min, t_min);
  const Inputs in = check_inputs(means2d, conics, opacities, colors, depths, rect, p);
  const int64_t npix = width * height;
  auto opts = in.means2d.options();
  at::Tensor image = at::empty({height, width, 3}, opts);
  at::Tensor alpha_out = at::empty({height, width}, opts);
  at::Tensor depth_out = at::empty({height, width}, opts);
  at::Tensor t_final = at::empty({npix}, opts.dtype(at::kDouble));
  const int64_t n_tiles = p.tiles_x * p.tiles_y;
  const int64_t n_workers = std::max<int64_t>(1, at::get_num_threads());
  std::vector<int64_t> pair_count(n_workers, 0);
  const at::Tensor bg64 = background.to(at::kDouble).contiguous().reshape({3});
  const double bg[3] = {bg64[0].item<double>(), bg64[1].item<double>(), bg64[2].item<double>()};
  TORCH_CHECK(tile_size <= 32767, "tile_size too large");
  const Binning bins = bin_gaussians(in, p);
  std::shared_ptr<SavedPairs> saved;
  if (save_pairs) {
    saved = std::make_shared<SavedPairs>();
    saved->tiles.resize(n_tiles);
  }

  AT_DISPATCH_FLOATING_TYPES(in.means2d.scalar_type(), "composite_forward", [&] {
    const std::vector<Record<scalar_t>> rec = gather_records<scalar_t>(in, bins, p);
    const int64_t* off = bins.offsets.data_ptr<int64_t>();
    const int32_t* list = bins.list.data_ptr<int32_t>();
    const int32_t* spans = bins.spans.data_ptr<int32_t>();
    scalar_t* img = image.data_ptr<scalar_t>();
    scalar_t* alp = alpha_out.data_ptr<scalar_t>();
    scalar_t* dep = depth_out.data_ptr<scalar_t>();
    double* tf = t_final.data_ptr<double>();
    const int64_t most = p.tile_size * p.tile_size;

    std::atomic<int64_t> next{0};
    at::parallel_for(0, n_workers, 1, [&](int64_t wb, int64_t we) {
      // Per-thread tile buffers, reused from tile to tile.
      std::vector<double> T(most), C(3 * most), D(most);
      std::vector<uint8_t> done(most);
      for (int64_t worker = wb; worker < we; ++worker) {
        for (int64_t tile = next.fetch_add(1); tile < n_tiles; tile = next.fetch_add(1)) {
          const TileBox box = tile_box(tile, p);
          const int64_t np = box.count(), tw = box.width();
          std::fill(T.begin(), T.begin() + np, 1.0);
          std::fill(C.begin(), C.begin() + 3 * np, 0.0);
          std::fill(D.begin(), D.begin() + np, 0.0);
          std::fill(done.begin(), done.begin() + np, 0);
          pair_count[worker] +=
              composite_tile(box, rec.data(), list + off[tile], off[tile + 1] - off[tile], spans,
                             p, T.data(), C.data(), D.data(), done.data(),
                             saved ? &saved->tiles[tile] : nullptr);
          for (int64_t y = box.y0; y <= box.y1; ++y) {
            for (int64_t x = box.x0; x <= box.x1; ++x) {
              const int64_t pi = (y - box.y0) * tw + (x - box.x0), q = y * p.width + x;
              for (int ch = 0; ch < 3; ++ch)
                img[3 * q + ch] = static_cast<scalar_t>(C[3 * pi + ch] + T[pi] * bg[ch]);
              alp[q] = static_cast<scalar_t>(1.0 - T[pi]);
              dep[q] = static_cast<scalar_t>(D[pi]);
              tf[q] = T[pi];
            }
          }
        }
      }
    });
  });

  int64_t total = 0;
  for (int64_t c : pair_count) total += c;
  std::vector<at::Tensor> out = {image,      alpha_out, depth_out,    t_final,
                                 at::full({1}, total, at::kLong), bins.gauss, bins.rows,
                                 bins.spans, bins.offsets, bins.list};
  return {out, saved};
}

}  // namespace pcc
