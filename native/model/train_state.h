// TrainState: everything training adds to a loaded model, for both backends — the trainable set
// (model/trainable_set.h: full fine-tuning or LoRA adapters, optionally frozen embeddings / LM head;
// the value head always trains), the LoRA adapters, fp32 master weights where the forward reads bf16
// copies, ONE flat fp32 gradient buffer that accumulates over microbatches until zero_grad, AdamW
// moments of the same layout, and the clipped AdamW step (Backend::adamw_step).
// Tensors are indexed like param_list (model/weights.h), followed by the value head's weight/bias
// pairs, so export and import use the Hugging Face naming (export_hf) and both engines' checkpoints
// are the same. An architecture with its own parameter order (T5) hands over its table and
// trainable mask instead, and names its tensors itself (model/t5_training.h).
// Legend: k a param_list index, n elements of a tensor, G trainable elements (model, then value head).
// Subtle:
// - Flat layout: every trainable tensor owns a slice [off, off + n) of the gradient buffer (and of
//   the moments), model tensors in param_list order, then the value head's; flat_grads() is that whole
//   sequence (one read / write for an all-reduce across processes).
// - fp32 compute (the CPU, CUDA fp32 mode): the weight IS its master, updated in place. bf16 compute:
//   a trainable matrix's master is an fp32 buffer widened from its bf16 copy when training starts
//   (the loader's fp32 values are not kept on the host), the step rewrites the rounded copy.
//   Norm weights, biases and the value head are fp32 and their own masters.
// - Frozen tensors (LoRA's base, frozen embeddings / head) have no slice: grads()[k] is null and
//   the backward skips their dW GEMMs; their weights are never written by the step.
// - The value head is the engine's (host memory on the CPU, device memory on CUDA) and is passed in
//   by every call that reads it; a head of new shapes needs reset_value_head (its slices are
//   re-laid out, its gradients and moments start from zeros).
// - Moments are allocated (zeros) at the first step or import that needs them.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/decoder.h"
#include "model/param_table.h"
#include "model/trainable_set.h"

namespace glam {

enum class StateTensor { Params, Grads, ExpAvg, ExpAvgSq };
// "params" | "grads" | "exp_avg" | "exp_avg_sq"; InvalidArgument otherwise.
StateTensor state_tensor(const std::string& what);

class TrainState {
 public:
  // model: the engine's tensors (its base part is used; the table must outlive the state);
  // head_sizes: the value head's (C, hidden..., 1), empty without a head.
  TrainState(const ModelConfig& cfg, Backend& be, const ParamTable& model, const std::vector<int64_t>& head_sizes,
             TrainOptions opts);
  // An architecture with its own parameter order (T5: model/t5_weights.h t5_param_list): table.t
  // holds every tensor (base, then the adapters the caller created; table.meta null), trainable[k]
  // which of them train. fp32 tensors are their own masters; bf16 ones get an fp32 master.
  // download(), params() and the decoder-only import/export (engine.h) need a decoder-only table.
  TrainState(const ModelConfig& cfg, Backend& be, ParamTable table, const std::vector<bool>& trainable,
             const std::vector<int64_t>& head_sizes, TrainOptions opts);
  TrainState(const TrainState&) = delete;
  TrainState& operator=(const TrainState&) = delete;

  const TrainOptions& options() const { return opts_; }
  // base tensors and the adapters: what the forward reads
  const ParamTable& table() const { return table_; }
  // fp32 gradients in param_list order (null: frozen)
  const std::vector<float*>& grads() const { return grad_; }
  // The Decoder's views with the gradients.
  DecoderParams params() const { return decoder_params(cfg_, table_, &grad_); }
  // head with its gradient slices attached
  ValueHeadParams with_grads(ValueHeadParams head) const;
  void reset_value_head(const std::vector<int64_t>& sizes);

