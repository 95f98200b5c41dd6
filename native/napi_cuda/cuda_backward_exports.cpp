// Kernel test hooks of the CUDA addon for the backward kernels and the optimizer: exports.ops.*, one
// synchronous call per kernel, for test/gpu/backward-kernels.test.ts. Inputs are uploaded (bf16
// where the kernel reads bf16 in that precision); WRITTEN outputs are NaN-poisoned first, ACCUMULATED
// ones (parameter gradients, norm dx) start at zero, so each returns exactly one backward's gradient.
//   embeddingBackward({dx, ids, pos, V, maxPos, C}) -> { dtable, dpos }
//   normBackward({kind: 'rms'|'layer', x, dh, rows?, w, n, C, eps}) -> { dx, dw, db }
//   ropeBackward({dx, stride, T, nheads, D, pos, invFreq}) -> Float32Array
//   swigluBackward({dact, gu, T, I}) -> dgu;  geluBackward({dact, u, tanh}) -> du
//   attentionBackward({qkv, dout, H, Hkv, D, window, promptStart, promptLen, candStart, candLen, candPrompt,
//                      precision}) -> dqkv (the forward runs first on the device for out and lse)
//   lmHeadBackward({h, E, R, V, C, targetRow, targetId, g, tileWidth?, precision}) -> { dh, dE }
//   valueHeadBackward({h, B, sizes, weights, biases, dv}) -> { dh, dW: Float32Array[], db: Float32Array[] }
//   adamw({w: Float32Array[], grads: Float32Array[][], lr, beta1, beta2, eps, weightDecay, maxGradNorm, bf16Copy?})
//     -> { w, m, v, copy?: Float32Array[], norms: number[] }  (steps t = 1..grads.length)
#include <napi.h>

#include <cmath>
#include <vector>

#include "model/batch_plan.h"
#include "napi_cuda/hook_helpers.h"
#include "ops/cuda/cuda_ops.h"

