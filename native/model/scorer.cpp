// Fused and naive scoring passes on the CPU engine; see scorer.h and batch_plan.h for the rows.
// Subtle: the per-candidate sum runs in double over fp32 token log-probs, in token order
// (finish_scores), so fused and naive differ only by the forward's rounding.
#include "model/scorer.h"

#include "model/prompt_logprobs.h"
#include "ops/cpu/cpu_ops.h"

namespace glam {
namespace {

// Runs the plan's rows through the decoder and the final norm of its scored rows: x (T, C), hn (R, C).
void run_plan(Transformer& model, const BatchPlan& p, std::vector<float>& x, std::vector<float>& hn,
              DecoderCache* cache) {
  const int64_t C = model.config().hidden;
  model.backend().set_attention(p, p.pos.data(), p.T);
  const DecoderParams params = model.params();
  x.resize(size_t(p.T * C));
  model.decoder().forward(params, x.data(), p.ids.data(), p.pos.data(), p.T, cache);
  hn.resize(size_t(p.R * C));
  model.decoder().final_norm(params, hn.data(), x.data(), p.rows.data(), p.R);
}

// values (and hidden) from the rows that carry each prompt's value; acts: keep the head's inputs.
void finish_values(ScoreResult& r, Transformer& model, const ValueHead& head, const BatchPlan& p,
                   const std::vector<float>& hn, bool want_hidden, std::vector<std::vector<float>>* acts = nullptr) {
  const int64_t C = model.config().hidden, B = int64_t(p.value_row.size());
  std::vector<float> last(size_t(B * C));
  for (int64_t b = 0; b < B; ++b)
    std::copy(hn.begin() + p.value_row[size_t(b)] * C, hn.begin() + (p.value_row[size_t(b)] + 1) * C,
              last.begin() + b * C);
  r.values.assign(size_t(B), 0.0f);
  if (!head.empty()) head.forward(r.values.data(), last.data(), B, model.pool(), acts);
  if (want_hidden) r.hidden = std::move(last);
}

}  // namespace

size_t TrainHandle::bytes() const {
  size_t b = fc.bytes() + (x.size() + hn.size() + lse.size()) * sizeof(float);
  for (const auto& a : vacts) b += a.size() * sizeof(float);
  return b + plan.rows.size() * 8 + (plan.trow.size() + plan.tid.size()) * 4 + plan.tok_off.size() * 8 +
         (plan.ids.size() + plan.pos.size()) * sizeof(int32_t);
}

ScoreResult score_fused(Transformer& model, const ValueHead& head, const PackedBatch& batch, bool want_hidden,
                        TrainHandle* keep, int64_t top_n) {
  const ModelConfig& cfg = model.config();
  BatchPlan p = plan_batch(cfg, batch);
  std::vector<float> x, hn;
  run_plan(model, p, x, hn, keep ? &keep->fc : nullptr);
  std::vector<float> lse(size_t(p.R)), tlogit(size_t(p.NT));
  model.backend().lm_head_forward(lse.data(), tlogit.data(), hn.data(), p.R, model.weights().head(), cfg.vocab,
                                  cfg.hidden, p.trow.data(), p.tid.data(), p.NT);
  ScoreResult r;
  finish_scores(r, p, lse.data(), tlogit.data());
  if (top_n > 0)
    vocab_top(model.backend(), hn.data(), p.R, model.weights().head(), cfg.vocab, cfg.hidden, p.trow.data(), p.NT, top_n,
              [](const float* src, size_t) { return src; }, &model.pool(), r);
  finish_values(r, model, head, p, hn, want_hidden, keep ? &keep->vacts : nullptr);
  if (keep) {
    keep->plan = std::move(p);
    keep->x = std::move(x);
    keep->hn = std::move(hn);
    keep->lse = std::move(lse);
    keep->B = int64_t(batch.B());
    keep->N = int64_t(batch.N());
  }
  return r;
}

void train_backward(Transformer& model, const ValueHead& head, Weights& g, ValueHead& vg, TrainHandle& h,
                    const float* dlogprobs, const float* dvalues) {
  const ModelConfig& cfg = model.config();
  const BatchPlan& p = h.plan;
  const int64_t C = cfg.hidden, B = int64_t(p.value_row.size());
  const DecoderParams params = model.params(&g);
  // d logprob of each target token = d logprob of its candidate
  std::vector<float> dtok(size_t(p.NT));
  for (int64_t k = 0; k < p.N; ++k)
    for (int64_t t = p.tok_off[size_t(k)]; t < p.tok_off[size_t(k + 1)]; ++t) dtok[size_t(t)] = dlogprobs[k];
  // the head's weight gradient: lm_head when untied, else the embeddings (tied), null when frozen
  std::vector<float> dhn(size_t(p.R * C));
  model.backend().lm_head_backward(dhn.data(), params.d_head, dtok.data(), h.hn.data(), p.R, params.head, cfg.vocab,
                                   C, h.lse.data(), p.trow.data(), p.tid.data(), p.NT);
  if (!head.empty()) {
    std::vector<float> dh(size_t(B * C));
    head.backward(dh.data(), vg, dvalues, B, h.vacts, model.pool());
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) dhn[size_t(p.value_row[size_t(b)] * C + c)] += dh[size_t(b * C + c)];
  }
  std::vector<float> dx(h.x.size(), 0.0f);
  model.decoder().final_norm_backward(params, dx.data(), dhn.data(), h.x.data(), p.rows.data(), p.R);
  model.backend().set_attention(p, p.pos.data(), p.T);
  model.decoder().backward(params, dx.data(), h.fc, p.ids.data(), p.pos.data());
}

ScoreResult score_naive(Transformer& model, const ValueHead& head, const PackedBatch& batch, bool want_hidden) {
  const ModelConfig& cfg = model.config();
  const BatchPlan p = plan_naive(cfg, batch);
  std::vector<float> x, hn;
  run_plan(model, p, x, hn, nullptr);
  std::vector<double> lp(size_t(p.NT));
  cpu::lm_head_logprob_reference(lp.data(), hn.data(), model.weights().head(), cfg.vocab, cfg.hidden, p.trow.data(),
                                 p.tid.data(), p.NT, model.pool());
  ScoreResult r;
  r.token_logprobs.assign(lp.begin(), lp.end());
  finish_scores(r, p, nullptr, nullptr);
  finish_values(r, model, head, p, hn, want_hidden);
  return r;
}

}  // namespace glam
