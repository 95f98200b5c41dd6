// T5 scoring and its backward on the CPU; see t5_scorer.h.
#include "model/t5_scorer.h"

#include <cmath>

#include "common/error.h"
#include "model/attention_plan.h"

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
  plan_bidirectional(p.enc, cfg.head_dim);  // the CUDA kernels' lists (model/attention_plan.h)
  plan_cross(p.dec, p.enc);
  return p;
}

size_t T5TrainHandle::bytes() const {
  return cache.bytes() + hc.bytes() + enc_out.size() * 4 +
         (plan.enc_ids.size() + plan.enc_pos.size() + plan.dec.ids.size() + plan.dec.pos.size()) * 4;
}

HeadParams t5_head_params(const ModelConfig& cfg, const T5Params& p) {
  // transformers: sequence_output * model_dim ** -0.5 before a tied v1.0 head
  return {p.dec_final, p.head, p.d_head, cfg.scale_head ? float(1.0 / std::sqrt(double(cfg.hidden))) : 1.0f};
}

ScoreResult score_t5(T5Cpu& m, const T5Params& p, const ValueHeadParams& vh, const PackedBatch& batch, bool naive,
                     bool want_hidden, T5TrainHandle* keep) {
  const ModelConfig& cfg = m.cfg;
  T5Plan plan = plan_t5(cfg, batch, naive);
  const BatchPlan& d = plan.dec;
  HeadCache local;
  HeadCache& hc = keep ? keep->hc : local;
  m.heads.prepare(hc, d, vh);
  float* x = hc.x->as<float>();
  std::vector<float> enc_local;
  std::vector<float>& enc_out = keep ? keep->enc_out : enc_local;
  enc_out.assign(size_t(plan.Te * cfg.hidden), 0.0f);
  T5Cache* cache = keep ? &keep->cache : nullptr;
  m.model.encode(p, enc_out.data(), plan.enc_ids.data(), plan.enc_pos.data(), plan.Te, plan.enc, cache);
  m.model.decode(p, x, d.ids.data(), d.pos.data(), d.T, d, enc_out.data(), plan.Te, plan.enc, cache);
  m.be.set_attention(d, d.pos.data(), d.T);  // the heads' rows (naive: the reference LM head)
  m.heads.forward(t5_head_params(cfg, p), vh, x, host_rows(d), hc.out);
  ScoreResult r = assemble(d, hc.out.lse, hc.out.tlogit, vh.empty() ? nullptr : hc.out.values,
                           want_hidden ? hc.out.hv : nullptr, cfg.hidden);
  if (keep) {
    keep->B = batch.B();
    keep->N = batch.N();
    keep->plan = std::move(plan);
  }
  return r;
}

void t5_train_backward(T5Cpu& m, const T5Params& p, const ValueHeadParams& vh, T5TrainHandle& h, const float* dl,
                       const float* dv) {
  const T5Plan& plan = h.plan;
  const BatchPlan& d = plan.dec;
  std::vector<float> dx(size_t(d.T * m.cfg.hidden));
  m.be.set_attention(d, d.pos.data(), d.T);  // the rows the head's backward checks (not a stale scoring's)
  m.heads.backward(t5_head_params(m.cfg, p), vh, dx.data(), d, host_rows(d), h.hc, dl, dv);
  m.model.backward(p, dx.data(), h.cache, d.ids.data(), d.pos.data(), d, h.enc_out.data(), plan.enc_ids.data(),
                   plan.enc_pos.data(), plan.enc);
}

}  // namespace glam
