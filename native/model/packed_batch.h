// PackedBatch: B prompts with ragged candidates, flattened into one token array (see
// ../shared architecture: prompt b's P_b tokens, then its candidates' tokens, prompt after prompt).
// Subtle: validate() is the native side's memory-safety gate: every row must belong to exactly one
// prompt or candidate, every id must be in the vocabulary and every position below max_pos, so the
// ops can index without checks. The TS side validates first and gives friendlier messages.
// Legend: T tokens, B prompts, N candidates (all prompts), A_k tokens of candidate k.
#pragma once
#include <cstdint>
#include <vector>

#include "model/model_config.h"

namespace glam {

struct PackedBatch {
  std::vector<int32_t> tokens;                          // (T)
  std::vector<int32_t> prompt_start, prompt_len;        // (B) row range of each prompt
  std::vector<int32_t> cand_start, cand_len, cand_prompt;  // (N) row range and owner of each candidate

  int64_t B() const { return int64_t(prompt_start.size()); }
  int64_t N() const { return int64_t(cand_start.size()); }
  int64_t T() const { return int64_t(tokens.size()); }

  // Throws GlamError (BatchInvalid, EmptyPrompt, EmptyCandidates, EmptyCandidate, TokenOutOfRange,
  // SequenceTooLong) and fills pos (T) with each row's position.
  void validate(const ModelConfig& cfg, std::vector<int32_t>& pos) const;
};

}  // namespace glam
