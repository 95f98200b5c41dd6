// T5 scoring on any backend (the CPU engine, the CUDA engine: T5Runtime): every candidate's log-probability (the sum of its tokens' log-softmax given
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
// The results come back to the host through Backend::to_host (lse, target logits, values, hidden).
// Legend: B prompts, N candidates, Te encoder rows, Td decoder rows, C d_model, R scored rows.
#pragma once
#include <cstdint>
#include <vector>

#include "model/batch_plan.h"
#include "model/heads.h"
#include "model/packed_batch.h"
#include "model/t5_model.h"

namespace glam {

// The rows of a T5 batch (defined below) in backend memory for one pass.
struct T5Plan;
struct T5Meta {
  const int32_t *enc_ids = nullptr, *enc_pos = nullptr;  // (Te)
  const int32_t *dec_ids = nullptr, *dec_pos = nullptr;  // (Td)
  PlanRows rows;                                         // the decoder plan's scored rows and targets
};

// What T5's scoring and training run on, whatever the backend: the config, the backend, the model
// code and heads over it, and where a pass's metadata lives (place). The CPU engine uses it as is
// (host memory is the CPU backend's); the CUDA engine (cuda/cuda_t5_engine.h) overrides place to
// upload the metadata and bind the attention lists.
class T5Runtime {
 public:
  T5Runtime(const ModelConfig& c, Backend& b) : cfg(c), be(b), model(c, b), heads(c, b, NormKind::Rms) {}
  virtual ~T5Runtime() = default;
  // plan's ids, positions and row lists in backend memory, its attention rows bound for the pass;
  // store: backend memory the pass keeps while it lives (unused here). Called again before a
  // backward (the plan has moved into the pass since). Default: the plan's own host vectors.
  virtual T5Meta place(const T5Plan& plan, std::unique_ptr<Buffer>& store);
  const ModelConfig& cfg;
  Backend& be;
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
  std::unique_ptr<Buffer> enc_out;  // (Te, C) compute type
  std::unique_ptr<Buffer> meta;     // T5Runtime::place's store
  HeadCache hc;                     // the decoder stream (Td, C) and the heads' activations
  int64_t B = 0, N = 0;
  size_t bytes() const;
};

// p: the weights (t5_params, gradients unused); vh: the value head (empty: values are zeros).
// top_n > 0 (fused only): each target token's top_n alternatives over the vocabulary
// (model/prompt_logprobs.h), read from the LM head's input rows (already scaled for v1.0's head);
// a candidate's first token's are the decoder's first step ([decoder_start] given the prompt).
ScoreResult score_t5(T5Runtime& m, const T5Params& p, const ValueHeadParams& vh, const PackedBatch& batch, bool naive,
                     bool want_hidden, T5TrainHandle* keep = nullptr, int64_t top_n = 0);
// Gradients of L = sum_k dl[k] logprob_k + sum_b dv[b] value_b into p's and vh's gradients (+=).
void t5_train_backward(T5Runtime& m, const T5Params& p, const ValueHeadParams& vh, T5TrainHandle& h, const float* dl,
                       const float* dv);

}  // namespace glam
