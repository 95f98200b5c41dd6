// Shared-prefix attention on the GPU, forward (flash-style: online softmax in fp32, nothing of size
// rows x keys is ever stored); the backward is attention_backward.cu, the shared layout and online
// step attention_common.cuh.
// Pipeline per CTA = (tile of up to 64 query rows of one prompt group, head h):
//   Q tile -> shared memory (pre-scaled by the score scale: 1/sqrt(D), or T5's 1)
//   for each chunk of 32 PROMPT keys (up to the tile's nkeys): K, V chunk (and the keys' positions)
//     -> shared memory, then every warp updates its 4 query rows (lane j scores key j, adding the
//     relative position bias of its bucket when there is one; running max m, sum l and the output
//     accumulator rescale; p_j is broadcast by shuffles for the P.V product, lane d owning dims d+32i)
//   each candidate row then continues over its OWN earlier tokens (own_start..row, read from global:
//     a handful of rows) with the same running state, which is exactly the log-sum-exp merge of the
//     prompt part and the own part (FlashInfer's cascade / Hydragen) without a second pass
//   out = acc / l (the next GEMM's input type), lse = m + log l.
// Masks come from the plan (model/batch_plan.cpp, model/t5_attention_plan.cpp): a causal prompt row
// i sees prompt keys 0..i (nprompt = i + 1), a bidirectional one (an encoder) all P keys; a candidate
// row sees all P prompt keys and its own candidate's rows up to itself, never another candidate's;
// with a sliding window, key j is visible from query i only if pos_i - pos_j < window. Cross
// attention is the same kernel over another key stream: the tile's prompt_start is a row of kv,
// every query row sees the tile's nkeys keys, and no row has own keys.
// Legend: T packed rows, H query heads, Hkv key/value heads, D head size, P prompt rows, NB buckets.
// Subtle: the prompt's K/V are read from global memory once per (tile, head), and a tile batches
// the rows of up to 64/A candidates, so candidates never re-read their prompt one by one. Branches
// on `valid` and `own_start` are uniform within a warp (one row at a time per warp), so shuffles
// are safe. Every row sees at least one key (itself, or a cross key), so l > 0. The bias of head h
// (NB floats) sits in shared memory after the Q tile.
#include "ops/cuda/attention_common.cuh"

namespace glam::cuda {

// CUDA kernels

template <int DPL, typename OutT>
__global__ void __launch_bounds__(512) attention_forward_kernel(OutT* out, float* lse, const AttnArgs a,
                                                                const AttnTile* tiles, const AttnRow* rows) {
  extern __shared__ float sm[];
  const int D = a.D, H = a.H;
  const int Dp = D + 1;                        // padded K rows: lane j reads row j without bank conflicts
  float* Ks = sm;                              // (32, D+1) prompt keys of the current chunk
  float* Vs = Ks + kAttnKeysPerChunk * Dp;     // (32, D)   their values
  float* Qs = Vs + kAttnKeysPerChunk * D;      // (tile rows, D) scaled queries
  float* Bs = Qs + blockDim.x / 32 * kAttnRowsPerWarp * D;  // (NB) this head's bias
  int* Kp = reinterpret_cast<int*>(Bs + a.NB);  // (32) the chunk's key positions
  const AttnTile tile = tiles[blockIdx.x];
  const int h = blockIdx.y, kvh = h / (H / a.Hkv);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t qoff = a.qoff + int64_t(h) * D, koff = a.koff + int64_t(kvh) * D, voff = a.voff + int64_t(kvh) * D;
  const bool kpos = a.bias || a.window > 0;  // key positions matter (self attention only)
  const float* bs = a.bias ? Bs : nullptr;

  for (int k = threadIdx.x; k < tile.count * D; k += blockDim.x) {
    const int r = k / D, d = k % D;
    Qs[r * D + d] = a.q[int64_t(rows[tile.first + r].row) * a.qstride + qoff + d] * a.scale;
  }
  for (int b = threadIdx.x; b < a.NB; b += blockDim.x) Bs[b] = a.bias[int64_t(b) * H + h];
  __syncthreads();  // Qs, Bs complete before any warp reads them (the own-token phase needs them even with no prompt chunk)
  bool valid[kAttnRowsPerWarp];
  AttnRow ar[kAttnRowsPerWarp];
  int qpos[kAttnRowsPerWarp];
  float m[kAttnRowsPerWarp], l[kAttnRowsPerWarp], acc[kAttnRowsPerWarp][DPL];
#pragma unroll
  for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
    const int local = warp * kAttnRowsPerWarp + rr;
    valid[rr] = local < tile.count;
    ar[rr] = valid[rr] ? rows[tile.first + local] : AttnRow{0, 0, -1, 0};
    qpos[rr] = valid[rr] && kpos ? a.pos[ar[rr].row] : 0;
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
        const float* src = a.kv + int64_t(tile.prompt_start + k0 + j) * a.kvstride;
        kv = src[koff + d];
        vv = src[voff + d];
      }
      Ks[j * Dp + d] = kv;
      Vs[j * D + d] = vv;
    }
    if (threadIdx.x < kAttnKeysPerChunk)
      Kp[threadIdx.x] = kpos && int(threadIdx.x) < nk ? a.pos[tile.prompt_start + k0 + threadIdx.x] : 0;
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
      if (!valid[rr]) continue;
      const int j = k0 + lane;
      float s = -INFINITY;
      if (j < ar[rr].nprompt) {
        const float extra = kpos ? score_extra(a, bs, qpos[rr], Kp[lane]) : 0.0f;
        if (extra != -INFINITY) {
          const float* q = Qs + (warp * kAttnRowsPerWarp + rr) * D;
          const float* kr = Ks + lane * Dp;
          float dot = 0.0f;
          for (int d = 0; d < D; ++d) dot += q[d] * kr[d];
          s = dot + extra;
        }
      }
      online_update<DPL>(s, m[rr], l[rr], acc[rr], D, lane, [&](int jj) { return Vs + jj * D; });
    }
  }

  // each candidate row's own earlier tokens (and itself), straight from global memory (self only)
