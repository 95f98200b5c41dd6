// Rotary position embedding on the GPU, forward, and its backward: the inverse rotation (RoPE is
// orthogonal, so the gradient rotates by -angle), in place on the q|k gradients. Hugging Face's rotate_half layout: dims (d, d + D/2) rotate together.
// Legend: T rows, D head size, nheads rotated heads per row (q heads then k heads, adjacent).
// Subtle: the angle pos * inv_freq is formed in fp32 and cos/sin are the accurate cosf/sinf (never
// the __cosf intrinsics: positions reach thousands of radians), as HF and the CPU engine do.
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

// CUDA kernels

__global__ void rope_forward_kernel(float* x, int64_t stride, int64_t nheads, int64_t D, const int32_t* pos,
                                    const float* inv_freq, float sign) {
  const int64_t t = blockIdx.x, half = D / 2;
  const float p = float(pos[t]);
  float* row = x + t * stride;
  for (int64_t k = threadIdx.x; k < nheads * half; k += blockDim.x) {
    const int64_t h = k / half, d = k % half;
    float sn, cs;
    sincosf(p * inv_freq[d], &sn, &cs);
    sn *= sign;
    float* v = row + h * D;
    const float a = v[d], c = v[d + half];
    v[d] = a * cs - c * sn;
    v[d + half] = c * cs + a * sn;
  }
}

// kernel launchers

void rope_forward(float* x, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                  const float* inv_freq, cudaStream_t s) {
  if (T == 0) return;
  rope_forward_kernel<<<unsigned(T), 256, 0, s>>>(x, stride, nheads, D, pos, inv_freq, 1.0f);
  CUDA_CHECK(cudaGetLastError());
}

void rope_backward(float* dx, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                   const float* inv_freq, cudaStream_t s) {
  if (T == 0) return;
  rope_forward_kernel<<<unsigned(T), 256, 0, s>>>(dx, stride, nheads, D, pos, inv_freq, -1.0f);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace glam::cuda
