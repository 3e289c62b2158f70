// View-dependent colours from spherical harmonics, forward and backward (pcc/gaussians/sh.py:
// same basis, order and signs; colour = SH(d) + 0.5, clamped at 0 if asked, with d the unit
// vector from the camera centre to the mean). One pass per Gaussian instead of some thirty
// tensor operations; the PyTorch version stays the reference.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "parallel.h"

namespace pcc {

namespace {

// Closed forms as in sh.py.
const double kPi = 3.14159265358979323846;
const double C0 = 1.0 / (2.0 * std::sqrt(kPi));
const double C1 = std::sqrt(3.0 / (4.0 * kPi));
const double C2a = std::sqrt(15.0 / kPi) / 2.0;  // xy, -yz, -xz
const double C2b = std::sqrt(5.0 / kPi) / 4.0;   // 2z^2 - x^2 - y^2
const double C2c = std::sqrt(15.0 / kPi) / 4.0;  // x^2 - y^2
const double C3a = std::sqrt(35.0 / (2.0 * kPi)) / 4.0;
const double C3b = std::sqrt(105.0 / kPi) / 2.0;
const double C3c = std::sqrt(21.0 / (2.0 * kPi)) / 4.0;
const double C3d = std::sqrt(7.0 / kPi) / 4.0;
const double C3e = std::sqrt(105.0 / kPi) / 4.0;

// Basis Y[0..k) at unit d, and (if dY) its derivatives dY[3 k + axis].
int basis(int degree, double x, double y, double z, double* Y, double* dY) {
  const int k = (degree + 1) * (degree + 1);
  std::fill(Y, Y + k, 0.0);
  if (dY) std::fill(dY, dY + 3 * k, 0.0);
  auto set = [&](int i, double v, double dx, double dy, double dz) {
    Y[i] = v;
    if (dY) {
      dY[3 * i] = dx;
      dY[3 * i + 1] = dy;
      dY[3 * i + 2] = dz;
    }
  };
  set(0, C0, 0, 0, 0);
  if (degree >= 1) {
    set(1, -C1 * y, 0, -C1, 0);
    set(2, C1 * z, 0, 0, C1);
    set(3, -C1 * x, -C1, 0, 0);
  }
  const double xx = x * x, yy = y * y, zz = z * z;
  if (degree >= 2) {
    set(4, C2a * x * y, C2a * y, C2a * x, 0);
    set(5, -C2a * y * z, 0, -C2a * z, -C2a * y);
    set(6, C2b * (2 * zz - xx - yy), -2 * C2b * x, -2 * C2b * y, 4 * C2b * z);
    set(7, -C2a * x * z, -C2a * z, 0, -C2a * x);
    set(8, C2c * (xx - yy), 2 * C2c * x, -2 * C2c * y, 0);
  }
  if (degree >= 3) {
    set(9, -C3a * y * (3 * xx - yy), -C3a * 6 * x * y, -C3a * (3 * xx - 3 * yy), 0);
    set(10, C3b * x * y * z, C3b * y * z, C3b * x * z, C3b * x * y);
    set(11, -C3c * y * (4 * zz - xx - yy), C3c * 2 * x * y, -C3c * (4 * zz - xx - 3 * yy),
        -C3c * 8 * y * z);
    set(12, C3d * z * (2 * zz - 3 * xx - 3 * yy), -C3d * 6 * x * z, -C3d * 6 * y * z,
        C3d * (6 * zz - 3 * xx - 3 * yy));
    set(13, -C3c * x * (4 * zz - xx - yy), -C3c * (4 * zz - 3 * xx - yy), C3c * 2 * x * y,
        -C3c * 8 * x * z);
    set(14, C3e * z * (xx - yy), C3e * 2 * x * z, -C3e * 2 * y * z, C3e * (xx - yy));
    set(15, -C3a * x * (xx - 3 * yy), -C3a * (3 * xx - 3 * yy), C3a * 6 * x * y, 0);
  }
  return k;
}

struct Dir {
  double v[3], norm, d[3];
};

inline Dir direction(const double* m, const double* center) {
  Dir r;
  for (int a = 0; a < 3; ++a) r.v[a] = m[a] - center[a];
  const double raw = std::sqrt(r.v[0] * r.v[0] + r.v[1] * r.v[1] + r.v[2] * r.v[2]);
  r.norm = std::max(raw, 1e-12);
  for (int a = 0; a < 3; ++a) r.d[a] = r.v[a] / r.norm;
  return r;
}

}  // namespace

// colours [N, 3] from sh [N, K, 3], means [N, 3], the camera centre [3] (float64).
at::Tensor sh_forward(const at::Tensor& sh, const at::Tensor& means, const at::Tensor& center,
                      int64_t degree, bool clamp) {
  TORCH_CHECK(degree >= 0 && degree <= 3, "SH degree must be in 0..3");
  const int64_t n = means.size(0), K = sh.size(1), k = (degree + 1) * (degree + 1);
  TORCH_CHECK(sh.dim() == 3 && sh.size(0) == n && sh.size(2) == 3 && K >= k,
              "sh must be [N, K >= (degree + 1)^2, 3]");
  const at::Tensor sh_t = sh.contiguous(), mu_t = means.contiguous();
  const at::Tensor c64 = center.to(at::kDouble).contiguous();
  const double* cen = c64.data_ptr<double>();
  at::Tensor out = at::empty({n, 3}, means.options());
  AT_DISPATCH_FLOATING_TYPES(means.scalar_type(), "sh_forward", [&] {
    const scalar_t* f = sh_t.data_ptr<scalar_t>();
    const scalar_t* mu = mu_t.data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    at::parallel_for(0, n, kGaussianGrain, [&](int64_t b, int64_t e) {
      double Y[16];
      for (int64_t i = b; i < e; ++i) {
        const double m[3] = {double(mu[3 * i]), double(mu[3 * i + 1]), double(mu[3 * i + 2])};
        const Dir dir = direction(m, cen);
        basis(static_cast<int>(degree), dir.d[0], dir.d[1], dir.d[2], Y, nullptr);
        for (int c = 0; c < 3; ++c) {
          double acc = 0.0;
          for (int j = 0; j < k; ++j) acc += Y[j] * static_cast<double>(f[(i * K + j) * 3 + c]);
          acc += 0.5;
          o[3 * i + c] = static_cast<scalar_t>(clamp ? std::max(acc, 0.0) : acc);
        }
      }
    });
  });
  return out;
}

// Gradients of sh [N, K, 3] and means [N, 3] given that of the colours [N, 3].
std::vector<at::Tensor> sh_backward(const at::Tensor& sh, const at::Tensor& means,
                                    const at::Tensor& center, int64_t degree, bool clamp,
                                    const at::Tensor& grad_colors) {
  const int64_t n = means.size(0), K = sh.size(1), k = (degree + 1) * (degree + 1);
  const at::Tensor sh_t = sh.contiguous(), mu_t = means.contiguous();
  const at::Tensor g_t = grad_colors.to(at::kDouble).contiguous();
  TORCH_CHECK(g_t.numel() == 3 * n, "gradient shape does not match");
  const at::Tensor c64 = center.to(at::kDouble).contiguous();
  const double* cen = c64.data_ptr<double>();
  at::Tensor g_sh = at::zeros_like(sh_t);
  at::Tensor g_mu = at::empty({n, 3}, means.options());
  AT_DISPATCH_FLOATING_TYPES(means.scalar_type(), "sh_backward", [&] {
    const scalar_t* f = sh_t.data_ptr<scalar_t>();
    const scalar_t* mu = mu_t.data_ptr<scalar_t>();
    const double* g = g_t.data_ptr<double>();
    scalar_t* gs = g_sh.data_ptr<scalar_t>();
    scalar_t* gm = g_mu.data_ptr<scalar_t>();
    at::parallel_for(0, n, kGaussianGrain, [&](int64_t b, int64_t e) {
      double Y[16], dY[48];
      for (int64_t i = b; i < e; ++i) {
        const double m[3] = {double(mu[3 * i]), double(mu[3 * i + 1]), double(mu[3 * i + 2])};
        const Dir dir = direction(m, cen);
        basis(static_cast<int>(degree), dir.d[0], dir.d[1], dir.d[2], Y, dY);
        double gc[3];
        for (int c = 0; c < 3; ++c) {  // clamp_min(0) passes the gradient where SH + 0.5 >= 0
          double acc = 0.0;
          for (int j = 0; j < k; ++j) acc += Y[j] * static_cast<double>(f[(i * K + j) * 3 + c]);
          gc[c] = (!clamp || acc + 0.5 >= 0) ? g[3 * i + c] : 0.0;
        }
        double gd[3] = {0, 0, 0};
        for (int j = 0; j < k; ++j) {
          double s = 0.0;  // sum_c g_c f_jc
          for (int c = 0; c < 3; ++c) {
            gs[(i * K + j) * 3 + c] = static_cast<scalar_t>(Y[j] * gc[c]);
            s += gc[c] * static_cast<double>(f[(i * K + j) * 3 + c]);
          }
          for (int a = 0; a < 3; ++a) gd[a] += s * dY[3 * j + a];
        }
        // d = v / max(|v|, 1e-12): project out the radial part (none when the clamp is active).
        const double raw = std::sqrt(dir.v[0] * dir.v[0] + dir.v[1] * dir.v[1] +
                                     dir.v[2] * dir.v[2]);
        const double radial =
            raw > 1e-12 ? dir.d[0] * gd[0] + dir.d[1] * gd[1] + dir.d[2] * gd[2] : 0.0;
        for (int a = 0; a < 3; ++a)
          gm[3 * i + a] = static_cast<scalar_t>((gd[a] - dir.d[a] * radial) / dir.norm);
      }
    });
  });
  return {g_sh, g_mu};
}

}  // namespace pcc
