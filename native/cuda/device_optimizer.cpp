// DeviceOptimizer: gradients, moments, clipping and AdamW on the GPU; see device_optimizer.h.
#include "cuda/device_optimizer.h"

#include <cmath>

#include "common/error.h"

namespace glam::cuda {

int DeviceOptimizer::add(float* master, void* copy, int64_t n) {
  GLAM_CHECK(master != nullptr && n > 0, "InvalidArgument", "an optimizer slot needs a master tensor of n > 0 elements");
  DeviceBuffer g(size_t(n) * sizeof(float));
  CUDA_CHECK(cudaMemset(g.get(), 0, g.size()));
  grads_.push_back(std::move(g));
  OptSlot sl{master, grads_.back().as<float>(), nullptr, nullptr, copy, n};
  if (!m_.empty()) {  // moments exist already: the new slot gets zeros too
    m_.emplace_back(size_t(n) * sizeof(float));
    v_.emplace_back(size_t(n) * sizeof(float));
    CUDA_CHECK(cudaMemset(m_.back().get(), 0, m_.back().size()));
    CUDA_CHECK(cudaMemset(v_.back().get(), 0, v_.back().size()));
    sl.m = m_.back().as<float>();
    sl.v = v_.back().as<float>();
  }
  host_.push_back(sl);
  dirty_ = true;
  return int(host_.size() - 1);
}

void DeviceOptimizer::zero_grad(cudaStream_t s) {
  for (const DeviceBuffer& g : grads_) CUDA_CHECK(cudaMemsetAsync(g.get(), 0, g.size(), s));
}

void DeviceOptimizer::ensure_moments(cudaStream_t s) {
  if (!m_.empty() || host_.empty()) return;
  for (OptSlot& sl : host_) {
    m_.emplace_back(size_t(sl.n) * sizeof(float));
    v_.emplace_back(size_t(sl.n) * sizeof(float));
    CUDA_CHECK(cudaMemsetAsync(m_.back().get(), 0, m_.back().size(), s));
    CUDA_CHECK(cudaMemsetAsync(v_.back().get(), 0, v_.back().size(), s));
    sl.m = m_.back().as<float>();
    sl.v = v_.back().as<float>();
  }
  dirty_ = true;
}

void DeviceOptimizer::upload_slots(cudaStream_t s) {
  if (!dirty_) return;
  const size_t bytes = host_.size() * sizeof(OptSlot);
  if (slots_.size() < bytes) slots_.alloc(bytes);
  const size_t pbytes = host_.size() * kAdamChunks * sizeof(double);
  if (partial_.size() < pbytes) partial_.alloc(pbytes);
  if (!norm_clip_.get()) norm_clip_.alloc(2 * sizeof(double));
  norm_host_.reserve(2 * sizeof(double));
  // synchronous: host_ may change (add) before an asynchronous copy would have read it
  CUDA_CHECK(cudaStreamSynchronize(s));
  CUDA_CHECK(cudaMemcpy(slots_.get(), host_.data(), bytes, cudaMemcpyHostToDevice));
  dirty_ = false;
}

double DeviceOptimizer::step(const AdamWHyper& o, cudaStream_t s) {
  GLAM_CHECK(o.lr >= 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps > 0 && o.weight_decay >= 0,
             "InvalidArgument", "AdamW needs lr >= 0, 0 <= betas < 1, eps > 0, weightDecay >= 0");
  ++step_;
  if (host_.empty()) return 0.0;
  ensure_moments(s);
  upload_slots(s);
  const double t = double(step_), bc1 = 1 - std::pow(o.beta1, t), bc2 = 1 - std::pow(o.beta2, t);
  const AdamWArgs a{float(1 - o.lr * o.weight_decay), float(o.beta1), float(o.beta2), float(o.lr / bc1), std::sqrt(bc2), o.eps};
  const int64_t S = int64_t(host_.size());
  grad_norm(norm_clip_.as<double>(), partial_.as<double>(), slots_.as<OptSlot>(), S, o.max_grad_norm, s);
  adamw_step(slots_.as<OptSlot>(), S, norm_clip_.as<double>(), a, s);
  CUDA_CHECK(cudaMemcpyAsync(norm_host_.as<double>(), norm_clip_.get(), 2 * sizeof(double), cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  return norm_host_.as<double>()[0];
}

int64_t DeviceOptimizer::params() const {
  int64_t n = 0;
  for (const OptSlot& sl : host_) n += sl.n;
  return n;
}

void DeviceOptimizer::copy_gradients(float* host, bool out, cudaStream_t s) {
  for (size_t i = 0; i < host_.size(); ++i) {
    const size_t bytes = size_t(host_[i].n) * sizeof(float);
    float* d = grads_[i].as<float>();
    CUDA_CHECK(out ? cudaMemcpyAsync(host, d, bytes, cudaMemcpyDeviceToHost, s) : cudaMemcpyAsync(d, host, bytes, cudaMemcpyHostToDevice, s));
    host += host_[i].n;
  }
  CUDA_CHECK(cudaStreamSynchronize(s));
}

size_t DeviceOptimizer::bytes() const {
  size_t b = 0;
  for (const auto* list : {&grads_, &m_, &v_})
    for (const DeviceBuffer& x : *list) b += x.size();
  return b;
}

}  // namespace glam::cuda
