// Shared helpers of the CUDA test addon's kernel hooks (cuda_ops_exports.cpp: forwards and GEMMs;
// cuda_backward_exports.cpp: backwards; cuda_optimizer_exports.cpp: value head backward, AdamW):
// argument checks, the arguments a forward hook and its backward hook both take (attention layout,
// norm rows, LM-head targets, RoPE, value head), uploads (bf16 where the kernel reads bf16),
// NaN-poisoned outputs, synchronising downloads, the hooks' GEMM context.
// Legend: T packed rows, C hidden, n normed rows, R scored rows, V vocabulary, NT targets,
// H / Hkv query / key-value heads, D head dim, Q = (H + 2 Hkv) D.
// Subtle: every size and index is checked on the host before anything reaches the GPU.
#pragma once
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "model/batch_plan.h"
#include "cuda/device_buffer.h"
#include "cuda/device_weights.h"
#include "napi/coded_error.h"
#include "napi/convert.h"
#include "napi/tensor_args.h"
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

// Attention's arguments: heads, qkv (T, Q), the packed layout planned into tiles as the engine does.
struct AttentionArgs {
  ModelConfig cfg;  // heads, kv_heads, head_dim only
  std::vector<float> qkv;
  int64_t T = 0, window = 0;
  BatchPlan plan;
};
inline AttentionArgs attention_args(const Napi::Object& o) {
  AttentionArgs a;
  a.cfg.heads = dim(o, "H");
  a.cfg.kv_heads = dim(o, "Hkv");
  a.cfg.head_dim = dim(o, "D");
  GLAM_CHECK(a.cfg.heads > 0 && a.cfg.kv_heads > 0 && a.cfg.heads % a.cfg.kv_heads == 0 && a.cfg.head_dim > 0 &&
                 a.cfg.head_dim <= cuda::kAttnMaxHeadDim,
             "InvalidArgument", "attention needs H a multiple of Hkv and 0 < D <= 256");
  a.cfg.vocab = 1;
  a.cfg.max_pos = int64_t(1) << 30;
  PackedBatch b = layout_arg(o);
  const int64_t Q = a.cfg.qkv_dim();
  a.qkv = f32(o.Get("qkv"), "qkv");
  a.T = int64_t(a.qkv.size()) / Q;
  GLAM_CHECK(a.T * Q == int64_t(a.qkv.size()), "InvalidArgument", "qkv length must be a multiple of (H + 2 Hkv) D");
  b.tokens.assign(size_t(a.T), 0);
  a.plan = plan_batch(a.cfg, b);  // validates the layout (every row owned once)
  a.window = int64_t(num(o, "window", 0));
  return a;
}

// A norm's arguments: x (nx, C), the n rows it normalises (all of x, or `rows`), w, eps.
struct NormArgs {
  int64_t n = 0, C = 0, nx = 0;
  std::vector<float> x, w;
  bool has_rows = false;
  std::vector<int32_t> rows;  // (n) when has_rows
  float eps = 1e-5f;
};
inline NormArgs norm_args(const Napi::Object& o) {
  NormArgs a;
  a.n = dim(o, "n");
  a.C = dim(o, "C");
  GLAM_CHECK(a.C > 0, "InvalidArgument", "C must be positive");
  a.x = f32(o.Get("x"), "x");
  a.nx = int64_t(a.x.size()) / a.C;
  GLAM_CHECK(a.nx * a.C == int64_t(a.x.size()), "InvalidArgument", "x length must be a multiple of C");
  a.has_rows = has(o, "rows");
  GLAM_CHECK(a.has_rows || a.n == a.nx, "InvalidArgument", "without rows, n must be the number of rows of x");
  if (a.has_rows) a.rows = i32_of(o, "rows", a.n, a.nx);
  a.w = f32_of(o, "w", a.C);
  a.eps = float(num(o, "eps", 1e-5));
  return a;
}

