// Linear layers with optional LoRA adapters on the CPU, forward and backward side by side: the one
// place the model's matrix products (and their gradients) are formed.
// Forward:  Y[T, out] (+)= X[T, in] W[out, in]^T + b  +  sum_a s_a (X A_a^T) B_a^T  (each adapter
// writes its own column slice of Y: q/k/v share the fused qkv matrix, gate/up the fused up matrix).
// Subtle: a training forward keeps each adapter's t = s X A^T ((r, T) per adapter, adapter after
// adapter: r << in, so it costs little); frozen weights (null gradients) skip their dW GEMMs.
// Legend: T rows, in/out features, r adapter rank.
#pragma once
#include <cstdint>

#include "backend/backend.h"
#include "runtime/thread_pool.h"

namespace glam::cpu {

// keep_t (training, sum of ranks x T): receives each adapter's s X A^T as (r, T).
void linear_forward(float* Y, const float* X, int64_t T, int64_t in, int64_t out, const LinearParams& p,
                    bool accumulate, float* keep_t, ThreadPool& pool);

// dX[T, in] (= or += per dx_accumulate) from dY[T, out] (dX null: not needed, skipped); dW (out, in),
// db (out) and the adapters' dA/dB are ACCUMULATED when not null (null: frozen, skipped).
// saved_t: linear_forward's keep_t (null: recomputed).
void linear_backward(float* dX, bool dx_accumulate, const float* dY, const float* X, int64_t T, int64_t in,
                     int64_t out, const LinearParams& p, const float* saved_t, ThreadPool& pool);

}  // namespace glam::cpu
