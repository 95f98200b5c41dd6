// JS <-> C++ conversions shared by the CPU and CUDA addons' model wrappers: the tensor set handed to
// loadModel (safetensors views), GLAM's value head, the packed batch and score options of score /
// forwardTrain, and the score result object.
// Subtle: raw_tensors keeps a persistent reference to every tensor's Uint8Array (in `keep`) because
// the load worker reads their bytes on a worker thread; release the references on the JS thread.
#pragma once
#include <napi.h>

#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/batch_plan.h"  // ScoreResult
#include "model/prompt_logprobs.h"  // kMaxTopN
#include "model/packed_batch.h"
#include "model/value_head.h"
#include "model/weights.h"
#include "napi/convert.h"

namespace glam::napi {

inline std::map<std::string, RawTensor> raw_tensors(const Napi::Object& tensors,
                                                    std::vector<Napi::Reference<Napi::Uint8Array>>& keep) {
  std::map<std::string, RawTensor> raw;
  Napi::Array names = tensors.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = tensors.Get(name);
    if (!v.IsObject()) fail("InvalidArgument", "tensor '" + name + "' must be an object");
    Napi::Object t = v.As<Napi::Object>();
    RawTensor r;
    r.dtype = str(t, "dtype");
    Napi::Value shape = t.Get("shape");
    if (!shape.IsArray()) fail("InvalidArgument", "tensor '" + name + "' needs a shape array");
    Napi::Array sa = shape.As<Napi::Array>();
    for (uint32_t j = 0; j < sa.Length(); ++j) {
      Napi::Value d = sa.Get(j);
      if (!d.IsNumber()) fail("InvalidArgument", "tensor '" + name + "' has a non-numeric dimension");
      r.shape.push_back(int64_t(d.As<Napi::Number>().DoubleValue()));
    }
    Napi::Value data = t.Get("data");
    if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      fail("InvalidArgument", "tensor '" + name + "' data must be a Uint8Array");
    auto u8 = data.As<Napi::Uint8Array>();
    keep.push_back(Napi::Persistent(u8));
    r.data = u8.Data();
    r.nbytes = u8.ByteLength();
    raw[name] = r;
  }
  return raw;
}

// { sizes, weights, biases } -> ValueHead, checked against the model's hidden size C.
inline ValueHead value_head_arg(const Napi::Object& o, int64_t C) {
  Napi::Value sv = o.Get("sizes"), wv = o.Get("weights"), bv = o.Get("biases");
  if (!sv.IsArray() || !wv.IsArray() || !bv.IsArray())
    fail("InvalidArgument", "value head needs sizes, weights and biases arrays");
  Napi::Array sa = sv.As<Napi::Array>(), wa = wv.As<Napi::Array>(), ba = bv.As<Napi::Array>();
  ValueHead h;
  for (uint32_t i = 0; i < sa.Length(); ++i) {
    Napi::Value v = sa.Get(i);
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    GLAM_CHECK(d >= 1 && d <= (1 << 24) && d == double(int64_t(d)), "InvalidArgument",
               "value head sizes must be positive integers (at most 2^24)");
    h.sizes.push_back(int64_t(d));
  }
  GLAM_CHECK(h.sizes.size() >= 2 && wa.Length() == h.sizes.size() - 1 && ba.Length() == wa.Length(), "InvalidArgument",
             "value head: sizes must have one more entry than weights and biases");
  GLAM_CHECK(h.sizes[0] == C && h.sizes.back() == 1, "InvalidArgument",
             "value head sizes must start at the model's hidden size (" + std::to_string(C) +
                 ") and end with 1; create it with createValueHead(hiddenSize)");
  for (uint32_t i = 0; i < wa.Length(); ++i) {
    h.weight.push_back(f32(wa.Get(i), "value head weight"));
    h.bias.push_back(f32(ba.Get(i), "value head bias"));
    GLAM_CHECK(int64_t(h.weight.back().size()) == h.sizes[i] * h.sizes[i + 1] &&
                   int64_t(h.bias.back().size()) == h.sizes[i + 1],
               "InvalidArgument", "value head layer " + std::to_string(i) + " has the wrong size");
  }
  return h;
}

// A packed batch's layout { promptStart, promptLen, candStart, candLen, candPrompt }, tokens left
// empty (the kernel test hooks take the layout alone).
inline PackedBatch layout_arg(const Napi::Object& bo) {
  PackedBatch b;
  b.prompt_start = i32(bo, "promptStart");
  b.prompt_len = i32(bo, "promptLen");
  b.cand_start = i32(bo, "candStart");
  b.cand_len = i32(bo, "candLen");
  b.cand_prompt = i32(bo, "candPrompt");
  return b;
}

// The packed batch of a JS batch object { tokens, promptStart, promptLen, candStart, candLen, candPrompt }.
inline PackedBatch batch_arg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Object bo = obj_arg(info, i, "batch");
  PackedBatch b = layout_arg(bo);
  b.tokens = i32(bo, "tokens");
  return b;
}

// score's options argument { mode?: 'fused' | 'naive', hidden?: boolean } (absent: fused, no hidden).
struct ScoreOptions {
  bool naive = false;
  bool hidden = false;
  int64_t top_n = 0;  // > 0: each target token's top n alternatives (fused only)
};
inline ScoreOptions score_options(const Napi::CallbackInfo& info, size_t i) {
  ScoreOptions s;
  if (info.Length() <= i || !info[i].IsObject()) return s;
  Napi::Object o = info[i].As<Napi::Object>();
  Napi::Value m = o.Get("mode");
  if (m.IsString()) {
    const std::string mode = m.As<Napi::String>().Utf8Value();
    if (mode != "fused" && mode != "naive") fail("InvalidArgument", "mode must be 'fused' or 'naive'");
    s.naive = mode == "naive";
  }
  s.hidden = flag(o, "hidden", false);
  const double n = num(o, "topN", 0);
  if (!(n >= 0 && n <= double(kMaxTopN)) || n != double(int64_t(n)))
    fail("InvalidArgument", "topN must be an integer from 0 to " + std::to_string(kMaxTopN));
  s.top_n = int64_t(n);
  if (s.top_n > 0 && s.naive) fail("InvalidArgument", "topN is computed by the fused pass only; use mode 'fused'");
  return s;
}

// { logprobs, tokenLogprobs, values[, hidden] } as Float32Arrays, from a score result (either engine).
inline Napi::Object score_object(Napi::Env env, const ScoreResult& r, bool hidden) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("logprobs", to_typed<float, Napi::Float32Array>(env, r.logprobs));
  o.Set("tokenLogprobs", to_typed<float, Napi::Float32Array>(env, r.token_logprobs));
  o.Set("values", to_typed<float, Napi::Float32Array>(env, r.values));
  if (hidden) o.Set("hidden", to_typed<float, Napi::Float32Array>(env, r.hidden));
  if (r.top_n > 0) {
    o.Set("topIds", to_typed<int32_t, Napi::Int32Array>(env, r.top_ids));
    o.Set("topLogprobs", to_typed<float, Napi::Float32Array>(env, r.top_logprobs));
  }
  return o;
}

}  // namespace glam::napi
