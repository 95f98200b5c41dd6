// Linear layers with optional LoRA adapters, forward and backward side by side: the one place the
// model's matrix products (and their gradients) are formed.
// Forward:  Y[T, out] (+)= X[T, in] W[out, in]^T + b  +  sum_a s_a (X A_a^T) B_a^T  (each adapter
// writes its own column slice of Y: q/k/v share the fused qkv matrix, gate/up the fused up matrix).
// Subtle: a training forward keeps each adapter's t = s X A^T ((r, T): r << in, so it costs little);
// frozen weights (empty gradient vectors) skip their dW GEMMs entirely.
// Legend: T rows, in/out features, r adapter rank.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/thread_pool.h"

namespace glam {

struct LoraAdapter {
  std::string module;       // Hugging Face module path, e.g. "model.layers.0.self_attn.q_proj"
  int64_t out_off = 0;      // first output column of the fused matrix this adapter adds to
  int64_t out_n = 0, in_n = 0, rank = 0;
  float scale = 1.0f;       // alpha / rank
  std::vector<float> A, B;  // (rank, in_n), (out_n, rank)
};

// keep_t (training): receives each adapter's s X A^T as (r, T), tiny next to the layer's activations,
// so backward need not recompute it.
void linear_forward(float* Y, const float* X, int64_t T, int64_t in, int64_t out, const std::vector<float>& W,
                    const std::vector<float>& b, const std::vector<LoraAdapter>& lora, bool accumulate, ThreadPool& pool,
                    std::vector<std::vector<float>>* keep_t = nullptr);

// dX[T, in] (= or += per dx_accumulate) from dY[T, out] (dX null: not needed, skipped); dW (out, in), db (out) and the adapters'
// dA/dB are ACCUMULATED when their vectors are non-empty (empty: frozen, skipped).
void linear_backward(float* dX, bool dx_accumulate, const float* dY, const float* X, int64_t T, int64_t in, int64_t out,
                     const std::vector<float>& W, std::vector<float>& dW, std::vector<float>& db,
                     const std::vector<LoraAdapter>& lora, std::vector<LoraAdapter>& dlora, ThreadPool& pool,
                     const std::vector<std::vector<float>>* saved_t = nullptr);

}  // namespace glam
