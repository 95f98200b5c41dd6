// BatchPlan construction; see batch_plan.h.
#include "model/batch_plan.h"

#include <algorithm>

#include "common/error.h"
#include "model/attention_plan.h"

namespace glam {

using cuda::AttnRow;
using cuda::attention_rows_per_tile;

BatchPlan plan_batch(const ModelConfig& cfg, const PackedBatch& batch) {
  BatchPlan p;
  batch.validate(cfg, p.pos);
  p.T = batch.T();
  p.B = batch.B();
  p.N = batch.N();
  GLAM_CHECK(p.T < (int64_t(1) << 31) - 1, "BatchInvalid", "a batch holds at most 2^31 - 2 tokens");
  p.ids = batch.tokens;
  // scored rows and targets
  p.rows.resize(size_t(p.B));
  for (int64_t b = 0; b < p.B; ++b) p.rows[size_t(b)] = batch.prompt_start[size_t(b)] + batch.prompt_len[size_t(b)] - 1;
  p.tok_off.assign(size_t(p.N + 1), 0);
  for (int64_t k = 0; k < p.N; ++k) p.tok_off[size_t(k + 1)] = p.tok_off[size_t(k)] + batch.cand_len[size_t(k)];
  p.NT = p.tok_off[size_t(p.N)];
  p.trow.resize(size_t(p.NT));
  p.tid.resize(size_t(p.NT));
  for (int64_t k = 0; k < p.N; ++k) {
    const int32_t s = batch.cand_start[size_t(k)], A = batch.cand_len[size_t(k)];
    for (int32_t j = 0; j < A; ++j) {
      const int64_t t = p.tok_off[size_t(k)] + j;
      p.tid[size_t(t)] = batch.tokens[size_t(s + j)];
      if (j == 0) {
        p.trow[size_t(t)] = batch.cand_prompt[size_t(k)];
      } else {
        p.trow[size_t(t)] = int32_t(p.rows.size());
        p.rows.push_back(s + j - 1);
      }
    }
  }
  p.R = int64_t(p.rows.size());
  // attention work list: per prompt group, its prompt rows then its candidates' rows, in tiles
  p.rows_per_tile = attention_rows_per_tile(cfg.head_dim);
  std::vector<std::vector<int64_t>> cands(size_t(p.B));
  for (int64_t k = 0; k < p.N; ++k) cands[size_t(batch.cand_prompt[size_t(k)])].push_back(k);
  p.arows.reserve(size_t(p.T));
  p.groups.resize(size_t(p.B));
  p.value_row.resize(size_t(p.B));
  for (int64_t b = 0; b < p.B; ++b) {
    const int32_t ps = batch.prompt_start[size_t(b)], P = batch.prompt_len[size_t(b)];
    AttentionGroup& g = p.groups[size_t(b)];
    g = {ps, P, {}, {}};
    for (int64_t k : cands[size_t(b)]) {
      g.cand_start.push_back(batch.cand_start[size_t(k)]);
      g.cand_len.push_back(batch.cand_len[size_t(k)]);
    }
    p.value_row[size_t(b)] = int32_t(b);
    const size_t first = p.arows.size();
    for (int32_t i = 0; i < P; ++i) p.arows.push_back({ps + i, i + 1, -1, 0});
    for (int64_t k : cands[size_t(b)]) {
      const int32_t cs = batch.cand_start[size_t(k)], A = batch.cand_len[size_t(k)];
      for (int32_t j = 0; j < A; ++j) p.arows.push_back({cs + j, P, cs, 0});
    }
    tile_group(p.tiles, p.arows, first, ps, p.rows_per_tile);
    // prompt rows i < key0 see no key of a chunk starting at key0: the chunk's rows start at first + key0
    kv_tile_group(p.kv_tiles, ps, P, first, int32_t(p.arows.size() - first), true);
  }
  // targets grouped by scored row (stable: a row's targets keep their order)
  p.row_off.assign(size_t(p.R + 1), 0);
  for (int64_t t = 0; t < p.NT; ++t) ++p.row_off[size_t(p.trow[size_t(t)]) + 1];
  for (int64_t r = 0; r < p.R; ++r) p.row_off[size_t(r + 1)] += p.row_off[size_t(r)];
  p.row_tgt.assign(size_t(p.NT), 0);
  std::vector<int32_t> fill(p.row_off.begin(), p.row_off.end() - 1);
  for (int64_t t = 0; t < p.NT; ++t) p.row_tgt[size_t(fill[size_t(p.trow[size_t(t)])]++)] = int32_t(t);
  return p;
}

BatchPlan plan_naive(const ModelConfig& cfg, const PackedBatch& batch) {
  std::vector<int32_t> pos_check;
  batch.validate(cfg, pos_check);  // the original batch's errors, not the rewritten one's
  std::vector<int32_t> first;
  BatchPlan p = plan_batch(cfg, naive_batch(batch, first));
  p.reference = true;
  p.value_row = first;  // scored row b' < B' is naive prompt b''s last row
  for (AttentionGroup& g : p.groups) {  // one full causal sequence per prompt + candidate
    g.prefix_len += g.cand_len.empty() ? 0 : g.cand_len[0];
    g.cand_start.clear();
    g.cand_len.clear();
  }
  return p;
}

void finish_scores(ScoreResult& r, const BatchPlan& p, const float* lse, const float* tlogit) {
  if (tlogit) {
    r.token_logprobs.resize(size_t(p.NT));
    for (int64_t t = 0; t < p.NT; ++t) r.token_logprobs[size_t(t)] = tlogit[t] - lse[p.trow[size_t(t)]];
  }
  r.logprobs.resize(size_t(p.N));
  for (int64_t k = 0; k < p.N; ++k) {
    double s = 0;
    for (int64_t t = p.tok_off[size_t(k)]; t < p.tok_off[size_t(k + 1)]; ++t) s += r.token_logprobs[size_t(t)];
    r.logprobs[size_t(k)] = float(s);
  }
}

PackedBatch naive_batch(const PackedBatch& batch, std::vector<int32_t>& first_of_prompt) {
  PackedBatch n;
  first_of_prompt.assign(batch.prompt_start.size(), -1);
  for (size_t k = 0; k < batch.cand_start.size(); ++k) {
    const int32_t b = batch.cand_prompt[k];
    GLAM_CHECK(b >= 0 && size_t(b) < batch.prompt_start.size(), "BatchInvalid",
               "candidate " + std::to_string(k) + " names a prompt out of range");
    const int32_t ps = batch.prompt_start[size_t(b)], P = batch.prompt_len[size_t(b)];
    const int32_t cs = batch.cand_start[k], A = batch.cand_len[k];
    GLAM_CHECK(ps >= 0 && P >= 0 && cs >= 0 && A >= 0 && int64_t(ps) + P <= int64_t(batch.tokens.size()) &&
                   int64_t(cs) + A <= int64_t(batch.tokens.size()),
               "BatchInvalid", "candidate " + std::to_string(k) + " or its prompt runs past the token array");
    if (first_of_prompt[size_t(b)] < 0) first_of_prompt[size_t(b)] = int32_t(k);
    n.prompt_start.push_back(int32_t(n.tokens.size()));
    n.prompt_len.push_back(P);
    n.tokens.insert(n.tokens.end(), batch.tokens.begin() + ps, batch.tokens.begin() + ps + P);
    n.cand_start.push_back(int32_t(n.tokens.size()));
    n.cand_len.push_back(A);
    n.cand_prompt.push_back(int32_t(k));
    n.tokens.insert(n.tokens.end(), batch.tokens.begin() + cs, batch.tokens.begin() + cs + A);
  }
  for (size_t b = 0; b < first_of_prompt.size(); ++b)
    GLAM_CHECK(first_of_prompt[b] >= 0, "EmptyCandidates", "prompt " + std::to_string(b) + " has no candidates");
  return n;
}

}  // namespace glam
