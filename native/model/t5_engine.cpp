// The T5 engine on the CPU: scoring and training over T5Cpu; see t5_engine.h and engine.h.
#include "model/t5_engine.h"

#include <algorithm>

#include "common/error.h"

namespace glam {
namespace {

struct T5Pass final : TrainPass {
  T5TrainHandle h;
  size_t bytes() const override { return h.bytes(); }
  int64_t tokens() const override { return h.plan.Te + h.plan.dec.T; }
};

}  // namespace

std::vector<std::pair<std::string, InfoValue>> T5Engine::info() const {
  InfoValue threads, backend;
  threads.num = double(const_cast<T5Cpu&>(m_).be.pool().size());
  backend.str = "cpu";
  backend.is_str = true;
  return {{"threads", threads}, {"backend", backend}};
}

ScoreResult T5Engine::score(const PackedBatch& batch, const ValueHead& head, bool naive, bool want_hidden) {
  return score_t5(m_.rt, params(), view(head), batch, naive, want_hidden);
}

ScoreResult T5Engine::score_top(const PackedBatch& batch, const ValueHead& head, bool want_hidden, int64_t top_n) {
  return score_t5(m_.rt, params(), view(head), batch, false, want_hidden, nullptr, top_n);
}

void T5Engine::value_head_changed(const ValueHead& head) {
  if (train_) train_->reset_value_head(head.sizes);  // the optimizer's slices follow the new head
}

T5Params T5Engine::params() {
  return train_ ? t5_params(m_.w, train_->table()) : t5_params(m_.w);  // the same tensors (host fp32)
}

TrainState& T5Engine::train() {
  GLAM_CHECK(train_ != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
  return *train_;
}

void T5Engine::enable_training(const TrainOptions& opts, const ValueHead& head) {
  GLAM_CHECK(train_ == nullptr, "InvalidArgument", "training is already enabled on this model; load it again to change modes");
  train_ = t5_train_state(m_, head.sizes, opts);
}

std::unique_ptr<TrainPass> T5Engine::forward_train(const PackedBatch& batch, const ValueHead& head, ScoreResult& r) {
  train();
  auto p = std::make_unique<T5Pass>();
  p->h.cache = std::move(spare_);
  r = score_t5(m_.rt, params(), view(head), batch, false, false, &p->h);
  p->B = p->h.B;
  p->N = p->h.N;
  return p;
}

void T5Engine::backward(TrainPass& pass, const ValueHead& head, const float* dl, const float* dv) {
  TrainState& t = train();
  T5TrainHandle& h = static_cast<T5Pass&>(pass).h;
  t5_train_backward(m_.rt, t5_params(m_.w, t.table(), &t.grads()), t.with_grads(view(head)), h, dl, dv);
  spare_ = std::move(h.cache);
}

double T5Engine::step(const AdamWOptions& o, ValueHead& head) { return train().step(o, view(head)); }

void T5Engine::zero_grad() { train().zero_grad(); }

std::map<std::string, HfTensor> T5Engine::export_tensors(const std::string& what, const std::string& scope,
                                                         ValueHead& head) {
  const StateTensor st = state_tensor(what);
  GLAM_CHECK(train_ || st == StateTensor::Params, "InvalidArgument", "training is not enabled; call setTraining() first");
  if (scope == "model" || scope == "lora") return t5_export(m_.cfg, m_.w, train_.get(), st, scope == "lora", m_.w);
  GLAM_CHECK(scope == "value_head", "InvalidArgument", "scope must be model, lora or value_head");
  return train_ ? export_value_head_state(*train_, st, head, view(head)) : value_head_tensors(head);
}

void T5Engine::import_tensors(const std::string& what, const std::string& scope,
                              const std::map<std::string, HfTensor>& src, ValueHead& head) {
  GLAM_CHECK(what != "grads", "InvalidArgument", "gradients cannot be imported");
  const StateTensor st = state_tensor(what);
  GLAM_CHECK(train_ || st == StateTensor::Params, "InvalidArgument", "training is not enabled; call setTraining() first");
  if (scope == "value_head") {
    if (train_) return import_value_head_state(*train_, st, src, head, view(head));
    return import_value_head(head, src);
  }
  GLAM_CHECK(scope == "model" || scope == "lora", "InvalidArgument", "scope must be model, lora or value_head");
  t5_import(m_.cfg, m_.w, train_.get(), st, scope == "lora", src, m_.w);
}

TrainStatus T5Engine::train_status(int64_t set_step) { return train_status_of(train_.get(), set_step); }

}  // namespace glam
