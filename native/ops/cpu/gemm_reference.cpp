// The GEMM references: plain triple loops with double accumulation, the ground truth that the
// packed kernels (gemm.cpp) are tested against. Same signatures and semantics as gemm.h's kernels:
// Y = (accumulate ? Y : 0) + bias + sum_k X·W, rounded to float once at the end.
#include <cstdint>

#include "ops/cpu/gemm.h"

namespace glam::cpu {

namespace {

// Element (i, k) of A is A[i*sa_i + k*sa_k]; element (k, j) of B is B[k*sb_k + j*sb_j].
void reference(const float* A, int64_t sa_i, int64_t sa_k, const float* B, int64_t sb_k, int64_t sb_j, float* Y,
               int64_t ldy, int64_t M, int64_t N, int64_t K, const float* bias, bool accumulate) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += double(A[i * sa_i + k * sa_k]) * double(B[k * sb_k + j * sb_j]);
      double init = accumulate ? double(Y[i * ldy + j]) : 0.0;
      if (bias) init += double(bias[j]);
      Y[i * ldy + j] = float(init + acc);
    }
  }
}

}  // namespace

void gemm_nt_reference(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy, int64_t M,
                       int64_t N, int64_t K, const float* bias, bool accumulate, ThreadPool&) {
  reference(X, ldx, 1, W, 1, ldw, Y, ldy, M, N, K, bias, accumulate);
}

void gemm_nn_reference(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy, int64_t M,
                       int64_t N, int64_t K, bool accumulate, ThreadPool&) {
  reference(X, ldx, 1, W, ldw, 1, Y, ldy, M, N, K, nullptr, accumulate);
}

void gemm_tn_reference(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy, int64_t M,
                       int64_t N, int64_t K, bool accumulate, ThreadPool&) {
  reference(X, 1, ldx, W, ldw, 1, Y, ldy, M, N, K, nullptr, accumulate);
}

}  // namespace glam::cpu
