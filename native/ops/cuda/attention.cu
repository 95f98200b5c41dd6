// Shared-prefix attention on the GPU, forward (flash-style: online softmax in fp32, nothing of size
// rows x keys is ever stored) and backward (probabilities recomputed from the saved lse).
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
// Backward, three kernels (dqkv zeroed first; Di = dO . O per row and head precomputed):
//   dq (CTA per (tile, head), like the forward): each warp's rows hold q, dO, dq in registers (lane d
//     owns dims d + 32i); per key p = exp(q.k / sqrt(D) - lse), ds = p (dO.v - Di), dq += ds k / sqrt(D);
//     prompt keys come through shared memory chunk by chunk; a candidate row's OWN keys also get their
//     dK += ds q / sqrt(D) and dV += p dO here, by fp32 atomics (a few rows per candidate);
//   dkv (CTA per (32-key chunk of a prompt, kv head), attn_kv_tiles of the batch plan): each warp owns
//     2 keys (k, v and dk, dv in registers) and walks EVERY query row of the group that can see the
//     chunk (the prompt's later rows and every candidate's rows) for each query head of the kv head,
//     so the prompt's dK/dV sum over all candidates without atomics and are stored once.
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

// --- backward

template <typename OT>
__global__ void attention_di_kernel(float* Di, const float* dout, const OT* out, int64_t TH, int D) {
  const int64_t w = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (w >= TH) return;
  float acc = 0.0f;
  for (int d = lane; d < D; d += 32) acc += dout[w * D + d] * load_f32(out, w * D + d);
  acc = warp_sum(acc);
  if (lane == 0) Di[w] = acc;
}

template <int DPL>
__global__ void __launch_bounds__(512) attention_dq_kernel(float* dqkv, const float* dout, const float* qkv,
                                                           const float* lse, const float* Di, const int32_t* pos,
                                                           const AttnTile* tiles, const AttnRow* rows, int H,
                                                           int Hkv, int D, int64_t stride, int64_t window, float scale) {
  extern __shared__ float sm[];
  float* Ks = sm;                           // (32, D) prompt keys of the chunk
  float* Vs = Ks + kAttnKeysPerChunk * D;   // (32, D) their values
  const AttnTile tile = tiles[blockIdx.x];
  const int h = blockIdx.y, kvh = h / (H / Hkv);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t qoff = int64_t(h) * D, koff = int64_t(H + kvh) * D, voff = int64_t(H + Hkv + kvh) * D;
  bool valid[kAttnRowsPerWarp];
  AttnRow ar[kAttnRowsPerWarp];
  int qpos[kAttnRowsPerWarp];
  float q[kAttnRowsPerWarp][DPL], dO[kAttnRowsPerWarp][DPL], dq[kAttnRowsPerWarp][DPL], L[kAttnRowsPerWarp],
      DD[kAttnRowsPerWarp];
#pragma unroll
  for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
    const int local = warp * kAttnRowsPerWarp + rr;
    valid[rr] = local < tile.count;
    ar[rr] = valid[rr] ? rows[tile.first + local] : AttnRow{0, 0, -1, 0};
    qpos[rr] = valid[rr] ? pos[ar[rr].row] : 0;
    const int64_t r = ar[rr].row;
    L[rr] = valid[rr] ? lse[r * H + h] : 0.0f;
    DD[rr] = valid[rr] ? Di[r * H + h] : 0.0f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      const bool in = valid[rr] && d < D;
      q[rr][i] = in ? qkv[r * stride + qoff + d] * scale : 0.0f;
      dO[rr][i] = in ? dout[(r * H + h) * D + d] : 0.0f;
      dq[rr][i] = 0.0f;
    }
  }
  // one key for one warp row: returns (p, ds); kr / vr give the key's k and v (D floats)
  auto key_grad = [&](int rr, const float* kr, const float* vr, float& p, float& ds) {
    float s = 0.0f, dp = 0.0f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      if (d < D) {
        s += q[rr][i] * kr[d];
        dp += dO[rr][i] * vr[d];
      }
    }
    s = warp_sum(s);
    dp = warp_sum(dp);
    p = expf(s - L[rr]);
    ds = p * (dp - DD[rr]);
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      if (d < D) dq[rr][i] += ds * kr[d];
    }
  };
  for (int k0 = 0; k0 < tile.nkeys; k0 += kAttnKeysPerChunk) {
    __syncthreads();
    const int nk = min(kAttnKeysPerChunk, tile.nkeys - k0);
    for (int k = threadIdx.x; k < nk * D; k += blockDim.x) {
      const int j = k / D, d = k % D;
      const float* src = qkv + int64_t(tile.prompt_start + k0 + j) * stride;
      Ks[j * D + d] = src[koff + d];
      Vs[j * D + d] = src[voff + d];
    }
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
      if (!valid[rr]) continue;
      const int jn = min(nk, ar[rr].nprompt - k0);
      for (int j = 0; j < jn; ++j) {
        if (window > 0 && int64_t(qpos[rr]) - (k0 + j) >= window) continue;  // uniform over the warp
        float p, ds;
        key_grad(rr, Ks + j * D, Vs + j * D, p, ds);
      }
    }
  }
