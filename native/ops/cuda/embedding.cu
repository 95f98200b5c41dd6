// Embedding gather on the GPU, forward, and its backward: a scatter-add of the rows' gradients
// into the fp32 table gradients.
// Legend: T packed rows, C hidden, V vocabulary.
// Subtle: ids and positions were validated on the host (PackedBatch::validate), so rows index the
// tables without checks; GPT-2 adds its learned position row in fp32. The backward adds with fp32
// atomics (one per row and column): two rows with the same id add in an unspecified order, so the
// table gradient can differ from the CPU engine's in-order sum by fp32 rounding (never more).
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

// CUDA kernels

template <typename W>
__global__ void embedding_forward_kernel(float* x, const int32_t* ids, const int32_t* pos, const W* table,
                                         const W* pos_table, int64_t C) {
  const int64_t t = blockIdx.x;
  const W* e = table + int64_t(ids[t]) * C;
  const W* p = pos_table ? pos_table + int64_t(pos[t]) * C : nullptr;
  float* o = x + t * C;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) o[c] = load_f32(e, c) + (p ? load_f32(p, c) : 0.0f);
}

__global__ void embedding_backward_kernel(float* dtable, float* dpos_table, const float* dx, const int32_t* ids,
                                          const int32_t* pos, int64_t C) {
  const int64_t t = blockIdx.x;
  const float* g = dx + t * C;
  float* e = dtable ? dtable + int64_t(ids[t]) * C : nullptr;
  float* p = dpos_table ? dpos_table + int64_t(pos[t]) * C : nullptr;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    const float v = g[c];
    if (e) atomicAdd(e + c, v);
    if (p) atomicAdd(p + c, v);
  }
}

// kernel launchers

void embedding_forward(float* x, const int32_t* ids, const int32_t* pos, const void* table, const void* pos_table,
                       DType wt, int64_t T, int64_t C, cudaStream_t s) {
  if (T == 0) return;
  const int threads = C >= 256 ? 256 : 128;
  if (wt == DType::F32)
    embedding_forward_kernel<float><<<unsigned(T), threads, 0, s>>>(x, ids, pos, static_cast<const float*>(table),
                                                                    static_cast<const float*>(pos_table), C);
  else
    embedding_forward_kernel<bf16><<<unsigned(T), threads, 0, s>>>(x, ids, pos, static_cast<const bf16*>(table),
                                                                   static_cast<const bf16*>(pos_table), C);
  CUDA_CHECK(cudaGetLastError());
}

void embedding_backward(float* dtable, float* dpos_table, const float* dx, const int32_t* ids, const int32_t* pos,
                        int64_t T, int64_t C, cudaStream_t s) {
  if (T == 0 || (!dtable && !dpos_table)) return;
  embedding_backward_kernel<<<unsigned(T), C >= 256 ? 256 : 128, 0, s>>>(dtable, dpos_table, dx, ids, pos, C);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace glam::cuda
