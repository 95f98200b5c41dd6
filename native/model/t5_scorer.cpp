// T5 scoring and its backward on the CPU; see t5_scorer.h.
#include "model/t5_scorer.h"

#include <cmath>

#include "common/error.h"
#include "ops/cpu/cpu_ops.h"

namespace glam {
namespace {

// The decoder's batch: prompt b becomes the single row [decoder_start]; candidates keep their order
// (k), their rows following their prompt's start row.
PackedBatch decoder_batch(const PackedBatch& b, int32_t start) {
  PackedBatch d;
  const int64_t B = b.B(), N = b.N();
  std::vector<std::vector<int64_t>> of(static_cast<size_t>(B));
  for (int64_t k = 0; k < N; ++k) of[size_t(b.cand_prompt[size_t(k)])].push_back(k);
  d.prompt_start.resize(size_t(B));
  d.prompt_len.assign(size_t(B), 1);
  d.cand_start.resize(size_t(N));
  d.cand_len = b.cand_len;
  d.cand_prompt = b.cand_prompt;
  for (int64_t p = 0; p < B; ++p) {
    d.prompt_start[size_t(p)] = int32_t(d.tokens.size());
    d.tokens.push_back(start);
    for (int64_t k : of[size_t(p)]) {
      d.cand_start[size_t(k)] = int32_t(d.tokens.size());
      const int32_t s = b.cand_start[size_t(k)];
      d.tokens.insert(d.tokens.end(), b.tokens.begin() + s, b.tokens.begin() + s + b.cand_len[size_t(k)]);
    }
  }
  return d;
}

}  // namespace

T5Plan plan_t5(const ModelConfig& cfg, const PackedBatch& batch, bool naive) {
  std::vector<int32_t> pos;
  batch.validate(cfg, pos);  // the user's batch's errors (ranges, empty prompts or candidates, ids)
  GLAM_CHECK(cfg.decoder_start >= 0 && cfg.decoder_start < cfg.vocab, "ConfigInvalid",
             "decoder_start_token_id is outside the vocabulary");
  T5Plan p;
  // encoder rows: each prompt once (fused), or once per candidate (naive); positions from 0
  auto add_prompt = [&](int64_t b) {
    const int32_t s = batch.prompt_start[size_t(b)], P = batch.prompt_len[size_t(b)];
    p.enc.groups.push_back({int64_t(p.enc_ids.size()), P, {}, {}});
    for (int32_t i = 0; i < P; ++i) {
      p.enc_ids.push_back(batch.tokens[size_t(s + i)]);
      p.enc_pos.push_back(i);
    }
  };
  if (naive) {
    for (int64_t k = 0; k < batch.N(); ++k) add_prompt(batch.cand_prompt[size_t(k)]);
  } else {
    for (int64_t b = 0; b < batch.B(); ++b) add_prompt(b);
  }
  p.enc.reference = naive;
  p.Te = int64_t(p.enc_ids.size());
  const PackedBatch d = decoder_batch(batch, cfg.decoder_start);
  p.dec = naive ? plan_naive(cfg, d) : plan_batch(cfg, d);
  GLAM_CHECK(p.dec.groups.size() == p.enc.groups.size(), "BatchInvalid", "decoder and encoder groups disagree");
  return p;
}

size_t T5TrainHandle::bytes() const {
  size_t b = cache.bytes() + (enc_out.size() + x.size() + hn.size() + hs.size() + lse.size() + hv.size()) * 4;
  for (const auto& a : vacts) b += a.size() * 4;
  return b + (plan.enc_ids.size() + plan.enc_pos.size() + plan.dec.ids.size() + plan.dec.pos.size()) * 4;
}

ScoreResult score_t5(T5Cpu& m, const ValueHead& head, const PackedBatch& batch, bool naive, bool want_hidden,
                     T5TrainHandle* keep) {
  const ModelConfig& cfg = m.cfg;
  const int64_t C = cfg.hidden;
  T5Plan p = plan_t5(cfg, batch, naive);
  const BatchPlan& d = p.dec;
  const T5Params params = t5_params(m.w, nullptr);
  std::vector<float> enc_out(size_t(p.Te * C)), x(size_t(d.T * C)), hn(size_t(d.R * C));
  T5Cache* cache = keep ? &keep->cache : nullptr;
  m.model.encode(params, enc_out.data(), p.enc_ids.data(), p.enc_pos.data(), p.Te, p.enc, cache);
  m.model.decode(params, x.data(), d.ids.data(), d.pos.data(), d.T, d, enc_out.data(), p.Te, p.enc, cache);
  m.be.norm_forward(NormKind::Rms, hn.data(), DType::F32, x.data(), d.rows.data(), d.R, C, cfg.norm_eps,
                    params.dec_final);
  std::vector<float> hs = hn;
  if (cfg.scale_head) {
    const float s = float(1.0 / std::sqrt(double(C)));  // transformers: sequence_output * model_dim ** -0.5
    for (float& v : hs) v *= s;
  }
  ScoreResult r;
  std::vector<float> lse(size_t(d.R)), tlogit(size_t(d.NT));
  if (naive) {
    std::vector<double> lp(size_t(d.NT));
    cpu::lm_head_logprob_reference(lp.data(), hs.data(), m.w.head(), cfg.vocab, C, d.trow.data(), d.tid.data(), d.NT,
                                   m.be.pool());
    r.token_logprobs.assign(lp.begin(), lp.end());
    finish_scores(r, d, nullptr, nullptr);
  } else {
    m.be.lm_head_forward(lse.data(), tlogit.data(), hs.data(), d.R, m.w.head(), cfg.vocab, C, d.trow.data(),
                         d.tid.data(), d.NT);
    finish_scores(r, d, lse.data(), tlogit.data());
  }
  // values (and hidden) from decoder position 0 of each prompt
  const int64_t B = int64_t(d.value_row.size());
  std::vector<float> first(size_t(B * C));
  for (int64_t b = 0; b < B; ++b)
    std::copy(hn.begin() + d.value_row[size_t(b)] * C, hn.begin() + (d.value_row[size_t(b)] + 1) * C,
              first.begin() + b * C);
  r.values.assign(size_t(B), 0.0f);
  if (!head.empty()) {
    std::vector<float*> acts;  // training: layer i >= 1's input, kept for the backward
    if (keep) {
      keep->vacts.resize(size_t(head.sizes.size() - 2));
      for (size_t i = 0; i < keep->vacts.size(); ++i) {
        keep->vacts[i].assign(size_t(B * head.sizes[i + 1]), 0.0f);
        acts.push_back(keep->vacts[i].data());
      }
    }
    m.be.value_head_forward(r.values.data(), first.data(), B, view(head), acts.empty() ? nullptr : acts.data());
  }
  if (want_hidden) r.hidden = first;
  if (keep) {
    keep->enc_out = std::move(enc_out);
    keep->x = std::move(x);
    keep->hn = std::move(hn);
    keep->hs = std::move(hs);
    keep->lse = std::move(lse);
    keep->hv = std::move(first);
    keep->B = batch.B();
    keep->N = batch.N();
    keep->plan = std::move(p);
  }
  return r;
}

void t5_train_backward(T5Cpu& m, const ValueHead& head, T5Weights& g, ValueHead& vg, T5TrainHandle& h,
                       const float* dl, const float* dv) {
  const ModelConfig& cfg = m.cfg;
  const int64_t C = cfg.hidden;
  const T5Plan& p = h.plan;
  const BatchPlan& d = p.dec;
  const T5Params params = t5_params(m.w, &g);
  m.be.set_attention(d, d.pos.data(), d.T);  // the rows the head's backward checks (not a stale scoring's)
  std::vector<float> dtok(size_t(d.NT));  // d logprob of a token = d logprob of its candidate
  for (int64_t k = 0; k < d.N; ++k)
    for (int64_t t = d.tok_off[size_t(k)]; t < d.tok_off[size_t(k + 1)]; ++t) dtok[size_t(t)] = dl[k];
  std::vector<float> dhn(size_t(d.R * C));
  m.be.lm_head_backward(dhn.data(), params.d_head, dtok.data(), h.hs.data(), d.R, params.head, cfg.vocab, C,
                        h.lse.data(), d.trow.data(), d.tid.data(), d.NT);
  if (cfg.scale_head) {
    const float s = float(1.0 / std::sqrt(double(C)));
    for (float& v : dhn) v *= s;
  }
  if (!head.empty()) {
    const int64_t B = int64_t(d.value_row.size());
    std::vector<float> dh(size_t(B * C));
    ValueHeadParams vp = view(head);
    for (size_t i = 0; i < vg.weight.size(); ++i) {
      vp.dW.push_back(vg.weight[i].data());
      vp.db.push_back(vg.bias[i].data());
    }
    std::vector<const float*> acts;
    for (const auto& a : h.vacts) acts.push_back(a.data());
    m.be.value_head_backward(dh.data(), dv, h.hv.data(), acts.data(), B, vp);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) dhn[size_t(d.value_row[size_t(b)] * C + c)] += dh[size_t(b * C + c)];
  }
  std::vector<float> dx(h.x.size(), 0.0f);
  m.be.norm_backward(NormKind::Rms, dx.data(), dhn.data(), h.x.data(), d.rows.data(), d.R, C, cfg.norm_eps,
                     params.dec_final);
  m.model.backward(params, dx.data(), h.cache, d.ids.data(), d.pos.data(), d, h.enc_out.data(), p.enc_ids.data(),
                   p.enc_pos.data(), p.enc);
}

}  // namespace glam
