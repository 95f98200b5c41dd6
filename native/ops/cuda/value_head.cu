// GLAM's value head on the GPU, forward: C -> hidden -> sigmoid -> ... -> 1, fp32 GEMMs with the
// bias in cuBLASLt's epilogue and a sigmoid kernel between layers (the backward sits here in part 2).
// Legend: B prompts, C hidden, n elements.
// Subtle: the head stays fp32 in both precision modes (it is tiny: B rows), so values in bf16 mode
// differ from fp32 only through the hidden state they read.
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/gemm.h"

namespace glam::cuda {

// CUDA kernels

__global__ void sigmoid_forward_kernel(float* y, int64_t n) {
  const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k < n) y[k] = 1.0f / (1.0f + expf(-y[k]));
}

// kernel launchers

void sigmoid_forward(float* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  sigmoid_forward_kernel<<<grid_for(n, 256), 256, 0, s>>>(y, n);
  CUDA_CHECK(cudaGetLastError());
}

void value_head_forward(float* out, const float* h, int nlayers, const int64_t* sizes, const float* const* W,
                        const float* const* b, float* scratch_a, float* scratch_b, int64_t B, Gemm& gemm,
                        cudaStream_t s) {
  const float* cur = h;
  for (int i = 0; i < nlayers; ++i) {
    const bool last = i + 1 == nlayers;
    float* next = last ? out : (i % 2 == 0 ? scratch_a : scratch_b);
    gemm.nt(next, cur, W[i], b[i], B, sizes[i + 1], sizes[i], DType::F32, false, s);
    if (!last) sigmoid_forward(next, B * sizes[i + 1], s);
    cur = next;
  }
}

}  // namespace glam::cuda
