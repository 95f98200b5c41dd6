// BatchPlan: what the GPU scoring pass needs to know about a packed batch, built on the host:
// positions, the scored rows and their targets, and the attention work list (tiles of query rows).
// Pure C++ (no CUDA headers): the CPU addon compiles it too and exports it as a test hook, so the
// bookkeeping is tested on every machine.
// Row bookkeeping (the same as native/model/scorer.cpp): rows [0, B) are the prompts' last rows
// (prompt b's last row predicts the first token of all its K_b candidates: one LM-head row, K_b
// targets); then each candidate row j < A_k - 1 predicts token j + 1. R = B + sum_k (A_k - 1).
// Legend: T packed rows, B prompts, N candidates, A_k tokens of candidate k, R scored rows, NT = sum A_k targets.
#pragma once
#include <cstdint>
#include <vector>

#include "model/model_config.h"
#include "model/packed_batch.h"
#include "ops/cuda/attention_layout.h"

namespace glam::cuda {

struct BatchPlan {
  int64_t T = 0, B = 0, N = 0, R = 0, NT = 0;
  std::vector<int32_t> ids, pos;     // (T) token ids and positions
  std::vector<int32_t> rows;         // (R) scored rows
  std::vector<int32_t> trow, tid;    // (NT) each target's scored row (index into rows) and token id
  std::vector<int64_t> tok_off;      // (N + 1) candidate k's targets are [tok_off[k], tok_off[k+1])
  std::vector<AttnRow> arows;        // (T) query rows grouped by prompt: prompt rows, then candidate rows
  std::vector<AttnTile> tiles;       // attention tiles over arows
  std::vector<AttnKvTile> kv_tiles;  // the backward's dK/dV chunks (one per 32 prompt keys of a group)
  std::vector<int32_t> row_off;      // (R + 1) targets of scored row r: row_tgt[row_off[r] .. row_off[r+1])
  std::vector<int32_t> row_tgt;      // (NT) target indices grouped by scored row (the LM-head backward)
  int rows_per_tile = 0;

  // What a captured CUDA graph depends on: two batches with the same signature launch the same
  // kernels with the same grid sizes (the per-row data lives in device buffers uploaded per call).
  std::vector<int64_t> signature() const {
    return {T, B, N, R, NT, int64_t(tiles.size()), int64_t(arows.size()), int64_t(kv_tiles.size())};
  }
};

// Validates the batch (PackedBatch::validate: GlamError on any malformed input) and plans it.
BatchPlan plan_batch(const ModelConfig& cfg, const PackedBatch& batch);

// The naive layout of a batch: every candidate becomes its own prompt (its prompt's tokens copied)
// with itself as the only candidate, so the fused pass over it computes each prompt+candidate as a
// full sequence (the oracle / baseline). first_of_prompt[b] is the new prompt that carries prompt
// b's value (its first candidate's sequence).
PackedBatch naive_batch(const PackedBatch& batch, std::vector<int32_t>& first_of_prompt);

}  // namespace glam::cuda