namespace glam::napi {

namespace {

using namespace hooks;
using cuda::DeviceBuffer;
using cuda::DType;

DeviceBuffer zeros(int64_t n) {
  DeviceBuffer b(size_t(n) * 4);
  if (n) CUDA_CHECK(cudaMemset(b.get(), 0, b.size()));
  return b;
}

HOOK(EmbeddingBackward) {
  BEGIN
  const int64_t V = dim(o, "V"), P = dim(o, "maxPos"), C = dim(o, "C");
  GLAM_CHECK(V > 0 && P > 0 && C > 0, "InvalidArgument", "V, maxPos and C must be positive");
  const int64_t T = int64_t(i32(o, "ids").size());
  DeviceBuffer ids = up_raw(i32_of(o, "ids", T, V)), pos = up_raw(i32_of(o, "pos", T, P));
  DeviceBuffer dx = up(f32_of(o, "dx", T * C), DType::F32), dt = zeros(V * C), dp = zeros(P * C);
  cuda::embedding_backward(dt.as<float>(), dp.as<float>(), dx.as<float>(), ids.as<int32_t>(), pos.as<int32_t>(), T, C,
                           nullptr);
  Napi::Object r = Napi::Object::New(env);
  r.Set("dtable", down(env, dt, V * C, DType::F32));
  r.Set("dpos", down(env, dp, P * C, DType::F32));
  return r;
  END
}

HOOK(NormBackward) {
  BEGIN
  const bool layer = o.Get("kind").IsString() && o.Get("kind").As<Napi::String>().Utf8Value() == "layer";
  const int64_t n = dim(o, "n"), C = dim(o, "C");
  GLAM_CHECK(C > 0, "InvalidArgument", "C must be positive");
  std::vector<float> xv = f32(o.Get("x"), "x");
  const int64_t nx = int64_t(xv.size()) / C;
  GLAM_CHECK(nx * C == int64_t(xv.size()), "InvalidArgument", "x length must be a multiple of C");
  const bool hr = has(o, "rows");
  GLAM_CHECK(hr || n == nx, "InvalidArgument", "without rows, n must be the number of rows of x");
  std::vector<int32_t> rv = hr ? i32_of(o, "rows", n, nx) : std::vector<int32_t>{};
  std::vector<int32_t> sorted = rv;
  std::sort(sorted.begin(), sorted.end());
  GLAM_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(), "InvalidArgument", "rows must be distinct");
  DeviceBuffer x = up(xv, DType::F32), dh = up(f32_of(o, "dh", n * C), DType::F32), w = up(f32_of(o, "w", C), DType::F32);
  DeviceBuffer rows = hr ? up_raw(rv) : DeviceBuffer();
  DeviceBuffer dx = zeros(nx * C), dw = zeros(C), db = zeros(C);
  const float eps = float(num(o, "eps", 1e-5));
  if (layer)
    cuda::layernorm_backward(dx.as<float>(), dw.as<float>(), db.as<float>(), dh.as<float>(), x.as<float>(),
                             rows.as<int32_t>(), w.as<float>(), n, C, eps, nullptr);
  else
    cuda::rmsnorm_backward(dx.as<float>(), dw.as<float>(), dh.as<float>(), x.as<float>(), rows.as<int32_t>(),
                           w.as<float>(), n, C, eps, nullptr);
  Napi::Object r = Napi::Object::New(env);
  r.Set("dx", down(env, dx, nx * C, DType::F32));
  r.Set("dw", down(env, dw, C, DType::F32));
  r.Set("db", down(env, db, C, DType::F32));
  return r;
  END
}

HOOK(RopeBackward) {
  BEGIN
  const int64_t stride = dim(o, "stride"), T = dim(o, "T"), nh = dim(o, "nheads"), D = dim(o, "D");
  GLAM_CHECK(D % 2 == 0 && nh * D <= stride, "InvalidArgument", "rope needs an even D and nheads * D <= stride");
  DeviceBuffer x = up(f32_of(o, "dx", T * stride), DType::F32);
  DeviceBuffer pos = up_raw(i32_of(o, "pos", T, 1 << 30)), inv = up(f32_of(o, "invFreq", D / 2), DType::F32);
  cuda::rope_backward(x.as<float>(), stride, T, nh, D, pos.as<int32_t>(), inv.as<float>(), nullptr);
  return down(env, x, T * stride, DType::F32);
  END
}

HOOK(SwigluBackward) {
  BEGIN
  const int64_t T = dim(o, "T"), I = dim(o, "I");
  DeviceBuffer gu = up(f32_of(o, "gu", T * 2 * I), DType::F32), d = up(f32_of(o, "dact", T * I), DType::F32);
  DeviceBuffer dgu = poisoned(T * 2 * I, DType::F32);
  cuda::swiglu_backward(dgu.as<float>(), d.as<float>(), gu.as<float>(), T, I, nullptr);
  return down(env, dgu, T * 2 * I, DType::F32);
  END
}

HOOK(GeluBackward) {
  BEGIN
  std::vector<float> u = f32(o.Get("u"), "u");
  const int64_t n = int64_t(u.size());
  DeviceBuffer ub = up(u, DType::F32), d = up(f32_of(o, "dact", n), DType::F32), du = poisoned(n, DType::F32);
  cuda::gelu_backward(du.as<float>(), d.as<float>(), ub.as<float>(), n, flag(o, "tanh", true), nullptr);
  return down(env, du, n, DType::F32);
  END
}

HOOK(AttentionBackward) {
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
  const int64_t H = cfg.heads, Q = cfg.qkv_dim(), HD = H * cfg.head_dim;
  std::vector<float> qkv = f32(o.Get("qkv"), "qkv");
  const int64_t T = int64_t(qkv.size()) / Q;
  GLAM_CHECK(T * Q == int64_t(qkv.size()), "InvalidArgument", "qkv length must be a multiple of (H + 2 Hkv) D");
  b.tokens.assign(size_t(T), 0);
  const BatchPlan p = plan_batch(cfg, b);
  DeviceBuffer q = up(qkv, DType::F32), pos = up_raw(p.pos), tiles = up_raw(p.tiles), arows = up_raw(p.arows);
  DeviceBuffer kvt = up_raw(p.kv_tiles), dout = up(f32_of(o, "dout", T * HD), DType::F32);
  DeviceBuffer out = poisoned(T * HD, t), lse = poisoned(T * H, DType::F32), di = poisoned(T * H, DType::F32);
  DeviceBuffer dqkv = poisoned(T * Q, DType::F32);
  const int64_t window = int64_t(num(o, "window", 0));
  cuda::attention_forward(out.get(), t, lse.as<float>(), q.as<float>(), pos.as<int32_t>(), tiles.as<cuda::AttnTile>(),
                          int64_t(p.tiles.size()), arows.as<cuda::AttnRow>(), H, cfg.kv_heads, cfg.head_dim, window,
                          p.rows_per_tile, nullptr);
  cuda::attention_backward(dqkv.as<float>(), di.as<float>(), dout.as<float>(), out.get(), t, q.as<float>(),
                           lse.as<float>(), pos.as<int32_t>(), tiles.as<cuda::AttnTile>(), int64_t(p.tiles.size()),
                           kvt.as<cuda::AttnKvTile>(), int64_t(p.kv_tiles.size()), arows.as<cuda::AttnRow>(), T, H,
                           cfg.kv_heads, cfg.head_dim, window, p.rows_per_tile, nullptr);
  return down(env, dqkv, T * Q, DType::F32);
  END
}

HOOK(LmHeadBackward) {
  BEGIN
  const DType t = precision(o);
  const int64_t R = dim(o, "R"), V = dim(o, "V"), C = dim(o, "C");
  GLAM_CHECK(R > 0 && V > 0 && C > 0, "InvalidArgument", "R, V and C must be positive");
  const int64_t NT = int64_t(i32(o, "targetRow").size());
  std::vector<int32_t> trow = i32_of(o, "targetRow", NT, R), tid = i32_of(o, "targetId", NT, V);
  std::vector<float> g = f32_of(o, "g", NT);
  const int64_t Vt = has(o, "tileWidth") ? std::max<int64_t>(1, dim(o, "tileWidth")) : std::min<int64_t>(V, 4096);
  // the per-row CSR the engine builds (batch_plan.cpp)
  std::vector<int32_t> off(size_t(R + 1), 0), rtid(static_cast<size_t>(NT));
  std::vector<float> rtg(static_cast<size_t>(NT)), G(static_cast<size_t>(R), 0.0f);
  for (int64_t i = 0; i < NT; ++i) ++off[size_t(trow[size_t(i)]) + 1];
  for (int64_t r = 0; r < R; ++r) off[size_t(r + 1)] += off[size_t(r)];
  std::vector<int32_t> fill(off.begin(), off.end() - 1);
  for (int64_t i = 0; i < NT; ++i) {
    const int32_t k = fill[size_t(trow[size_t(i)])]++;
    rtid[size_t(k)] = tid[size_t(i)];
    rtg[size_t(k)] = g[size_t(i)];
    G[size_t(trow[size_t(i)])] += g[size_t(i)];
  }
  DeviceBuffer h = up(f32_of(o, "h", R * C), t), E = up(f32_of(o, "E", V * C), t);
  DeviceBuffer run_max = poisoned(R, DType::F32), run_sum = poisoned(R, DType::F32), lse = poisoned(R, DType::F32);
  DeviceBuffer tlog = poisoned(std::max<int64_t>(NT, 1), DType::F32), tile = poisoned(R * Vt, DType::F32);
  DeviceBuffer gtile = poisoned(R * Vt, t), dh = poisoned(R * C, DType::F32), dE = zeros(V * C);
  DeviceBuffer tr = up_raw(trow), ti = up_raw(tid), Gb = up(G, DType::F32), ob = up_raw(off), rt = up_raw(rtid);
  DeviceBuffer rg = up(rtg, DType::F32);
  cuda::lm_head_lse_forward(lse.as<float>(), tlog.as<float>(), h.get(), E.get(), t, R, V, C, tr.as<int32_t>(),
                            ti.as<int32_t>(), NT, tile.as<float>(), Vt, run_max.as<float>(), run_sum.as<float>(), gemm(),
                            nullptr);
  cuda::lm_head_lse_backward(dh.as<float>(), dE.as<float>(), h.get(), E.get(), t, R, V, C, lse.as<float>(),
                             Gb.as<float>(), ob.as<int32_t>(), rt.as<int32_t>(), rg.as<float>(), tile.as<float>(),
                             gtile.get(), Vt, gemm(), nullptr);
  Napi::Object r = Napi::Object::New(env);
  r.Set("dh", down(env, dh, R * C, DType::F32));
  r.Set("dE", down(env, dE, V * C, DType::F32));
  return r;
  END
}

}  // namespace

void register_cuda_optimizer_exports(Napi::Env env, Napi::Object ops);  // cuda_optimizer_exports.cpp

void register_cuda_backward_exports(Napi::Env env, Napi::Object ops) {
  ops.Set("embeddingBackward", Napi::Function::New(env, EmbeddingBackward));
  ops.Set("normBackward", Napi::Function::New(env, NormBackward));
  ops.Set("ropeBackward", Napi::Function::New(env, RopeBackward));
  ops.Set("swigluBackward", Napi::Function::New(env, SwigluBackward));
  ops.Set("geluBackward", Napi::Function::New(env, GeluBackward));
  ops.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
  ops.Set("lmHeadBackward", Napi::Function::New(env, LmHeadBackward));
  register_cuda_optimizer_exports(env, ops);
}

}  // namespace glam::napi
