// Weight upload; see device_weights.h.
#include "cuda/device_weights.h"

#include <cstring>

#include "model/train_state.h"  // structure_of

namespace glam::cuda {

uint16_t bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return uint16_t((u >> 16) | 0x40u);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

float bf16_value(uint16_t bits) {
  const uint32_t u = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

DeviceBuffer upload_tensor(const std::vector<float>& v, DType dt, size_t& total) {
  DeviceBuffer b;
  if (v.empty()) return b;
  if (dt == DType::F32) {
    b.alloc(v.size() * 4);
    CUDA_CHECK(cudaMemcpy(b.get(), v.data(), v.size() * 4, cudaMemcpyHostToDevice));
  } else {
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = bf16_bits(v[i]);
    b.alloc(h.size() * 2);
    CUDA_CHECK(cudaMemcpy(b.get(), h.data(), h.size() * 2, cudaMemcpyHostToDevice));
  }
  total += b.size();
  return b;
}

DeviceWeights upload_weights(Weights&& w, DType dt) {
  DeviceWeights d;
  d.dt = dt;
  auto list = param_list(w);
  const size_t base = param_list_base_size(w);
  for (size_t k = 0; k < base; ++k) {
    d.t.push_back(upload_tensor(*list[k], param_is_matrix(k, base) ? dt : DType::F32, d.bytes));
    std::vector<float>().swap(*list[k]);  // the host copy goes as soon as the device holds it
  }
  d.inv_freq = upload_tensor(w.inv_freq, DType::F32, d.bytes);
  d.meta = structure_of(w);
  return d;
}

ParamTable DeviceWeights::table() const {
  ParamTable p;
  p.meta = &meta;
  const size_t base = param_list_base_size(meta);
  for (size_t k = 0; k < t.size(); ++k) {
    const DType kt = param_is_matrix(k, base) ? dt : DType::F32;
    p.t.push_back({t[k].get(), kt, int64_t(t[k].size() / dtype_size(kt))});
  }
  p.inv_freq = inv_freq.as<float>();
  return p;
}

}  // namespace glam::cuda
