// BatchPlan: the one plan of a packed batch that both engines' scoring passes consume, built on the
// host: positions, the scored rows and their targets, the attention rows (groups for the CPU
// backend, tiles for the CUDA kernels), and which scored row carries each prompt's value. Naive mode
// is another plan over the same batch (plan_naive), not another pass. Also the score result that a
// pass's LM-head outputs turn into (ScoreResult, finish_scores).
// Row bookkeeping (fused): rows [0, B) are the prompts' last rows (prompt b's last row predicts the
// first token of all its K_b candidates: one LM-head row, K_b targets); then each candidate row
// j < A_k - 1 predicts token j + 1. R = B + sum_k (A_k - 1).
// Pure C++ (no CUDA headers): the CPU addon compiles the CUDA tiles too and exports the planner as a
// test hook, so the bookkeeping is tested on every machine.
// Legend: T packed rows, B prompts, N candidates, A_k tokens of candidate k, R scored rows,
// NT = sum A_k targets, C hidden.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "model/model_config.h"
#include "model/packed_batch.h"

namespace glam {

struct BatchPlan : AttentionRows {  // the attention rows: groups (CPU), arows/tiles/kv_tiles (CUDA)
  int64_t T = 0, B = 0, N = 0, R = 0, NT = 0;  // B, N: prompts and candidates of the planned layout
  std::vector<int32_t> ids, pos;     // (T) token ids and positions
  std::vector<int32_t> rows;         // (R) scored rows
  std::vector<int32_t> trow, tid;    // (NT) each target's scored row (index into rows) and token id
  std::vector<int64_t> tok_off;      // (N + 1) candidate k's targets are [tok_off[k], tok_off[k+1])
  std::vector<int32_t> value_row;    // (batch B) index into rows of the row that carries prompt b's value
  std::vector<int32_t> row_off;      // (R + 1) targets of scored row r: row_tgt[row_off[r] .. row_off[r+1])
  std::vector<int32_t> row_tgt;      // (NT) target indices grouped by scored row (the LM-head backward)

  // What a captured CUDA graph depends on: two batches with the same signature launch the same
  // kernels with the same grid sizes (the per-row data lives in device buffers uploaded per call).
  std::vector<int64_t> signature() const {
    return {T, B, N, R, NT, int64_t(tiles.size()), int64_t(arows.size()), int64_t(kv_tiles.size())};
  }
};

// Validates the batch (PackedBatch::validate: GlamError on any malformed input) and plans it.
BatchPlan plan_batch(const ModelConfig& cfg, const PackedBatch& batch);
// The naive plan of the same batch: every candidate becomes its own prompt (its prompt's tokens
// copied) with itself as the only candidate, attended as one full causal sequence; prompt b's value
// is read on its first candidate's sequence. Errors are the original batch's.
BatchPlan plan_naive(const ModelConfig& cfg, const PackedBatch& batch);
// The naive layout itself; first_of_prompt[b] is the new prompt that carries prompt b's value.
PackedBatch naive_batch(const PackedBatch& batch, std::vector<int32_t>& first_of_prompt);

// What a scoring pass returns (both engines).
struct ScoreResult {
  std::vector<float> logprobs;        // (N)
  std::vector<float> token_logprobs;  // (NT), candidate after candidate
  std::vector<float> values;          // (batch B)
  std::vector<float> hidden;          // (batch B, C) final-norm hidden of each prompt's last token, when asked
  int64_t top_n = 0;                  // n alternatives per target token, when asked (model/prompt_logprobs.h)
  std::vector<int32_t> top_ids;       // (NT, n) best first
  std::vector<float> top_logprobs;    // (NT, n)
};
// token_logprobs = tlogit - lse[trow] (when tlogit is given; else they must be filled) and
// logprobs[k] = their sum over candidate k, in token order, in double.
void finish_scores(ScoreResult& r, const BatchPlan& p, const float* lse, const float* tlogit);

}  // namespace glam