#pragma unroll
  for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
    if (!valid[rr]) continue;
    if (ar[rr].own_start >= 0) {
      for (int kr = ar[rr].own_start; kr <= ar[rr].row; ++kr) {
        if (window > 0 && int64_t(qpos[rr]) - pos[kr] >= window) continue;
        const float* base = qkv + int64_t(kr) * stride;
        float p, ds;
        key_grad(rr, base + koff, base + voff, p, ds);
        float* dk = dqkv + int64_t(kr) * stride + koff;
        float* dv = dqkv + int64_t(kr) * stride + voff;
#pragma unroll
        for (int i = 0; i < DPL; ++i) {
          const int d = lane + 32 * i;
          if (d < D) {
            atomicAdd(dk + d, ds * q[rr][i]);
            atomicAdd(dv + d, p * dO[rr][i]);
          }
        }
      }
    }
    float* o = dqkv + int64_t(ar[rr].row) * stride + qoff;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      if (d < D) o[d] = dq[rr][i] * scale;
    }
  }
}

constexpr int kKeysPerWarp = 2;  // dkv kernel: 16 warps x 2 keys = one 32-key chunk per CTA

template <int DPL>
__global__ void __launch_bounds__(512) attention_dkv_kernel(float* dqkv, const float* dout, const float* qkv,
                                                            const float* lse, const float* Di, const int32_t* pos,
                                                            const AttnKvTile* kvt, const AttnRow* rows, int H,
                                                            int Hkv, int D, int64_t stride, int64_t window,
                                                            float scale) {
  const AttnKvTile t = kvt[blockIdx.x];
  const int kvh = blockIdx.y, rep = H / Hkv;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t koff = int64_t(H + kvh) * D, voff = int64_t(H + Hkv + kvh) * D;
  float k[kKeysPerWarp][DPL], v[kKeysPerWarp][DPL], dk[kKeysPerWarp][DPL], dv[kKeysPerWarp][DPL];
  int key[kKeysPerWarp];
#pragma unroll
  for (int kk = 0; kk < kKeysPerWarp; ++kk) {
    key[kk] = t.key0 + warp * kKeysPerWarp + kk;  // prompt position of this key
    const bool in = key[kk] < t.key0 + t.nkeys;
    const float* src = qkv + int64_t(t.prompt_start + (in ? key[kk] : t.key0)) * stride;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      k[kk][i] = in && d < D ? src[koff + d] : 0.0f;
      v[kk][i] = in && d < D ? src[voff + d] : 0.0f;
      dk[kk][i] = dv[kk][i] = 0.0f;
    }
    if (!in) key[kk] = -1;
  }
  for (int a = 0; a < t.count; ++a) {
    const AttnRow ar = rows[t.first + a];
    const int64_t r = ar.row;
    const int qp = pos[r];
    for (int h = kvh * rep; h < (kvh + 1) * rep; ++h) {
      float q[DPL], g[DPL];
#pragma unroll
      for (int i = 0; i < DPL; ++i) {
        const int d = lane + 32 * i;
        q[i] = d < D ? qkv[r * stride + int64_t(h) * D + d] * scale : 0.0f;
        g[i] = d < D ? dout[(r * H + h) * D + d] : 0.0f;
      }
      const float L = lse[r * H + h], DD = Di[r * H + h];
#pragma unroll
      for (int kk = 0; kk < kKeysPerWarp; ++kk) {
        if (key[kk] < 0 || key[kk] >= ar.nprompt || (window > 0 && int64_t(qp) - key[kk] >= window)) continue;
        float s = 0.0f, dp = 0.0f;
#pragma unroll
        for (int i = 0; i < DPL; ++i) {
          s += q[i] * k[kk][i];
          dp += g[i] * v[kk][i];
        }
        s = warp_sum(s);
        dp = warp_sum(dp);
        const float p = expf(s - L), ds = p * (dp - DD);
#pragma unroll
        for (int i = 0; i < DPL; ++i) {
          dk[kk][i] += ds * q[i];
          dv[kk][i] += p * g[i];
        }
      }
    }
  }
