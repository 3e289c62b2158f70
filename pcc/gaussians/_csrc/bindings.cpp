// Python bindings of the compiled rasteriser (pcc/gaussians/render_native.py loads them).
//
// composite.h       shared declarations of the compositing
// binning.cpp       depth order, row spans, tile lists
// composite_forward.cpp / composite_backward.cpp
// projection.h, projection_forward.cpp / projection_backward.cpp
// sh.cpp            view-dependent colours from spherical harmonics

#include <torch/extension.h>

#include "composite.h"
#include "projection.h"

namespace pcc {
at::Tensor sh_forward(const at::Tensor& sh, const at::Tensor& means, const at::Tensor& center,
                      int64_t degree, bool clamp);
std::vector<at::Tensor> sh_backward(const at::Tensor& sh, const at::Tensor& means,
                                    const at::Tensor& center, int64_t degree, bool clamp,
                                    const at::Tensor& grad_colors);
}  // namespace pcc

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "pcc compiled tile rasteriser (see pcc/gaussians/render_native.py)";
  pybind11::class_<pcc::SavedPairs, std::shared_ptr<pcc::SavedPairs>>(
      m, "SavedPairs", "the pairs a forward pass composited, kept for its backward pass")
      .def("bytes", &pcc::SavedPairs::bytes, "memory held, in bytes");
  m.def("composite_forward", &pcc::composite_forward, "alpha compositing, forward");
  m.def("composite_backward", &pcc::composite_backward, "alpha compositing, backward");
  m.def("visible_depth_order", &pcc::visible_depth_order,
        "the Gaussians composited, front to back");
  m.def("sh_forward", &pcc::sh_forward, "SH colours, forward");
  m.def("sh_backward", &pcc::sh_backward, "SH colours, backward");
  m.def("project_forward", &pcc::project_forward, "EWA projection, forward");
  m.def("project_backward", &pcc::project_backward, "EWA projection, backward");
}
