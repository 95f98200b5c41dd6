// Bias gradients on the GPU: column sums of an output gradient, db[N] += sum_t dy[t, 0:N], for the
// linear layers' and the value head's biases (fp32 into fp32).
// Legend: T rows, N columns, ldy row stride of dy.
// Subtle: one thread per column walks the rows in order (coalesced across the warp), so the sum has a
// fixed order and needs no atomics; columns split over 256-thread CTAs.
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

// CUDA kernels

__global__ void bias_backward_kernel(float* db, const float* dy, int64_t ldy, int64_t T, int64_t N) {
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= N) return;
  float acc = 0.0f;
  for (int64_t t = 0; t < T; ++t) acc += dy[t * ldy + n];
  db[n] += acc;
}

// kernel launchers

void bias_backward(float* db, const float* dy, int64_t ldy, int64_t T, int64_t N, cudaStream_t s) {
  if (T == 0 || N == 0 || !db) return;
  bias_backward_kernel<<<grid_for(N, 256), 256, 0, s>>>(db, dy, ldy, T, N);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace glam::cuda
