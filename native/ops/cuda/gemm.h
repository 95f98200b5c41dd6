// GEMMs on the GPU through cuBLASLt: the model's matrix products in the row-major, PyTorch-Linear
// layout the rest of glam uses. bf16 inputs with fp32 accumulation and fp32 output (bf16 mode), or
// fp32 throughout (fp32 mode: plain fp32 compute, never TF32, for parity checks).
// Legend: M rows (tokens), N output features, K input features (the reduced dimension).
// Three forms, all Y[M,N] (fp32, row stride ldy) = (accumulate ? Y : 0) + op(X) op(W):
//   NT  Y = X[M,K] W[N,K]^T    forward (Linear) and dX of the LM head's recomputed tiles' transpose
//   NN  Y = X[M,K] W[K,N]      backward input gradients: dX = dY W
//   TN  Y = X[K,M]^T W[K,N]    backward weight gradients: dW = dY^T X (fp32 accumulation into fp32)
// Subtle: cuBLAS is column-major, so row-major Y is the column-major Y^T (N x M) = A . B with
// NT: A = W (col-major K x N, transa = T), B = X (K x M); NN: A = W (N x K, no transpose), B = X;
// TN: A = W (N x K), B = X (col-major M x K, transb = T). Leading dimensions are the row strides,
// so column slices (LoRA's q/k/v and gate/up slices of a fused matrix) need no copies.
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

enum class GemmOp { NT, NN, TN };

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
  // The general form (see the header): row strides ldx, ldw, ldy in elements.
  void run(GemmOp op, float* Y, int64_t ldy, const void* X, int64_t ldx, const void* W, int64_t ldw, const float* bias,
           int64_t M, int64_t N, int64_t K, DType in, bool accumulate, cudaStream_t s);

 private:
  struct Plan;
  using Key = std::tuple<int64_t, int64_t, int64_t, int, bool, bool, int, int, int64_t, int64_t, int64_t>;
  Plan& plan(const Key& key);

  cublasLtHandle_t handle_ = nullptr;
  void* ws_ = nullptr;
  size_t ws_bytes_ = 0;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace glam::cuda
