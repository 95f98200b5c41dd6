// T5's kernel hooks of the CUDA test addon (exports.ops.*), for test/gpu/t5-kernels.test.ts: the
// ReLU and gated-GELU activations and their backwards, and attention with T5's AttentionSpec variants
// run through CudaBackend exactly as the engine runs it (plan_t5's lists uploaded and bound, then
// set_attention, attention_forward and attention_backward on the Backend interface).
//   relu({u, precision}) -> act;  geglu({u, T, I, precision}) -> act (T, I)
//   reluBackward({dact, u}) -> du;  gegluBackward({dact, u, T, I}) -> du (T, 2I)
//   t5Attention({config, part: 'encoder'|'decoder'|'cross', naive, q, kv?, bias?, dout, precision}, batch)
//     -> { out (T, HD), lse (T, H), dq (self: (T, 3HD) = dq|dk|dv; cross: (Td, HD)), dkv? (Te, 2HD),
//          dbias? (NB, H) }
//     q: self (T, 3HD) q|k|v rows of the part's stream (encoder: plan_t5's Te rows; decoder: its Td
//     rows); cross (Td, HD) with kv (Te, 2HD); bias (NB, H) for the self parts; dout (T, HD).
// Written outputs are NaN-poisoned first; dbias starts at zero (it accumulates).
// Legend: T rows of the part, Te encoder rows, Td decoder rows, H heads, D d_kv, HD = H D, NB buckets.
#include <napi.h>

#include "model/t5_scorer.h"
#include "napi_cuda_test/hook_helpers.h"
#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/cuda_ops.h"

