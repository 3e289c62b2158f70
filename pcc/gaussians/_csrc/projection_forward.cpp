// The EWA projection, forward (see projection.h).

#include "projection.h"

namespace pcc {

std::vector<at::Tensor> project_forward(const at::Tensor& means, const at::Tensor& shape,
                                        const at::Tensor& camera, int64_t width, int64_t height,
                                        int64_t tile_size, int64_t mode) {
  const Cam k = make_cam(camera, width, height, tile_size);
  TORCH_CHECK(means.dim() == 2 && means.size(1) == 3, "means must be [N, 3]");
  const int64_t n = means.size(0);
  TORCH_CHECK(mode >= kCovariance && mode <= kRotationScale, "unknown shape mode");
  const int64_t width_of = mode == kRotationScale ? 7 : 9;
  TORCH_CHECK(shape.numel() == width_of * n && shape.scalar_type() == means.scalar_type(),
              "shape must be [N, 3, 3] (or [N, 7]) of the means' dtype");
  const at::Tensor mu_t = means.contiguous(), cov_t = shape.contiguous();
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
    at::parallel_for(0, n, kGaussianGrain, [&](int64_t b, int64_t e) {
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
        S C[9], Fq[9];
        const S* F = cv + width_of * i;
        if (mode == kRotationScale) {
          rotation_scale(F, Fq);
          F = Fq;
        }
        if (mode != kCovariance) {
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


}  // namespace pcc
