// CudaEngine: one model on one GPU — weights uploaded once, an activation workspace sized from each
// batch's token count (grown, then reused), a cuBLASLt GEMM context, one stream, and CUDA graphs of
// the whole scoring pass for batch shapes that repeat. The same scoring contract as the CPU engine
// (native/model/scorer.h): candidates' log-probs (sum of token log-probs), token log-probs, values
// from each prompt's last row after the final norm, optionally that hidden state.
// Legend: B prompts, N candidates, NT target tokens, R scored rows, T packed rows, C hidden.
// Subtle: a shape's first batch runs eagerly (cuBLASLt plans and kernel attributes are set up then,
// outside any capture); when the same shape signature (batch_plan.h) comes again, the pass is
// captured once and replayed from then on. The per-call metadata (ids, positions, rows, attention
// tiles) is copied into fixed workspace addresses before the launch, so one graph serves every batch
// of that signature. Growing the workspace or changing the value head drops the graphs.
// Not thread-safe: the N-API wrapper runs one operation per engine at a time.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "model/batch_plan.h"
#include "cuda/device_buffer.h"
#include "cuda/device_weights.h"
#include "cuda/workspace_plan.h"
#include "model/model_config.h"
#include "model/packed_batch.h"
#include "ops/cuda/gemm.h"

namespace glam {
struct ValueHead;
}

namespace glam::cuda {

struct CudaScore {
  std::vector<float> logprobs;        // (N)
  std::vector<float> token_logprobs;  // (NT), candidate after candidate
  std::vector<float> values;          // (B)
  std::vector<float> hidden;          // (B, C) when asked
};

struct EngineInfo {
  int device = 0;
  size_t weight_bytes = 0, workspace_bytes = 0;
  int64_t graphs = 0, graph_replays = 0;
};

class CudaEngine {
 public:
  CudaEngine(ModelConfig cfg, const Weights& w, DType dt, int device);
  ~CudaEngine();
  CudaEngine(const CudaEngine&) = delete;
  CudaEngine& operator=(const CudaEngine&) = delete;

  const ModelConfig& config() const { return cfg_; }
  DType dtype() const { return w_.dt; }
  EngineInfo info() const;

  // Uploads GLAM's value head (fp32; an empty head gives values of 0).
  void set_value_head(const ValueHead& head);
  // naive: each prompt+candidate as its own full sequence (the oracle layout, see naive_batch).
  CudaScore score(const PackedBatch& batch, bool naive, bool want_hidden);

 private:
  CudaScore score_fused(const BatchPlan& plan, bool want_hidden);
  void ensure_workspace(const WorkspaceShape& shape);
  void upload_meta(const BatchPlan& plan);
  void enqueue_pass(const BatchPlan& plan);
  void run_pass(const BatchPlan& plan);
  void drop_graphs();

  ModelConfig cfg_;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<Gemm> gemm_;
  DeviceWeights w_;
  // value head (fp32): layer i weight (sizes[i+1], sizes[i]) and bias (sizes[i+1])
  std::vector<int64_t> vsizes_;
  std::vector<DeviceBuffer> vw_, vb_;
  int64_t vwidth_ = 0;
  // workspace: the arena, its layout for the current batch, host staging
  DeviceBuffer ws_;
  WorkspacePlan wp_;
  PinnedBuffer staging_;
  // CUDA graphs by shape signature; signatures seen once (eager) wait in seen_
  std::map<std::vector<int64_t>, cudaGraphExec_t> graphs_;
  std::map<std::vector<int64_t>, int> seen_;
  bool use_graphs_ = true;
  int64_t replays_ = 0;
};

// Devices cudart can see (0 without a driver or GPU); err receives the reason when 0.
int device_count(std::string& err);

}  // namespace glam::cuda
