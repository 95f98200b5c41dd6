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

// Copies every tensor of the table (T5's fused layout) from src, all checked before any is written.
void copy_in(const std::vector<T5Tensor>& table, const std::map<std::string, HfTensor>& src) {
  for (const T5Tensor& x : table) {
    if (x.dst->empty()) continue;  // frozen: no moments
    int64_t n = 1;
    for (int64_t d : x.shape) n *= d;
    tensor_from(src, x.name, size_t(n));
  }
  for (const T5Tensor& x : table) {
    if (x.dst->empty()) continue;
    const std::vector<float>& v = src.at(x.name).data;
    std::copy(v.begin(), v.end(), x.dst->begin() + x.row0 * (x.shape.size() == 2 ? x.shape[1] : 1));
  }
}

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
  r = score_t5(m_.rt, params(), view(head), batch, false, false, &p->h);
  p->B = p->h.B;
  p->N = p->h.N;
  return p;
}

void T5Engine::backward(TrainPass& pass, const ValueHead& head, const float* dl, const float* dv) {
  TrainState& t = train();
  T5TrainHandle& h = static_cast<T5Pass&>(pass).h;
  t5_train_backward(m_.rt, t5_params(m_.w, t.table(), &t.grads()), t.with_grads(view(head)), h, dl, dv);
}

double T5Engine::step(const AdamWOptions& o, ValueHead& head) { return train().step(o, view(head)); }

void T5Engine::zero_grad() { train().zero_grad(); }

std::map<std::string, HfTensor> T5Engine::export_tensors(const std::string& what, const std::string& scope,
                                                         ValueHead& head) {
  const StateTensor st = state_tensor(what);
  GLAM_CHECK(train_ || st == StateTensor::Params, "InvalidArgument", "training is not enabled; call setTraining() first");
  if (scope == "model" || scope == "lora") {
    if (!train_) return export_t5(m_.cfg, m_.w, scope == "lora");
    T5Weights s = t5_state_tensors(m_.w, *train_, st);
    return export_t5(m_.cfg, s, scope == "lora");
  }
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
  if (!train_) {  // the weights themselves (no adapters before training: nothing to import for lora)
    if (scope == "model") copy_in(t5_tensors(m_.cfg, m_.w), src);
    return;
  }
  // the state's current tensors, overwritten from src, written back through the TrainState
  T5Weights s = t5_state_tensors(m_.w, *train_, st);
  if (scope == "model") {
    T5Weights base = t5_structure(s);  // only the base tensors go back: adapters keep their values
    const auto from = t5_param_list(s), to = t5_param_list(base);
    for (size_t k = 0; k < t5_base_param_count(s); ++k) to[k]->swap(*from[k]);
    copy_in(t5_tensors(m_.cfg, base), src);
    t5_upload_state(*train_, st, base);
  } else {
    for (auto* stack : {&s.enc, &s.dec})
      for (T5Block& b : *stack)
        for (auto& list : b.lora)
          for (LoraAdapter& a : list) {
            if (a.A.empty()) continue;  // frozen (never for adapters) or no moments
            a.A = tensor_from(src, "base_model.model." + a.module + ".lora_A.weight", a.A.size());
            a.B = tensor_from(src, "base_model.model." + a.module + ".lora_B.weight", a.B.size());
          }
    T5Weights adapters = t5_structure(s);
    const auto from = t5_param_list(s), to = t5_param_list(adapters);
    for (size_t k = t5_base_param_count(s); k < from.size(); ++k) to[k]->swap(*from[k]);
    t5_upload_state(*train_, st, adapters);
  }
}

TrainStatus T5Engine::train_status(int64_t set_step) { return train_status_of(train_.get(), set_step); }

}  // namespace glam
