// The family table as a JS object; see family_table.h.
#include "napi/family_table.h"

#include "model/family.h"

namespace glam::napi {

namespace {

const char* dim_name(Dim d) {
  switch (d) {
    case Dim::C: return "C";
    case Dim::I: return "I";
    case Dim::HD: return "HD";
    case Dim::KvD: return "KvD";
    case Dim::C3: return "C3";
  }
  return "";
}

const char* role_name(LinearRole r) {
  switch (r) {
    case LinearRole::Qkv: return "qkv";
    case LinearRole::O: return "o";
    case LinearRole::Up: return "up";
    case LinearRole::Down: return "down";
  }
  return "";
}

Napi::Object family_object(Napi::Env env, const FamilySpec& f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("norm", f.norm == NormKind::Rms ? "rms" : "layer");
  o.Set("normBias", f.norm_bias);
  o.Set("pos", f.pos == PosKind::Rope ? "rope" : "learned");
  o.Set("gatedMlp", f.gated_mlp);
  o.Set("embed", f.embed);
  o.Set("posEmbed", f.pos_embed);
  o.Set("finalNorm", f.final_norm);
  o.Set("lmHead", f.lm_head);
  o.Set("layerPrefix", f.layer_prefix);
  o.Set("norm1", f.norm1);
  o.Set("norm2", f.norm2);
  Napi::Array lin = Napi::Array::New(env, f.linears.size());
  for (size_t i = 0; i < f.linears.size(); ++i) {
    const LinearSpec& s = f.linears[i];
    Napi::Object l = Napi::Object::New(env);
    l.Set("role", role_name(s.role));
    l.Set("in", dim_name(s.in));
    l.Set("conv1d", s.conv1d);
    Napi::Array parts = Napi::Array::New(env, s.parts.size());
    for (size_t j = 0; j < s.parts.size(); ++j) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("module", s.parts[j].module);
      p.Set("rows", dim_name(s.parts[j].rows));
      parts.Set(uint32_t(j), p);
    }
    l.Set("parts", parts);
    lin.Set(uint32_t(i), l);
  }
  o.Set("linears", lin);
  return o;
}

}  // namespace

Napi::Value FamilyTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object t = Napi::Object::New(env);
  for (Family f : kFamilies) t.Set(family_spec(f).name, family_object(env, family_spec(f)));
  return t;
}

}  // namespace glam::napi
