// FamilySpec: an architecture family as data — which ops its block calls (norm, activation,
// positions) and its Hugging Face tensor names — so the model layer (model/decoder.cpp), weight
// loading and export (model/weights.cpp), the LoRA targets (model/trainable_set.cpp) and, through the
// addon's familyTable() (native/napi/family_table.h), TypeScript's tensor inventory (lib/io/weights.ts)
// read one table instead of branching on the family. Adding a decoder-only family = one entry in
// family.cpp (and in kFamilies).
// Legend: C hidden, H heads, Hkv kv heads, D head size, I MLP width, V vocab.
// Subtle: a fused matrix (q|k|v, gate|up) lists its Hugging Face modules in row order; each module's
// weight is `<module>.weight`, its bias `<module>.bias`, and it is also the LoRA target (the short
// name is the module's last component). Conv1D families store [in, out]: transposed at load/export.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/model_config.h"

namespace glam {

enum class PosKind { Rope, Learned };
// A size of the config that shapes a tensor (resolved by dim()).
enum class Dim { C, I, HD, KvD, C3 };
int64_t dim(const ModelConfig& cfg, Dim d);

// The four linears of a block, in LayerWeights' order.
enum class LinearRole { Qkv, O, Up, Down };
constexpr int kLinearRoles = 4;

struct ModulePart {
  const char* module;  // relative to the layer prefix, e.g. "self_attn.q_proj"
  Dim rows;            // output rows of this part in the fused matrix
};

struct LinearSpec {
  LinearRole role;
  Dim in;
  std::vector<ModulePart> parts;  // row order of the fused output
  bool conv1d;                    // stored [in, out] (GPT-2)
};

struct FamilySpec {
  const char* name;  // "llama" | "gpt2"
  NormKind norm;
  bool norm_bias;    // LayerNorm carries a bias
  PosKind pos;
  bool gated_mlp;    // up = gate|up (2I) and the activation is gated (SwiGLU)
  std::string embed, pos_embed, final_norm, lm_head, layer_prefix;  // layer_prefix + "<l>." + module
  std::string norm1, norm2;        // norm modules (".weight"; ".bias" when norm_bias)
  std::vector<LinearSpec> linears;  // one per LinearRole, in order
  std::string lora_hint;            // the target names, for the "no target matched" message
};

const FamilySpec& family_spec(Family f);
// Every family (the table's entries; native/napi/family_table.cpp exports them to TypeScript).
constexpr Family kFamilies[] = {Family::Llama, Family::Gpt2};
// The block's MLP activation: SwiGLU for gated families, GELU (tanh / erf) per the config otherwise.
ActKind mlp_act(const ModelConfig& cfg);
// Rows of the fused up projection: 2I when gated, I otherwise.
inline int64_t up_rows(const ModelConfig& cfg) { return family_spec(cfg.family).gated_mlp ? 2 * cfg.inter : cfg.inter; }
// Whether a linear of this role carries a bias under cfg.
bool linear_has_bias(const ModelConfig& cfg, LinearRole r);
// "model.layers.3." / "transformer.h.3."
std::string layer_prefix(const FamilySpec& f, int64_t l);

}  // namespace glam
