// LayerNorm fused with the residual add (GPT-2), forward; its backward sits here in part 2.
// Pipeline per row: v = x + y (written back to x: the residual stream) -> h = (v - mean) / std * w + b.
// Legend: n rows of the call, C hidden.
// Subtle: the variance is the two-pass form (mean first, then the mean of squared deviations) in
// fp32, which loses nothing for GPT-2's large-mean rows; x is updated in place only without a row
// list (see rmsnorm.cu).
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

// CUDA kernels

template <typename OutT>
__global__ void layernorm_forward_kernel(OutT* h, float* x, const float* y, const int32_t* rows, const float* w,
                                         const float* b, int64_t C, float eps) {
  __shared__ float scratch[32];
  const int64_t i = blockIdx.x;
  const int64_t r = rows ? int64_t(rows[i]) : i;
  float* xr = x + r * C;
  const float* yr = y ? y + r * C : nullptr;
  const bool write_back = yr && !rows;
  float s = 0.0f;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    float v = xr[c];
    if (yr) v += yr[c];
    if (write_back) xr[c] = v;
    s += v;
  }
  const float mean = block_sum(s, scratch) / float(C);
  float ss = 0.0f;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    float v = xr[c];
    if (yr && !write_back) v += yr[c];
    const float d = v - mean;
    ss += d * d;
  }
  const float inv = rsqrtf(block_sum(ss, scratch) / float(C) + eps);
  OutT* hr = h + i * C;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    float v = xr[c];
    if (yr && !write_back) v += yr[c];
    store_as(hr, c, (v - mean) * inv * w[c] + b[c]);
  }
}

// kernel launchers

void layernorm_forward(void* h, DType ht, float* x, const float* y, const int32_t* rows, const float* w,
                       const float* b, int64_t n, int64_t C, float eps, cudaStream_t s) {
  if (n == 0) return;
  const int threads = C >= 1024 ? 512 : C >= 256 ? 256 : 128;
  if (ht == DType::F32)
    layernorm_forward_kernel<float><<<unsigned(n), threads, 0, s>>>(static_cast<float*>(h), x, y, rows, w, b, C, eps);
  else
    layernorm_forward_kernel<bf16><<<unsigned(n), threads, 0, s>>>(static_cast<bf16*>(h), x, y, rows, w, b, C, eps);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace glam::cuda