#pragma unroll
  for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
    if (!valid[rr] || ar[rr].own_start < 0) continue;
    const float* q = Qs + (warp * kAttnRowsPerWarp + rr) * D;
    const int last = ar[rr].row;
    for (int c0 = ar[rr].own_start; c0 <= last; c0 += 32) {
      const int kr = c0 + lane;
      float s = -INFINITY;
      if (kr <= last) {
        const float extra = kpos ? score_extra(a, bs, qpos[rr], a.pos[kr]) : 0.0f;
        if (extra != -INFINITY) {
          const float* kp = a.kv + int64_t(kr) * a.kvstride + koff;
          float dot = 0.0f;
          for (int d = 0; d < D; ++d) dot += q[d] * kp[d];
          s = dot + extra;
        }
      }
      online_update<DPL>(s, m[rr], l[rr], acc[rr], D, lane,
                         [&](int jj) { return a.kv + int64_t(c0 + jj) * a.kvstride + voff; });
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

// shared memory of the forward kernel: K (32, D+1), V (32, D), Q (rows, D), bias (NB), key positions (32)
size_t forward_smem(int64_t D, int rows_per_tile, int64_t NB) {
  return size_t(kAttnKeysPerChunk * (D + 1) + kAttnKeysPerChunk * D + rows_per_tile * D + NB + kAttnKeysPerChunk) *
         sizeof(float);
}

template <int DPL, typename OutT>
void launch(OutT* out, float* lse, const AttnArgs& a, const AttnCall& c, cudaStream_t s) {
  static SmemLimit limit;  // one per instantiation: lift the 48 KiB default to what this kernel needs
  limit.lift(attention_forward_kernel<DPL, OutT>,
             std::max(forward_smem(kAttnMaxHeadDim, attention_rows_per_tile(kAttnMaxHeadDim), kMaxRelBuckets),
                      forward_smem(128, attention_rows_per_tile(128), kMaxRelBuckets)));
  const dim3 grid{unsigned(c.ntiles), unsigned(c.H), 1u};
  const unsigned threads = unsigned(c.rows_per_tile / kAttnRowsPerWarp * 32);
  attention_forward_kernel<DPL, OutT><<<grid, threads, forward_smem(c.D, c.rows_per_tile, a.NB), s>>>(out, lse, a, c.tiles,
                                                                                                      c.rows);
  CUDA_CHECK(cudaGetLastError());
}

template <typename OutT>
void dispatch(OutT* out, float* lse, const AttnArgs& a, const AttnCall& c, cudaStream_t s) {
  if (c.D <= 64) launch<2>(out, lse, a, c, s);
  else if (c.D <= 128) launch<4>(out, lse, a, c, s);
  else launch<8>(out, lse, a, c, s);
}

}  // namespace

void check_attn_call(const AttnCall& c) {
  GLAM_CHECK(c.D >= 1 && c.D <= kAttnMaxHeadDim && c.Hkv >= 1 && c.H % c.Hkv == 0, "UnsupportedArchitecture",
             "the CUDA attention supports head sizes up to 256 and heads divisible by kv heads");
  GLAM_CHECK(c.rows_per_tile == attention_rows_per_tile(c.D), "InternalError",
             "attention tiles were planned for another head size");
  GLAM_CHECK(c.scale != 0.0f, "InternalError", "the attention scale is resolved by the backend");
  const int64_t NB = c.bias ? int64_t(c.cuts.n) * (c.cuts.bidirectional ? 2 : 1) : 0;
  GLAM_CHECK(NB <= kMaxRelBuckets, "UnsupportedArchitecture",
             "the CUDA attention supports up to " + std::to_string(kMaxRelBuckets) + " relative position buckets");
  GLAM_CHECK(!c.kv || (!c.bias && c.window == 0), "UnsupportedArchitecture",
             "cross attention with a position bias or a window is not supported");
}

void attention_forward(void* out, DType ot, float* lse, const AttnCall& c, cudaStream_t s) {
  check_attn_call(c);
  if (c.ntiles == 0) return;
  const AttnArgs a = attn_args(c);
  if (ot == DType::F32) dispatch(static_cast<float*>(out), lse, a, c, s);
  else dispatch(static_cast<bf16*>(out), lse, a, c, s);
}

}  // namespace glam::cuda
