// CudaEngine: one model on one GPU — weights uploaded once, the shared model code (model/decoder.h:
// the blocks, model/heads.h: final norm, LM head, value head, their backward and the result) over the
// CUDA backend (ops/cuda/cuda_backend.h), a metadata/head workspace sized from each batch (grown,
// then reused), a cuBLASLt GEMM context, one stream, and CUDA graphs of the whole scoring pass for
// batch shapes that repeat. The same scoring contract as the CPU engine (model/scorer.h, one
// BatchPlan and one ScoreResult): candidates' log-probs (sum of token log-probs), token log-probs,
// values from each prompt's last row after the final norm, optionally that hidden state.
// Legend: B prompts, N candidates, NT target tokens, R scored rows, T packed rows, C hidden.
// Subtle: a shape's first batch runs eagerly (cuBLASLt plans and kernel attributes are set up then,
// outside any capture); when the same shape signature (batch_plan.h) comes again, the pass is
// captured once and replayed from then on. The per-call metadata (ids, positions, rows, attention
// tiles) is copied into fixed workspace addresses before the launch, so one graph serves every batch
// of that signature. Growing the workspace or a decoder buffer (the backend's generation) or
// changing the value head drops the graphs.
// Not thread-safe: the N-API wrapper runs one operation per engine at a time.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "model/batch_plan.h"
#include "cuda/device_buffer.h"
#include "cuda/device_value_head.h"
#include "cuda/device_weights.h"
#include "cuda/workspace_plan.h"
#include "model/decoder.h"
#include "model/engine.h"
#include "model/heads.h"
#include "model/train_state.h"
#include "model/model_config.h"
#include "model/packed_batch.h"
#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/gemm.h"

namespace glam {
struct ValueHead;
}

namespace glam::cuda {

// Scoped device selection for the calling thread (N-API workers run on libuv's pool).
struct OnDevice {
  explicit OnDevice(int d) { CUDA_CHECK(cudaSetDevice(d)); }
};

struct EngineInfo {
  int device = 0;
  size_t weight_bytes = 0, workspace_bytes = 0;
  int64_t graphs = 0, graph_replays = 0;
};

class CudaEngine final : public Engine {
 public:
  // w: the fp32 host weights, freed tensor by tensor as they are uploaded
  CudaEngine(ModelConfig cfg, Weights&& w, DType dt, int device);
  ~CudaEngine() override;
  CudaEngine(const CudaEngine&) = delete;
  CudaEngine& operator=(const CudaEngine&) = delete;

  const ModelConfig& config() const override { return cfg_; }
  DType dtype() const { return w_.dt; }
  EngineInfo engine_info() const;
  std::vector<std::pair<std::string, InfoValue>> info() const override;

  // Uploads GLAM's value head (fp32; an empty head gives values of 0).
  void set_value_head(const ValueHead& head);
  bool holds_value_head() const override { return true; }
  // After enable_training the optimizer's value-head slots point at the uploaded head: replacing it
  // then is refused (InvalidArgument), as resuming imports the head's values instead.
  void value_head_changed(const ValueHead& head) override;
  // naive: each prompt+candidate as its own full sequence (the oracle plan, see plan_naive).
  ScoreResult score(const PackedBatch& batch, bool naive, bool want_hidden);
  ScoreResult score(const PackedBatch& batch, const ValueHead&, bool naive, bool want_hidden) override {
    return score(batch, naive, want_hidden);  // the uploaded head
  }
  // The fused pass, then the top-N of its scored rows (model/prompt_logprobs.h) from the workspace.
  ScoreResult score_top(const PackedBatch& batch, const ValueHead&, bool want_hidden, int64_t top_n) override;

  // Training (cuda_training.cpp): the same Decoder and Heads forward/backward over the CUDA backend,
  // and the same TrainState (model/train_state.h): fp32 gradients and AdamW with fp32 masters
  // behind bf16 compute copies.
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
  // Engine's flat gradient access on this engine's device.
  void read_gradients(float* out) override;
  void write_gradients(const float* in) override;

 private:
  ScoreResult score_plan(const BatchPlan& plan, bool want_hidden);
  void ensure_workspace(const WorkspaceShape& shape);
  // Stages the plan's metadata (laid out by m; kv tiles when m has room) and uploads it to dev.
  void upload_meta(const BatchPlan& plan, const MetaLayout& m, void* dev);
  void enqueue_pass(const BatchPlan& plan);
  void run_pass(const BatchPlan& plan);
  void drop_graphs();

  void bind_pass(const char* meta, const BatchPlan& p);
  TrainState& train();
  TrainState& train_state() override { return train(); }
  ValueHeadParams value_head() const;  // the uploaded head (no gradients)

  ModelConfig cfg_;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<Gemm> gemm_;
  DeviceWeights w_;
  std::unique_ptr<CudaBackend> be_;
  std::unique_ptr<Decoder> dec_;
  std::unique_ptr<Heads> heads_;
  DecoderParams params_;  // views of w_ (inference)
  DeviceValueHead vh_;  // the value head (fp32)
  // workspace: the arena, its layout for the current batch, host staging
  DeviceBuffer ws_;
  WorkspacePlan wp_;
  PinnedBuffer staging_;
  // CUDA graphs by shape signature; signatures seen once (eager) wait in seen_
  std::map<std::vector<int64_t>, cudaGraphExec_t> graphs_;
  std::map<std::vector<int64_t>, int> seen_;
  bool use_graphs_ = true;
  int64_t replays_ = 0;
  // training
  std::unique_ptr<TrainState> train_;
  std::vector<LayerCache> spare_layers_;  // the last consumed pass's layer caches
  std::unique_ptr<Buffer> bw_dx_;         // backward scratch: (T, C)
};

// Devices cudart can see (0 without a driver or GPU); err receives the reason when 0.
int device_count(std::string& err);
// DeviceUnavailable without that device, UnsupportedArchitecture for a head size the kernels lack:
// what both CUDA engines check before they touch the device.
void check_device(const ModelConfig& cfg, int device);

}  // namespace glam::cuda
