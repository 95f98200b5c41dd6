// Kernel test hooks of the CUDA addon: exports.ops, one synchronous call per kernel, for the GPU
// parity tests (test/gpu/kernels.test.ts) and the GEMM rate of bench/gpu.ts. Each hook uploads its
// Float32Array / Int32Array inputs (converted to bf16 where the kernel reads bf16 in that precision),
// POISONS every output with NaN bits (0xFF bytes: NaN in fp32 and bf16) so unwritten elements fail,
// runs the kernel, synchronises and returns fp32 copies.
//   embedding({ids, pos, table, posTable?, C, precision}) -> Float32Array (T*C)
//   rmsnorm / layernorm({x, y?, rows?, w, b?, n, C, eps, precision}) -> { h (n*C), x (x afterwards) }
//   rope({x, stride, T, nheads, D, pos, invFreq}) -> Float32Array
//   swiglu({gu, T, I, precision}) -> Float32Array (T*I);  gelu({u, tanh, precision}) -> Float32Array
//   attention({qkv, H, Hkv, D, window, promptStart, promptLen, candStart, candLen, candPrompt, precision})
//     -> { out (T*H*D), lse (T*H) }
//   lmHead({h, E, R, V, C, targetRow, targetId, tileWidth?, precision}) -> { lse (R), targetLogit (NT) }
//   valueHead({h, B, sizes, weights, biases}) -> Float32Array (B)
//   gemm({X, W, bias?, M, N, K, precision, accumulateInto?}) -> Float32Array (M*N)
//   gemmRate({M, N, K, precision, iters}) -> { tflops, ms }   (the GEMM rate of the roofline)
// Subtle: every size and index is checked on the host before anything reaches the GPU (memory safety).
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "model/batch_plan.h"
#include "cuda/device_buffer.h"
#include "cuda/device_weights.h"
#include "napi/coded_error.h"
#include "napi/convert.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/gemm.h"
#include "napi_cuda/hook_helpers.h"

