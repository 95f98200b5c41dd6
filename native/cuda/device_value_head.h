// DeviceValueHead: GLAM's value MLP on the GPU (fp32), as both CUDA engines hold it (the decoder
// engine, cuda/cuda_engine.h, and the T5 engine, cuda/cuda_t5_engine.h: holds_value_head): layer i
// weight (sizes[i+1], sizes[i]) and bias (sizes[i+1]), and the widest hidden layer for the value
// head's scratch. Legend: C hidden (sizes[0]).
// Subtle: upload copies synchronously and frees the old head first; the caller synchronises its
// stream before (kernels may still read the old head) and drops whatever captured its addresses.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "cuda/device_buffer.h"
#include "model/value_head.h"

namespace glam::cuda {

struct DeviceValueHead {
  std::vector<int64_t> sizes;    // C, hidden..., 1 (empty: no head)
  std::vector<DeviceBuffer> w, b;
  int64_t width = 0;             // widest hidden layer (0 without one)
  bool empty() const { return w.empty(); }
  void upload(const ValueHead& head);
  ValueHeadParams params() const;  // views, no gradients
};

}  // namespace glam::cuda
