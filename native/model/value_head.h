// ValueHead: GLAM's value MLP on a prompt's last-token final hidden state:
// C -> 1024 -> sigmoid -> 1024 -> sigmoid -> 1 (sizes configurable). Weights are created (seeded)
// and saved by the TS side (lib/policy/value-head.ts) and handed over as fp32 arrays.
// Legend: B prompts, C hidden.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/thread_pool.h"

namespace glam {

struct ValueHead {
  std::vector<int64_t> sizes;              // (layers+1): C, hidden..., 1
  std::vector<std::vector<float>> weight;  // layer i: (sizes[i+1], sizes[i])
  std::vector<std::vector<float>> bias;    // layer i: (sizes[i+1])

  bool empty() const { return weight.empty(); }
  // out[B] <- head(h[B, C]); with acts, also keeps every layer's input (acts[0] = h) for backward.
  void forward(float* out, const float* h, int64_t B, ThreadPool& pool,
               std::vector<std::vector<float>>* acts = nullptr) const;
  // dh[B, C] <- d value / d h . dv; grads (same shapes as this head) +=.
  void backward(float* dh, ValueHead& grads, const float* dv, int64_t B,
                const std::vector<std::vector<float>>& acts, ThreadPool& pool) const;
  // A zero head of the same shapes (gradient buffers, optimizer moments).
  ValueHead zeros_like() const;
};

}  // namespace glam
