// The post-decoder flow over the Backend interface; see heads.h.
#include "model/heads.h"

#include <algorithm>

namespace glam {

size_t HeadCache::bytes() const {
  size_t b = 0;
  for (const auto* p : {&x, &hn, &hv, &lse, &tlogit, &values})
    if (*p) b += (*p)->size();
  for (const auto& a : vacts) b += a->size();
  return b;
}

void Heads::norm(const HeadParams& p, void* out, DType t, const float* x, const int32_t* rows, int64_t n) {
  be_.norm_forward(norm_, out, t, x, rows, n, cfg_.hidden, cfg_.norm_eps, p.final_norm);
}

void Heads::norm_backward(const HeadParams& p, float* dx, const float* dout, const float* x, const int32_t* rows,
                          int64_t n) {
  be_.norm_backward(norm_, dx, dout, x, rows, n, cfg_.hidden, cfg_.norm_eps, p.final_norm);
}

void Heads::forward(const HeadParams& p, const ValueHeadParams& vh, const float* x, const PlanRows& r,
                    const HeadOut& o) {
  const DType ct = be_.compute_type();
  if (p.scale == 1.0f) {
    norm(p, o.hn, ct, x, r.rows, r.R);
  } else {  // normed in fp32, scaled, then rounded once to the compute type
    if (!hs_) hs_ = be_.buffer();
    float* hs = static_cast<float*>(hs_->ensure(size_t(r.R * cfg_.hidden) * 4));
    norm(p, hs, DType::F32, x, r.rows, r.R);
    be_.scale(hs, r.R * cfg_.hidden, p.scale);
    be_.cast(o.hn, ct, hs, r.R * cfg_.hidden);
  }
  norm(p, o.hv, DType::F32, x, r.rows, r.Bv);
  be_.lm_head_forward(o.lse, o.tlogit, o.hn, r.R, p.head, cfg_.vocab, cfg_.hidden, r.trow, r.tid, r.NT);
  if (!vh.empty()) be_.value_head_forward(o.values, o.hv, r.Bv, vh, o.vacts.empty() ? nullptr : o.vacts.data());
}

void Heads::prepare(HeadCache& c, const BatchPlan& plan, const ValueHeadParams& vh) {
  const size_t C = size_t(cfg_.hidden), e = dtype_size(be_.compute_type());
  for (auto* b : {&c.x, &c.hn, &c.hv, &c.lse, &c.tlogit, &c.values})
    if (!*b) *b = be_.buffer();
  c.x->ensure(size_t(plan.T) * C * 4);
  c.out.hn = c.hn->ensure(size_t(plan.R) * C * e);
  c.out.hv = static_cast<float*>(c.hv->ensure(size_t(plan.B) * C * 4));
  c.out.lse = static_cast<float*>(c.lse->ensure(size_t(plan.R) * 4));
  c.out.tlogit = static_cast<float*>(c.tlogit->ensure(size_t(plan.NT) * 4));
  c.out.values = static_cast<float*>(c.values->ensure(size_t(plan.B) * 4));
  c.vacts.resize(size_t(std::max<int64_t>(0, vh.layers() - 1)));
  c.out.vacts.clear();
  for (size_t i = 0; i < c.vacts.size(); ++i) {
    if (!c.vacts[i]) c.vacts[i] = be_.buffer();
    c.out.vacts.push_back(static_cast<float*>(c.vacts[i]->ensure(size_t(plan.B * vh.sizes[i + 1]) * 4)));
  }
}

void Heads::backward(const HeadParams& p, const ValueHeadParams& vh, float* dx, const BatchPlan& plan,
                     const PlanRows& r, const HeadCache& c, const float* dl, const float* dv) {
  const int64_t C = cfg_.hidden;
  const float* x = c.x->as<float>();
  for (auto* b : {&dio_, &dhn_, &dh_})
    if (!*b) *b = be_.buffer();
  // d logprob of each target = d logprob of its candidate; then dv on the value rows
  std::vector<float> io(size_t(r.NT + r.Bv), 0.0f);
  for (int64_t k = 0; k < plan.N; ++k)
    for (int64_t i = plan.tok_off[size_t(k)]; i < plan.tok_off[size_t(k + 1)]; ++i) io[size_t(i)] = dl[k];
  for (size_t b = 0; b < plan.value_row.size(); ++b) io[size_t(r.NT + plan.value_row[b])] = dv[b];
  float* dio = static_cast<float*>(dio_->ensure(io.size() * 4));
  be_.from_host(dio, io.data(), io.size() * 4);
  float* dhn = static_cast<float*>(dhn_->ensure(size_t(r.R * C) * 4));
  be_.lm_head_backward(dhn, p.d_head, dio, c.out.hn, r.R, p.head, cfg_.vocab, C, c.out.lse, r.trow, r.tid, r.NT);
  if (p.scale != 1.0f) be_.scale(dhn, r.R * C, p.scale);
  be_.zero(dx, size_t(plan.T * C) * 4);
  norm_backward(p, dx, dhn, x, r.rows, r.R);
  if (vh.empty()) return;
  float* dh = static_cast<float*>(dh_->ensure(size_t(r.Bv * C) * 4));
  be_.value_head_backward(dh, dio + r.NT, c.out.hv, c.out.vacts.data(), r.Bv, vh);
  norm_backward(p, dx, dh, x, r.rows, r.Bv);  // the value head reads the value rows, rows[0:Bv]
}

ScoreResult assemble(const BatchPlan& p, const float* lse, const float* tlogit, const float* values,
                     const float* hidden, int64_t C) {
  ScoreResult r;
  finish_scores(r, p, lse, tlogit);
  const size_t B = p.value_row.size(), c = size_t(C);
  r.values.assign(B, 0.0f);
  if (hidden) r.hidden.resize(B * c);
  for (size_t b = 0; b < B; ++b) {
    const size_t v = size_t(p.value_row[b]);
    if (values) r.values[b] = values[v];
    if (hidden) std::copy(hidden + v * c, hidden + (v + 1) * c, r.hidden.begin() + b * c);
  }
  return r;
}

}  // namespace glam
