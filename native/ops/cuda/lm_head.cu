// The fused LM head on the GPU, forward: log-sum-exp and target gather over vocabulary tiles; and
// its backward, which recomputes the tiles from the saved lse.
// Pipeline per vocabulary tile [v0, v0 + vn):
//   logits (R, vn) = h E[v0:v0+vn]^T      cuBLASLt into the (R, Vt) fp32 scratch tile
//   running (max, sum of exp) per row      one CTA per row, online in fp32, merged across tiles
//   target logits inside the tile          picked out of the tile
// then lse = max + log(sum). Only lse (R) and the target logits (NT) leave: never an R x V buffer.
// Legend: R scored rows, V vocabulary, Vt tile width, C hidden, NT targets.
// Subtle: the target logit and the lse come from the same GEMM tile, so log p = logit - lse is
// consistent to the last bit; the workspace planner chooses Vt so the tile stays bounded
// (workspace_plan.cpp).
// Backward per tile: logits (R, vn) again by cuBLASLt; one CTA per row forms, in registers,
//   dlogit[v] = g_t [v == target_t] summed over the row's targets  -  G_r softmax[v],
// G_r = sum of the row's targets' g_t and softmax[v] = exp(logit - lse_r), and writes it in the GEMM
// input type; then dh (R, C) += dlogit E_tile (NN) and, only when the head trains, dE_tile (vn, C)
// += dlogit^T h (TN) into the fp32 gradient. The row's targets come as a CSR list (row_off, row_tid,
// row_tg): a prompt's last row carries one target per candidate, several of which may share an id.
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/gemm.h"

namespace glam::cuda {

// CUDA kernels

__global__ void lm_head_tile_kernel(float* run_max, float* run_sum, const float* tile, int64_t vn, bool first) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const float* row = tile + r * vn;
  float m = -INFINITY, s = 0.0f;  // this thread's online (max, sum)
  for (int64_t v = threadIdx.x; v < vn; v += blockDim.x) {
    const float x = row[v];
    if (x > m) {
      s = s * expf(m - x) + 1.0f;
      m = x;
    } else {
      s += expf(x - m);
    }
  }
  const float tm = block_max(m, scratch);
  const float ts = block_sum(m == -INFINITY ? 0.0f : s * expf(m - tm), scratch);
  if (threadIdx.x == 0) {
    if (first) {
      run_max[r] = tm;
      run_sum[r] = ts;
    } else {
      const float pm = run_max[r], nm = fmaxf(pm, tm);
      run_sum[r] = run_sum[r] * expf(pm - nm) + ts * expf(tm - nm);
      run_max[r] = nm;
    }
  }
}

__global__ void lm_head_gather_kernel(float* target_logit, const float* tile, int64_t vn, const int32_t* target_row,
                                      const int32_t* target_id, int64_t NT, int64_t v0) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= NT) return;
  const int64_t id = target_id[t];
  if (id >= v0 && id < v0 + vn) target_logit[t] = tile[int64_t(target_row[t]) * vn + (id - v0)];
}

__global__ void lm_head_finish_kernel(float* lse, const float* run_max, const float* run_sum, int64_t R) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < R) lse[r] = run_max[r] + logf(run_sum[r]);
}

template <typename OutT>
__global__ void lm_head_grad_tile_kernel(OutT* gtile, const float* tile, int64_t vn, int64_t v0, const float* lse,
                                         const float* G, const int32_t* row_off, const int32_t* row_tid,
                                         const float* row_tg) {
  const int64_t r = blockIdx.x;
  const float* row = tile + r * vn;
  const float lr = lse[r], g = G[r];
  const int t0 = row_off[r], t1 = row_off[r + 1];
  for (int64_t v = threadIdx.x; v < vn; v += blockDim.x) {
    float d = -g * expf(row[v] - lr);
    for (int t = t0; t < t1; ++t)
      if (int64_t(row_tid[t]) == v0 + v) d += row_tg[t];
    store_as(gtile, r * vn + v, d);
  }
}

// kernel launchers

void lm_head_lse_forward(float* lse, float* target_logit, const void* h, const void* E, DType dt, int64_t R, int64_t V,
                         int64_t C, const int32_t* target_row, const int32_t* target_id, int64_t NT, float* tile,
                         int64_t Vt, float* run_max, float* run_sum, Gemm& gemm, cudaStream_t s) {
  if (R == 0) return;
  GLAM_CHECK(Vt >= 1, "Internal", "LM head tile width must be positive");
  const char* Eb = static_cast<const char*>(E);
  for (int64_t v0 = 0; v0 < V; v0 += Vt) {
    const int64_t vn = V - v0 < Vt ? V - v0 : Vt;
    gemm.nt(tile, h, Eb + size_t(v0) * size_t(C) * dtype_size(dt), nullptr, R, vn, C, dt, false, s);
    lm_head_tile_kernel<<<unsigned(R), 256, 0, s>>>(run_max, run_sum, tile, vn, v0 == 0);
    CUDA_CHECK(cudaGetLastError());
    if (NT > 0) {
      lm_head_gather_kernel<<<grid_for(NT, 256), 256, 0, s>>>(target_logit, tile, vn, target_row, target_id, NT, v0);
      CUDA_CHECK(cudaGetLastError());
    }
  }
  lm_head_finish_kernel<<<grid_for(R, 256), 256, 0, s>>>(lse, run_max, run_sum, R);
  CUDA_CHECK(cudaGetLastError());
}

void lm_head_lse_backward(float* dh, float* dE, const void* h, const void* E, DType dt, int64_t R, int64_t V, int64_t C,
                          const float* lse, const float* G, const int32_t* row_off, const int32_t* row_tid,
                          const float* row_tg, float* tile, void* gtile, int64_t Vt, Gemm& gemm, cudaStream_t s) {
  if (R == 0) return;
  GLAM_CHECK(Vt >= 1, "Internal", "LM head tile width must be positive");
  CUDA_CHECK(cudaMemsetAsync(dh, 0, size_t(R) * size_t(C) * 4, s));
  const char* Eb = static_cast<const char*>(E);
  const size_t es = dtype_size(dt);
  for (int64_t v0 = 0; v0 < V; v0 += Vt) {
    const int64_t vn = V - v0 < Vt ? V - v0 : Vt;
    const void* Et = Eb + size_t(v0) * size_t(C) * es;
    gemm.nt(tile, h, Et, nullptr, R, vn, C, dt, false, s);
    if (dt == DType::F32)
      lm_head_grad_tile_kernel<float><<<unsigned(R), 256, 0, s>>>(static_cast<float*>(gtile), tile, vn, v0, lse, G,
                                                                  row_off, row_tid, row_tg);
    else
      lm_head_grad_tile_kernel<bf16><<<unsigned(R), 256, 0, s>>>(static_cast<bf16*>(gtile), tile, vn, v0, lse, G,
                                                                 row_off, row_tid, row_tg);
    CUDA_CHECK(cudaGetLastError());
    gemm.run(GemmOp::NN, dh, C, gtile, vn, Et, C, nullptr, R, C, vn, dt, true, s);                     // dh += dlogit E_t
    if (dE) gemm.run(GemmOp::TN, dE + size_t(v0) * size_t(C), C, gtile, vn, h, C, nullptr, vn, C, R, dt, true, s);  // dE_t += dlogit^T h
  }
}

}  // namespace glam::cuda
