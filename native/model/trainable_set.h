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

// Adds the LoRA adapters opts asks for to w (A ~ U(-1/sqrt(in), 1/sqrt(in)) from opts.seed, B = 0);
// nothing when !opts.lora. InvalidArgument on a bad rank / alpha or when no target matches.
void add_lora_adapters(const ModelConfig& cfg, Weights& w, const TrainOptions& opts);

// One flag per param_list entry, given each entry's element count n (param_list order, base tensors
// first): true when it trains (empty tensors never do).
std::vector<bool> trainable_mask(const ModelConfig& cfg, const std::vector<int64_t>& n, size_t base,
                                 const TrainOptions& opts);

}  // namespace glam
