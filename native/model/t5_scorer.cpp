// T5 scoring and its backward over T5Runtime (any backend); see t5_scorer.h.
#include "model/t5_scorer.h"

#include <cmath>

#include "common/error.h"
#include "model/prompt_logprobs.h"
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
  return cache.bytes() + hc.bytes() + (enc_out ? enc_out->size() : 0) + (meta ? meta->size() : 0) +
         (plan.enc_ids.size() + plan.enc_pos.size() + plan.dec.ids.size() + plan.dec.pos.size()) * 4;
}

T5Meta T5Runtime::place(const T5Plan& plan, std::unique_ptr<Buffer>&) {
  return {plan.enc_ids.data(), plan.enc_pos.data(), plan.dec.ids.data(), plan.dec.pos.data(), host_rows(plan.dec)};
}

HeadParams t5_head_params(const ModelConfig& cfg, const T5Params& p) {
  // transformers: sequence_output * model_dim ** -0.5 before a tied v1.0 head
  return {p.dec_final, p.head, p.d_head, cfg.scale_head ? float(1.0 / std::sqrt(double(cfg.hidden))) : 1.0f};
}

namespace {
// n floats of backend memory a (from host, when it is there already: the CPU) into a host vector
std::vector<float> download(Backend& be, const float* src, int64_t n) {
  std::vector<float> h(size_t(n > 0 ? n : 0));
  if (n > 0) be.to_host(h.data(), src, size_t(n) * 4);
  return h;
}
}  // namespace

ScoreResult score_t5(T5Runtime& m, const T5Params& p, const ValueHeadParams& vh, const PackedBatch& batch, bool naive,
                     bool want_hidden, T5TrainHandle* keep, int64_t top_n) {
  const ModelConfig& cfg = m.cfg;
  T5Plan plan = plan_t5(cfg, batch, naive);
  const BatchPlan& d = plan.dec;
  std::unique_ptr<Buffer> enc_local, meta_local;
  std::unique_ptr<Buffer>& enc_buf = keep ? keep->enc_out : enc_local;
  const T5Meta mt = m.place(plan, keep ? keep->meta : meta_local);
  HeadCache local;
  HeadCache& hc = keep ? keep->hc : local;
  m.heads.prepare(hc, d, vh);
  float* x = hc.x->as<float>();
  if (!enc_buf) enc_buf = m.be.buffer();
  void* enc_out = enc_buf->ensure(size_t(plan.Te * cfg.hidden) * dtype_size(m.be.compute_type()));
  T5Cache* cache = keep ? &keep->cache : nullptr;
  m.model.encode(p, enc_out, mt.enc_ids, mt.enc_pos, plan.Te, plan.enc, cache);
  m.model.decode(p, x, mt.dec_ids, mt.dec_pos, d.T, d, enc_out, plan.Te, plan.enc, cache);
  m.be.set_attention(d, mt.dec_pos, d.T);  // the heads' rows (naive: the reference LM head)
  m.heads.forward(t5_head_params(cfg, p), vh, x, mt.rows, hc.out);
  const std::vector<float> lse = download(m.be, hc.out.lse, d.R), tlogit = download(m.be, hc.out.tlogit, d.NT);
  const std::vector<float> values = download(m.be, hc.out.values, vh.empty() ? 0 : d.B);
  const std::vector<float> hidden = download(m.be, hc.out.hv, want_hidden ? d.B * cfg.hidden : 0);
  ScoreResult r = assemble(d, lse.data(), tlogit.data(), vh.empty() ? nullptr : values.data(),
                           want_hidden ? hidden.data() : nullptr, cfg.hidden);
  if (top_n > 0) {  // hn (R, C) of this pass is still in the heads' cache
    std::vector<float> host;  // one chunk of logits
    const FetchFloats fetch = [&](const float* src, size_t n) {
      host.resize(n);
      m.be.to_host(host.data(), src, n * 4);
      return static_cast<const float*>(host.data());
    };
    vocab_top(m.be, hc.out.hn, d.R, p.head, cfg.vocab, cfg.hidden, d.trow.data(), d.NT, top_n, fetch, nullptr, r);
  }
  if (keep) {
    keep->B = batch.B();
    keep->N = batch.N();
    keep->plan = std::move(plan);
  }
  return r;
}

void t5_train_backward(T5Runtime& m, const T5Params& p, const ValueHeadParams& vh, T5TrainHandle& h, const float* dl,
                       const float* dv) {
  const T5Plan& plan = h.plan;
  const BatchPlan& d = plan.dec;
  const T5Meta mt = m.place(plan, h.meta);  // the plan moved into the handle: bind its lists again
  std::unique_ptr<Buffer> dxb = m.be.buffer();
  float* dx = static_cast<float*>(dxb->ensure(size_t(d.T * m.cfg.hidden) * 4));
  m.be.zero(dx, size_t(d.T * m.cfg.hidden) * 4);
  m.be.set_attention(d, mt.dec_pos, d.T);  // the rows the head's backward checks (not a stale scoring's)
  m.heads.backward(t5_head_params(m.cfg, p), vh, dx, d, mt.rows, h.hc, dl, dv);
  m.model.backward(p, dx, h.cache, mt.dec_ids, mt.dec_pos, d, h.enc_out->data(), mt.enc_ids, mt.enc_pos, plan.enc);
}

}  // namespace glam
