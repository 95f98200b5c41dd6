// GEMMs on the GPU through cuBLASLt: the model's matrix products in the row-major, PyTorch-Linear
// layout the rest of glam uses. bf16 inputs with fp32 accumulation and fp32 output (bf16 mode), or
// fp32 throughout (fp32 mode: plain fp32 compute, never TF32, for parity checks).
// Legend: M rows (tokens), N output features, K input features.
// Subtle: cuBLAS is column-major, so Y[M,N] = X[M,K] W[N,K]^T is computed as the column-major
// Y^T (N x M) = op_T(W) (N x K) . X^T (K x M): A = W with transa = T, B = X, ld = K, ldc = N.
// Descriptors and the heuristic's algorithm are cached per (shape, dtype, epilogue, pointer
// alignment) so a steady-state call only launches, and the cached algorithm runs inside CUDA graphs.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "ops/cuda/cuda_check.h"

namespace glam::cuda {

class Gemm {
 public:
  explicit Gemm(size_t workspace_bytes = size_t(32) << 20);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // Y[M,N] (fp32, row stride N) = (accumulate ? Y : 0) + X[M,K] W[N,K]^T (+ bias[N], fp32, may be null).
  // X, W of type `in`.
  void nt(float* Y, const void* X, const void* W, const float* bias, int64_t M, int64_t N, int64_t K, DType in,
          bool accumulate, cudaStream_t s);

 private:
  struct Plan;
  using Key = std::tuple<int64_t, int64_t, int64_t, int, bool, bool, int>;
  Plan& plan(const Key& key);

  cublasLtHandle_t handle_ = nullptr;
  void* ws_ = nullptr;
  size_t ws_bytes_ = 0;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace glam::cuda
