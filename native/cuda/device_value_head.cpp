// The value head on the GPU; see device_value_head.h.
#include "cuda/device_value_head.h"

#include <algorithm>

#include "ops/cuda/cuda_check.h"

namespace glam::cuda {

void DeviceValueHead::upload(const ValueHead& head) {
  sizes = head.sizes;
  w.clear();
  b.clear();
  width = 0;
  if (head.empty()) return;
  for (size_t i = 0; i < head.weight.size(); ++i) {
    DeviceBuffer wb(head.weight[i].size() * 4), bb(head.bias[i].size() * 4);
    CUDA_CHECK(cudaMemcpy(wb.get(), head.weight[i].data(), wb.size(), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(bb.get(), head.bias[i].data(), bb.size(), cudaMemcpyHostToDevice));
    w.push_back(std::move(wb));
    b.push_back(std::move(bb));
    if (i + 1 < head.weight.size()) width = std::max(width, head.sizes[i + 1]);
  }
}

ValueHeadParams DeviceValueHead::params() const {
  ValueHeadParams p;
  p.sizes = sizes;
  for (size_t i = 0; i < w.size(); ++i) {
    p.W.push_back(w[i].as<float>());
    p.b.push_back(b[i].as<float>());
  }
  return p;
}

}  // namespace glam::cuda
