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

DecoderParams CpuEngine::params() {
  if (train_) return decoder_params(model_.config(), train_->table());
  const ParamTable t = model_.table();
  return decoder_params(model_.config(), t);
}

ScoreResult CpuEngine::score(const PackedBatch& batch, const ValueHead& head, bool naive, bool want_hidden) {
  const ModelConfig& cfg = model_.config();
  return score_plan(model_, params(), view(head), naive ? plan_naive(cfg, batch) : plan_batch(cfg, batch), want_hidden);
}

ScoreResult CpuEngine::score_top(const PackedBatch& batch, const ValueHead& head, bool want_hidden, int64_t top_n) {
  return score_plan(model_, params(), view(head), plan_batch(model_.config(), batch), want_hidden, nullptr, top_n);
}

void CpuEngine::value_head_changed(const ValueHead& head) {
  if (train_) train_->reset_value_head(head.sizes);  // the optimizer's slices follow the new head
}

TrainState& CpuEngine::train() {
  GLAM_CHECK(train_ != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
  return *train_;
}

void CpuEngine::enable_training(const TrainOptions& opts, const ValueHead& head) {
  GLAM_CHECK(train_ == nullptr, "InvalidArgument", "training is already enabled on this model; load it again to change modes");
  const ParamTable t = model_.table();
  train_ = std::make_unique<TrainState>(model_.config(), model_.backend(), t, head.sizes, opts);
}

std::unique_ptr<TrainPass> CpuEngine::forward_train(const PackedBatch& batch, const ValueHead& head, ScoreResult& r) {
  train();
  auto p = std::make_unique<CpuPass>();
  p->h.fc.layers = std::move(spare_layers_);
  r = score_plan(model_, params(), view(head), plan_batch(model_.config(), batch), false, &p->h);
  p->B = int64_t(batch.B());
  p->N = int64_t(batch.N());
  return p;
}

void CpuEngine::backward(TrainPass& pass, const ValueHead& head, const float* dl, const float* dv) {
  TrainState& t = train();
  TrainHandle& h = static_cast<CpuPass&>(pass).h;
  train_backward(model_, t.params(), t.with_grads(view(head)), h, dl, dv);
  spare_layers_ = std::move(h.fc.layers);
}

double CpuEngine::step(const AdamWOptions& o, ValueHead& head) { return train().step(o, view(head)); }

void CpuEngine::zero_grad() { train().zero_grad(); }

std::map<std::string, HfTensor> CpuEngine::export_tensors(const std::string& what, const std::string& scope,
                                                          ValueHead& head) {
  const StateTensor st = state_tensor(what);
  if (train_) return export_training(model_.config(), *train_, st, scope, head, view(head));
  GLAM_CHECK(st == StateTensor::Params, "InvalidArgument", "training is not enabled; call setTraining() first");
  if (scope == "model" || scope == "lora") return export_hf(model_.config(), model_.weights(), scope == "lora");
  if (scope == "value_head") return value_head_tensors(head);
  fail("InvalidArgument", "scope must be model, lora or value_head");
}

void CpuEngine::import_tensors(const std::string& what, const std::string& scope,
                               const std::map<std::string, HfTensor>& src, ValueHead& head) {
  GLAM_CHECK(what != "grads", "InvalidArgument", "gradients cannot be imported");
  const StateTensor st = state_tensor(what);
  if (train_) return import_training(model_.config(), *train_, st, scope, src, head, view(head));
  GLAM_CHECK(st == StateTensor::Params, "InvalidArgument", "training is not enabled; call setTraining() first");
  if (scope == "value_head") {
    import_value_head(head, src);
  } else if (scope == "model") {
    Weights loaded = weights_from(model_.config(), src);
    auto from = param_list(loaded), to = param_list(model_.weights());
    for (size_t k = 0; k < param_list_base_size(loaded); ++k)
      if (!to[k]->empty()) *to[k] = std::move(*from[k]);
  } else if (scope != "lora") {  // no adapters before training: nothing to import
    fail("InvalidArgument", "scope must be model, lora or value_head");
  }
}

TrainStatus CpuEngine::train_status(int64_t set_step) { return train_status_of(train_.get(), set_step); }

}  // namespace glam
