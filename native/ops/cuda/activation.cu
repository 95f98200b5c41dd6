// MLP activations on the GPU, forward and backward: SwiGLU (Llama family), GELU (GPT-2: gelu_new's
// tanh form, or the exact erf form), ReLU (T5 v1.0) and gated GELU-tanh (T5 v1.1 / Flan-T5:
// gelu_tanh(u[:, :I]) * u[:, I:2I]), each as the CPU backend defines it (ops/cpu/activation.cpp).
// The backward reads the fp32 pre-activation saved by the training forward (the activation itself
// is recomputed, never stored).
// Legend: T rows, I MLP width, n elements.
// Subtle: inputs are the fp32 GEMM outputs (gate|up fused in one (T, 2I) matrix); outputs are the
// next GEMM's input type, so the bf16 rounding happens once, after the activation. gelu_tanh is
// PyTorch's 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) with the accurate tanhf.
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

// CUDA kernels

namespace {
// gelu_tanh(v) and its derivative (PyTorch's tanh form, as the CPU's geglu_tanh)
__device__ __forceinline__ float gelu_tanh_d(float v, float& deriv) {
  const float kA = 0.7978845608028654f;  // sqrt(2/pi)
  const float th = tanhf(kA * (v + 0.044715f * v * v * v));
  deriv = 0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * kA * (1.0f + 3.0f * 0.044715f * v * v);
  return 0.5f * v * (1.0f + th);
}
}  // namespace

template <typename OutT>
__global__ void swiglu_forward_kernel(OutT* act, const float* gu, int64_t T, int64_t I) {
  const int64_t n = T * I;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = k / I, i = k % I;
    const float g = gu[t * 2 * I + i], u = gu[t * 2 * I + I + i];
    store_as(act, k, g / (1.0f + expf(-g)) * u);
  }
}

template <typename OutT>
__global__ void gelu_forward_kernel(OutT* act, const float* u, int64_t n, bool tanh_form) {
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const float x = u[k];
    float y;
    if (tanh_form) {
      const float kA = 0.7978845608028654f;  // sqrt(2/pi)
      y = 0.5f * x * (1.0f + tanhf(kA * (x + 0.044715f * x * x * x)));
    } else {
      y = 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    }
    store_as(act, k, y);
  }
}

template <typename OutT>
__global__ void relu_forward_kernel(OutT* act, const float* u, int64_t n) {
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x)
    store_as(act, k, u[k] > 0.0f ? u[k] : 0.0f);
}

// act (T, I) = gelu_tanh(u[t, i]) * u[t, I + i]; u (T, 2I) = gate|linear
template <typename OutT>
__global__ void geglu_tanh_forward_kernel(OutT* act, const float* u, int64_t T, int64_t I) {
  const int64_t n = T * I;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = k / I, i = k % I;
    float unused;
    store_as(act, k, gelu_tanh_d(u[t * 2 * I + i], unused) * u[t * 2 * I + I + i]);
  }
}

__global__ void relu_backward_kernel(float* du, const float* dact, const float* u, int64_t n) {
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x)
    du[k] = u[k] > 0.0f ? dact[k] : 0.0f;
}

// du (T, 2I) written: d gate = dact * lin * gelu'(gate), d lin = dact * gelu(gate)
__global__ void geglu_tanh_backward_kernel(float* du, const float* dact, const float* u, int64_t T, int64_t I) {
  const int64_t n = T * I;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = k / I, i = k % I;
    float dg;
    const float g = gelu_tanh_d(u[t * 2 * I + i], dg), lin = u[t * 2 * I + I + i], d = dact[k];
    du[t * 2 * I + i] = d * lin * dg;
    du[t * 2 * I + I + i] = d * g;
  }
}

__global__ void swiglu_backward_kernel(float* dgu, const float* dact, const float* gu, int64_t T, int64_t I) {
  const int64_t n = T * I;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = k / I, i = k % I;
    const float g = gu[t * 2 * I + i], u = gu[t * 2 * I + I + i], d = dact[k];
    const float sg = 1.0f / (1.0f + expf(-g));
    dgu[t * 2 * I + I + i] = d * g * sg;
    dgu[t * 2 * I + i] = d * u * sg * (1.0f + g * (1.0f - sg));
  }
}

