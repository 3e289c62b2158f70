// EWA projection (pcc/gaussians/projection.py, INRIA's preprocessCUDA), fused: one pass per
// Gaussian instead of some forty tensor operations, and a hand-written backward pass. The
// arithmetic follows projection.py operation for operation in the input dtype; the matrix
// products are summed in the same index order but BLAS may fuse or reorder, so values can differ
// from the PyTorch projection in the last bit.

#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "parallel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace pcc {

struct Cam {
  double R[9], t[3], fx, fy, cx, cy, x_min, x_max, y_min, y_max, near, low_pass, sigmas;
  int64_t width, height, tile_size, tiles_x, tiles_y;
};

inline Cam make_cam(const at::Tensor& camera, int64_t width, int64_t height, int64_t tile_size) {
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

// What the `shape` argument holds, per Gaussian.
enum ShapeMode : int64_t {
  kCovariance = 0,  // [N, 3, 3] the world covariance
  kFactor = 1,      // [N, 3, 3] a factor F of it, covariance = F F^T (F = R S)
  kRotationScale = 2,  // [N, 7] quaternion (w, x, y, z) and log-scales: F = R(q / |q|) diag(e^s)
};

// F = R(q / max(|q|, 1e-12)) diag(exp(s)) from p = (q, s), in the input dtype, operation for
// operation like quaternion_to_rotation(q) * exp(s)[:, None, :] (pcc.io.gaussian_model).
template <typename S>
inline void rotation_scale(const S* p, S F[9]) {
  const S norm = std::max(std::sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2] + p[3] * p[3]),
                          static_cast<S>(1e-12));
  const S w = p[0] / norm, x = p[1] / norm, y = p[2] / norm, z = p[3] / norm;
  const S R[9] = {1 - 2 * (y * y + z * z), 2 * (x * y - w * z),     2 * (x * z + w * y),
                  2 * (x * y + w * z),     1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                  2 * (x * z - w * y),     2 * (y * z + w * x),     1 - 2 * (x * x + y * y)};
  const S s[3] = {std::exp(p[4]), std::exp(p[5]), std::exp(p[6])};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) F[3 * r + c] = R[3 * r + c] * s[c];
}

// Gradient of (q, s) [7] given the gradient dF [9] of F = rotation_scale(p) (in double).
void rotation_scale_backward(const double* p, const double* dF, double* out);

// Returns means2d [N, 2], depths [N], cov2d [N, 3] (a, b, c), conics [N, 3] (input dtype),
// radii [N] and tile rectangles [N, 4] (int64). `shape` is read as `mode` says.
std::vector<at::Tensor> project_forward(const at::Tensor& means, const at::Tensor& shape,
                                        const at::Tensor& camera, int64_t width, int64_t height,
                                        int64_t tile_size, int64_t mode);

// Gradients of means [N, 3] and of `shape` (its shape) from those of means2d, depths, conics.
std::vector<at::Tensor> project_backward(const at::Tensor& means, const at::Tensor& shape,
                                         const at::Tensor& cov2d, const at::Tensor& camera,
                                         const at::Tensor& grad_means2d,
                                         const at::Tensor& grad_depths,
                                         const at::Tensor& grad_conics, int64_t width,
                                         int64_t height, int64_t tile_size, int64_t mode);

}  // namespace pcc
