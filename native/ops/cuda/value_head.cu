// GLAM's value head on the GPU, forward: C -> hidden -> sigmoid -> ... -> 1, fp32 GEMMs with the
// bias in cuBLASLt's epilogue and a sigmoid kernel between layers; and its backward: per layer from
// the last, dW += dz^T a (TN), db += column sums of dz, da = dz W (NN), then dz = da a (1 - a) through
// the sigmoid (a = that sigmoid's saved output, the next layer's input).
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

__global__ void sigmoid_backward_kernel(float* d, const float* a, int64_t n) {
  const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k < n) d[k] *= a[k] * (1.0f - a[k]);
}

// kernel launchers

void sigmoid_forward(float* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  sigmoid_forward_kernel<<<grid_for(n, 256), 256, 0, s>>>(y, n);
  CUDA_CHECK(cudaGetLastError());
}

void value_head_forward(float* out, const float* h, int nlayers, const int64_t* sizes, const float* const* W,
                        const float* const* b, float* const* acts, int64_t B, Gemm& gemm, cudaStream_t s) {
  const float* cur = h;
  for (int i = 0; i < nlayers; ++i) {
    const bool last = i + 1 == nlayers;
    float* next = last ? out : acts[i];
    gemm.nt(next, cur, W[i], b[i], B, sizes[i + 1], sizes[i], DType::F32, false, s);
    if (!last) sigmoid_forward(next, B * sizes[i + 1], s);
    cur = next;
  }
}

void value_head_backward(float* dh, float* const* dW, float* const* db, const float* dv, int nlayers,
                         const int64_t* sizes, const float* const* W, const float* const* acts, float* scratch_a,
                         float* scratch_b, int64_t B, Gemm& gemm, cudaStream_t s) {
  const float* dz = dv;
  for (int ii = nlayers - 1; ii >= 0; --ii) {
    const int64_t in = sizes[ii], out = sizes[ii + 1];
    gemm.run(GemmOp::TN, dW[ii], in, dz, out, acts[ii], in, nullptr, out, in, B, DType::F32, true, s);  // dW += dz^T a
    bias_backward(db[ii], dz, out, B, out, s);
    float* da = ii == 0 ? dh : (dz == scratch_a ? scratch_b : scratch_a);
    gemm.run(GemmOp::NN, da, in, dz, out, W[ii], in, nullptr, B, in, out, DType::F32, false, s);  // da = dz W
    if (ii == 0) break;
    sigmoid_backward_kernel<<<grid_for(B * in, 256), 256, 0, s>>>(da, acts[ii], B * in);
    CUDA_CHECK(cudaGetLastError());
    dz = da;
  }
}

}  // namespace glam::cuda