namespace glam::napi {

namespace {

using namespace hooks;

HOOK(Relu) {
  BEGIN
  const DType t = precision(o);
  std::vector<float> u = f32(o.Get("u"), "u");
  const int64_t n = int64_t(u.size());
  DeviceBuffer ub = up(u, DType::F32), act = poisoned(n, t);
  cuda::relu_forward(act.get(), t, ub.as<float>(), n, nullptr);
  return down(env, act, n, t);
  END
}

HOOK(Geglu) {
  BEGIN
  const DType t = precision(o);
  const int64_t T = dim(o, "T"), I = dim(o, "I");
  DeviceBuffer u = up(f32_of(o, "u", T * 2 * I), DType::F32), act = poisoned(T * I, t);
  cuda::geglu_tanh_forward(act.get(), t, u.as<float>(), T, I, nullptr);
  return down(env, act, T * I, t);
  END
}

HOOK(ReluBackward) {
  BEGIN
  std::vector<float> u = f32(o.Get("u"), "u");
  const int64_t n = int64_t(u.size());
  DeviceBuffer ub = up(u, DType::F32), d = up(f32_of(o, "dact", n), DType::F32), du = poisoned(n, DType::F32);
  cuda::relu_backward(du.as<float>(), d.as<float>(), ub.as<float>(), n, nullptr);
  return down(env, du, n, DType::F32);
  END
}

HOOK(GegluBackward) {
  BEGIN
  const int64_t T = dim(o, "T"), I = dim(o, "I");
  DeviceBuffer u = up(f32_of(o, "u", T * 2 * I), DType::F32), d = up(f32_of(o, "dact", T * I), DType::F32);
  DeviceBuffer du = poisoned(T * 2 * I, DType::F32);
  cuda::geglu_tanh_backward(du.as<float>(), d.as<float>(), u.as<float>(), T, I, nullptr);
  return down(env, du, T * 2 * I, DType::F32);
  END
}

// One AttentionRows' lists on the device.
struct Lists {
  DeviceBuffer arows, tiles, kv, xarows, xtiles, xkv;
  cuda::RowsBinding bind(const AttentionRows* host) const {
    return {host, arows.as<cuda::AttnRow>(), tiles.as<cuda::AttnTile>(), kv.as<cuda::AttnKvTile>(),
            xarows.as<cuda::AttnRow>(), xtiles.as<cuda::AttnTile>(), xkv.as<cuda::AttnKvTile>()};
  }
};
Lists upload_lists(const AttentionRows& r) {
  return {up_raw(r.arows), up_raw(r.tiles), up_raw(r.kv_tiles), up_raw(r.cross_arows), up_raw(r.cross_tiles),
          up_raw(r.cross_kv_tiles)};
}

HOOK(T5Attention) {
  BEGIN
  const DType t = precision(o);
  GLAM_CHECK(o.Get("config").IsObject(), "InvalidArgument", "config must be a model config object");
  const ModelConfig cfg = model_config(o.Get("config").As<Napi::Object>());
  GLAM_CHECK(cfg.family == Family::T5, "InvalidArgument", "t5Attention takes a T5 config");
  const T5Plan p = plan_t5(cfg, batch_arg(info, 1), flag(o, "naive", false));
  const std::string part = str(o, "part");
  GLAM_CHECK(part == "encoder" || part == "decoder" || part == "cross", "InvalidArgument",
             "part must be 'encoder', 'decoder' or 'cross'");
  const bool enc = part == "encoder", cross = part == "cross";
  const int64_t H = cfg.heads, D = cfg.head_dim, HD = H * D, NB = cfg.rel_buckets, Te = p.Te;
  const int64_t T = enc ? Te : p.dec.T, qw = cross ? HD : 3 * HD;
  const AttentionRows& rows = enc ? static_cast<const AttentionRows&>(p.enc) : p.dec;
  const Lists le = upload_lists(p.enc), ld = upload_lists(p.dec);
  DeviceBuffer pos = up_raw(enc ? p.enc_pos : p.dec.pos);
  cuda::PassBindings b;
  b.sets[0] = le.bind(&p.enc);
  b.sets[1] = ld.bind(&p.dec);
  cuda::CudaBackend be(t, gemm(), nullptr);
  be.bind(b);
  be.set_attention(rows, pos.as<int32_t>(), T);
  DeviceBuffer q = up(f32_of(o, "q", T * qw), DType::F32);
  DeviceBuffer kv = cross ? up(f32_of(o, "kv", Te * 2 * HD), DType::F32) : DeviceBuffer();
  DeviceBuffer bias = cross ? DeviceBuffer() : up(f32_of(o, "bias", NB * H), DType::F32);
  DeviceBuffer dout = up(f32_of(o, "dout", T * HD), DType::F32);
  DeviceBuffer out = poisoned(T * HD, t), lse = poisoned(T * H, DType::F32), dq = poisoned(T * qw, DType::F32);
  DeviceBuffer dkv = cross ? poisoned(Te * 2 * HD, DType::F32) : DeviceBuffer(), dbias = zeros(cross ? 0 : NB * H);
  AttentionSpec spec;
  spec.causal = part == "decoder";
  spec.scale = 1.0f;
  if (cross) {
    spec.kv = kv.as<float>();
    spec.kv_rows = &p.enc;
    spec.dkv = dkv.as<float>();
  } else {
    spec.bias = bias.as<float>();
    spec.bias_buckets = NB;
    spec.bias_max_distance = cfg.rel_max_distance;
    spec.dbias = dbias.as<float>();
  }
  be.attention_forward(out.get(), lse.as<float>(), q.as<float>(), H, H, D, spec);
  be.attention_backward(dq.as<float>(), dout.as<float>(), out.get(), q.as<float>(), lse.as<float>(), H, H, D, spec);
  Napi::Object r = Napi::Object::New(env);
  r.Set("out", down(env, out, T * HD, t));
  r.Set("lse", down(env, lse, T * H, DType::F32));
  r.Set("dq", down(env, dq, T * qw, DType::F32));
  if (cross) r.Set("dkv", down(env, dkv, Te * 2 * HD, DType::F32));
  else r.Set("dbias", down(env, dbias, NB * H, DType::F32));
  return r;
  END
}

}  // namespace

void register_cuda_t5_exports(Napi::Env env, Napi::Object ops) {
  ops.Set("relu", Napi::Function::New(env, Relu));
  ops.Set("geglu", Napi::Function::New(env, Geglu));
  ops.Set("reluBackward", Napi::Function::New(env, ReluBackward));
  ops.Set("gegluBackward", Napi::Function::New(env, GegluBackward));
  ops.Set("t5Attention", Napi::Function::New(env, T5Attention));
}

}  // namespace glam::napi
