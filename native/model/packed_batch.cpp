// PackedBatch validation and positions; see packed_batch.h.
#include "model/packed_batch.h"

#include <string>

#include "common/error.h"

namespace glam {

void PackedBatch::validate(const ModelConfig& cfg, std::vector<int32_t>& pos) const {
  const int64_t nb = B(), nc = N(), nt = T();
  GLAM_CHECK(nb > 0, "BatchInvalid", "the batch has no prompts");
  GLAM_CHECK(int64_t(prompt_len.size()) == nb, "BatchInvalid", "promptStart and promptLen differ in length");
  GLAM_CHECK(int64_t(cand_len.size()) == nc && int64_t(cand_prompt.size()) == nc, "BatchInvalid",
             "candStart, candLen and candPrompt differ in length");
  std::vector<uint8_t> owner(static_cast<size_t>(nt), 0);
  pos.assign(size_t(nt), 0);
  std::vector<int32_t> ncand(static_cast<size_t>(nb), 0);
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t s = prompt_start[size_t(b)], n = prompt_len[size_t(b)];
    GLAM_CHECK(n > 0, "EmptyPrompt", "prompt " + std::to_string(b) + " has no tokens");
    GLAM_CHECK(s >= 0 && s + n <= nt, "BatchInvalid", "prompt " + std::to_string(b) + " runs past the token array");
    for (int64_t i = 0; i < n; ++i) {
      GLAM_CHECK(!owner[size_t(s + i)], "BatchInvalid", "token rows of prompt " + std::to_string(b) + " overlap");
      owner[size_t(s + i)] = 1;
      pos[size_t(s + i)] = int32_t(i);
    }
  }
  for (int64_t k = 0; k < nc; ++k) {
    const int64_t s = cand_start[size_t(k)], n = cand_len[size_t(k)], b = cand_prompt[size_t(k)];
    GLAM_CHECK(b >= 0 && b < nb, "BatchInvalid", "candidate " + std::to_string(k) + " names a prompt out of range");
    GLAM_CHECK(n > 0, "EmptyCandidate", "candidate " + std::to_string(k) + " has no tokens");
    GLAM_CHECK(s >= 0 && s + n <= nt, "BatchInvalid", "candidate " + std::to_string(k) + " runs past the token array");
    const int64_t P = prompt_len[size_t(b)];
    GLAM_CHECK(P + n <= cfg.max_pos, "SequenceTooLong",
               "prompt " + std::to_string(b) + " with candidate " + std::to_string(k) + " is " + std::to_string(P + n) +
                   " tokens; the model has " + std::to_string(cfg.max_pos) + " positions. Shorten the prompt.");
    ++ncand[size_t(b)];
    for (int64_t j = 0; j < n; ++j) {
      GLAM_CHECK(!owner[size_t(s + j)], "BatchInvalid", "token rows of candidate " + std::to_string(k) + " overlap");
      owner[size_t(s + j)] = 1;
      pos[size_t(s + j)] = int32_t(P + j);
    }
  }
  for (int64_t b = 0; b < nb; ++b)
    GLAM_CHECK(ncand[size_t(b)] > 0, "EmptyCandidates", "prompt " + std::to_string(b) + " has no candidates");
  for (int64_t t = 0; t < nt; ++t) {
    GLAM_CHECK(owner[size_t(t)], "BatchInvalid", "token row " + std::to_string(t) + " belongs to no prompt or candidate");
    GLAM_CHECK(tokens[size_t(t)] >= 0 && tokens[size_t(t)] < cfg.vocab, "TokenOutOfRange",
               "token id " + std::to_string(tokens[size_t(t)]) + " is outside the vocabulary of " +
                   std::to_string(cfg.vocab));
    GLAM_CHECK(pos[size_t(t)] < cfg.max_pos, "SequenceTooLong",
               "a prompt is longer than the model's " + std::to_string(cfg.max_pos) + " positions");
  }
}

}  // namespace glam
