// CudaT5Engine: a T5ForConditionalGeneration on one GPU, through the one Engine interface. The T5
// code is the CPU engine's (model/t5_scorer.h: the plan, encoder, decoder, heads and the result's
// assembly over T5Runtime; model/t5_training.h: the trainable set, LoRA targets and Hugging Face /
// PEFT names; model/train_state.h: the one TrainState and Backend::adamw_step); what is this
// engine's own is placement: the weights uploaded once, a pass's metadata uploaded and bound
// (CudaT5Runtime::place), the value head on the device, the stream.
// Precision: matrices (embedding, head, every projection, LoRA's A and B) in the compute type (bf16
// or fp32), norms and the relative position biases fp32; the residual stream, attention's q|k|v and
// statistics fp32 in both modes (ops/cuda/cuda_ops.h).
// Legend: B prompts, N candidates, Te encoder rows, Td decoder rows, R scored rows, NT targets,
// Vt LM-head tile width.
// Subtle:
// - No CUDA graphs: each pass is enqueued eagerly (the decoder engine's graphs key on one plan's
//   shape; a T5 pass has three row lists). Scoring synchronises once, when its results come back.
// - The value head lives on the device (holds_value_head): replacing it after setTraining() is
//   refused (the optimizer's slots point at it), as in the decoder engine; import its values instead.
// - bf16 LoRA adapters: A is PEFT's fp32 init rounded to bf16 and the fp32 master widened from it
//   (TrainState's rule for bf16 tables); fp32 mode keeps the init exactly, as the CPU engine does.
// Not thread-safe: the N-API wrapper runs one operation per engine at a time.
#pragma once
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cuda/device_buffer.h"
#include "cuda/device_value_head.h"
#include "model/engine.h"
#include "model/t5_scorer.h"
#include "model/t5_training.h"
#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/gemm.h"

namespace glam::cuda {

// T5Runtime over the CUDA backend: place() uploads a pass's metadata in one block (ids and positions
// of both stacks, scored rows, targets, and the encoder's, decoder's and cross attention's work
// lists) into the pass's store, sizes the LM head's tile scratch (R, Vt) and binds it all.
class CudaT5Runtime final : public T5Runtime {
 public:
  CudaT5Runtime(const ModelConfig& cfg, CudaBackend& be) : T5Runtime(cfg, be), cbe_(be) {}
  T5Meta place(const T5Plan& plan, std::unique_ptr<Buffer>& store) override;

 private:
  CudaBackend& cbe_;
  std::unique_ptr<Buffer> lm_;  // (R, Vt) logits tile, then run max and run sum (R) fp32
};

class CudaT5Engine final : public Engine {
 public:
  // w: the fp32 host weights, freed tensor by tensor as they are uploaded
  CudaT5Engine(ModelConfig cfg, T5Weights&& w, DType dt, int device);
  ~CudaT5Engine() override;
  CudaT5Engine(const CudaT5Engine&) = delete;
  CudaT5Engine& operator=(const CudaT5Engine&) = delete;

  const ModelConfig& config() const override { return cfg_; }
  std::vector<std::pair<std::string, InfoValue>> info() const override;
  ScoreResult score(const PackedBatch& batch, const ValueHead& head, bool naive, bool want_hidden) override;
  ScoreResult score_top(const PackedBatch& batch, const ValueHead& head, bool want_hidden, int64_t top_n) override;
  bool holds_value_head() const override { return true; }
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
  void read_gradients(float* out) override;
  void write_gradients(const float* in) override;

 protected:
  TrainState& train_state() override { return train(); }

 private:
  TrainState& train();
  T5Params params();                  // the weights (and adapters when training), no gradients
  ValueHeadParams value_head() const;  // the uploaded head (no gradients)
  void set_value_head(const ValueHead& head);
  T5Weights download_weights();       // the base tensors as fp32 host vectors (export while not training)

  ModelConfig cfg_;
  int device_ = 0;
  DType dt_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<Gemm> gemm_;
  std::unique_ptr<CudaBackend> be_;
  T5Weights meta_;               // structure: stacks and adapters' metadata, no tensor data
  std::vector<DeviceBuffer> t_;  // t5_param_list order: base tensors (empty ones unallocated), then adapters
  std::vector<bool> present_;    // (base) which base tensors exist
  ParamTable table_;             // views of t_'s base tensors
  size_t weight_bytes_ = 0;
  DeviceValueHead vh_;           // the value head (fp32)
  std::unique_ptr<CudaT5Runtime> rt_;
  std::unique_ptr<TrainState> train_;
};

}  // namespace glam::cuda
