// T5Engine: the Engine (model/engine.h) of a T5ForConditionalGeneration on the CPU addon: scoring
// (model/t5_scorer.h: fused and naive) and, once enabled, training through the one TrainState
// (model/t5_training.h: T5's trainable set over model/train_state.h), with tensors exported and
// imported under Hugging Face / PEFT names (model/t5_training.h t5_export / t5_import). The CUDA
// addon runs the same T5 code in its own engine (cuda/cuda_t5_engine.h); only placement differs.
// Subtle: the value head is the wrapper's (host memory is backend memory), as in the CPU engine.
// Legend: B prompts, N candidates.
#pragma once
#include <memory>
#include <vector>

#include "model/engine.h"
#include "model/t5_cpu.h"

namespace glam {

class T5Engine final : public Engine {
 public:
  T5Engine(ModelConfig cfg, T5Weights w, int threads) : m_(std::move(cfg), std::move(w), threads) {}

  const ModelConfig& config() const override { return m_.cfg; }
  std::vector<std::pair<std::string, InfoValue>> info() const override;
  ScoreResult score(const PackedBatch& batch, const ValueHead& head, bool naive, bool want_hidden) override;
  // The fused pass with each target's top_n alternatives (Engine::score_top); a candidate's first
  // token's row is the decoder's first step.
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
  T5Params params();  // the weights (and adapters when training), no gradients

  T5Cpu m_;
  std::unique_ptr<TrainState> train_;
  T5Cache spare_;  // the last consumed pass's activation caches, reused by the next (as CpuEngine's layers)
};

}  // namespace glam
