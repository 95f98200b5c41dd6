// Shared helpers of the CUDA addon's kernel test hooks (cuda_ops_exports.cpp: forwards and GEMMs;
// cuda_backward_exports.cpp: backwards and the optimizer): argument checks, uploads (bf16 where the
// kernel reads bf16), NaN-poisoned outputs, synchronising downloads, the hooks' GEMM context.
// Subtle: every size and index is checked on the host before anything reaches the GPU.
#pragma once
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda/device_buffer.h"
#include "cuda/device_weights.h"
#include "napi/coded_error.h"
#include "napi/convert.h"
#include "ops/cuda/gemm.h"

namespace glam::napi::hooks {

using cuda::DeviceBuffer;
using cuda::DType;

inline DType precision(const Napi::Object& o) {
  Napi::Value v = o.Get("precision");
  if (v.IsUndefined()) return DType::F32;
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  GLAM_CHECK(s == "bf16" || s == "fp32", "InvalidArgument", "precision must be 'bf16' or 'fp32'");
  return s == "bf16" ? DType::BF16 : DType::F32;
}

inline int64_t dim(const Napi::Object& o, const char* k) {
  const double d = num(o, k, 0, true);
  GLAM_CHECK(d >= 0 && d < 2147483647.0 && d == std::floor(d), "InvalidArgument", std::string(k) + " must be an integer in [0, 2^31)");
  return int64_t(d);
}

inline std::vector<float> f32_of(const Napi::Object& o, const char* k, int64_t n) {
  std::vector<float> v = f32(o.Get(k), k);
  GLAM_CHECK(int64_t(v.size()) == n, "InvalidArgument",
             std::string(k) + " has length " + std::to_string(v.size()) + ", expected " + std::to_string(n));
  return v;
}

inline std::vector<int32_t> i32_of(const Napi::Object& o, const char* k, int64_t n, int64_t bound) {
  std::vector<int32_t> v = i32(o, k);
  GLAM_CHECK(int64_t(v.size()) == n, "InvalidArgument",
             std::string(k) + " has length " + std::to_string(v.size()) + ", expected " + std::to_string(n));
  for (int32_t x : v)
    GLAM_CHECK(x >= 0 && x < bound, "InvalidArgument", std::string(k) + " holds " + std::to_string(x) + ", out of [0, " +
                                                           std::to_string(bound) + ")");
  return v;
}

inline bool has(const Napi::Object& o, const char* k) { return !o.Get(k).IsUndefined() && !o.Get(k).IsNull(); }

inline DeviceBuffer up(const std::vector<float>& v, DType t) {
  DeviceBuffer b(v.size() * cuda::dtype_size(t));
  if (v.empty()) return b;
  if (t == DType::F32) {
    CUDA_CHECK(cudaMemcpy(b.get(), v.data(), v.size() * 4, cudaMemcpyHostToDevice));
  } else {
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = cuda::bf16_bits(v[i]);
    CUDA_CHECK(cudaMemcpy(b.get(), h.data(), h.size() * 2, cudaMemcpyHostToDevice));
  }
  return b;
}

template <typename T>
DeviceBuffer up_raw(const std::vector<T>& v) {
  DeviceBuffer b(v.size() * sizeof(T));
  if (!v.empty()) CUDA_CHECK(cudaMemcpy(b.get(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return b;
}

inline DeviceBuffer poisoned(int64_t n, DType t) {
  DeviceBuffer b(size_t(n) * cuda::dtype_size(t));
  if (n) CUDA_CHECK(cudaMemset(b.get(), 0xFF, b.size()));
  return b;
}

inline Napi::Float32Array down(Napi::Env env, const DeviceBuffer& b, int64_t n, DType t) {
  CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<float> out(static_cast<size_t>(n));
  if (n && t == DType::F32) {
    CUDA_CHECK(cudaMemcpy(out.data(), b.get(), size_t(n) * 4, cudaMemcpyDeviceToHost));
  } else if (n) {
    std::vector<uint16_t> h(static_cast<size_t>(n));
    CUDA_CHECK(cudaMemcpy(h.data(), b.get(), size_t(n) * 2, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < h.size(); ++i) out[i] = cuda::bf16_value(h[i]);
  }
  return to_typed<float, Napi::Float32Array>(env, out);
}

inline cuda::Gemm& gemm() {
  // hooks run on the JS thread, one at a time; never destroyed (no cuBLASLt teardown at process exit)
  static cuda::Gemm* g = new cuda::Gemm();
  return *g;
}

#define HOOK(name) Napi::Value name(const Napi::CallbackInfo& info)
#define BEGIN                        \
  Napi::Env env = info.Env();        \
  GLAM_NAPI_TRY                      \
  Napi::Object o = obj_arg(info, 0, "options");
#define END GLAM_NAPI_CATCH(env)

}  // namespace glam::napi::hooks