#pragma unroll
  for (int kk = 0; kk < kKeysPerWarp; ++kk) {
    if (key[kk] < 0) continue;
    float* o = dqkv + int64_t(t.prompt_start + key[kk]) * stride;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      if (d < D) {
        o[koff + d] = dk[kk][i];
        o[voff + d] = dv[kk][i];
      }
    }
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

template <int DPL>
void launch_backward(float* dqkv, const float* dout, const float* qkv, const float* lse, const float* Di,
                     const int32_t* pos, const AttnTile* tiles, int64_t ntiles, const AttnKvTile* kv_tiles,
                     int64_t nkv_tiles, const AttnRow* rows, int64_t H, int64_t Hkv, int64_t D, int64_t window,
                     int rows_per_tile, cudaStream_t s) {
  const size_t smem = size_t(2 * kAttnKeysPerChunk * D) * sizeof(float);
  static std::once_flag once;
  std::call_once(once, [] {
    CUDA_CHECK(cudaFuncSetAttribute(attention_dq_kernel<DPL>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    int(2 * kAttnKeysPerChunk * 32 * DPL * sizeof(float))));
  });
  const int64_t stride = (H + 2 * Hkv) * D;
  const float scale = 1.0f / sqrtf(float(D));
  if (ntiles > 0) {
    attention_dq_kernel<DPL><<<dim3(unsigned(ntiles), unsigned(H)), unsigned(rows_per_tile / kAttnRowsPerWarp * 32),
                               smem, s>>>(dqkv, dout, qkv, lse, Di, pos, tiles, rows, int(H), int(Hkv), int(D), stride,
                                          window, scale);
    CUDA_CHECK(cudaGetLastError());
  }
  if (nkv_tiles > 0) {
    attention_dkv_kernel<DPL><<<dim3(unsigned(nkv_tiles), unsigned(Hkv)), 32 * kAttnKeysPerChunk / kKeysPerWarp, 0,
                                s>>>(dqkv, dout, qkv, lse, Di, pos, kv_tiles, rows, int(H), int(Hkv), int(D), stride,
                                     window, scale);
    CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace

void attention_backward(float* dqkv, float* Di, const float* dout, const void* out, DType ot, const float* qkv,
                        const float* lse, const int32_t* pos, const AttnTile* tiles, int64_t ntiles,
                        const AttnKvTile* kv_tiles, int64_t nkv_tiles, const AttnRow* rows, int64_t T, int64_t H,
                        int64_t Hkv, int64_t D, int64_t window, int rows_per_tile, cudaStream_t s) {
  GLAM_CHECK(D >= 1 && D <= kAttnMaxHeadDim && H % Hkv == 0, "UnsupportedArchitecture",
             "the CUDA attention supports head sizes up to 256 and heads divisible by kv heads");
  if (T == 0) return;
  CUDA_CHECK(cudaMemsetAsync(dqkv, 0, size_t(T) * size_t((H + 2 * Hkv) * D) * sizeof(float), s));
  const unsigned warps_per_cta = 8;
  const unsigned grid = unsigned((T * H + warps_per_cta - 1) / warps_per_cta);
  if (ot == DType::F32)
    attention_di_kernel<float><<<grid, 32 * warps_per_cta, 0, s>>>(Di, dout, static_cast<const float*>(out), T * H, int(D));
  else
    attention_di_kernel<bf16><<<grid, 32 * warps_per_cta, 0, s>>>(Di, dout, static_cast<const bf16*>(out), T * H, int(D));
  CUDA_CHECK(cudaGetLastError());
  if (D <= 64)
    launch_backward<2>(dqkv, dout, qkv, lse, Di, pos, tiles, ntiles, kv_tiles, nkv_tiles, rows, H, Hkv, D, window, rows_per_tile, s);
  else if (D <= 128)
    launch_backward<4>(dqkv, dout, qkv, lse, Di, pos, tiles, ntiles, kv_tiles, nkv_tiles, rows, H, Hkv, D, window, rows_per_tile, s);
  else
    launch_backward<8>(dqkv, dout, qkv, lse, Di, pos, tiles, ntiles, kv_tiles, nkv_tiles, rows, H, Hkv, D, window, rows_per_tile, s);
}

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
