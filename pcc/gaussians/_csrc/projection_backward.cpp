// The EWA projection, backward (see projection.h): the chain rule written out per Gaussian,
// in double, from the forward values recomputed in the input dtype.

#include "projection.h"

namespace pcc {

void rotation_scale_backward(const double* p, const double* dF, double* out) {
  const double raw = std::sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2] + p[3] * p[3]);
  const double norm = std::max(raw, 1e-12);
  const double w = p[0] / norm, x = p[1] / norm, y = p[2] / norm, z = p[3] / norm;
  const double R[9] = {1 - 2 * (y * y + z * z), 2 * (x * y - w * z),     2 * (x * z + w * y),
                       2 * (x * y + w * z),     1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                       2 * (x * z - w * y),     2 * (y * z + w * x),     1 - 2 * (x * x + y * y)};
  double G[9];  // dL/dR: F = R diag(s)
  for (int c = 0; c < 3; ++c) {
    const double s = std::exp(p[4 + c]);
    double ds = 0.0;
    for (int r = 0; r < 3; ++r) {
      G[3 * r + c] = dF[3 * r + c] * s;
      ds += dF[3 * r + c] * R[3 * r + c];
    }
    out[4 + c] = ds * s;  // d exp(s) / ds = exp(s)
  }
  // dL/d(w, x, y, z) of the normalised quaternion, from the rotation formula.
  const double gw = 2 * (-z * G[1] + y * G[2] + z * G[3] - x * G[5] - y * G[6] + x * G[7]);
  const double gx = 2 * (y * G[1] + z * G[2] + y * G[3] - 2 * x * G[4] - w * G[5] + z * G[6] +
                         w * G[7] - 2 * x * G[8]);
  const double gy = 2 * (-2 * y * G[0] + x * G[1] + w * G[2] + x * G[3] + z * G[5] - w * G[6] +
                         z * G[7] - 2 * y * G[8]);
  const double gz = 2 * (-2 * z * G[0] - w * G[1] + x * G[2] + w * G[3] - 2 * z * G[4] +
                         y * G[5] + x * G[6] + y * G[7]);
  // q / max(|q|, 1e-12): project out the radial part (the clamp, when active, passes none).
  const double radial = raw > 1e-12 ? w * gw + x * gx + y * gy + z * gz : 0.0;
  out[0] = (gw - w * radial) / norm;
  out[1] = (gx - x * radial) / norm;
  out[2] = (gy - y * radial) / norm;
  out[3] = (gz - z * radial) / norm;
}

std::vector<at::Tensor> project_backward(const at::Tensor& means, const at::Tensor& shape,
                                         const at::Tensor& cov2d, const at::Tensor& camera,
                                         const at::Tensor& grad_means2d,
                                         const at::Tensor& grad_depths,
                                         const at::Tensor& grad_conics, int64_t width,
                                         int64_t height, int64_t tile_size, int64_t mode) {
  const Cam k = make_cam(camera, width, height, tile_size);
  const int64_t n = means.size(0);
  TORCH_CHECK(mode >= kCovariance && mode <= kRotationScale, "unknown shape mode");
  const int64_t width_of = mode == kRotationScale ? 7 : 9;
  TORCH_CHECK(shape.numel() == width_of * n && shape.scalar_type() == means.scalar_type(),
              "shape does not match the forward pass's");
  const at::Tensor mu_t = means.contiguous(), cov_t = shape.contiguous();
  const at::Tensor c2_t = cov2d.contiguous();
  TORCH_CHECK(c2_t.numel() == 3 * n && c2_t.scalar_type() == means.scalar_type(),
              "cov2d must be the forward pass's [N, 3]");
  const at::Tensor gm_t = grad_means2d.to(at::kDouble).contiguous();
  const at::Tensor gd_t = grad_depths.to(at::kDouble).contiguous();
  const at::Tensor gc_t = grad_conics.to(at::kDouble).contiguous();
  TORCH_CHECK(gm_t.numel() == 2 * n && gd_t.numel() == n && gc_t.numel() == 3 * n,
              "gradient shapes do not match");
  at::Tensor g_means = at::empty({n, 3}, means.options());
  at::Tensor g_cov = at::empty(shape.sizes(), means.options());
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
    at::parallel_for(0, n, kGaussianGrain, [&](int64_t b, int64_t e) {
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
        S Fq[9];
        const S* Fs = cv + width_of * i;
        if (mode == kRotationScale) {
          rotation_scale(Fs, Fq);
          Fs = Fq;
        }
        for (int q = 0; q < 9; ++q) F[q] = Fs[q];
        if (mode != kCovariance) {
          // C = F F^T, rounded to the input dtype as the forward pass did.
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
        S* ocv = oc + width_of * i;
        if (mode != kCovariance) {  // d(F F^T): dF = (G + G^T) F
          double dF[9];
          for (int j = 0; j < 3; ++j)
            for (int l = 0; l < 3; ++l) {
              double acc = 0.0;
              for (int q = 0; q < 3; ++q) acc += (gC3[3 * j + q] + gC3[3 * q + j]) * F[3 * q + l];
              dF[3 * j + l] = acc;
            }
          if (mode == kRotationScale) {
            double p7[7], g7[7];
            for (int q = 0; q < 7; ++q) p7[q] = cv[7 * i + q];
            rotation_scale_backward(p7, dF, g7);
            for (int q = 0; q < 7; ++q) ocv[q] = static_cast<S>(g7[q]);
          } else {
            for (int q = 0; q < 9; ++q) ocv[q] = static_cast<S>(dF[q]);
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

}  // namespace pcc
