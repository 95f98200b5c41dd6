// The trainable set of a model, decided once for both engines: which of param_list(w)'s tensors
// train under the training options (full fine-tuning minus frozen embeddings / LM head, or LoRA
// adapters only), and the LoRA adapters themselves with PEFT's initialisation from a seed.
// Read by TrainState (model/train_state.h) for both backends, so the two engines train exactly the
// same tensors from exactly the same adapter values.
// Legend: C hidden, H heads, Hkv kv heads, D head size, I MLP width, r LoRA rank.
// Subtle: with a tied LM head (cfg.tie) the head IS the embedding, so freezing either freezes it;
// adapters sit on the FUSED matrices (q|k|v, gate|up) at a row offset (out_off) of the fused output.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/weights.h"

namespace glam {

struct TrainOptions {
  bool lora = false;
  int64_t rank = 8;
  double alpha = 16;
  std::vector<std::string> targets;  // module names (q_proj, ..., c_attn, c_proj, c_fc); empty: all
  bool freeze_embeddings = false, freeze_lm_head = false;
  uint64_t seed = 0;  // LoRA A initialisation
};

// Every architecture's adapters are made here (the T5 ones too: model/t5_training.cpp), in one
// seeded sequence: lora_seed(opts) starts it, each make_lora_adapter call draws its A from it.
// InvalidArgument on a bad rank / alpha.
uint64_t lora_seed(const TrainOptions& opts);
// An adapter on rows [out_off, out_off + out_n) of a fused linear with in_n inputs, under the PEFT
// module name `module`: A ~ U(-1/sqrt(in_n), 1/sqrt(in_n)) drawn from s, B = 0, scale alpha / rank.
LoraAdapter make_lora_adapter(std::string module, int64_t out_off, int64_t out_n, int64_t in_n, const TrainOptions& opts,
                              uint64_t& s);

// Adds the LoRA adapters opts asks for to w (A ~ U(-1/sqrt(in), 1/sqrt(in)) from opts.seed, B = 0);
// nothing when !opts.lora. InvalidArgument on a bad rank / alpha or when no target matches.
void add_lora_adapters(const ModelConfig& cfg, Weights& w, const TrainOptions& opts);

// One flag per param_list entry, given each entry's element count n (param_list order, base tensors
// first): true when it trains (empty tensors never do).
std::vector<bool> trainable_mask(const ModelConfig& cfg, const std::vector<int64_t>& n, size_t base,
                                 const TrainOptions& opts);

}  // namespace glam
