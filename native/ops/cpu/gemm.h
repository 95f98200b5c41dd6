// GEMM for the CPU backend: the op that dominates the engine's time.
// defines: gemm_nt, gemm_nn, gemm_tn (packed, register-blocked, threaded) and their plain
//          double-accumulating references gemm_nt_reference, gemm_nn_reference, gemm_tn_reference.
//
// Dimension legend: M rows (tokens), N output features, K input features.
// All matrices are row-major fp32 with leading dimensions (row strides, in floats) >= their logical
// width; any M, N, K >= 0 is accepted (M, N == 0: nothing to do; K == 0: Y gets only the bias /
// keeps its accumulated value).
// Subtle: every output element is computed by one thread in a fixed order (per k block of at most
// 768, a fused-multiply-add chain over its k in increasing order started from the bias (first block)
// or 0, then added once to (accumulate ? Y : 0) or the previous blocks' sum; gemm_nt with M <= 4 uses
// vector-lane partial sums instead), so results are bitwise the same whatever the thread count.
// Subtle: Y is added after the chain, not used as its start, because accumulate is the residual
// add (x += o_proj(...), x += down(...)): a residual of a real model reaches hundreds in its outlier
// channels, and K FMAs rounded at that magnitude lose ~sqrt(K) ulps of it per layer (SmolLM2-135M
// vs float64: final hidden state 8e-6 of its scale instead of 2e-6, log-probs 1e-4 instead of 4e-5).
// Y must not alias X, W or bias.
// Implementation (gemm.cpp): one microkernel per ISA (AVX-512: 12x32, AVX2+FMA: 6x16, portable
// scalar: 4x8); the smaller operand is packed once into shared panels, the other is packed per
// task, and the pool splits the larger of M and N.
#pragma once
#include <cstdint>

#include "runtime/thread_pool.h"

namespace glam::cpu {

// Y[M,N] (row stride ldy) = X[M,K] (ldx) · W[N,K]^T (ldw)  (+ bias[N] if bias) ; if accumulate, Y += instead of =.
// W is a Hugging Face Linear weight [out=N, in=K], row-major. Threads: pool.
void gemm_nt(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy,
             int64_t M, int64_t N, int64_t K, const float* bias, bool accumulate, ThreadPool& pool);
// Y[M,N] = X[M,K] · W[K,N]          (backward: dX = dY · W with W [N_out, K_in] seen as [K,N])
void gemm_nn(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy,
             int64_t M, int64_t N, int64_t K, bool accumulate, ThreadPool& pool);
// Y[M,N] (+)= X[K,M]^T · W[K,N]      (backward: dW = dY^T · X)
void gemm_tn(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy,
             int64_t M, int64_t N, int64_t K, bool accumulate, ThreadPool& pool);

// Plain triple-loop references (double accumulation) with the same signatures, for parity tests.
// They are single-threaded whatever the pool.
void gemm_nt_reference(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy,
                       int64_t M, int64_t N, int64_t K, const float* bias, bool accumulate, ThreadPool& pool);
void gemm_nn_reference(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy,
                       int64_t M, int64_t N, int64_t K, bool accumulate, ThreadPool& pool);
void gemm_tn_reference(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy,
                       int64_t M, int64_t N, int64_t K, bool accumulate, ThreadPool& pool);

}  // namespace glam::cpu