// The LM head's arguments: sizes, targets (row, id) and the vocabulary tile width.
struct LmHeadArgs {
  int64_t R = 0, V = 0, C = 0, NT = 0, Vt = 0;
  std::vector<int32_t> trow, tid;  // (NT)
};
inline LmHeadArgs lm_head_args(const Napi::Object& o) {
  LmHeadArgs a;
  a.R = dim(o, "R");
  a.V = dim(o, "V");
  a.C = dim(o, "C");
  GLAM_CHECK(a.R > 0 && a.V > 0 && a.C > 0, "InvalidArgument", "R, V and C must be positive");
  a.NT = int64_t(i32(o, "targetRow").size());
  a.trow = i32_of(o, "targetRow", a.NT, a.R);
  a.tid = i32_of(o, "targetId", a.NT, a.V);
  a.Vt = has(o, "tileWidth") ? std::max<int64_t>(1, dim(o, "tileWidth")) : std::min<int64_t>(a.V, 4096);
  return a;
}

// RoPE's arguments: the rows `key` (T, stride) rotated in place, heads, positions, inverse frequencies.
struct RopeArgs {
  int64_t stride = 0, T = 0, nheads = 0, D = 0;
  std::vector<float> x, inv_freq;
  std::vector<int32_t> pos;
};
inline RopeArgs rope_args(const Napi::Object& o, const char* key) {
  RopeArgs a;
  a.stride = dim(o, "stride");
  a.T = dim(o, "T");
  a.nheads = dim(o, "nheads");
  a.D = dim(o, "D");
  GLAM_CHECK(a.D % 2 == 0 && a.nheads * a.D <= a.stride, "InvalidArgument", "rope needs an even D and nheads * D <= stride");
  a.x = f32_of(o, key, a.T * a.stride);
  a.pos = i32_of(o, "pos", a.T, 1 << 30);
  a.inv_freq = f32_of(o, "invFreq", a.D / 2);
  return a;
}

// The value head { sizes (C, hidden..., 1), weights, biases }, checked as the model wrapper checks it
// (tensor_args.h), with C taken from sizes[0].
inline ValueHead value_head_of(const Napi::Object& o) {
  Napi::Value s = o.Get("sizes");
  const bool sized = s.IsArray() && s.As<Napi::Array>().Length() > 0 && s.As<Napi::Array>().Get(0u).IsNumber();
  return value_head_arg(o, sized ? int64_t(s.As<Napi::Array>().Get(0u).As<Napi::Number>().DoubleValue()) : -1);
}

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

// n fp32 zeros: the start of an accumulated output (parameter gradients)
inline DeviceBuffer zeros(int64_t n) {
  DeviceBuffer b(size_t(n) * 4);
  if (n) CUDA_CHECK(cudaMemset(b.get(), 0, b.size()));
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

// RoPE forward or backward (the same signature, in place): rotates `key` (T, stride) and returns it.
template <class Kernel>
Napi::Value rope_hook(const Napi::CallbackInfo& info, const char* key, Kernel kernel) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  const RopeArgs a = rope_args(obj_arg(info, 0, "options"), key);
  DeviceBuffer x = up(a.x, DType::F32), pos = up_raw(a.pos), inv = up(a.inv_freq, DType::F32);
  kernel(x.as<float>(), a.stride, a.T, a.nheads, a.D, pos.as<int32_t>(), inv.as<float>(), nullptr);
  return down(env, x, a.T * a.stride, DType::F32);
  GLAM_NAPI_CATCH(env)
}

#define HOOK(name) Napi::Value name(const Napi::CallbackInfo& info)
#define BEGIN                        \
  Napi::Env env = info.Env();        \
  GLAM_NAPI_TRY                      \
  Napi::Object o = obj_arg(info, 0, "options");
#define END GLAM_NAPI_CATCH(env)

}  // namespace glam::napi::hooks
