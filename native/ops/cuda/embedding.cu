// Embedding gather on the GPU (backward, a scatter-add, arrives beside it in part 2).
// Legend: T packed rows, C hidden, V vocabulary.
// Subtle: ids and positions were validated on the host (PackedBatch::validate), so rows index the
// tables without checks; GPT-2 adds its learned position row in fp32.
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

}  // namespace glam::cuda
