// Weight upload; see device_weights.h.
#include "cuda/device_weights.h"

#include <cstring>

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

namespace {

DeviceBuffer upload_f32(const std::vector<float>& v, size_t& total) {
  DeviceBuffer b;
  if (v.empty()) return b;
  b.alloc(v.size() * 4);
  CUDA_CHECK(cudaMemcpy(b.get(), v.data(), v.size() * 4, cudaMemcpyHostToDevice));
  total += b.size();
  return b;
}

DeviceBuffer upload_matrix(const std::vector<float>& v, DType dt, size_t& total) {
  if (dt == DType::F32 || v.empty()) return upload_f32(v, total);
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = bf16_bits(v[i]);
  DeviceBuffer b(h.size() * 2);
  CUDA_CHECK(cudaMemcpy(b.get(), h.data(), h.size() * 2, cudaMemcpyHostToDevice));
  total += b.size();
  return b;
}

}  // namespace

DeviceWeights upload_weights(const Weights& w, DType dt) {
  DeviceWeights d;
  d.dt = dt;
  size_t& n = d.bytes;
  d.embed = upload_matrix(w.embed, dt, n);
  d.pos_embed = upload_matrix(w.pos_embed, dt, n);
  for (const LayerWeights& lw : w.layers) {
    DeviceLayer l;
    l.norm1_w = upload_f32(lw.norm1_w, n);
    l.norm1_b = upload_f32(lw.norm1_b, n);
    l.wqkv = upload_matrix(lw.wqkv, dt, n);
    l.bqkv = upload_f32(lw.bqkv, n);
    l.wo = upload_matrix(lw.wo, dt, n);
    l.bo = upload_f32(lw.bo, n);
    l.norm2_w = upload_f32(lw.norm2_w, n);
    l.norm2_b = upload_f32(lw.norm2_b, n);
    l.wup = upload_matrix(lw.wup, dt, n);
    l.bup = upload_f32(lw.bup, n);
    l.wdown = upload_matrix(lw.wdown, dt, n);
    l.bdown = upload_f32(lw.bdown, n);
    d.layers.push_back(std::move(l));
  }
  d.final_w = upload_f32(w.final_w, n);
  d.final_b = upload_f32(w.final_b, n);
  d.lm_head = upload_matrix(w.lm_head, dt, n);
  d.inv_freq = upload_f32(w.inv_freq, n);
  return d;
}

}  // namespace glam::cuda