namespace glam::napi {

namespace {

using namespace hooks;
using cuda::DeviceBuffer;
using cuda::DType;

HOOK(Embedding) {
  BEGIN
  const DType t = precision(o);
  const int64_t C = dim(o, "C");
  GLAM_CHECK(C > 0, "InvalidArgument", "C must be positive");
  std::vector<float> table = f32(o.Get("table"), "table");
  const int64_t V = int64_t(table.size()) / C;
  GLAM_CHECK(V * C == int64_t(table.size()), "InvalidArgument", "table length must be a multiple of C");
  const int64_t T = int64_t(i32(o, "ids").size());
  const bool hp = has(o, "posTable");
  std::vector<float> ptab = hp ? f32(o.Get("posTable"), "posTable") : std::vector<float>{};
  const int64_t P = hp ? int64_t(ptab.size()) / C : (int64_t(1) << 31) - 1;  // positions index posTable only
  GLAM_CHECK(!hp || P * C == int64_t(ptab.size()), "InvalidArgument", "posTable length must be a multiple of C");
  DeviceBuffer ids = up_raw(i32_of(o, "ids", T, V)), pos = up_raw(i32_of(o, "pos", T, P));
  DeviceBuffer tb = up(table, t), pb = up(ptab, t), x = poisoned(T * C, DType::F32);
  cuda::embedding_forward(x.as<float>(), ids.as<int32_t>(), pos.as<int32_t>(), tb.get(), hp ? pb.get() : nullptr, t, T,
                          C, nullptr);
  return down(env, x, T * C, DType::F32);
  END
}

Napi::Value norm_hook(const Napi::CallbackInfo& info, bool layer) {
  BEGIN
  const DType t = precision(o);
  const int64_t n = dim(o, "n"), C = dim(o, "C");
  GLAM_CHECK(C > 0, "InvalidArgument", "C must be positive");
  std::vector<float> xv = f32(o.Get("x"), "x");
  const int64_t nx = int64_t(xv.size()) / C;
  GLAM_CHECK(nx * C == int64_t(xv.size()), "InvalidArgument", "x length must be a multiple of C");
  const bool hr = has(o, "rows"), hy = has(o, "y");
  GLAM_CHECK(hr || n == nx, "InvalidArgument", "without rows, n must be the number of rows of x");
  DeviceBuffer x = up(xv, DType::F32), y = hy ? up(f32_of(o, "y", nx * C), DType::F32) : DeviceBuffer();
  DeviceBuffer rows = hr ? up_raw(i32_of(o, "rows", n, nx)) : DeviceBuffer();
  DeviceBuffer w = up(f32_of(o, "w", C), DType::F32), b = layer ? up(f32_of(o, "b", C), DType::F32) : DeviceBuffer();
  DeviceBuffer h = poisoned(n * C, t);
  const float eps = float(num(o, "eps", 1e-5));
  if (layer)
    cuda::layernorm_forward(h.get(), t, x.as<float>(), y.as<float>(), rows.as<int32_t>(), w.as<float>(), b.as<float>(),
                            n, C, eps, nullptr);
  else
    cuda::rmsnorm_forward(h.get(), t, x.as<float>(), y.as<float>(), rows.as<int32_t>(), w.as<float>(), n, C, eps, nullptr);
  Napi::Object r = Napi::Object::New(env);
  r.Set("h", down(env, h, n * C, t));
  r.Set("x", down(env, x, nx * C, DType::F32));
  return r;
  END
}
HOOK(RmsNorm) { return norm_hook(info, false); }
HOOK(LayerNorm) { return norm_hook(info, true); }

HOOK(Rope) {
  BEGIN
  const int64_t stride = dim(o, "stride"), T = dim(o, "T"), nh = dim(o, "nheads"), D = dim(o, "D");
  GLAM_CHECK(D % 2 == 0 && nh * D <= stride, "InvalidArgument", "rope needs an even D and nheads * D <= stride");
  DeviceBuffer x = up(f32_of(o, "x", T * stride), DType::F32);
  DeviceBuffer pos = up_raw(i32_of(o, "pos", T, 1 << 30)), inv = up(f32_of(o, "invFreq", D / 2), DType::F32);
  cuda::rope_forward(x.as<float>(), stride, T, nh, D, pos.as<int32_t>(), inv.as<float>(), nullptr);
  return down(env, x, T * stride, DType::F32);
  END
}

HOOK(Swiglu) {
  BEGIN
  const DType t = precision(o);
  const int64_t T = dim(o, "T"), I = dim(o, "I");
  DeviceBuffer gu = up(f32_of(o, "gu", T * 2 * I), DType::F32), act = poisoned(T * I, t);
  cuda::swiglu_forward(act.get(), t, gu.as<float>(), T, I, nullptr);
  return down(env, act, T * I, t);
  END
}

HOOK(Gelu) {
  BEGIN
  const DType t = precision(o);
  std::vector<float> u = f32(o.Get("u"), "u");
  const int64_t n = int64_t(u.size());
  DeviceBuffer ub = up(u, DType::F32), act = poisoned(n, t);
  cuda::gelu_forward(act.get(), t, ub.as<float>(), n, flag(o, "tanh", true), nullptr);
  return down(env, act, n, t);
  END
}

HOOK(Attention) {
  BEGIN
  const DType t = precision(o);
  ModelConfig cfg;
  cfg.heads = dim(o, "H");
  cfg.kv_heads = dim(o, "Hkv");
  cfg.head_dim = dim(o, "D");
  GLAM_CHECK(cfg.heads > 0 && cfg.kv_heads > 0 && cfg.heads % cfg.kv_heads == 0 && cfg.head_dim > 0 &&
                 cfg.head_dim <= cuda::kAttnMaxHeadDim,
             "InvalidArgument", "attention needs H a multiple of Hkv and 0 < D <= 256");
  cfg.vocab = 1;
  cfg.max_pos = int64_t(1) << 30;
  PackedBatch b;
  b.prompt_start = i32(o, "promptStart");
  b.prompt_len = i32(o, "promptLen");
  b.cand_start = i32(o, "candStart");
  b.cand_len = i32(o, "candLen");
  b.cand_prompt = i32(o, "candPrompt");
  const int64_t Q = cfg.qkv_dim(), HD = cfg.heads * cfg.head_dim;
  std::vector<float> qkv = f32(o.Get("qkv"), "qkv");
  const int64_t T = int64_t(qkv.size()) / Q;
  GLAM_CHECK(T * Q == int64_t(qkv.size()), "InvalidArgument", "qkv length must be a multiple of (H + 2 Hkv) D");
  b.tokens.assign(size_t(T), 0);
  const BatchPlan p = plan_batch(cfg, b);  // validates the layout (every row owned once)
  DeviceBuffer q = up(qkv, DType::F32), pos = up_raw(p.pos), tiles = up_raw(p.tiles), arows = up_raw(p.arows);
  DeviceBuffer out = poisoned(T * HD, t), lse = poisoned(T * cfg.heads, DType::F32);
  cuda::attention_forward(out.get(), t, lse.as<float>(), q.as<float>(), pos.as<int32_t>(), tiles.as<cuda::AttnTile>(),
                          int64_t(p.tiles.size()), arows.as<cuda::AttnRow>(), cfg.heads, cfg.kv_heads, cfg.head_dim,
                          int64_t(num(o, "window", 0)), p.rows_per_tile, nullptr);
  Napi::Object r = Napi::Object::New(env);
  r.Set("out", down(env, out, T * HD, t));
  r.Set("lse", down(env, lse, T * cfg.heads, DType::F32));
  return r;
  END
}

HOOK(LmHead) {
  BEGIN
  const DType t = precision(o);
  const int64_t R = dim(o, "R"), V = dim(o, "V"), C = dim(o, "C");
  GLAM_CHECK(R > 0 && V > 0 && C > 0, "InvalidArgument", "R, V and C must be positive");
  const int64_t NT = int64_t(i32(o, "targetRow").size());
  DeviceBuffer h = up(f32_of(o, "h", R * C), t), E = up(f32_of(o, "E", V * C), t);
  DeviceBuffer trow = up_raw(i32_of(o, "targetRow", NT, R)), tid = up_raw(i32_of(o, "targetId", NT, V));
  const int64_t Vt = has(o, "tileWidth") ? std::max<int64_t>(1, dim(o, "tileWidth")) : std::min<int64_t>(V, 4096);
  DeviceBuffer tile = poisoned(R * Vt, DType::F32), rm = poisoned(R, DType::F32), rs = poisoned(R, DType::F32);
  DeviceBuffer lse = poisoned(R, DType::F32), tl = poisoned(NT, DType::F32);
  cuda::lm_head_lse_forward(lse.as<float>(), tl.as<float>(), h.get(), E.get(), t, R, V, C, trow.as<int32_t>(),
                            tid.as<int32_t>(), NT, tile.as<float>(), Vt, rm.as<float>(), rs.as<float>(), gemm(), nullptr);
  Napi::Object r = Napi::Object::New(env);
  r.Set("lse", down(env, lse, R, DType::F32));
  r.Set("targetLogit", down(env, tl, NT, DType::F32));
  return r;
  END
}

HOOK(ValueHeadHook) {
  BEGIN
  const int64_t B = dim(o, "B");
  Napi::Value sv = o.Get("sizes"), wv = o.Get("weights"), bv = o.Get("biases");
  GLAM_CHECK(sv.IsArray() && wv.IsArray() && bv.IsArray(), "InvalidArgument", "sizes, weights and biases must be arrays");
  Napi::Array sa = sv.As<Napi::Array>(), wa = wv.As<Napi::Array>(), ba = bv.As<Napi::Array>();
  std::vector<int64_t> sizes;
  for (uint32_t i = 0; i < sa.Length(); ++i) sizes.push_back(int64_t(sa.Get(i).As<Napi::Number>().DoubleValue()));
  GLAM_CHECK(sizes.size() >= 2 && wa.Length() == sizes.size() - 1 && ba.Length() == wa.Length() && sizes.back() == 1,
             "InvalidArgument", "value head: sizes C, hidden..., 1 with one weight and bias per layer");
  std::vector<DeviceBuffer> W, bias;
  std::vector<const float*> Wp, bp;
  int64_t width = 1;
  for (uint32_t i = 0; i < wa.Length(); ++i) {
    GLAM_CHECK(sizes[i] > 0 && sizes[i + 1] > 0, "InvalidArgument", "value head sizes must be positive");
    std::vector<float> w = f32(wa.Get(i), "weight"), bb = f32(ba.Get(i), "bias");
    GLAM_CHECK(int64_t(w.size()) == sizes[i] * sizes[i + 1] && int64_t(bb.size()) == sizes[i + 1], "InvalidArgument",
               "value head layer " + std::to_string(i) + " has the wrong size");
    W.push_back(up(w, DType::F32));
    bias.push_back(up(bb, DType::F32));
    Wp.push_back(W.back().as<float>());
    bp.push_back(bias.back().as<float>());
    width = std::max(width, sizes[i + 1]);
  }
  DeviceBuffer h = up(f32_of(o, "h", B * sizes[0]), DType::F32);
  DeviceBuffer a = poisoned(B * width, DType::F32), b2 = poisoned(B * width, DType::F32), out = poisoned(B, DType::F32);
  cuda::value_head_forward(out.as<float>(), h.as<float>(), int(Wp.size()), sizes.data(), Wp.data(), bp.data(),
                           a.as<float>(), b2.as<float>(), B, gemm(), nullptr);
  return down(env, out, B, DType::F32);
  END
}

HOOK(GemmHook) {
  BEGIN
  const DType t = precision(o);
  const int64_t M = dim(o, "M"), N = dim(o, "N"), K = dim(o, "K");
  DeviceBuffer X = up(f32_of(o, "X", M * K), t), W = up(f32_of(o, "W", N * K), t);
  DeviceBuffer bias = has(o, "bias") ? up(f32_of(o, "bias", N), DType::F32) : DeviceBuffer();
  const bool acc = has(o, "accumulateInto");
  DeviceBuffer Y = acc ? up(f32_of(o, "accumulateInto", M * N), DType::F32) : poisoned(M * N, DType::F32);
  gemm().nt(Y.as<float>(), X.get(), W.get(), bias.as<float>(), M, N, K, t, acc, nullptr);
  return down(env, Y, M * N, DType::F32);
  END
}

HOOK(GemmRate) {
  BEGIN
  const DType t = precision(o);
  const int64_t M = dim(o, "M"), N = dim(o, "N"), K = dim(o, "K"), iters = std::max<int64_t>(1, dim(o, "iters"));
  DeviceBuffer X(size_t(M * K) * cuda::dtype_size(t)), W(size_t(N * K) * cuda::dtype_size(t)), Y(size_t(M * N) * 4);
  CUDA_CHECK(cudaMemset(X.get(), 0, X.size()));  // zeros: the rate does not depend on values
  CUDA_CHECK(cudaMemset(W.get(), 0, W.size()));
  for (int i = 0; i < 3; ++i) gemm().nt(Y.as<float>(), X.get(), W.get(), nullptr, M, N, K, t, false, nullptr);
  cudaEvent_t e0, e1;
  CUDA_CHECK(cudaEventCreate(&e0));
  CUDA_CHECK(cudaEventCreate(&e1));
  CUDA_CHECK(cudaEventRecord(e0, nullptr));
  for (int64_t i = 0; i < iters; ++i) gemm().nt(Y.as<float>(), X.get(), W.get(), nullptr, M, N, K, t, false, nullptr);
  CUDA_CHECK(cudaEventRecord(e1, nullptr));
  CUDA_CHECK(cudaEventSynchronize(e1));
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  Napi::Object r = Napi::Object::New(env);
  const double per = double(ms) / double(iters);
  r.Set("ms", per);
  r.Set("tflops", 2.0 * double(M) * double(N) * double(K) / (per * 1e-3) / 1e12);
  return r;
  END
}

}  // namespace

void register_cuda_backward_exports(Napi::Env env, Napi::Object ops);  // cuda_backward_exports.cpp

void register_cuda_op_exports(Napi::Env env, Napi::Object exports) {
  Napi::Object ops = Napi::Object::New(env);
  ops.Set("embedding", Napi::Function::New(env, Embedding));
  ops.Set("rmsnorm", Napi::Function::New(env, RmsNorm));
  ops.Set("layernorm", Napi::Function::New(env, LayerNorm));
  ops.Set("rope", Napi::Function::New(env, Rope));
  ops.Set("swiglu", Napi::Function::New(env, Swiglu));
  ops.Set("gelu", Napi::Function::New(env, Gelu));
  ops.Set("attention", Napi::Function::New(env, Attention));
  ops.Set("lmHead", Napi::Function::New(env, LmHead));
  ops.Set("valueHead", Napi::Function::New(env, ValueHeadHook));
  ops.Set("gemm", Napi::Function::New(env, GemmHook));
  ops.Set("gemmRate", Napi::Function::New(env, GemmRate));
  register_cuda_backward_exports(env, ops);
  exports.Set("ops", ops);
}

}  // namespace glam::napi
