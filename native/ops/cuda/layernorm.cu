// LayerNorm fused with the residual add (GPT-2), forward, and its backward.
// Pipeline per row: v = x + y (written back to x: the residual stream) -> h = (v - mean) / std * w + b.
// Backward (recomputed from the saved stream v): xhat = (v - mean) r, g = dh w,
//   dv += r (g - mean(g) - xhat mean(g xhat));  dw += sum dh xhat;  db += sum dh
// with kNormRowsPerCta rows per CTA as in rmsnorm.cu (one atomic per CTA and column).
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

__global__ void layernorm_backward_kernel(float* dx, float* dw, float* db, const float* dh, const float* x,
                                          const int32_t* rows, const float* w, int64_t n, int64_t C, float eps) {
  __shared__ float scratch[32];
  __shared__ float mu[kNormRowsPerCta], rr[kNormRowsPerCta], mg[kNormRowsPerCta], mgx[kNormRowsPerCta];
  const int64_t i0 = int64_t(blockIdx.x) * kNormRowsPerCta;
  const int nr = int(n - i0 < kNormRowsPerCta ? n - i0 : kNormRowsPerCta);
  for (int q = 0; q < nr; ++q) {
    const int64_t r = rows ? int64_t(rows[i0 + q]) : i0 + q;
    const float* xr = x + r * C;
    const float* g = dh + (i0 + q) * C;
    float s1 = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s1 += xr[c];
    const float mean = block_sum(s1, scratch) / float(C);
    float s2 = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s2 += (xr[c] - mean) * (xr[c] - mean);
    const float inv = rsqrtf(block_sum(s2, scratch) / float(C) + eps);
    float a = 0.0f, b = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const float gw = g[c] * w[c];
      a += gw;
      b += gw * (xr[c] - mean) * inv;
    }
    a = block_sum(a, scratch);
    b = block_sum(b, scratch);
    if (threadIdx.x == 0) {
      mu[q] = mean;
      rr[q] = inv;
      mg[q] = a / float(C);
      mgx[q] = b / float(C);
    }
  }
  __syncthreads();
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    float aw = 0.0f, ab = 0.0f;
    for (int q = 0; q < nr; ++q) {
      const int64_t r = rows ? int64_t(rows[i0 + q]) : i0 + q;
      const float g = dh[(i0 + q) * C + c], xh = (x[r * C + c] - mu[q]) * rr[q];
      dx[r * C + c] += rr[q] * (g * w[c] - mg[q] - xh * mgx[q]);
      aw += g * xh;
      ab += g;
    }
    if (dw) atomicAdd(dw + c, aw);
    if (db) atomicAdd(db + c, ab);
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

void layernorm_backward(float* dx, float* dw, float* db, const float* dh, const float* x, const int32_t* rows,
                        const float* w, int64_t n, int64_t C, float eps, cudaStream_t s) {
  if (n == 0) return;
  const int threads = C >= 1024 ? 512 : C >= 256 ? 256 : 128;
  layernorm_backward_kernel<<<grid_for(n, kNormRowsPerCta), threads, 0, s>>>(dx, dw, db, dh, x, rows, w, n, C, eps);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace glam::cuda
