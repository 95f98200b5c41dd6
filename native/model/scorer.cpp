// Fused and naive scoring passes; see scorer.h for the row bookkeeping.
// Subtle: the per-candidate sum runs in double over fp32 token log-probs, in token order, so fused
// and naive differ only by the forward's rounding.
#include "model/scorer.h"

namespace glam {
namespace {

// logprobs[k] = sum of candidate k's token log-probs, in token order, in double.
void sum_candidates(ScoreResult& r, const std::vector<int64_t>& tok_off, int64_t N) {
  r.logprobs.resize(size_t(N));
  for (int64_t k = 0; k < N; ++k) {
    double s = 0;
    for (int64_t t = tok_off[size_t(k)]; t < tok_off[size_t(k + 1)]; ++t) s += r.token_logprobs[size_t(t)];
    r.logprobs[size_t(k)] = float(s);
  }
}

// values (and hidden) from the prompts' last-row final-norm states; acts: keep the head's inputs.
void finish(ScoreResult& r, Transformer& model, const ValueHead& head, const std::vector<float>& hn_last, int64_t B,
            bool want_hidden, std::vector<std::vector<float>>* acts = nullptr) {
  r.values.assign(size_t(B), 0.0f);
  if (!head.empty()) head.forward(r.values.data(), hn_last.data(), B, model.pool(), acts);
  if (want_hidden) r.hidden = hn_last;
}

}  // namespace

size_t TrainHandle::bytes() const {
  size_t b = fc.bytes() + (x.size() + hn.size() + lse.size()) * sizeof(float);
  for (const auto& a : vacts) b += a.size() * sizeof(float);
  return b + rows.size() * 8 + (trow.size() + tid.size()) * 4 + tok_off.size() * 8;
}

ScoreResult score_fused(Transformer& model, const ValueHead& head, const PackedBatch& batch, bool want_hidden,
                        TrainHandle* keep) {
  const ModelConfig& cfg = model.config();
  std::vector<int32_t> pos;
  batch.validate(cfg, pos);
  const int64_t B = batch.B(), N = batch.N(), C = cfg.hidden;
  // attention groups: one per prompt, with its candidates' row ranges
  std::vector<cpu::AttentionGroup> groups(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) groups[size_t(b)] = {batch.prompt_start[size_t(b)], batch.prompt_len[size_t(b)], {}, {}};
  for (int64_t k = 0; k < N; ++k) {
    auto& g = groups[size_t(batch.cand_prompt[size_t(k)])];
    g.cand_start.push_back(batch.cand_start[size_t(k)]);
    g.cand_len.push_back(batch.cand_len[size_t(k)]);
  }
  std::vector<float> x;
  if (keep) {
    keep->fc.ids = batch.tokens;
    keep->fc.pos = pos;
    keep->fc.groups = groups;
  }
  model.forward(x, batch.tokens.data(), pos.data(), batch.T(), groups, keep ? &keep->fc : nullptr);

  // scored rows: [0, B) the prompts' last rows, then candidate rows that predict a next token
  std::vector<int64_t> rows(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) rows[size_t(b)] = batch.prompt_start[size_t(b)] + batch.prompt_len[size_t(b)] - 1;
  std::vector<int64_t> tok_off(static_cast<size_t>(N + 1), 0);
  for (int64_t k = 0; k < N; ++k) tok_off[size_t(k + 1)] = tok_off[size_t(k)] + batch.cand_len[size_t(k)];
  const size_t ntok = static_cast<size_t>(tok_off[size_t(N)]);
  std::vector<int32_t> trow(ntok), tid(ntok);
  for (int64_t k = 0; k < N; ++k) {
    const int64_t s = batch.cand_start[size_t(k)], A = batch.cand_len[size_t(k)];
    for (int64_t j = 0; j < A; ++j) {
      const int64_t t = tok_off[size_t(k)] + j;
      tid[size_t(t)] = batch.tokens[size_t(s + j)];
      if (j == 0) {
        trow[size_t(t)] = batch.cand_prompt[size_t(k)];
      } else {
        trow[size_t(t)] = int32_t(rows.size());
        rows.push_back(s + j - 1);
      }
    }
  }
  const int64_t R = int64_t(rows.size()), NT = int64_t(tid.size());
  std::vector<float> hn(static_cast<size_t>(R * C));
  model.final_norm_rows(hn.data(), x.data(), rows);
  std::vector<float> lse(static_cast<size_t>(R)), tlogit(static_cast<size_t>(NT));
  cpu::lm_head_lse_forward(lse.data(), tlogit.data(), hn.data(), R, model.weights().head(), cfg.vocab, C, trow.data(),
                           tid.data(), NT, model.pool());
  ScoreResult r;
  r.token_logprobs.resize(size_t(NT));
  for (int64_t t = 0; t < NT; ++t) r.token_logprobs[size_t(t)] = tlogit[size_t(t)] - lse[size_t(trow[size_t(t)])];
  sum_candidates(r, tok_off, N);
  std::vector<float> hn_last(hn.begin(), hn.begin() + B * C);
  finish(r, model, head, hn_last, B, want_hidden, keep ? &keep->vacts : nullptr);
  if (keep) {
    keep->x = std::move(x);
    keep->rows = std::move(rows);
    keep->trow = std::move(trow);
    keep->tid = std::move(tid);
    keep->tok_off = std::move(tok_off);
    keep->hn = std::move(hn);
    keep->lse = std::move(lse);
    keep->B = B;
    keep->N = N;
  }
  return r;
}

void train_backward(Transformer& model, const ValueHead& head, Weights& g, ValueHead& vg, TrainHandle& h,
                    const float* dlogprobs, const float* dvalues) {
  const ModelConfig& cfg = model.config();
  const int64_t C = cfg.hidden, R = int64_t(h.rows.size()), NT = int64_t(h.tid.size());
  // d logprob of each target token = d logprob of its candidate
  std::vector<float> dtok(static_cast<size_t>(NT));
  for (int64_t k = 0; k < h.N; ++k)
    for (int64_t t = h.tok_off[size_t(k)]; t < h.tok_off[size_t(k + 1)]; ++t) dtok[size_t(t)] = dlogprobs[k];
  // the head's weight gradient: lm_head when untied, else the embeddings (tied), null when frozen
  std::vector<float>& dE = cfg.tie ? g.embed : g.lm_head;
  std::vector<float> dhn(static_cast<size_t>(R * C));
  cpu::lm_head_lse_backward(dhn.data(), dE.empty() ? nullptr : dE.data(), dtok.data(), h.hn.data(), R,
                            model.weights().head(), cfg.vocab, C, h.lse.data(), h.trow.data(), h.tid.data(), NT,
                            model.pool());
  if (!head.empty()) {
    std::vector<float> dh(static_cast<size_t>(h.B * C));
    head.backward(dh.data(), vg, dvalues, h.B, h.vacts, model.pool());
    for (int64_t i = 0; i < h.B * C; ++i) dhn[size_t(i)] += dh[size_t(i)];
  }
  std::vector<float> dx(h.x.size(), 0.0f);
  model.final_norm_rows_backward(dx.data(), g, dhn.data(), h.x.data(), h.rows);
  model.backward(dx, h.fc, g);
}

ScoreResult score_naive(Transformer& model, const ValueHead& head, const PackedBatch& batch, bool want_hidden) {
  const ModelConfig& cfg = model.config();
  std::vector<int32_t> pos_check;
  batch.validate(cfg, pos_check);
  const int64_t B = batch.B(), N = batch.N(), C = cfg.hidden;
  // one sequence per candidate: its prompt's tokens, then its own
  std::vector<int32_t> ids, pos;
  std::vector<cpu::AttentionGroup> groups;
  std::vector<int64_t> rows, first_seq_of_prompt(size_t(B), -1);
  std::vector<int32_t> trow, tid;
  std::vector<int64_t> tok_off(static_cast<size_t>(N + 1), 0);
  for (int64_t k = 0; k < N; ++k) {
    const int64_t b = batch.cand_prompt[size_t(k)], ps = batch.prompt_start[size_t(b)], P = batch.prompt_len[size_t(b)];
    const int64_t cs = batch.cand_start[size_t(k)], A = batch.cand_len[size_t(k)];
    const int64_t start = int64_t(ids.size());
    for (int64_t i = 0; i < P; ++i) {
      ids.push_back(batch.tokens[size_t(ps + i)]);
      pos.push_back(int32_t(i));
    }
    for (int64_t j = 0; j < A; ++j) {
      ids.push_back(batch.tokens[size_t(cs + j)]);
      pos.push_back(int32_t(P + j));
    }
    groups.push_back({start, P + A, {}, {}});
    if (first_seq_of_prompt[size_t(b)] < 0) first_seq_of_prompt[size_t(b)] = start + P - 1;
    for (int64_t j = 0; j < A; ++j) {
      trow.push_back(int32_t(rows.size()));
      rows.push_back(start + P - 1 + j);
      tid.push_back(batch.tokens[size_t(cs + j)]);
    }
    tok_off[size_t(k + 1)] = tok_off[size_t(k)] + A;
  }
  std::vector<float> x;
  model.forward(x, ids.data(), pos.data(), int64_t(ids.size()), groups, nullptr, /*reference=*/true);
  const int64_t R = int64_t(rows.size());
  std::vector<float> hn(static_cast<size_t>(R * C));
  model.final_norm_rows(hn.data(), x.data(), rows);
  std::vector<double> lp(static_cast<size_t>(R));
  cpu::lm_head_logprob_reference(lp.data(), hn.data(), model.weights().head(), cfg.vocab, C, trow.data(), tid.data(), R,
                                 model.pool());
  ScoreResult r;
  r.token_logprobs.assign(lp.begin(), lp.end());
  sum_candidates(r, tok_off, N);
  std::vector<float> last(static_cast<size_t>(B * C));
  std::vector<int64_t> last_rows(first_seq_of_prompt.begin(), first_seq_of_prompt.end());
  model.final_norm_rows(last.data(), x.data(), last_rows);
  finish(r, model, head, last, B, want_hidden);
  return r;
}

}  // namespace glam
