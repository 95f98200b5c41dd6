// Kernel test hooks of the CUDA test addon for the backward kernels and the optimizer: exports.ops.*, one
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

#include <algorithm>
#include <vector>

#include "napi_cuda_test/hook_helpers.h"
#include "ops/cuda/cuda_ops.h"

namespace glam::napi {

namespace {

using namespace hooks;
using cuda::DeviceBuffer;
using cuda::DType;

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
  const NormArgs a = norm_args(o);
  const int64_t n = a.n, C = a.C, nx = a.nx;
  std::vector<int32_t> sorted = a.rows;
  std::sort(sorted.begin(), sorted.end());
  GLAM_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(), "InvalidArgument", "rows must be distinct");
  DeviceBuffer x = up(a.x, DType::F32), dh = up(f32_of(o, "dh", n * C), DType::F32), w = up(a.w, DType::F32);
  DeviceBuffer rows = a.has_rows ? up_raw(a.rows) : DeviceBuffer();
  DeviceBuffer dx = zeros(nx * C), dw = zeros(C), db = zeros(C);
  if (layer)
    cuda::layernorm_backward(dx.as<float>(), dw.as<float>(), db.as<float>(), dh.as<float>(), x.as<float>(),
                             rows.as<int32_t>(), w.as<float>(), n, C, a.eps, nullptr);
  else
    cuda::rmsnorm_backward(dx.as<float>(), dw.as<float>(), dh.as<float>(), x.as<float>(), rows.as<int32_t>(),
                           w.as<float>(), n, C, a.eps, nullptr);
  Napi::Object r = Napi::Object::New(env);
  r.Set("dx", down(env, dx, nx * C, DType::F32));
  r.Set("dw", down(env, dw, C, DType::F32));
  r.Set("db", down(env, db, C, DType::F32));
  return r;
  END
}

HOOK(RopeBackward) { return rope_hook(info, "dx", cuda::rope_backward); }

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
  const AttentionArgs a = attention_args(o);
  const auto& p = a.plan;  // the engine's batch plan (attention tiles, rows)
  const int64_t T = a.T, H = a.cfg.heads, Hkv = a.cfg.kv_heads, D = a.cfg.head_dim, Q = a.cfg.qkv_dim(), HD = H * D;
  DeviceBuffer q = up(a.qkv, DType::F32), pos = up_raw(p.pos), tiles = up_raw(p.tiles), arows = up_raw(p.arows);
  DeviceBuffer kvt = up_raw(p.kv_tiles), dout = up(f32_of(o, "dout", T * HD), DType::F32);
  DeviceBuffer out = poisoned(T * HD, t), lse = poisoned(T * H, DType::F32), di = poisoned(T * H, DType::F32);
  DeviceBuffer dqkv = poisoned(T * Q, DType::F32);
  cuda::AttnCall c = cuda::self_attn_call(q.as<float>(), H, Hkv, D);
  c.pos = pos.as<int32_t>();
  c.tiles = tiles.as<cuda::AttnTile>();
  c.ntiles = int64_t(p.tiles.size());
  c.rows = arows.as<cuda::AttnRow>();
  c.kv_tiles = kvt.as<cuda::AttnKvTile>();
  c.nkv = int64_t(p.kv_tiles.size());
  c.window = a.window;
  c.scale = 1.0f / std::sqrt(float(D));
  c.rows_per_tile = p.rows_per_tile;
  c.T = T;
  cuda::attention_forward(out.get(), t, lse.as<float>(), c, nullptr);
  cuda::attention_backward(dqkv.as<float>(), nullptr, nullptr, di.as<float>(), dout.as<float>(), out.get(), t,
                           lse.as<float>(), c, nullptr);
  return down(env, dqkv, T * Q, DType::F32);
  END
}

HOOK(LmHeadBackward) {
  BEGIN
  const DType t = precision(o);
  const LmHeadArgs a = lm_head_args(o);
  const int64_t R = a.R, V = a.V, C = a.C, NT = a.NT, Vt = a.Vt;
  const std::vector<int32_t>& trow = a.trow;
  const std::vector<int32_t>& tid = a.tid;
  std::vector<float> g = f32_of(o, "g", NT);
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
