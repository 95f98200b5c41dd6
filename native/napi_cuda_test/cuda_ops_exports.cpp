// Kernel test hooks of the CUDA test addon (glam_cuda_test.node): exports.ops, one synchronous call
// per kernel, for the GPU parity tests (test/gpu/kernels.test.ts) and the GEMM rate of bench/gpu.ts.
// Each hook uploads its Float32Array / Int32Array inputs (converted to bf16 where the kernel reads
// bf16 in that precision), POISONS every output with NaN bits (0xFF bytes: NaN in fp32 and bf16) so
// unwritten elements fail, runs the kernel, synchronises and returns fp32 copies.
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

#include "napi_cuda_test/hook_helpers.h"
#include "ops/cuda/cuda_ops.h"

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
  const NormArgs a = norm_args(o);
  const int64_t n = a.n, C = a.C, nx = a.nx;
  DeviceBuffer x = up(a.x, DType::F32), y = has(o, "y") ? up(f32_of(o, "y", nx * C), DType::F32) : DeviceBuffer();
  DeviceBuffer rows = a.has_rows ? up_raw(a.rows) : DeviceBuffer();
  DeviceBuffer w = up(a.w, DType::F32), b = layer ? up(f32_of(o, "b", C), DType::F32) : DeviceBuffer();
  DeviceBuffer h = poisoned(n * C, t);
  if (layer)
    cuda::layernorm_forward(h.get(), t, x.as<float>(), y.as<float>(), rows.as<int32_t>(), w.as<float>(), b.as<float>(),
                            n, C, a.eps, nullptr);
  else
    cuda::rmsnorm_forward(h.get(), t, x.as<float>(), y.as<float>(), rows.as<int32_t>(), w.as<float>(), n, C, a.eps,
                          nullptr);
  Napi::Object r = Napi::Object::New(env);
  r.Set("h", down(env, h, n * C, t));
  r.Set("x", down(env, x, nx * C, DType::F32));
  return r;
  END
}
HOOK(RmsNorm) { return norm_hook(info, false); }
HOOK(LayerNorm) { return norm_hook(info, true); }

HOOK(Rope) { return rope_hook(info, "x", cuda::rope_forward); }

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
  const AttentionArgs a = attention_args(o);
  const auto& p = a.plan;  // the engine's batch plan (attention tiles, rows)
  const int64_t T = a.T, H = a.cfg.heads, HD = H * a.cfg.head_dim;
  DeviceBuffer q = up(a.qkv, DType::F32), pos = up_raw(p.pos), tiles = up_raw(p.tiles), arows = up_raw(p.arows);
  DeviceBuffer out = poisoned(T * HD, t), lse = poisoned(T * H, DType::F32);
  cuda::AttnCall c = cuda::self_attn_call(q.as<float>(), H, a.cfg.kv_heads, a.cfg.head_dim);
  c.pos = pos.as<int32_t>();
  c.tiles = tiles.as<cuda::AttnTile>();
  c.ntiles = int64_t(p.tiles.size());
  c.rows = arows.as<cuda::AttnRow>();
  c.window = a.window;
  c.scale = 1.0f / std::sqrt(float(a.cfg.head_dim));
  c.rows_per_tile = p.rows_per_tile;
  c.T = T;
  cuda::attention_forward(out.get(), t, lse.as<float>(), c, nullptr);
  Napi::Object r = Napi::Object::New(env);
  r.Set("out", down(env, out, T * HD, t));
  r.Set("lse", down(env, lse, T * H, DType::F32));
  return r;
  END
}

HOOK(LmHead) {
  BEGIN
  const DType t = precision(o);
  const LmHeadArgs a = lm_head_args(o);
  const int64_t R = a.R, V = a.V, C = a.C, NT = a.NT, Vt = a.Vt;
  DeviceBuffer h = up(f32_of(o, "h", R * C), t), E = up(f32_of(o, "E", V * C), t);
  DeviceBuffer trow = up_raw(a.trow), tid = up_raw(a.tid);
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
  const ValueHead vh = value_head_of(o);
  const std::vector<int64_t>& sizes = vh.sizes;
  std::vector<DeviceBuffer> W, bias;
  std::vector<const float*> Wp, bp;
  int64_t width = 1;
  for (size_t i = 0; i < vh.weight.size(); ++i) {
    W.push_back(up(vh.weight[i], DType::F32));
    bias.push_back(up(vh.bias[i], DType::F32));
    Wp.push_back(W.back().as<float>());
    bp.push_back(bias.back().as<float>());
    width = std::max(width, sizes[i + 1]);
  }
  DeviceBuffer h = up(f32_of(o, "h", B * sizes[0]), DType::F32);
  DeviceBuffer a = poisoned(B * width, DType::F32), b2 = poisoned(B * width, DType::F32), out = poisoned(B, DType::F32);
  std::vector<float*> acts;  // two buffers, alternating (as the scoring pass runs it)
  for (size_t i = 0; i + 1 < Wp.size(); ++i) acts.push_back(i % 2 ? b2.as<float>() : a.as<float>());
  cuda::value_head_forward(out.as<float>(), h.as<float>(), int(Wp.size()), sizes.data(), Wp.data(), bp.data(),
                           acts.data(), B, gemm(), nullptr);
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
void register_cuda_t5_exports(Napi::Env env, Napi::Object ops);        // cuda_t5_exports.cpp

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
  register_cuda_t5_exports(env, ops);
  exports.Set("ops", ops);
}

}  // namespace glam::napi