  void zero_grad();
  // Clipped AdamW over every trainable tensor and the value head (head.W, head.b are its masters,
  // updated in place); returns the global gradient norm before clipping.
  double step(const AdamWOptions& o, const ValueHeadParams& head);
  int64_t step_count() const { return step_; }
  void set_step_count(int64_t t) { step_ = t; }
  int64_t trainable_params() const { return total_; }
  size_t bytes() const;  // gradients, moments, fp32 masters and adapters

  // Every trainable tensor's gradient as one flat fp32 sequence (backend memory, flat_size() long),
  // and its copies to / from host memory (an all-reduce across processes reads and writes it whole).
  float* flat_grads() const { return g_ ? g_->as<float>() : nullptr; }
  int64_t flat_size() const { return total_; }
  void flat_grads_to_host(float* dst) const { be_.to_host(dst, flat_grads(), size_t(total_) * 4); }
  void flat_grads_from_host(const float* src) { be_.from_host(flat_grads(), src, size_t(total_) * 4); }

  // Table entry k of `what` in fp32 host memory (params: the fp32 master when it has one); EMPTY
  // for a frozen tensor's grads and moments.
  std::vector<float> download_tensor(StateTensor what, size_t k);
  // The model part (base tensors and adapters) of `what` as fp32 host Weights in param_list's layout;
  // frozen tensors are EMPTY for grads and moments.
  Weights download(StateTensor what);
  // The value head's tensors (weight, bias per layer); params are read from head.
  std::vector<std::vector<float>> download_value_head(StateTensor what, const ValueHeadParams& head);
  // Writes param_list tensor k (params: master and copy; moments: creates them first; frozen: no moments).
  void upload(StateTensor what, size_t k, const std::vector<float>& data);
  // Value-head tensor j (2i: layer i's weight, 2i + 1 its bias); params are written into head.
  void upload_value_head(StateTensor what, size_t j, const std::vector<float>& data, const ValueHeadParams& head);

 private:
  struct Slice {
    float* master = nullptr;  // fp32 master (== the weight in fp32 compute)
    int64_t off = -1, n = 0;  // slice of the flat buffers; -1: frozen
  };
  // slices of the trainable tensors (master: given[k] when not null, else the weight itself in fp32,
  // else a widened copy), then the flat layout
  void make_slices(const std::vector<bool>& trainable, const std::vector<float*>& given,
                   const std::vector<int64_t>& head_sizes);
  void layout(const std::vector<int64_t>& head_sizes);
  void ensure_moments();
  float* at(StateTensor what, int64_t off) const;

  ModelConfig cfg_;
  Backend& be_;
  TrainOptions opts_;
  Weights meta_;                          // structure: the adapters' metadata (no tensor data)
  ParamTable table_;                      // base refs (the engine's) + adapter refs (adapters_)
  std::vector<Slice> slice_;              // param_list order
  std::vector<Slice> vslice_;             // value head: weight, bias per layer
  std::vector<float*> grad_;              // param_list order
  std::vector<std::unique_ptr<Buffer>> masters_;   // bf16 compute: the fp32 masters of trainable matrices
  std::vector<std::unique_ptr<Buffer>> adapters_;  // per adapter tensor: fp32 master, then bf16 copy (bf16 only)
  std::unique_ptr<Buffer> g_, m_, v_;     // (G) flat fp32 gradients and moments
  int64_t model_total_ = 0, total_ = 0;   // elements of the model part, of everything
  int64_t step_ = 0;
};

// The model's tensors of a table as fp32 host Weights (bf16 tensors widened): export of a model
// that is not training.
Weights download_params(Backend& be, const ParamTable& t);
// One table entry as fp32 host values into out (bf16 widened on the backend through tmp, a scratch
// buffer the caller keeps across calls).
void download_param(Backend& be, const ParamRef& r, std::vector<float>& out, std::unique_ptr<Buffer>& tmp);
// Writes data into a table entry (through its fp32 master when it has one, then the compute copy).
void upload_param(Backend& be, const ParamRef& r, float* master, const std::vector<float>& data);
// The structure of w (layers, adapters' metadata) without tensor data.
Weights structure_of(const Weights& w);

}  // namespace glam
