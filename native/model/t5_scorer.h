// T5 scoring on the CPU: every candidate's log-probability (the sum of its tokens' log-softmax given
// its prompt) and every prompt's value, over a PackedBatch whose prompts are the encoder inputs and
// whose candidates are the decoder targets.
//  - fused: the encoder runs once per prompt; the decoder plan (model/batch_plan.h) is the same
//    batch with each prompt replaced by the one token [decoder_start]: that row is the shared
//    prefix every candidate's causal self-attention sees (identical in every candidate: computed
//    once), it predicts each candidate's first token, and it carries the value (Lamorel's
//    decoder_hidden_states[-1][:, 0]); decoder group b cross-attends to encoder group b in place;
//    the LM head runs only on scored rows, fused with log-softmax.
//  - naive (the oracle): every candidate gets its own copy of its prompt's encoder pass and its own
//    decoder sequence [decoder_start] + tokens (the decoder's naive plan, whose LM head the CPU
//    backend runs as a materialised log-softmax in double).
// After the decoder stack everything is the decoder-only models' code (model/heads.h): final norm,
// fused LM head, value head, their backward and the result's assembly.
// Subtle: with ModelConfig::scale_head (T5 v1.0's tied head) the decoder's final-normed rows are
// multiplied by C^-0.5 before the head (HeadParams::scale); the value head reads them unscaled.
// Legend: B prompts, N candidates, Te encoder rows, Td decoder rows, C d_model, R scored rows.
#pragma once
#include <cstdint>
#include <vector>

#include "model/batch_plan.h"
#include "model/heads.h"
#include "model/packed_batch.h"
#include "model/t5_model.h"
#include "ops/cpu/cpu_backend.h"

namespace glam {

// A loaded T5 on the CPU: config, host weights, the CPU backend and the model code over it.
struct T5Cpu {
  T5Cpu(ModelConfig c, T5Weights weights, int threads)
      : cfg(std::move(c)), w(std::move(weights)), be(threads), model(cfg, be), heads(cfg, be, NormKind::Rms) {}
  ModelConfig cfg;
  T5Weights w;
  cpu::CpuBackend be;
  T5Model model;
  Heads heads;
};
// What the heads read of a T5: the decoder's final norm, the LM head and T5 v1.0's rescale.
HeadParams t5_head_params(const ModelConfig& cfg, const T5Params& p);

// The rows of a T5 batch: the encoder's (one group per prompt, or per candidate when naive) and
// the decoder's BatchPlan.
struct T5Plan {
  AttentionRows enc;
  std::vector<int32_t> enc_ids, enc_pos;  // (Te)
  int64_t Te = 0;
  BatchPlan dec;
};
// Validates the batch (GlamError on malformed input) and plans it.
T5Plan plan_t5(const ModelConfig& cfg, const PackedBatch& batch, bool naive);

// What a training forward keeps for its backward (single use).
struct T5TrainHandle {
  T5Plan plan;
  T5Cache cache;
  std::vector<float> enc_out;  // (Te, C)
  HeadCache hc;                // the decoder stream (Td, C) and the heads' activations
  int64_t B = 0, N = 0;
  size_t bytes() const;
};

// p: the weights (t5_params, gradients unused); vh: the value head (empty: values are zeros).
// top_n > 0 (fused only): each target token's top_n alternatives over the vocabulary
// (model/prompt_logprobs.h), read from the LM head's input rows (already scaled for v1.0's head);
// a candidate's first token's are the decoder's first step ([decoder_start] given the prompt).
ScoreResult score_t5(T5Cpu& m, const T5Params& p, const ValueHeadParams& vh, const PackedBatch& batch, bool naive,
                     bool want_hidden, T5TrainHandle* keep = nullptr, int64_t top_n = 0);
// Gradients of L = sum_k dl[k] logprob_k + sum_b dv[b] value_b into p's and vh's gradients (+=).
void t5_train_backward(T5Cpu& m, const T5Params& p, const ValueHeadParams& vh, T5TrainHandle& h, const float* dl,
                       const float* dv);

}  // namespace glam
