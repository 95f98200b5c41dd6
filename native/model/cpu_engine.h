// CpuEngine: the Engine (model/engine.h) of the CPU addon — a Transformer (host weights, the CPU
// backend, the shared decoder and heads), the pass over a plan (model/scorer.h) and, once enabled,
// a TrainState (model/train_state.h) with the training forwards' layer caches recycled between steps.
// Subtle: the value head is the wrapper's (host memory is backend memory): every call that reads it
// receives it, and the optimizer step updates it in place.
// Legend: B prompts, N candidates.
#pragma once
#include <memory>
#include <vector>

#include "model/engine.h"
#include "model/scorer.h"
#include "model/train_state.h"
#include "model/transformer.h"

namespace glam {

class CpuEngine final : public Engine {
 public:
  CpuEngine(ModelConfig cfg, Weights w, int threads) : model_(std::move(cfg), std::move(w), threads) {}

  const ModelConfig& config() const override { return model_.config(); }
  std::vector<std::pair<std::string, InfoValue>> info() const override;
  ScoreResult score(const PackedBatch& batch, const ValueHead& head, bool naive, bool want_hidden) override;
  ScoreResult score_top(const PackedBatch& batch, const ValueHead& head, bool want_hidden, int64_t top_n) override;
  bool holds_value_head() const override { return false; }
  void value_head_changed(const ValueHead& head) override;

  void enable_training(const TrainOptions& opts, const ValueHead& head) override;
  bool training() const override { return train_ != nullptr; }
  std::unique_ptr<TrainPass> forward_train(const PackedBatch& batch, const ValueHead& head, ScoreResult& r) override;
  void backward(TrainPass& pass, const ValueHead& head, const float* dl, const float* dv) override;
  double step(const AdamWOptions& o, ValueHead& head) override;
  void zero_grad() override;
  std::map<std::string, HfTensor> export_tensors(const std::string& what, const std::string& scope,
                                                 ValueHead& head) override;
  void import_tensors(const std::string& what, const std::string& scope, const std::map<std::string, HfTensor>& src,
                      ValueHead& head) override;
  TrainStatus train_status(int64_t set_step) override;

 private:
  TrainState& train();
  TrainState& train_state() override { return train(); }
  DecoderParams params();  // the weights (and adapters when training), no gradients

  Transformer model_;
  std::unique_ptr<TrainState> train_;
  std::vector<LayerCache> spare_layers_;  // the last consumed pass's layer caches, reused by the next
};

}  // namespace glam
