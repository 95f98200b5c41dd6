// Element-type conversions and small elementwise helpers on the GPU: fp32 -> GEMM input type (the
// backward's fp32 gradients feed bf16 GEMMs in bf16 mode, as autocast does), bf16 -> fp32 (exports),
// and y = a x (LoRA's scale on its rank-r intermediate).
// Legend: n elements; rows x cols with a row stride for the strided copy.
// Subtle: fp32 -> bf16 rounds to nearest even (__float2bfloat16_rn), the same rounding as the host
// upload (device_weights.cpp), so a compute copy written on the GPU equals one uploaded from the host.
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

// CUDA kernels

template <typename OutT>
__global__ void cast_kernel(OutT* out, const float* in, int64_t rows, int64_t cols, int64_t ld_in, float scale) {
  const int64_t n = rows * cols;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = k / cols, c = k % cols;
    store_as(out, k, in[r * ld_in + c] * scale);
  }
}

__global__ void widen_kernel(float* out, const bf16* in, int64_t n) {
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x)
    out[k] = __bfloat162float(in[k]);
}

// kernel launchers

namespace {
unsigned blocks(int64_t n) {
  const int64_t b = (n + 255) / 256;
  return unsigned(b < 65535 * 8 ? b : 65535 * 8);
}
}  // namespace

void cast_rows(void* out, DType ot, const float* in, int64_t rows, int64_t cols, int64_t ld_in, float scale,
               cudaStream_t s) {
  if (rows * cols == 0) return;
  if (ot == DType::F32)
    cast_kernel<float><<<blocks(rows * cols), 256, 0, s>>>(static_cast<float*>(out), in, rows, cols, ld_in, scale);
  else
    cast_kernel<bf16><<<blocks(rows * cols), 256, 0, s>>>(static_cast<bf16*>(out), in, rows, cols, ld_in, scale);
  CUDA_CHECK(cudaGetLastError());
}

void widen_bf16(float* out, const void* in, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  widen_kernel<<<blocks(n), 256, 0, s>>>(out, static_cast<const bf16*>(in), n);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace glam::cuda
