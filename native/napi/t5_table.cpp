// T5's tensor-name table as a JS object; see t5_table.h.
#include "napi/t5_table.h"

#include "model/t5_weights.h"

namespace glam::napi {

namespace {

const char* dim_name(T5Dim d) {
  switch (d) {
    case T5Dim::None: return "";
    case T5Dim::V: return "V";
    case T5Dim::C: return "C";
    case T5Dim::HD: return "HD";
    case T5Dim::I: return "I";
    case T5Dim::NB: return "NB";
    case T5Dim::H: return "H";
  }
  return "";
}

const char* ff_name(T5Ff f) { return f == T5Ff::Gated ? "gated" : f == T5Ff::Relu ? "relu" : "any"; }

Napi::Object stack_object(Napi::Env env, const T5Stack& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("prefix", s.prefix);
  o.Set("finalNorm", s.final_norm);
  Napi::Array parts = Napi::Array::New(env, s.parts.size());
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const T5Part& p = s.parts[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("name", p.name);
    x.Set("rows", dim_name(p.rows));
    x.Set("cols", p.cols == T5Dim::None ? env.Null() : Napi::String::New(env, dim_name(p.cols)));
    x.Set("ff", ff_name(p.ff));
    parts.Set(uint32_t(i), x);
  }
  o.Set("parts", parts);
  return o;
}

}  // namespace

Napi::Value T5Table(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const T5Layout& t = t5_layout();
  Napi::Object o = Napi::Object::New(env);
  o.Set("embed", t.embed);
  o.Set("embedAlias", t.embed_alias);
  o.Set("lmHead", t.lm_head);
  o.Set("relBias", t.rel_bias);
  o.Set("encoder", stack_object(env, t.enc));
  o.Set("decoder", stack_object(env, t.dec));
  return o;
}

}  // namespace glam::napi
