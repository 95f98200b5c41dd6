// The CPU engine's pass; see scorer.h. Subtle: the per-candidate sum runs in double over fp32 token
// log-probs, in token order (finish_scores), so fused and naive differ only by the forward's rounding.
#include "model/scorer.h"

#include "model/prompt_logprobs.h"
namespace glam {

size_t TrainHandle::bytes() const {
  return fc.bytes() + hc.bytes() + plan.rows.size() * 8 + (plan.trow.size() + plan.tid.size()) * 4 +
         plan.tok_off.size() * 8 + (plan.ids.size() + plan.pos.size()) * sizeof(int32_t);
}

ScoreResult score_plan(Transformer& model, const DecoderParams& p, const ValueHeadParams& vh, BatchPlan plan,
                       bool want_hidden, TrainHandle* keep, int64_t top_n) {
  HeadCache local;
  HeadCache& hc = keep ? keep->hc : local;
  model.heads().prepare(hc, plan, vh);
  float* x = hc.x->as<float>();
  model.backend().set_attention(plan, plan.pos.data(), plan.T);
  model.decoder().forward(p, x, plan.ids.data(), plan.pos.data(), plan.T, keep ? &keep->fc : nullptr);
  model.heads().forward(p, vh, x, host_rows(plan), hc.out);
  ScoreResult r = assemble(plan, hc.out.lse, hc.out.tlogit, vh.empty() ? nullptr : hc.out.values,
                           want_hidden ? hc.out.hv : nullptr, model.config().hidden);
  if (top_n > 0)
    vocab_top(model.backend(), hc.out.hn, plan.R, p.head, model.config().vocab, model.config().hidden, plan.trow.data(),
              plan.NT, top_n, [](const float* src, size_t) { return src; }, &model.pool(), r);
  if (keep) keep->plan = std::move(plan);
  return r;
}

void train_backward(Transformer& model, const DecoderParams& p, const ValueHeadParams& vh, TrainHandle& h,
                    const float* dl, const float* dv) {
  const BatchPlan& plan = h.plan;
  std::vector<float> dx(size_t(plan.T * model.config().hidden));
  model.backend().set_attention(plan, plan.pos.data(), plan.T);
  model.heads().backward(p, vh, dx.data(), plan, host_rows(plan), h.hc, dl, dv);
  model.decoder().backward(p, dx.data(), h.fc, plan.ids.data(), plan.pos.data());
}

}  // namespace glam