__global__ void gelu_backward_kernel(float* du, const float* dact, const float* u, int64_t n, bool tanh_form) {
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const float v = u[k];
    float dy;
    if (tanh_form) {
      const float kA = 0.7978845608028654f;
      const float th = tanhf(kA * (v + 0.044715f * v * v * v));
      const float dth = (1.0f - th * th) * kA * (1.0f + 3.0f * 0.044715f * v * v);
      dy = 0.5f * (1.0f + th) + 0.5f * v * dth;
    } else {
      const float cdf = 0.5f * (1.0f + erff(v * 0.7071067811865476f));
      dy = cdf + v * 0.3989422804014327f * expf(-0.5f * v * v);
    }
    du[k] = dact[k] * dy;
  }
}

// kernel launchers

namespace {
unsigned blocks_for(int64_t n) {
  const int64_t b = (n + 255) / 256;
  return unsigned(b < 65535 * 8 ? b : 65535 * 8);
}
}  // namespace

void swiglu_forward(void* act, DType at, const float* gu, int64_t T, int64_t I, cudaStream_t s) {
  if (T * I == 0) return;
  if (at == DType::F32)
    swiglu_forward_kernel<float><<<blocks_for(T * I), 256, 0, s>>>(static_cast<float*>(act), gu, T, I);
  else
    swiglu_forward_kernel<bf16><<<blocks_for(T * I), 256, 0, s>>>(static_cast<bf16*>(act), gu, T, I);
  CUDA_CHECK(cudaGetLastError());
}

void gelu_forward(void* act, DType at, const float* u, int64_t n, bool tanh_form, cudaStream_t s) {
  if (n == 0) return;
  if (at == DType::F32)
    gelu_forward_kernel<float><<<blocks_for(n), 256, 0, s>>>(static_cast<float*>(act), u, n, tanh_form);
  else
    gelu_forward_kernel<bf16><<<blocks_for(n), 256, 0, s>>>(static_cast<bf16*>(act), u, n, tanh_form);
  CUDA_CHECK(cudaGetLastError());
}

void swiglu_backward(float* dgu, const float* dact, const float* gu, int64_t T, int64_t I, cudaStream_t s) {
  if (T * I == 0) return;
  swiglu_backward_kernel<<<blocks_for(T * I), 256, 0, s>>>(dgu, dact, gu, T, I);
  CUDA_CHECK(cudaGetLastError());
}

void gelu_backward(float* du, const float* dact, const float* u, int64_t n, bool tanh_form, cudaStream_t s) {
  if (n == 0) return;
  gelu_backward_kernel<<<blocks_for(n), 256, 0, s>>>(du, dact, u, n, tanh_form);
  CUDA_CHECK(cudaGetLastError());
}

void relu_forward(void* act, DType at, const float* u, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  if (at == DType::F32) relu_forward_kernel<float><<<blocks_for(n), 256, 0, s>>>(static_cast<float*>(act), u, n);
  else relu_forward_kernel<bf16><<<blocks_for(n), 256, 0, s>>>(static_cast<bf16*>(act), u, n);
  CUDA_CHECK(cudaGetLastError());
}

void geglu_tanh_forward(void* act, DType at, const float* u, int64_t T, int64_t I, cudaStream_t s) {
  if (T * I == 0) return;
  if (at == DType::F32)
    geglu_tanh_forward_kernel<float><<<blocks_for(T * I), 256, 0, s>>>(static_cast<float*>(act), u, T, I);
  else
    geglu_tanh_forward_kernel<bf16><<<blocks_for(T * I), 256, 0, s>>>(static_cast<bf16*>(act), u, T, I);
  CUDA_CHECK(cudaGetLastError());
}

void relu_backward(float* du, const float* dact, const float* u, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  relu_backward_kernel<<<blocks_for(n), 256, 0, s>>>(du, dact, u, n);
  CUDA_CHECK(cudaGetLastError());
}

void geglu_tanh_backward(float* du, const float* dact, const float* u, int64_t T, int64_t I, cudaStream_t s) {
  if (T * I == 0) return;
  geglu_tanh_backward_kernel<<<blocks_for(T * I), 256, 0, s>>>(du, dact, u, T, I);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace glam::cuda
