// The CPU engine's pass over a BatchPlan (model/batch_plan.h): the decoder (model/decoder.h) and the
// heads (model/heads.h) on the CPU backend, every candidate's log-probability (the sum of its
// tokens' log-softmax given its prompt) and every prompt's value.
//  - fused (plan_batch): each prompt's rows run once; candidates attend to the prompt's keys/values in
//    place; the LM head runs only on scored rows, fused with log-softmax and the target gather.
//  - naive (plan_naive): each prompt+candidate as one full causal sequence, with the reference
//    kernels (row-by-row attention, a materialised log-softmax in double): the oracle for tests and
//    the baseline for the benchmark.
// Legend: B prompts, N candidates, C hidden, T packed rows.
#pragma once
#include "model/batch_plan.h"
#include "model/heads.h"
#include "model/transformer.h"

namespace glam {

// What a training forward keeps for its backward (one per forward; single use).
struct TrainHandle {
  BatchPlan plan;
  DecoderCache fc;
  HeadCache hc;
  size_t bytes() const;
};

// p: the decoder's params (with adapters when training); keep: when given, the pass records what
// train_backward needs (the plan moves into it). top_n > 0: also each target's top n alternatives
// (model/prompt_logprobs.h).
ScoreResult score_plan(Transformer& model, const DecoderParams& p, const ValueHeadParams& vh, BatchPlan plan,
                       bool want_hidden, TrainHandle* keep = nullptr, int64_t top_n = 0);

// Gradients of L = sum_k dl[k] * logprob_k + sum_b dv[b] * value_b accumulate into p's and vh's
// gradient pointers (null: frozen). Consumes the handle's cache.
void train_backward(Transformer& model, const DecoderParams& p, const ValueHeadParams& vh, TrainHandle& h,
                    const float* dl, const float* dv);

}  // namespace glam
