// Engine: what one loaded model offers the N-API layer (native/napi/model_wrap.h), whichever backend
// runs it: scoring, the value head, and the training surface (enable, forward with a handle,
// backward, step, zeroGrad, tensors under Hugging Face / PEFT names). The CPU engine
// (model/cpu_engine.h) and the CUDA engine (cuda/cuda_engine.h) implement it; each addon links one
// (native/napi/load_cpu.cpp, native/napi_cuda/load_cuda.cpp) behind the same wrapper and workers.
// Not thread-safe: the wrapper runs one operation per engine at a time. The value head is the
// wrapper's (host fp32, swapped by setValueHead): calls that read it receive it.
// Legend: B prompts, N candidates.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "model/batch_plan.h"
#include "model/model_config.h"
#include "model/packed_batch.h"
#include "model/train_state.h"
#include "model/trainable_set.h"
#include "model/value_head.h"
#include "model/weights.h"

namespace glam {

// What a training forward keeps until its backward (one per forward; single use).
struct TrainPass {
  virtual ~TrainPass() = default;
  int64_t B = 0, N = 0;  // prompts and candidates: the backward's dValues and dLogprobs lengths
  virtual size_t bytes() const = 0;
  virtual int64_t tokens() const = 0;
};

// A value the engine reports in info(): a number or a string.
struct InfoValue {
  double num = 0;
  std::string str;
  bool is_str = false;
};

struct TrainStatus {
  bool enabled = false, lora = false;
  int64_t step = 0, trainable_params = 0;
  size_t state_bytes = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const ModelConfig& config() const = 0;
  virtual std::vector<std::pair<std::string, InfoValue>> info() const = 0;

  virtual ScoreResult score(const PackedBatch& batch, const ValueHead& head, bool naive, bool want_hidden) = 0;
  // A fused score() that also gives each target token's top_n alternatives over the vocabulary
  // (model/prompt_logprobs.h). The default throws NotImplemented.
  virtual ScoreResult score_top(const PackedBatch& batch, const ValueHead& head, bool want_hidden, int64_t top_n);
  // Whether the engine holds its own copy of the value head (then value_head_changed must run under
  // the operation lock); the CPU engine reads the head it is given.
  virtual bool holds_value_head() const = 0;
  virtual void value_head_changed(const ValueHead& head) = 0;

  // --- training (InvalidArgument "training is not enabled" before enable_training)
  virtual void enable_training(const TrainOptions& opts, const ValueHead& head) = 0;
  virtual bool training() const = 0;
  virtual std::unique_ptr<TrainPass> forward_train(const PackedBatch& batch, const ValueHead& head, ScoreResult& r) = 0;
  // Gradients of sum_k dl[k] logprob_k + sum_b dv[b] value_b accumulate; consumes the pass.
  virtual void backward(TrainPass& pass, const ValueHead& head, const float* dl, const float* dv) = 0;
  // Clipped AdamW (the value head trains too); returns the global norm before clipping.
  virtual double step(const AdamWOptions& o, ValueHead& head) = 0;
  virtual void zero_grad() = 0;
  // what: params | grads | exp_avg | exp_avg_sq; scope: model | lora | value_head.
  virtual std::map<std::string, HfTensor> export_tensors(const std::string& what, const std::string& scope,
                                                         ValueHead& head) = 0;
  // The inverse (not grads); scope model needs every tensor of the architecture.
  virtual void import_tensors(const std::string& what, const std::string& scope,
                              const std::map<std::string, HfTensor>& src, ValueHead& head) = 0;
  // set_step >= 0: sets the optimizer's step count (resume) first.
  virtual TrainStatus train_status(int64_t set_step) = 0;
  // Data-parallel training (native/collective, lib/ppo/learners.ts): every trainable gradient as ONE
  // flat fp32 buffer of gradient_numel() values, in the step's fixed order (the trainable tensors of
  // param_list, then the value head's layers, weight before bias). Read after backward; written back
  // (all-reduced and averaged over the learners) before step. All three go through train_state()
  // (InvalidArgument before enable_training); a backend that must select its device first overrides
  // read/write to do that and then calls these.
  int64_t gradient_numel();
  virtual void read_gradients(float* out);        // out: gradient_numel() values
  virtual void write_gradients(const float* in);  // in: gradient_numel() values

 protected:
  // The engine's TrainState (InvalidArgument "training is not enabled" before enable_training).
  virtual TrainState& train_state() = 0;
};

// Reads `name` from src with n values, or throws TensorMissing / TensorShapeMismatch.
const std::vector<float>& tensor_from(const std::map<std::string, HfTensor>& src, const std::string& name, size_t n);
// The value head's tensors under "value_head.<2i>.weight|bias" (GLAM's nn.Sequential names).
std::map<std::string, HfTensor> value_head_tensors(const ValueHead& h);
void import_value_head(ValueHead& h, const std::map<std::string, HfTensor>& src);
// Weights rebuilt from Hugging Face names through the loader (which knows the fused layout).
Weights weights_from(const ModelConfig& cfg, const std::map<std::string, HfTensor>& src);

// Both engines' export and import while training, through their TrainState: scope model | lora |
// value_head. head: the host value head (its shapes; import of params writes the new values into
// it); hp: the engine's value head as the backend holds it (params are read from / written to it).
std::map<std::string, HfTensor> export_training(const ModelConfig& cfg, TrainState& t, StateTensor what,
                                                const std::string& scope, const ValueHead& head,
                                                const ValueHeadParams& hp);
void import_training(const ModelConfig& cfg, TrainState& t, StateTensor what, const std::string& scope,
                     const std::map<std::string, HfTensor>& src, ValueHead& head, const ValueHeadParams& hp);
// The value-head scope of the above (also T5's, whose model tensors are named by model/t5_training.h).
std::map<std::string, HfTensor> export_value_head_state(TrainState& t, StateTensor what, const ValueHead& head,
                                                        const ValueHeadParams& hp);
void import_value_head_state(TrainState& t, StateTensor what, const std::map<std::string, HfTensor>& src,
                             ValueHead& head, const ValueHeadParams& hp);
// Both engines' train_status: t null when training is off; set_step >= 0 sets the step count first.
TrainStatus train_status_of(TrainState* t, int64_t set_step);

}  // namespace glam
