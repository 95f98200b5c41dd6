// JS -> C++ conversions for the addon's entry points, with coded errors on bad shapes.
// Subtle: typed arrays are COPIED into plain vectors on the JS thread (a baton), so the worker
// thread never touches JS memory that the GC could move or free.
#pragma once
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/family.h"
#include "model/model_config.h"

namespace glam::napi {

inline Napi::Object obj_arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsObject()) fail("InvalidArgument", std::string(what) + " must be an object");
  return info[i].As<Napi::Object>();
}

inline double num(const Napi::Object& o, const char* key, double def, bool required = false) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) fail("InvalidArgument", std::string("missing number '") + key + "'");
    return def;
  }
  if (!v.IsNumber()) fail("InvalidArgument", std::string("'") + key + "' must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) fail("InvalidArgument", std::string("'") + key + "' must be a finite number");
  return d;
}

inline bool flag(const Napi::Object& o, const char* key, bool def) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : def;
}

inline std::string str(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) fail("InvalidArgument", std::string("'") + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

inline std::vector<int32_t> i32(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    fail("BatchInvalid", std::string("'") + key + "' must be an Int32Array");
  auto a = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

inline std::vector<float> f32(const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    fail("InvalidArgument", what + " must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}

template <typename T, typename A>
inline A to_typed(Napi::Env env, const std::vector<T>& v) {
  A a = A::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

// The ModelConfig interface of lib/io/model-config.ts.
inline ModelConfig model_config(const Napi::Object& o) {
  ModelConfig c;
  c.architecture = str(o, "architecture");
  const std::string fam = str(o, "family");
  if (fam == "llama") c.family = Family::Llama;
  else if (fam == "gpt2") c.family = Family::Gpt2;
  else if (fam == "t5") c.family = Family::T5;
  else fail("UnsupportedArchitecture", "family '" + fam + "' is not supported (llama, gpt2, t5)");
  auto pos_int = [&](const char* k) {
    const double v = num(o, k, 0, true);
    if (!(v >= 1 && v < double(1 << 24)) || v != double(int64_t(v)))
      fail("ConfigInvalid", std::string(k) + " must be a positive integer below 2^24");
    return int64_t(v);
  };
  c.vocab = pos_int("vocabSize");
  c.hidden = pos_int("hiddenSize");
  c.inter = pos_int("intermediateSize");
  c.layers = pos_int("numLayers");
  c.heads = pos_int("numHeads");
  c.kv_heads = pos_int("numKvHeads");
  c.head_dim = pos_int("headDim");
  c.max_pos = pos_int("maxPositions");
  c.norm_eps = float(num(o, "normEps", 1e-5, true));
  c.rope_theta = num(o, "ropeTheta", 10000.0);
  Napi::Value rs = o.Get("ropeScaling");
  if (rs.IsObject()) {
    Napi::Object r = rs.As<Napi::Object>();
    c.rope_llama3 = true;
    c.rs_factor = num(r, "factor", 8, true);
    c.rs_low = num(r, "lowFreqFactor", 1, true);
    c.rs_high = num(r, "highFreqFactor", 4, true);
    const double orig = num(r, "originalMaxPositions", 8192, true);
    GLAM_CHECK(orig >= 1 && orig < 1e12, "ConfigInvalid", "rope_scaling original_max_position_embeddings must be >= 1");
    c.rs_orig = int64_t(orig);
  }
  c.qkv_bias = flag(o, "qkvBias", false);
  c.o_bias = flag(o, "oBias", false);
  c.mlp_bias = flag(o, "mlpBias", false);
  c.tie = flag(o, "tieWordEmbeddings", false);
  const std::string act = str(o, "hiddenAct");
  if (act == "silu") c.act = Act::Silu;
  else if (act == "gelu_tanh") c.act = Act::GeluTanh;
  else if (act == "gelu") c.act = Act::Gelu;
  else if (act == "relu" && c.family == Family::T5) c.act = Act::Relu;
  else fail("ConfigInvalid", "hidden activation '" + act + "' is not supported (silu, gelu_tanh, gelu; T5: relu)");
  const double sw = num(o, "slidingWindow", 0);
  c.sliding_window = sw >= 1 && sw < 1e12 ? int64_t(sw) : 0;
  GLAM_CHECK(c.rs_orig >= 1 && c.rs_factor > 0 && c.rs_high != c.rs_low, "ConfigInvalid",
             "rope_scaling needs original_max_position_embeddings >= 1, factor > 0 and high_freq_factor != low_freq_factor");
  constexpr int64_t kMaxElems = int64_t(1) << 40;  // per weight matrix: far beyond any model, and no int64 overflow
  for (int64_t n : {c.vocab * c.hidden, c.qkv_dim() * c.hidden, c.inter * c.hidden * 2, c.max_pos * c.hidden,
                    c.heads * c.head_dim * c.hidden})
    GLAM_CHECK(n <= kMaxElems, "ConfigInvalid", "the model's weight matrices are too large to load");
  GLAM_CHECK(c.heads % c.kv_heads == 0, "ConfigInvalid", "numHeads must be a multiple of numKvHeads");
  if (c.family == Family::T5) {  // lib/io/t5-config.ts: the encoder-decoder fields
    Napi::Value t5 = o.Get("t5");
    GLAM_CHECK(t5.IsObject(), "ConfigInvalid", "a T5 config needs its t5 fields");
    Napi::Object t = t5.As<Napi::Object>();
    c.dec_layers = int64_t(num(t, "numDecoderLayers", 0, true));
    c.rel_buckets = int64_t(num(t, "relativeAttentionNumBuckets", 0, true));
    c.rel_max_distance = int64_t(num(t, "relativeAttentionMaxDistance", 0, true));
    c.decoder_start = int32_t(num(t, "decoderStartTokenId", 0, true));
    c.gated = flag(t, "gatedAct", false);
    c.scale_head = flag(t, "scaleDecoderOutputs", false);
    GLAM_CHECK(c.dec_layers >= 1 && c.dec_layers < (1 << 20) && c.rel_buckets >= 4 && c.rel_buckets < (1 << 20) &&
                   c.rel_max_distance > c.rel_buckets / 2 && c.rel_max_distance < (1 << 24) && c.decoder_start >= 0 &&
                   c.decoder_start < c.vocab && c.heads == c.kv_heads && c.gated == (c.act == Act::GeluTanh) &&
                   (c.act == Act::GeluTanh || c.act == Act::Relu),
               "ConfigInvalid", "the T5 fields are inconsistent (layers, buckets, max distance, decoder start, activation)");
    return c;
  }
  GLAM_CHECK(family_spec(c.family).gated_mlp == (c.act == Act::Silu), "ConfigInvalid",
             "Llama-family models use silu; GPT-2 uses gelu_tanh or gelu");
  return c;
}

}  // namespace glam::napi
