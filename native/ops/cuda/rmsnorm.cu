// RMSNorm fused with the residual add (Llama family), forward, and its backward.
// Pipeline per row: v = x + y (written back to x: the residual stream) -> h = v / rms(v) * w.
// Backward (the norm is recomputed from the saved stream v, never stored): with r = 1/rms(v),
//   dv += r (dh w) - v r^3 / C sum(dh w v);   dw += sum over rows of dh v r.
// A CTA takes kNormRowsPerCta rows: their statistics first (block reductions into shared memory),
// then each thread walks its columns over those rows, so dw gets one fp32 atomic per (CTA, column).
// Legend: n rows of the call, C hidden.
// Subtle: "+=" vs "=": with y and no row list, x is UPDATED in place (x holds the stream after the
// add); with a row list (the final norm's gather of scored rows) x is only read. The sum of squares
// is an fp32 block reduction (HF computes it in fp32 too).
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

// CUDA kernels

template <typename OutT>
__global__ void rmsnorm_forward_kernel(OutT* h, float* x, const float* y, const int32_t* rows, const float* w,
                                       int64_t C, float eps) {
  __shared__ float scratch[32];
  const int64_t i = blockIdx.x;
  const int64_t r = rows ? int64_t(rows[i]) : i;
  float* xr = x + r * C;
  const float* yr = y ? y + r * C : nullptr;
  const bool write_back = yr && !rows;
  float ss = 0.0f;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    float v = xr[c];
    if (yr) v += yr[c];
    if (write_back) xr[c] = v;
    ss += v * v;
  }
  ss = block_sum(ss, scratch);
  const float inv = rsqrtf(ss / float(C) + eps);
  OutT* hr = h + i * C;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    float v = xr[c];
    if (yr && !write_back) v += yr[c];
    store_as(hr, c, (v * inv) * w[c]);
  }
}

__global__ void rmsnorm_backward_kernel(float* dx, float* dw, const float* dh, const float* x, const int32_t* rows,
                                        const float* w, int64_t n, int64_t C, float eps) {
  __shared__ float scratch[32];
  __shared__ float rr[kNormRowsPerCta], kk[kNormRowsPerCta];
  const int64_t i0 = int64_t(blockIdx.x) * kNormRowsPerCta;
  const int nr = int(n - i0 < kNormRowsPerCta ? n - i0 : kNormRowsPerCta);
  for (int q = 0; q < nr; ++q) {
    const int64_t r = rows ? int64_t(rows[i0 + q]) : i0 + q;
    const float* xr = x + r * C;
    const float* g = dh + (i0 + q) * C;
    float ss = 0.0f, dot = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      ss += xr[c] * xr[c];
      dot += g[c] * w[c] * xr[c];
    }
    ss = block_sum(ss, scratch);
    dot = block_sum(dot, scratch);
    if (threadIdx.x == 0) {
      const float inv = rsqrtf(ss / float(C) + eps);
      rr[q] = inv;
      kk[q] = dot * inv * inv * inv / float(C);
    }
  }
  __syncthreads();
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    float acc = 0.0f;
    for (int q = 0; q < nr; ++q) {
      const int64_t r = rows ? int64_t(rows[i0 + q]) : i0 + q;
      const float v = x[r * C + c], g = dh[(i0 + q) * C + c];
      dx[r * C + c] += rr[q] * g * w[c] - kk[q] * v;
      acc += g * v * rr[q];
    }
    if (dw) atomicAdd(dw + c, acc);
  }
}

// kernel launchers

void rmsnorm_forward(void* h, DType ht, float* x, const float* y, const int32_t* rows, const float* w, int64_t n,
                     int64_t C, float eps, cudaStream_t s) {
  if (n == 0) return;
  const int threads = C >= 1024 ? 512 : C >= 256 ? 256 : 128;
  if (ht == DType::F32)
    rmsnorm_forward_kernel<float><<<unsigned(n), threads, 0, s>>>(static_cast<float*>(h), x, y, rows, w, C, eps);
  else
    rmsnorm_forward_kernel<bf16><<<unsigned(n), threads, 0, s>>>(static_cast<bf16*>(h), x, y, rows, w, C, eps);
  CUDA_CHECK(cudaGetLastError());
}

void rmsnorm_backward(float* dx, float* dw, const float* dh, const float* x, const int32_t* rows, const float* w,
                      int64_t n, int64_t C, float eps, cudaStream_t s) {
  if (n == 0) return;
  const int threads = C >= 1024 ? 512 : C >= 256 ? 256 : 128;
  rmsnorm_backward_kernel<<<grid_for(n, kNormRowsPerCta), threads, 0, s>>>(dx, dw, dh, x, rows, w, n, C, eps);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace glam::cuda
