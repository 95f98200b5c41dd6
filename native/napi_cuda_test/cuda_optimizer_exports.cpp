// Kernel test hooks of the CUDA test addon for the value head's backward and the optimizer (see
// cuda_backward_exports.cpp for the conventions):
//   valueHeadBackward({h, B, sizes, weights, biases, dv}) -> { dh, dW: Float32Array[], db: Float32Array[] }
//   adamw({w: Float32Array[], grads: Float32Array[][] (step, tensor), lr, beta1, beta2, eps, weightDecay,
//          maxGradNorm, bf16Copy?}) -> { w, m, v: Float32Array[], copy?: Float32Array[], norms: number[] }
// Subtle: the AdamW hook runs the engine's own optimizer (CudaBackend::adamw_step: slots table in
// device memory, one-reduction norm, fused step with the clip factor read on the device), once per
// step t = 1..steps; an empty tensor holds no slot (its moments come back empty).
#include <napi.h>

#include <cmath>
#include <vector>

#include "napi_cuda_test/hook_helpers.h"
#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/cuda_ops.h"

namespace glam::napi {

namespace {

using namespace hooks;
using cuda::DeviceBuffer;
using cuda::DType;

std::vector<std::vector<float>> f32_list(const Napi::Value& v, const char* what) {
  GLAM_CHECK(v.IsArray(), "InvalidArgument", std::string(what) + " must be an array of Float32Array");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::vector<float>> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(f32(a.Get(i), what));
  return out;
}

Napi::Array down_list(Napi::Env env, const std::vector<DeviceBuffer>& bs, const std::vector<int64_t>& n, DType t) {
  Napi::Array a = Napi::Array::New(env, bs.size());
  for (size_t i = 0; i < bs.size(); ++i) a.Set(uint32_t(i), down(env, bs[i], n[i], t));
  return a;
}

HOOK(ValueHeadBackward) {
  BEGIN
  const int64_t B = dim(o, "B");
  const ValueHead vh = value_head_of(o);
  const std::vector<int64_t>& sizes = vh.sizes;
  const std::vector<std::vector<float>>& Wv = vh.weight;
  const std::vector<std::vector<float>>& bv = vh.bias;
  const int L = int(Wv.size());
  int64_t widest = 1;
  for (int i = 0; i < L; ++i) widest = std::max(widest, sizes[size_t(i + 1)]);
  std::vector<DeviceBuffer> W, b, dW, db, acts;
  std::vector<const float*> Wp, bp, ap;
  std::vector<float*> dWp, dbp;
  std::vector<int64_t> nW, nb;
  for (int i = 0; i < L; ++i) {
    W.push_back(up(Wv[size_t(i)], DType::F32));
    b.push_back(up(bv[size_t(i)], DType::F32));
    dW.push_back(zeros(int64_t(Wv[size_t(i)].size())));
    db.push_back(zeros(int64_t(bv[size_t(i)].size())));
    Wp.push_back(W.back().as<float>());
    bp.push_back(b.back().as<float>());
    dWp.push_back(dW.back().as<float>());
    dbp.push_back(db.back().as<float>());
    nW.push_back(int64_t(Wv[size_t(i)].size()));
    nb.push_back(int64_t(bv[size_t(i)].size()));
  }
  // the forward with every layer's input kept (acts[0] = h), as the training forward keeps them
  acts.push_back(up(f32_of(o, "h", B * sizes[0]), DType::F32));
  for (int i = 0; i + 1 < L; ++i) {
    acts.push_back(DeviceBuffer(size_t(B * sizes[size_t(i + 1)]) * 4));
    gemm().nt(acts.back().as<float>(), acts[size_t(i)].as<float>(), Wp[size_t(i)], bp[size_t(i)], B, sizes[size_t(i + 1)],
              sizes[size_t(i)], DType::F32, false, nullptr);
    cuda::sigmoid_forward(acts.back().as<float>(), B * sizes[size_t(i + 1)], nullptr);
  }
  for (const DeviceBuffer& a : acts) ap.push_back(a.as<float>());
  DeviceBuffer dv = up(f32_of(o, "dv", B), DType::F32), dh = poisoned(B * sizes[0], DType::F32);
  DeviceBuffer sa = poisoned(B * widest, DType::F32), sb = poisoned(B * widest, DType::F32);
  cuda::value_head_backward(dh.as<float>(), dWp.data(), dbp.data(), dv.as<float>(), L, sizes.data(), Wp.data(), ap.data(),
                            sa.as<float>(), sb.as<float>(), B, gemm(), nullptr);
  Napi::Object r = Napi::Object::New(env);
  r.Set("dh", down(env, dh, B * sizes[0], DType::F32));
  r.Set("dW", down_list(env, dW, nW, DType::F32));
  r.Set("db", down_list(env, db, nb, DType::F32));
  return r;
  END
}

HOOK(AdamW) {
  BEGIN
  const auto w0 = f32_list(o.Get("w"), "w");
  Napi::Value gv = o.Get("grads");
  GLAM_CHECK(gv.IsArray(), "InvalidArgument", "grads must be an array (step) of arrays (tensor)");
  std::vector<std::vector<std::vector<float>>> steps;
  for (uint32_t s = 0; s < gv.As<Napi::Array>().Length(); ++s) {
    steps.push_back(f32_list(gv.As<Napi::Array>().Get(s), "grads"));
    GLAM_CHECK(steps.back().size() == w0.size(), "InvalidArgument", "every step needs one gradient per tensor");
    for (size_t i = 0; i < w0.size(); ++i)
      GLAM_CHECK(steps.back()[i].size() == w0[i].size(), "InvalidArgument", "a gradient's length differs from its tensor's");
  }
  const double lr = num(o, "lr", 0, true), b1 = num(o, "beta1", 0.9), b2 = num(o, "beta2", 0.999), eps = num(o, "eps", 1e-8);
  const double wd = num(o, "weightDecay", 0), maxn = num(o, "maxGradNorm", 0);
  const bool copy = flag(o, "bf16Copy", false);
  // the engine's optimizer (CudaBackend::adamw_step) over the uploaded tensors; empty tensors hold no slot
  std::vector<DeviceBuffer> w, c, g, m, v;
  std::vector<OptSlot> slots;
  std::vector<int64_t> n;
  for (const auto& x : w0) {
    const int64_t k = int64_t(x.size());
    w.push_back(up(x, DType::F32));
    c.push_back(copy ? poisoned(k, DType::BF16) : DeviceBuffer());
    g.push_back(zeros(k));
    m.push_back(zeros(k));
    v.push_back(zeros(k));
    n.push_back(k);
    if (k > 0)
      slots.push_back({w.back().as<float>(), g.back().as<float>(), m.back().as<float>(), v.back().as<float>(),
                       copy ? c.back().get() : nullptr, k});
  }
  cuda::CudaBackend be(DType::F32, gemm(), nullptr);
  const AdamWOptions hyper{lr, b1, b2, eps, wd, maxn};
  Napi::Array norms = Napi::Array::New(env, steps.size());
  for (size_t s = 0; s < steps.size(); ++s) {
    for (size_t i = 0; i < w0.size(); ++i)
      if (n[i] > 0) CUDA_CHECK(cudaMemcpy(g[i].get(), steps[s][i].data(), size_t(n[i]) * 4, cudaMemcpyHostToDevice));
    norms.Set(uint32_t(s), Napi::Number::New(env, be.adamw_step(slots, hyper, int64_t(s + 1))));
  }
  auto moments = [&](bool second) { return down_list(env, second ? v : m, n, DType::F32); };
  Napi::Object r = Napi::Object::New(env);
  r.Set("w", down_list(env, w, n, DType::F32));
  r.Set("m", moments(false));
  r.Set("v", moments(true));
  if (copy) r.Set("copy", down_list(env, c, n, DType::BF16));
  r.Set("norms", norms);
  return r;
  END
}

}  // namespace

void register_cuda_optimizer_exports(Napi::Env env, Napi::Object ops) {
  ops.Set("valueHeadBackward", Napi::Function::New(env, ValueHeadBackward));
  ops.Set("adamw", Napi::Function::New(env, AdamW));
}

}  // namespace glam::napi
