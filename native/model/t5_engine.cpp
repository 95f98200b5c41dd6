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
  return score_t5(m_, head, batch, naive, want_hidden);
}

void T5Engine::value_head_changed(const ValueHead& head) {
  if (train_) train_->reset_value_head(head);
}

T5TrainState& T5Engine::train() {
  GLAM_CHECK(train_ != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
  return *train_;
}

void T5Engine::enable_training(const TrainOptions& opts, const ValueHead& head) {
  GLAM_CHECK(train_ == nullptr, "InvalidArgument", "training is already enabled on this model; load it again to change modes");
  train_ = std::make_unique<T5TrainState>(m_, head, opts);
}

std::unique_ptr<TrainPass> T5Engine::forward_train(const PackedBatch& batch, const ValueHead& head, ScoreResult& r) {
  train();
  auto p = std::make_unique<T5Pass>();
  r = score_t5(m_, head, batch, false, false, &p->h);
  p->B = p->h.B;
  p->N = p->h.N;
  return p;
}

void T5Engine::backward(TrainPass& pass, const ValueHead& head, const float* dl, const float* dv) {
  T5TrainState& t = train();
  t5_train_backward(m_, head, t.grads, t.vgrads, static_cast<T5Pass&>(pass).h, dl, dv);
}

double T5Engine::step(const AdamWOptions& o, ValueHead& head) { return train().adamw_step(m_, head, o); }

void T5Engine::zero_grad() { train().zero_grad(); }

T5Engine::Target T5Engine::target_of(const std::string& what, ValueHead& head) {
  if (what == "params") return {&m_.w, &head};
  T5TrainState& t = train();
  if (what == "grads") return {&t.grads, &t.vgrads};
  if (what == "exp_avg" || what == "exp_avg_sq") {
    t.ensure_moments(m_, head);
    return what == "exp_avg" ? Target{&t.m, &t.vm} : Target{&t.v, &t.vv};
  }
  fail("InvalidArgument", "tensor set must be params, grads, exp_avg or exp_avg_sq");
}

std::map<std::string, HfTensor> T5Engine::export_tensors(const std::string& what, const std::string& scope,
                                                         ValueHead& head) {
  Target t = target_of(what, head);
  if (scope == "model" || scope == "lora") return export_t5(m_.cfg, *t.w, scope == "lora");
  if (scope == "value_head") return value_head_tensors(*t.head);
  fail("InvalidArgument", "scope must be model, lora or value_head");
}

void T5Engine::import_tensors(const std::string& what, const std::string& scope,
                              const std::map<std::string, HfTensor>& src, ValueHead& head) {
  GLAM_CHECK(what != "grads", "InvalidArgument", "gradients cannot be imported");
  Target t = target_of(what, head);
  if (scope == "value_head") {
    import_value_head(*t.head, src);
  } else if (scope == "lora") {
    for (auto* stack : {&t.w->enc, &t.w->dec})
      for (T5Block& b : *stack)
        for (auto& list : b.lora)
          for (LoraAdapter& a : list) {
            a.A = tensor_from(src, "base_model.model." + a.module + ".lora_A.weight", size_t(a.rank * a.in_n));
            a.B = tensor_from(src, "base_model.model." + a.module + ".lora_B.weight", size_t(a.out_n * a.rank));
          }
  } else if (scope == "model") {
    // every tensor the target holds (frozen ones have no moments and are skipped), checked first, then copied
    const std::vector<T5Tensor> table = t5_tensors(m_.cfg, *t.w);
    for (const T5Tensor& x : table) {
      if (x.dst->empty()) continue;
      int64_t n = 1;
      for (int64_t d : x.shape) n *= d;
      tensor_from(src, x.name, size_t(n));
    }
    for (const T5Tensor& x : table) {
      if (x.dst->empty()) continue;
      const std::vector<float>& v = src.at(x.name).data;
      std::copy(v.begin(), v.end(), x.dst->begin() + x.row0 * (x.shape.size() == 2 ? x.shape[1] : 1));
    }
  } else {
    fail("InvalidArgument", "scope must be model, lora or value_head");
  }
}

TrainStatus T5Engine::train_status(int64_t set_step) {
  TrainStatus s;
  s.enabled = train_ != nullptr;
  if (!train_) return s;
  if (set_step >= 0) train_->step = set_step;
  s.step = train_->step;
  s.lora = train_->options().lora;
  s.trainable_params = train_->trainable_params();
  s.state_bytes = train_->bytes();
  return s;
}

}  // namespace glam
