// The family table; see family.h. Llama covers Llama, Qwen2 and Mistral blocks (biases per config).
#include "model/family.h"

#include "common/error.h"

namespace glam {

int64_t dim(const ModelConfig& c, Dim d) {
  switch (d) {
    case Dim::C: return c.hidden;
    case Dim::I: return c.inter;
    case Dim::HD: return c.heads * c.head_dim;
    case Dim::KvD: return c.kv_heads * c.head_dim;
    case Dim::C3: return 3 * c.hidden;
  }
  return 0;
}

const FamilySpec& family_spec(Family f) {
  static const FamilySpec llama{
      "llama", NormKind::Rms, false, PosKind::Rope, true,
      "model.embed_tokens.weight", "", "model.norm", "lm_head.weight", "model.layers.",
      "input_layernorm", "post_attention_layernorm",
      {{LinearRole::Qkv, Dim::C, {{"self_attn.q_proj", Dim::HD}, {"self_attn.k_proj", Dim::KvD}, {"self_attn.v_proj", Dim::KvD}}, false},
       {LinearRole::O, Dim::HD, {{"self_attn.o_proj", Dim::C}}, false},
       {LinearRole::Up, Dim::C, {{"mlp.gate_proj", Dim::I}, {"mlp.up_proj", Dim::I}}, false},
       {LinearRole::Down, Dim::I, {{"mlp.down_proj", Dim::C}}, false}},
      "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"};
  static const FamilySpec gpt2{
      "gpt2", NormKind::Layer, true, PosKind::Learned, false,
      "transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f", "lm_head.weight", "transformer.h.",
      "ln_1", "ln_2",
      {{LinearRole::Qkv, Dim::C, {{"attn.c_attn", Dim::C3}}, true},
       {LinearRole::O, Dim::C, {{"attn.c_proj", Dim::C}}, true},
       {LinearRole::Up, Dim::C, {{"mlp.c_fc", Dim::I}}, true},
       {LinearRole::Down, Dim::I, {{"mlp.c_proj", Dim::C}}, true}},
      "c_attn, c_proj, c_fc"};
  return f == Family::Llama ? llama : gpt2;
}

ActKind mlp_act(const ModelConfig& cfg) {
  if (family_spec(cfg.family).gated_mlp) return ActKind::SwiGlu;
  return cfg.act == Act::Gelu ? ActKind::GeluErf : ActKind::GeluTanh;
}

bool linear_has_bias(const ModelConfig& cfg, LinearRole r) {
  switch (r) {
    case LinearRole::Qkv: return cfg.qkv_bias;
    case LinearRole::O: return cfg.o_bias;
    case LinearRole::Up:
    case LinearRole::Down: return cfg.mlp_bias;
  }
  return false;
}

std::string layer_prefix(const FamilySpec& f, int64_t l) { return f.layer_prefix + std::to_string(l) + "."; }

}  // namespace glam
