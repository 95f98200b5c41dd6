// Shared-prefix attention on the GPU, forward (flash-style: online softmax in fp32, nothing of size
// rows x keys is ever stored); the backward sits here in part 2.
// Pipeline per CTA = (tile of up to 64 query rows of one prompt group, head h):
//   Q tile -> shared memory (pre-scaled by 1/sqrt(D))
//   for each chunk of 32 PROMPT keys (up to the tile's nkeys): K, V chunk -> shared memory, then every
//     warp updates its 4 query rows (lane j scores key j; running max m, sum l and the output
//     accumulator rescale; p_j is broadcast by shuffles for the P.V product, lane d owning dims d+32i)
//   each candidate row then continues over its OWN earlier tokens (own_start..row, read from global:
//     a handful of rows) with the same running state, which is exactly the log-sum-exp merge of the
//     prompt part and the own part (FlashInfer's cascade / Hydragen) without a second pass
//   out = acc / l (the next GEMM's input type), lse = m + log l.
// Masks: a prompt row i sees prompt keys 0..i (nprompt = i + 1); a candidate row sees all P prompt
// keys and its own candidate's rows up to itself, never another candidate's; with a sliding window,
// key j is visible from query i only if pos_i - pos_j < window.
// Legend: T packed rows, H query heads, Hkv key/value heads, D head size, P prompt rows.
// Subtle: the prompt's K/V are read from global memory once per (tile, head), and a tile batches
// the rows of up to 64/A candidates, so candidates never re-read their prompt one by one. Branches
// on `valid` and `own_start` are uniform within a warp (one row at a time per warp), so shuffles
// are safe. Every row sees at least itself, so l > 0.
#include <mutex>

#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

// CUDA kernels

namespace {

// One online-softmax step for a warp's query row over 32 scored keys (lane j holds key j's score s,
// -inf when masked); vrow(jj) gives key jj's value row (D floats).
template <int DPL, typename VRow>
__device__ __forceinline__ void online_update(float s, float& m, float& l, float (&acc)[DPL], int D, int lane,
                                              VRow vrow) {
  const float cmax = warp_max(s);
  if (cmax == -INFINITY) return;  // warp-uniform: the whole chunk is masked for this row
  const float mnew = fmaxf(m, cmax);
  const float corr = expf(m - mnew);  // m = -inf on the first visible chunk: corr = 0
  const float p = s == -INFINITY ? 0.0f : expf(s - mnew);
  l = l * corr + warp_sum(p);
#pragma unroll
  for (int i = 0; i < DPL; ++i) acc[i] *= corr;
  for (int jj = 0; jj < 32; ++jj) {
    const float pj = __shfl_sync(0xffffffffu, p, jj);
    if (pj == 0.0f) continue;  // uniform: pj is the same on every lane
    const float* v = vrow(jj);
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      if (d < D) acc[i] += pj * v[d];
    }
  }
  m = mnew;
}

}  // namespace

template <int DPL, typename OutT>
__global__ void __launch_bounds__(512) attention_forward_kernel(OutT* out, float* lse, const float* qkv,
                                                                const int32_t* pos, const AttnTile* tiles,
                                                                const AttnRow* rows, int H, int Hkv, int D,
                                                                int64_t stride, int64_t window, float scale) {
  extern __shared__ float sm[];
  const int Dp = D + 1;                        // padded K rows: lane j reads row j without bank conflicts
  float* Ks = sm;                              // (32, D+1) prompt keys of the current chunk
  float* Vs = Ks + kAttnKeysPerChunk * Dp;     // (32, D)   their values
  float* Qs = Vs + kAttnKeysPerChunk * D;      // (tile rows, D) scaled queries
  const AttnTile tile = tiles[blockIdx.x];
  const int h = blockIdx.y, kvh = h / (H / Hkv);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t qoff = int64_t(h) * D, koff = int64_t(H + kvh) * D, voff = int64_t(H + Hkv + kvh) * D;

  for (int k = threadIdx.x; k < tile.count * D; k += blockDim.x) {
    const int r = k / D, d = k % D;
    Qs[r * D + d] = qkv[int64_t(rows[tile.first + r].row) * stride + qoff + d] * scale;
  }
  __syncthreads();  // Qs complete before any warp reads it (the own-token phase needs it even with no prompt chunk)
  bool valid[kAttnRowsPerWarp];
  AttnRow ar[kAttnRowsPerWarp];
  int qpos[kAttnRowsPerWarp];
  float m[kAttnRowsPerWarp], l[kAttnRowsPerWarp], acc[kAttnRowsPerWarp][DPL];
#pragma unroll
  for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
    const int local = warp * kAttnRowsPerWarp + rr;
    valid[rr] = local < tile.count;
    ar[rr] = valid[rr] ? rows[tile.first + local] : AttnRow{0, 0, -1, 0};
    qpos[rr] = valid[rr] ? pos[ar[rr].row] : 0;
    m[rr] = -INFINITY;
    l[rr] = 0.0f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) acc[rr][i] = 0.0f;
  }

  // prompt keys, chunk by chunk through shared memory
  for (int k0 = 0; k0 < tile.nkeys; k0 += kAttnKeysPerChunk) {
    __syncthreads();  // Qs written / the previous chunk fully consumed
    const int nk = min(kAttnKeysPerChunk, tile.nkeys - k0);
    for (int k = threadIdx.x; k < kAttnKeysPerChunk * D; k += blockDim.x) {
      const int j = k / D, d = k % D;
      float kv = 0.0f, vv = 0.0f;
      if (j < nk) {
        const float* src = qkv + int64_t(tile.prompt_start + k0 + j) * stride;
        kv = src[koff + d];
        vv = src[voff + d];
      }
      Ks[j * Dp + d] = kv;
      Vs[j * D + d] = vv;
    }
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
      if (!valid[rr]) continue;
      const int j = k0 + lane;
      float s = -INFINITY;
      if (j < ar[rr].nprompt && !(window > 0 && int64_t(qpos[rr]) - j >= window)) {
        const float* q = Qs + (warp * kAttnRowsPerWarp + rr) * D;
        const float* kr = Ks + lane * Dp;
        float dot = 0.0f;
        for (int d = 0; d < D; ++d) dot += q[d] * kr[d];
        s = dot;
      }
      online_update<DPL>(s, m[rr], l[rr], acc[rr], D, lane, [&](int jj) { return Vs + jj * D; });
    }
  }

  // each candidate row's own earlier tokens (and itself), straight from global memory
