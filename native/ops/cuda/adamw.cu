// The optimizer on the GPU: the global gradient norm in one reduction over every trainable tensor,
// then one fused AdamW kernel that clips, updates the fp32 master weights and moments, and writes
// the bf16 compute copy the forward reads (PyTorch's AdamW: decoupled weight decay, bias-corrected
// moments, eps outside the square root; torch.nn.utils.clip_grad_norm_'s max / (norm + 1e-6)).
// Pipeline: grad_sumsq (grid = chunks x slots, each CTA an fp32 partial of one slot's squares)
//   -> grad_norm_finish (one CTA: partials summed in double in a fixed order; norm and clip factor
//   stay on the device) -> adamw (grid = chunks x slots; reads the clip factor, so no host round trip
//   sits between the norm and the update).
// Legend: S slots (trainable tensors), n elements of a slot, kAdamChunks CTAs per slot.
// Subtle: the per-element arithmetic mirrors native/ops/cpu/adamw.cpp line by line (fp32 moments,
// the denominator formed in double), so a GPU step tracks the CPU's to fp32 rounding; partial sums
// have a fixed shape, so the norm does not depend on scheduling.
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

// CUDA kernels

__global__ void grad_sumsq_kernel(double* partial, const OptSlot* slots) {
  __shared__ float scratch[32];
  const OptSlot sl = slots[blockIdx.y];
  float acc = 0.0f;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < sl.n; i += int64_t(gridDim.x) * blockDim.x)
    acc += sl.g[i] * sl.g[i];
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) partial[int64_t(blockIdx.y) * gridDim.x + blockIdx.x] = double(acc);
}

__global__ void grad_norm_finish_kernel(double* norm_clip, const double* partial, int64_t np, double max_norm) {
  if (threadIdx.x != 0) return;
  double s = 0;
  for (int64_t i = 0; i < np; ++i) s += partial[i];
  const double norm = sqrt(s);
  double clip = 1.0;
  if (max_norm > 0) clip = fmin(1.0, max_norm / (norm + 1e-6));
  norm_clip[0] = norm;
  norm_clip[1] = clip;
}

__global__ void adamw_kernel(const OptSlot* slots, const double* norm_clip, AdamWArgs a) {
  const OptSlot sl = slots[blockIdx.y];
  const float cf = float(norm_clip[1]);
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < sl.n; i += int64_t(gridDim.x) * blockDim.x) {
    const float gi = sl.g[i] * cf;
    float w = sl.w[i] * a.decay;
    float m = sl.m[i], v = sl.v[i];
    m += (gi - m) * (1.0f - a.b1);
    v = v * a.b2 + (1.0f - a.b2) * gi * gi;
    const float denom = float(sqrt(double(v)) / a.bc2_sqrt + a.eps);
    w -= a.step_size * (m / denom);
    sl.w[i] = w;
    sl.m[i] = m;
    sl.v[i] = v;
    if (sl.copy) static_cast<bf16*>(sl.copy)[i] = __float2bfloat16_rn(w);
  }
}

// kernel launchers

void grad_norm(double* norm_clip, double* partial, const OptSlot* slots, int64_t nslots, double max_norm,
               cudaStream_t s) {
  if (nslots == 0) {
    CUDA_CHECK(cudaMemsetAsync(norm_clip, 0, 2 * sizeof(double), s));
    return;
  }
  grad_sumsq_kernel<<<dim3(kAdamChunks, unsigned(nslots)), 256, 0, s>>>(partial, slots);
  CUDA_CHECK(cudaGetLastError());
  grad_norm_finish_kernel<<<1, 32, 0, s>>>(norm_clip, partial, nslots * kAdamChunks, max_norm);
  CUDA_CHECK(cudaGetLastError());
}

void adamw_step(const OptSlot* slots, int64_t nslots, const double* norm_clip, const AdamWArgs& a, cudaStream_t s) {
  if (nslots == 0) return;
  adamw_kernel<<<dim3(kAdamChunks, unsigned(nslots)), 256, 0, s>>>(slots, norm_clip, a);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace glam::cuda
