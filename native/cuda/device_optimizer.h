// DeviceOptimizer: the GPU side of training's optimizer state — one slot per trainable tensor (its
// fp32 master, fp32 gradient, AdamW moments and, in bf16 mode, the bf16 compute copy the forward
// reads), gradient accumulation until zero_grad, and step() = global-norm clipping + fused AdamW
// returning the norm before clipping. The same semantics as the CPU engine's TrainState
// (native/model/training.cpp): PyTorch's AdamW (decoupled decay, bias-corrected moments, eps outside
// the square root), clip factor min(1, max_norm / (norm + 1e-6)) when max_norm > 0, moments allocated
// (zeros) at the first step or when imported, the step counter shared by every slot.
// Legend: n elements of one tensor; S slots.
// Subtle:
// - Frozen tensors are never registered: no gradient, no moments, and their dW GEMMs are skipped by
//   the caller (it asks has_grad).
// - The slots table lives in device memory and is re-uploaded only when a slot is added; the norm and
//   its clip factor stay on the device (the step kernel reads the factor there), only the norm is
//   copied back, after the step is enqueued, so step() costs one synchronisation.
// - In fp32 mode the master IS the compute weight (copy = nullptr): the engine registers its own
//   buffer and the step updates it in place; in bf16 mode the step writes the rounded copy too.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "cuda/device_buffer.h"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

struct AdamWHyper {
  double lr = 1e-6, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0, max_grad_norm = 0.0;  // 0: no clipping
};

class DeviceOptimizer {
 public:
  DeviceOptimizer() = default;
  DeviceOptimizer(const DeviceOptimizer&) = delete;
  DeviceOptimizer& operator=(const DeviceOptimizer&) = delete;

  // Registers a trainable tensor: master (n) fp32, copy (n) bf16 or nullptr. Allocates its gradient
  // (zeros); returns the slot index.
  int add(float* master, void* copy, int64_t n);
  int64_t slots() const { return int64_t(host_.size()); }
  float* grad(int i) const { return grads_[size_t(i)].as<float>(); }
  float* master(int i) const { return host_[size_t(i)].w; }
  // AdamW moments of slot i (null before the first step / import: call ensure_moments first)
  float* exp_avg(int i) const { return host_[size_t(i)].m; }
  float* exp_avg_sq(int i) const { return host_[size_t(i)].v; }
  int64_t numel(int i) const { return host_[size_t(i)].n; }

  void zero_grad(cudaStream_t s);
  // Allocates the moments (zeros) if they do not exist yet.
  void ensure_moments(cudaStream_t s);
  // One clipped AdamW step over every slot; returns the global gradient norm before clipping.
  double step(const AdamWHyper& o, cudaStream_t s);

  int64_t step_count() const { return step_; }
  void set_step_count(int64_t t) { step_ = t; }
  int64_t params() const;
  // Data parallel: every slot's gradient, in slot order, to (out) or from (!out) one host buffer of
  // params() values; synchronises s.
  void copy_gradients(float* host, bool out, cudaStream_t s);
  size_t bytes() const;  // gradients + moments (masters are counted by whoever owns them)

 private:
  void upload_slots(cudaStream_t s);

  std::vector<OptSlot> host_;
  std::vector<DeviceBuffer> grads_, m_, v_;
  DeviceBuffer slots_, norm_clip_, partial_;
  PinnedBuffer norm_host_;
  bool dirty_ = true;
  int64_t step_ = 0;
};

}  // namespace glam::cuda