#pragma unroll
  for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
    if (!valid[rr] || ar[rr].own_start < 0) continue;
    const float* q = Qs + (warp * kAttnRowsPerWarp + rr) * D;
    const int last = ar[rr].row;
    for (int c0 = ar[rr].own_start; c0 <= last; c0 += 32) {
      const int kr = c0 + lane;
      float s = -INFINITY;
      if (kr <= last && !(window > 0 && int64_t(qpos[rr]) - pos[kr] >= window)) {
        const float* kp = qkv + int64_t(kr) * stride + koff;
        float dot = 0.0f;
        for (int d = 0; d < D; ++d) dot += q[d] * kp[d];
        s = dot;
      }
      online_update<DPL>(s, m[rr], l[rr], acc[rr], D, lane,
                         [&](int jj) { return qkv + int64_t(c0 + jj) * stride + voff; });
    }
  }

#pragma unroll
  for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
    if (!valid[rr]) continue;
    const float inv = 1.0f / l[rr];
    const int64_t o = int64_t(ar[rr].row) * H * D + int64_t(h) * D;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      if (d < D) store_as(out, o + d, acc[rr][i] * inv);
    }
    if (lse && lane == 0) lse[int64_t(ar[rr].row) * H + h] = m[rr] + logf(l[rr]);
  }
}

// kernel launchers

namespace {

template <int DPL, typename OutT>
void launch(OutT* out, float* lse, const float* qkv, const int32_t* pos, const AttnTile* tiles, int64_t ntiles,
            const AttnRow* rows, int64_t H, int64_t Hkv, int64_t D, int64_t window, int rows_per_tile,
            cudaStream_t s) {
  const size_t smem = size_t(kAttnKeysPerChunk * (D + 1) + kAttnKeysPerChunk * D + rows_per_tile * D) * sizeof(float);
  static std::once_flag once;  // one per instantiation: lift the 48 KiB default to what this kernel needs
  std::call_once(once, [] {
    const int most = int(size_t(kAttnKeysPerChunk * (kAttnMaxHeadDim + 1) + kAttnKeysPerChunk * kAttnMaxHeadDim +
                                64 * 128) * sizeof(float));
    int dev = 0, optin = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    CUDA_CHECK(cudaFuncSetAttribute(attention_forward_kernel<DPL, OutT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    most < optin ? most : optin));
  });
  const dim3 grid{unsigned(ntiles), unsigned(H), 1u};
  const unsigned threads = unsigned(rows_per_tile / kAttnRowsPerWarp * 32);
  attention_forward_kernel<DPL, OutT><<<grid, threads, smem, s>>>(out, lse, qkv, pos, tiles, rows, int(H), int(Hkv),
                                                                  int(D), (H + 2 * Hkv) * D, window,
                                                                  1.0f / sqrtf(float(D)));
  CUDA_CHECK(cudaGetLastError());
}

template <typename OutT>
void dispatch(OutT* out, float* lse, const float* qkv, const int32_t* pos, const AttnTile* tiles, int64_t ntiles,
              const AttnRow* rows, int64_t H, int64_t Hkv, int64_t D, int64_t window, int rows_per_tile,
              cudaStream_t s) {
  if (D <= 64) launch<2>(out, lse, qkv, pos, tiles, ntiles, rows, H, Hkv, D, window, rows_per_tile, s);
  else if (D <= 128) launch<4>(out, lse, qkv, pos, tiles, ntiles, rows, H, Hkv, D, window, rows_per_tile, s);
  else launch<8>(out, lse, qkv, pos, tiles, ntiles, rows, H, Hkv, D, window, rows_per_tile, s);
}

}  // namespace

void attention_forward(void* out, DType ot, float* lse, const float* qkv, const int32_t* pos, const AttnTile* tiles,
                       int64_t ntiles, const AttnRow* rows, int64_t H, int64_t Hkv, int64_t D, int64_t window,
                       int rows_per_tile, cudaStream_t s) {
  GLAM_CHECK(D >= 1 && D <= kAttnMaxHeadDim && H % Hkv == 0, "UnsupportedArchitecture",
             "the CUDA attention supports head sizes up to 256 and heads divisible by kv heads");
  GLAM_CHECK(rows_per_tile == attention_rows_per_tile(D), "Internal", "attention tiles were planned for another head size");
  if (ntiles == 0) return;
  if (ot == DType::F32)
    dispatch(static_cast<float*>(out), lse, qkv, pos, tiles, ntiles, rows, H, Hkv, D, window, rows_per_tile, s);
  else
    dispatch(static_cast<bf16*>(out), lse, qkv, pos, tiles, ntiles, rows, H, Hkv, D, window, rows_per_tile, s);
}

}  // namespace glam::cuda
