// The CPU engine's scoring passes over a BatchPlan (model/batch_plan.h): every candidate's
// log-probability (the sum of its tokens' log-softmax given its prompt) and every prompt's value.
//  - fused: each prompt's rows run once; candidates attend to the prompt's keys/values in place;
//    the LM head runs only on scored rows, fused with log-softmax and the target gather.
//  - naive (plan_naive): each prompt+candidate as one full causal sequence with a materialised
//    log-softmax in double: the oracle for tests and the baseline for the benchmark.
// Legend: B prompts, N candidates, A_k tokens of candidate k, C hidden, R scored rows.
#pragma once
#include <vector>

#include "model/batch_plan.h"
#include "model/packed_batch.h"
#include "model/transformer.h"
#include "model/value_head.h"

namespace glam {

// What a training forward keeps for its backward (one per forward; single use).
struct TrainHandle {
  BatchPlan plan;
  DecoderCache fc;
  std::vector<float> x;                   // (T, C) stream after the last block
  std::vector<float> hn, lse;             // (R, C) final-norm rows, (R) their log-sum-exp
  std::vector<std::vector<float>> vacts;  // value head layer inputs
  int64_t B = 0, N = 0;                   // prompts and candidates of the batch
  size_t bytes() const;
};

// keep: when given, the pass records what train_backward needs. top_n > 0: also each target's top
// n alternatives (model/prompt_logprobs.h).
ScoreResult score_fused(Transformer& model, const ValueHead& head, const PackedBatch& batch, bool want_hidden,
                        TrainHandle* keep = nullptr, int64_t top_n = 0);
ScoreResult score_naive(Transformer& model, const ValueHead& head, const PackedBatch& batch, bool want_hidden);

// Gradients of L = sum_k dlogprobs[k] * logprob_k + sum_b dvalues[b] * value_b, accumulated into g
// (model; empty vectors frozen) and vg (value head). Consumes the handle's cache.
void train_backward(Transformer& model, const ValueHead& head, Weights& g, ValueHead& vg, TrainHandle& h,
                    const float* dlogprobs, const float* dvalues);

}  // namespace glam
