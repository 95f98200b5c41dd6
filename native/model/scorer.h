// The scoring passes: every candidate's log-probability (the sum of its tokens' log-softmax given
// its prompt) and every prompt's value, for a PackedBatch.
//  - score_fused: each prompt's rows run once; candidates attend to the prompt's keys/values in
//    place; the LM head runs only on scored rows, fused with log-softmax and the target gather.
//    Scored rows: prompt b's last row predicts the first token of all K_b candidates (one row, K_b
//    targets); candidate row j predicts token j+1. R = B + sum_k (A_k - 1).
//  - score_naive: each prompt+candidate as one full causal sequence with a materialised
//    log-softmax: the oracle for tests and the baseline for the benchmark.
// Legend: B prompts, N candidates, A_k tokens of candidate k, C hidden, R scored rows.
#pragma once
#include <vector>

#include "model/packed_batch.h"
#include "model/transformer.h"
#include "model/value_head.h"

namespace glam {

struct ScoreResult {
  std::vector<float> logprobs;        // (N)
  std::vector<float> token_logprobs;  // (sum_k A_k), candidate after candidate
  std::vector<float> values;          // (B)
  std::vector<float> hidden;          // (B, C) final-norm hidden of each prompt's last token, when asked
};

// What a training forward keeps for its backward (one per forward; single use).
struct TrainHandle {
  ForwardCache fc;
  std::vector<float> x;                // (T, C) stream after the last block
  std::vector<int64_t> rows;           // (R) scored rows; rows[0, B) are the prompts' last rows
  std::vector<int32_t> trow, tid;      // (sum A) each target's scored row and token id
  std::vector<int64_t> tok_off;        // (N+1)
  std::vector<float> hn, lse;          // (R, C) final-norm rows, (R) their log-sum-exp
  std::vector<std::vector<float>> vacts;  // value head layer inputs
  int64_t B = 0, N = 0;
  size_t bytes() const;
};

// keep: when given, the pass records what train_backward needs.
ScoreResult score_fused(Transformer& model, const ValueHead& head, const PackedBatch& batch, bool want_hidden,
                        TrainHandle* keep = nullptr);
ScoreResult score_naive(Transformer& model, const ValueHead& head, const PackedBatch& batch, bool want_hidden);

// Gradients of L = sum_k dlogprobs[k] * logprob_k + sum_b dvalues[b] * value_b, accumulated into g
// (model; empty vectors frozen) and vg (value head). Consumes the handle's cache.
void train_backward(Transformer& model, const ValueHead& head, Weights& g, ValueHead& vg, TrainHandle& h,
                    const float* dlogprobs, const float* dvalues);

}  // namespace glam
