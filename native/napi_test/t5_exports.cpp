// T5 hooks of the CPU test addon (lib/native/test-hooks.ts T5Hooks): what the Policy API does not
// return but the T5 tests check against transformers.
//   t5.buckets(rels Int32Array, bidirectional, numBuckets, maxDistance) -> Int32Array
//       ops/relative_buckets.h for each relative position (transformers' tables in expected.json)
//   t5.encode(config, tensors, ids Int32Array) -> Float32Array (P, C)
//       the encoder's final-normed output for one prompt (model/t5_model.h), on the CPU backend
#include <napi.h>

#include <memory>

#include "model/t5_cpu.h"
#include "napi/coded_error.h"
#include "napi/convert.h"
#include "napi/tensor_args.h"
#include "ops/relative_buckets.h"

namespace glam::napi {
namespace {

Napi::Value Buckets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  if (info.Length() < 4 || !info[0].IsTypedArray()) fail("InvalidArgument", "buckets(rels, bidirectional, numBuckets, maxDistance)");
  auto rels = info[0].As<Napi::Int32Array>();
  const bool bidir = info[1].ToBoolean().Value();
  const int64_t nb = int64_t(info[2].ToNumber().DoubleValue()), md = int64_t(info[3].ToNumber().DoubleValue());
  GLAM_CHECK(nb >= 4 && md > nb / 4, "InvalidArgument", "numBuckets >= 4 and maxDistance beyond the exact buckets");
  std::vector<int32_t> out(rels.ElementLength());
  for (size_t i = 0; i < out.size(); ++i) out[i] = relative_bucket(rels[i], bidir, nb, md);
  return to_typed<int32_t, Napi::Int32Array>(env, out);
  GLAM_NAPI_CATCH(env)
}

Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  const ModelConfig cfg = model_config(obj_arg(info, 0, "config"));
  GLAM_CHECK(cfg.family == Family::T5, "InvalidArgument", "encode() takes a T5 config");
  std::vector<Napi::Reference<Napi::Uint8Array>> keep;
  const auto raw = raw_tensors(obj_arg(info, 1, "tensors"), keep);
  if (info.Length() < 3 || !info[2].IsTypedArray()) fail("InvalidArgument", "encode(config, tensors, ids)");
  auto ids = info[2].As<Napi::Int32Array>();
  const int64_t P = int64_t(ids.ElementLength());
  GLAM_CHECK(P > 0, "EmptyPrompt", "encode() needs at least one token");
  std::vector<int32_t> tok(ids.Data(), ids.Data() + P), pos(static_cast<size_t>(P));
  for (int64_t i = 0; i < P; ++i) {
    GLAM_CHECK(tok[size_t(i)] >= 0 && tok[size_t(i)] < cfg.vocab, "TokenOutOfRange", "token id outside the vocabulary");
    pos[size_t(i)] = int32_t(i);
  }
  auto m = std::make_unique<T5Cpu>(cfg, load_t5_weights(cfg, raw), 1);
  AttentionRows rows;
  rows.groups.push_back({0, P, {}, {}});
  std::vector<float> out(size_t(P * cfg.hidden));
  m->rt.model.encode(t5_params(m->w), out.data(), tok.data(), pos.data(), P, rows);
  return to_typed<float, Napi::Float32Array>(env, out);
  GLAM_NAPI_CATCH(env)
}

}  // namespace

void register_t5_exports(Napi::Env env, Napi::Object exports) {
  Napi::Object t5 = Napi::Object::New(env);
  t5.Set("buckets", Napi::Function::New(env, Buckets));
  t5.Set("encode", Napi::Function::New(env, Encode));
  exports.Set("t5", t5);
}

}  // namespace glam::napi
