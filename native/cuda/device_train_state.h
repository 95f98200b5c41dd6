// DeviceTrainState: what training adds to a model on the GPU — the trainable set (decided by
// model/trainable_set.h exactly as on the CPU), fp32 master weights where the forward reads bf16
// copies, LoRA adapters (fp32 masters, compute-type copies), the value head, and the optimizer
// (cuda/device_optimizer.h: fp32 gradients accumulated until zero_grad, AdamW moments, clipped step).
// Tensors are indexed like param_list(host Weights) — embeddings, 12 per layer, final norm, head,
// then every adapter's A and B — followed by the value head's weight/bias pairs, so export and import
// reuse the CPU engine's Hugging Face naming (export_hf) and the two engines' checkpoints are the same.
// Legend: V vocab, C hidden, L layers, r LoRA rank, n elements of one tensor.
// Subtle:
// - fp32 mode: the compute weight IS the master (no copy); bf16 mode: a matrix's master is a new fp32
//   buffer uploaded from the host's fp32 weights (not widened from bf16), the step rewrites the copy.
//   Norm weights and biases are fp32 in both modes and are their own masters.
// - Frozen tensors (LoRA's base, frozen embeddings / head) get no slot: grad() is null for them and
//   the backward skips their dW GEMMs; their weights are never written.
// - The value head's slots point at the engine's head buffers: replacing the head (set_value_head)
//   needs a new state, as the CPU engine's reset_value_head re-shapes its buffers.
// - host_ keeps the fp32 host structure (sizes, adapter metadata) as export's staging: exports
//   download into it, so it is a host-memory copy of the model for the state's lifetime.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cuda/device_optimizer.h"
#include "cuda/device_weights.h"
#include "model/trainable_set.h"
#include "model/weights.h"

namespace glam::cuda {

// The per-layer tensors in param_list's order.
enum class LayerParam { Norm1W, Norm1B, Wqkv, Bqkv, Wo, Bo, Norm2W, Norm2B, Wup, Bup, Wdown, Bdown };
constexpr size_t kLayerParams = 12;
inline size_t layer_param_index(int64_t layer, LayerParam p) { return 2 + kLayerParams * size_t(layer) + size_t(p); }

// One LoRA adapter on the device: A (r, in), B (out, r) fp32 masters and compute-type copies.
struct DeviceAdapter {
  int64_t out_off = 0, out_n = 0, in_n = 0, rank = 0;
  float scale = 1.0f;
  DeviceBuffer A, B;            // fp32 masters
  DeviceBuffer A_copy, B_copy;  // bf16 compute copies (bf16 mode only)
  size_t a_index = 0;           // param index of A (B is a_index + 1)
  const void* A_compute() const { return A_copy.get() ? A_copy.get() : A.get(); }
  const void* B_compute() const { return B_copy.get() ? B_copy.get() : B.get(); }
};

// Per layer, the adapters of its fused matrices (same grouping as LayerWeights::lqkv, lo, lup, ldown).
struct DeviceLayerAdapters {
  std::vector<DeviceAdapter> qkv, o, up, down;
};

// The value head on the device (fp32): layer i weight (sizes[i+1], sizes[i]) and bias (sizes[i+1]).
struct DeviceValueHeadRefs {
  std::vector<float*> weight, bias;
  std::vector<int64_t> sizes;
};

enum class StateTensor { Params, Grads, ExpAvg, ExpAvgSq };

class DeviceTrainState {
 public:
  // host: the model's fp32 weights (adapters are added to a copy of it); dw: its device compute
  // weights (fp32 mode: updated in place by the step); head: the engine's value head buffers.
  DeviceTrainState(const ModelConfig& cfg, const Weights& host, DeviceWeights& dw, const DeviceValueHeadRefs& head,
                   const TrainOptions& opts, cudaStream_t s);
  DeviceTrainState(const DeviceTrainState&) = delete;
  DeviceTrainState& operator=(const DeviceTrainState&) = delete;

  const TrainOptions& options() const { return opts_; }
  // fp32 gradient of param_list tensor k (null when frozen or empty); the value head's layer i
  float* grad(size_t k) const { return slot_[k] < 0 ? nullptr : opt_.grad(slot_[k]); }
  float* layer_grad(int64_t l, LayerParam p) const { return grad(layer_param_index(l, p)); }
  float* value_grad_w(size_t i) const { return opt_.grad(vslot_[2 * i]); }
  float* value_grad_b(size_t i) const { return opt_.grad(vslot_[2 * i + 1]); }
  const std::vector<DeviceLayerAdapters>& adapters() const { return lora_; }
  bool lora() const { return opts_.lora; }

  void zero_grad(cudaStream_t s) { opt_.zero_grad(s); }
  // Clipped AdamW over every trainable tensor; returns the global gradient norm before clipping.
  double step(const AdamWHyper& o, cudaStream_t s) { return opt_.step(o, s); }
  int64_t step_count() const { return opt_.step_count(); }
  void set_step_count(int64_t t) { opt_.set_step_count(t); }
  int64_t trainable_params() const { return opt_.params(); }
  // Data parallel (Engine::read_gradients): every gradient as one flat host buffer, optimizer slot order.
  void copy_gradients(float* host, bool out, cudaStream_t s) { opt_.copy_gradients(host, out, s); }
  size_t bytes() const;  // gradients, moments, fp32 masters and adapters held on the GPU

  // The model part (base tensors and adapters) of what, as fp32 host Weights in param_list's layout;
  // frozen tensors are EMPTY for grads and moments (the CPU engine's convention), moments before the
  // first step are zeros.
  const Weights& download(StateTensor what, cudaStream_t s);
  // The value head's tensors, weight/bias per layer.
  std::vector<std::vector<float>> download_value_head(StateTensor what, cudaStream_t s);
  // Writes param_list tensor k (params: master and copy; moments: creates them first). Sizes are the
  // caller's to check (against host_shape()).
  void upload(StateTensor what, size_t k, const std::vector<float>& data, cudaStream_t s);
  void upload_value_head(StateTensor what, size_t i, bool bias, const std::vector<float>& data, cudaStream_t s);
  const Weights& host_shape() const { return host_; }

 private:
  struct Ref {
    void* compute = nullptr;  // what the forward reads
    DType dt = DType::F32;
    float* master = nullptr;  // fp32 master (== compute in fp32 mode / fp32 tensors); null when frozen
    int64_t n = 0;
  };
  float* state_ptr(StateTensor what, int slot) const;

  ModelConfig cfg_;
  TrainOptions opts_;
  Weights host_;
  std::vector<Ref> refs_;                // param_list order
  std::vector<int> slot_;                // param_list order -> optimizer slot (-1: frozen / empty)
  std::vector<int> vslot_;               // value head: weight, bias per layer
  std::vector<int64_t> vn_;              // their sizes
  std::vector<DeviceBuffer> masters_;    // bf16 mode: the fp32 masters of trainable matrices
  std::vector<DeviceLayerAdapters> lora_;
  DeviceOptimizer opt_;
};

}  // namespace glam::cuda
