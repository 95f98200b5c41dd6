// The CPU engine: scoring and training over the Transformer; see cpu_engine.h and engine.h.
#include "model/cpu_engine.h"

#include "common/error.h"

namespace glam {

namespace {

struct CpuPass final : TrainPass {
  TrainHandle h;
  size_t bytes() const override { return h.bytes(); }
  int64_t tokens() const override { return h.fc.T; }
};

}  // namespace

std::vector<std::pair<std::string, InfoValue>> CpuEngine::info() const {
  InfoValue threads, backend;
  threads.num = double(const_cast<Transformer&>(model_).pool().size());
  backend.str = "cpu";
  backend.is_str = true;
  return {{"threads", threads}, {"backend", backend}};
}

ScoreResult CpuEngine::score(const PackedBatch& batch, const ValueHead& head, bool naive, bool want_hidden) {
  return naive ? score_naive(model_, head, batch, want_hidden) : score_fused(model_, head, batch, want_hidden);
}

ScoreResult CpuEngine::score_top(const PackedBatch& batch, const ValueHead& head, bool want_hidden, int64_t top_n) {
  return score_fused(model_, head, batch, want_hidden, nullptr, top_n);
}

void CpuEngine::value_head_changed(const ValueHead& head) {
  if (train_) train_->reset_value_head(head);  // the optimizer's buffers follow the new head
}

TrainState& CpuEngine::train() {
  GLAM_CHECK(train_ != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
  return *train_;
}

void CpuEngine::enable_training(const TrainOptions& opts, const ValueHead& head) {
  GLAM_CHECK(train_ == nullptr, "InvalidArgument", "training is already enabled on this model; load it again to change modes");
  train_ = std::make_unique<TrainState>(model_, head, opts);
}

std::unique_ptr<TrainPass> CpuEngine::forward_train(const PackedBatch& batch, const ValueHead& head, ScoreResult& r) {
  train();
  auto p = std::make_unique<CpuPass>();
  p->h.fc.layers = std::move(spare_layers_);
  r = score_fused(model_, head, batch, false, &p->h);
  p->B = p->h.B;
  p->N = p->h.N;
  return p;
}

void CpuEngine::backward(TrainPass& pass, const ValueHead& head, const float* dl, const float* dv) {
  TrainState& t = train();
  TrainHandle& h = static_cast<CpuPass&>(pass).h;
  train_backward(model_, head, t.grads, t.vgrads, h, dl, dv);
  spare_layers_ = std::move(h.fc.layers);
}

double CpuEngine::step(const AdamWOptions& o, ValueHead& head) { return train().adamw_step(model_, head, o); }

void CpuEngine::zero_grad() { train().zero_grad(); }

CpuEngine::Target CpuEngine::target_of(const std::string& what, ValueHead& head) {
  if (what == "params") return {&model_.mutable_weights(), &head};
  TrainState& t = train();
  if (what == "grads") return {&t.grads, &t.vgrads};
  if (what == "exp_avg" || what == "exp_avg_sq") {
    t.ensure_moments(model_, head);
    return what == "exp_avg" ? Target{&t.m, &t.vm} : Target{&t.v, &t.vv};
  }
  fail("InvalidArgument", "tensor set must be params, grads, exp_avg or exp_avg_sq");
}

std::map<std::string, HfTensor> CpuEngine::export_tensors(const std::string& what, const std::string& scope,
                                                          ValueHead& head) {
  Target t = target_of(what, head);
  if (scope == "model") return export_hf(model_.config(), *t.w, false);
  if (scope == "lora") return export_hf(model_.config(), *t.w, true);
  if (scope == "value_head") return value_head_tensors(*t.head);
  fail("InvalidArgument", "scope must be model, lora or value_head");
}

void CpuEngine::import_tensors(const std::string& what, const std::string& scope,
                               const std::map<std::string, HfTensor>& src, ValueHead& head) {
  GLAM_CHECK(what != "grads", "InvalidArgument", "gradients cannot be imported");
  Target t = target_of(what, head);
  if (scope == "value_head") {
    import_value_head(*t.head, src);
  } else if (scope == "lora") {
    for (LayerWeights& l : t.w->layers)
      for (auto* list : {&l.lqkv, &l.lo, &l.lup, &l.ldown})
        for (LoraAdapter& a : *list) {
          a.A = tensor_from(src, "base_model.model." + a.module + ".lora_A.weight", size_t(a.rank * a.in_n));
          a.B = tensor_from(src, "base_model.model." + a.module + ".lora_B.weight", size_t(a.out_n * a.rank));
        }
  } else if (scope == "model") {
    Weights loaded = weights_from(model_.config(), src);
    auto from = param_list(loaded), to = param_list(*t.w);
    for (size_t k = 0; k < param_list_base_size(loaded); ++k)
      if (!to[k]->empty()) *to[k] = std::move(*from[k]);
  } else {
    fail("InvalidArgument", "scope must be model, lora or value_head");
  }
}

TrainStatus CpuEngine::train_status(int64_t set_step) {
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
