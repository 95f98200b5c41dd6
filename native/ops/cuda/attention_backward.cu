// The shared-prefix attention's backward on the GPU (the forward: attention.cu; the layout both read:
// attention_common.cuh), probabilities recomputed from the saved lse. Three kernels, after the
// outputs are zeroed and Di = dO . O per row and head is precomputed:
//   dq (CTA per (tile, head), like the forward): each warp's rows hold q, dO, dq in registers (lane d
//     owns dims d + 32i); per key p = exp((scale q).k + bias - lse), ds = p (dO.v - Di),
//     dq += ds k scale; prompt keys come through shared memory chunk by chunk; a candidate row's OWN
//     keys also get their dK += ds (scale q) and dV += p dO here, by fp32 atomics (a few rows per
//     candidate); with a bias, ds is also summed by bucket into the CTA's shared (NB) array (every
//     (row, key) pair is visited exactly once here), then added to dbias[:, h] by atomics;
//   dkv (CTA per (32-key chunk of a prompt, kv head), the plan's kv tiles): each warp owns 2 keys
//     (k, v and dk, dv in registers) and walks EVERY query row of the group that can see the chunk
//     (causal: the prompt's later rows and every candidate's rows; bidirectional and cross: every
//     row of the group) for each query head of the kv head, so the prompt's dK/dV sum over all
//     candidates without atomics and are stored once (cross: into dkv, stride 2 Hkv D).
// Legend: T query rows, Tkv key rows, H heads, Hkv kv heads, D head size, NB buckets.
// Subtle: self attention writes dQ, dK, dV into one dqkv buffer (dq == dkv, one stride); the
// kernels never write a location twice except through the atomics, and the prompt keys' dK/dV
// (stores) and the candidates' own keys (atomics) are different rows. dbias is accumulated once,
// in the dq kernel, never in the dkv kernel (which revisits the same prompt pairs).
#include "ops/cuda/attention_common.cuh"

namespace glam::cuda {

// CUDA kernels

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
__global__ void __launch_bounds__(512) attention_dq_kernel(float* dq_out, float* dkv, float* dbias, const float* dout,
                                                           const float* lse, const float* Di, const AttnArgs a,
                                                           const AttnTile* tiles, const AttnRow* rows) {
  extern __shared__ float sm[];
  const int D = a.D, H = a.H;
  float* Ks = sm;                           // (32, D) prompt keys of the chunk
  float* Vs = Ks + kAttnKeysPerChunk * D;   // (32, D) their values
  float* Bs = Vs + kAttnKeysPerChunk * D;   // (NB) this head's bias
  float* dBs = Bs + a.NB;                   // (NB) this CTA's dbias by bucket
  int* Kp = reinterpret_cast<int*>(dBs + a.NB);  // (32) the chunk's key positions
  const AttnTile tile = tiles[blockIdx.x];
  const int h = blockIdx.y, kvh = h / (H / a.Hkv);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t qoff = a.qoff + int64_t(h) * D, koff = a.koff + int64_t(kvh) * D, voff = a.voff + int64_t(kvh) * D;
  const bool kpos = a.bias || a.window > 0;
  const float* bs = a.bias ? Bs : nullptr;
  const bool want_db = a.bias && dbias;
  for (int b = threadIdx.x; b < a.NB; b += blockDim.x) {
    Bs[b] = a.bias[int64_t(b) * H + h];
    dBs[b] = 0.0f;
  }
  // (Bs, dBs are complete before use: the first chunk's or the own phase's __syncthreads below)
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
    qpos[rr] = valid[rr] && kpos ? a.pos[ar[rr].row] : 0;
    const int64_t r = ar[rr].row;
    L[rr] = valid[rr] ? lse[r * H + h] : 0.0f;
    DD[rr] = valid[rr] ? Di[r * H + h] : 0.0f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      const bool in = valid[rr] && d < D;
      q[rr][i] = in ? a.q[r * a.qstride + qoff + d] * a.scale : 0.0f;
      dO[rr][i] = in ? dout[(r * H + h) * D + d] : 0.0f;
      dq[rr][i] = 0.0f;
    }
  }
  // one key for one warp row (extra: its bias, finite): returns (p, ds); kr / vr the key's k and v
  auto key_grad = [&](int rr, const float* kr, const float* vr, float extra, int bucket, float& p, float& ds) {
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
    p = expf(s + extra - L[rr]);
    ds = p * (dp - DD[rr]);
    if (want_db && lane == 0) atomicAdd(dBs + bucket, ds);
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
      const float* src = a.kv + int64_t(tile.prompt_start + k0 + j) * a.kvstride;
      Ks[j * D + d] = src[koff + d];
      Vs[j * D + d] = src[voff + d];
    }
    if (threadIdx.x < kAttnKeysPerChunk)
      Kp[threadIdx.x] = kpos && int(threadIdx.x) < nk ? a.pos[tile.prompt_start + k0 + threadIdx.x] : 0;
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
      if (!valid[rr]) continue;
      const int jn = min(nk, ar[rr].nprompt - k0);
      for (int j = 0; j < jn; ++j) {
        const float extra = kpos ? score_extra(a, bs, qpos[rr], Kp[j]) : 0.0f;
        if (extra == -INFINITY) continue;  // uniform over the warp
        const int bucket = a.bias ? relative_bucket_cut(int64_t(Kp[j]) - qpos[rr], a.cuts) : 0;
        float p, ds;
        key_grad(rr, Ks + j * D, Vs + j * D, extra, bucket, p, ds);
      }
    }
  }
  __syncthreads();  // Bs / dBs initialised even when the tile has no prompt chunk
#pragma unroll
  for (int rr = 0; rr < kAttnRowsPerWarp; ++rr) {
    if (!valid[rr]) continue;
    if (ar[rr].own_start >= 0) {
      for (int kr = ar[rr].own_start; kr <= ar[rr].row; ++kr) {
        const int kp = kpos ? a.pos[kr] : 0;
        const float extra = kpos ? score_extra(a, bs, qpos[rr], kp) : 0.0f;
        if (extra == -INFINITY) continue;
        const int bucket = a.bias ? relative_bucket_cut(int64_t(kp) - qpos[rr], a.cuts) : 0;
        const float* base = a.kv + int64_t(kr) * a.kvstride;
        float p, ds;
        key_grad(rr, base + koff, base + voff, extra, bucket, p, ds);
        float* dk = dkv + int64_t(kr) * a.kvstride + koff;
        float* dv = dkv + int64_t(kr) * a.kvstride + voff;
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
    float* o = dq_out + int64_t(ar[rr].row) * a.qstride + qoff;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      if (d < D) o[d] = dq[rr][i] * a.scale;
    }
  }
  if (!want_db) return;
  __syncthreads();  // every warp's shared atomics are done
  for (int b = threadIdx.x; b < a.NB; b += blockDim.x)
    if (dBs[b] != 0.0f) atomicAdd(dbias + int64_t(b) * H + h, dBs[b]);
}

constexpr int kKeysPerWarp = 2;  // dkv kernel: 16 warps x 2 keys = one 32-key chunk per CTA

template <int DPL>
__global__ void __launch_bounds__(512) attention_dkv_kernel(float* dkv, const float* dout, const float* lse,
                                                            const float* Di, const AttnArgs a, const AttnKvTile* kvt,
                                                            const AttnRow* rows) {
  const AttnKvTile t = kvt[blockIdx.x];
  const int D = a.D, H = a.H;
  const int kvh = blockIdx.y, rep = H / a.Hkv;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t koff = a.koff + int64_t(kvh) * D, voff = a.voff + int64_t(kvh) * D;
  const bool kpos = a.bias || a.window > 0;
  float k[kKeysPerWarp][DPL], v[kKeysPerWarp][DPL], dk[kKeysPerWarp][DPL], dv[kKeysPerWarp][DPL];
  int key[kKeysPerWarp], kp[kKeysPerWarp];
#pragma unroll
  for (int kk = 0; kk < kKeysPerWarp; ++kk) {
    key[kk] = t.key0 + warp * kKeysPerWarp + kk;  // prompt key index of this key
    const bool in = key[kk] < t.key0 + t.nkeys;
    const int64_t krow = int64_t(t.prompt_start) + (in ? key[kk] : t.key0);
    const float* src = a.kv + krow * a.kvstride;
    kp[kk] = kpos ? a.pos[krow] : 0;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      k[kk][i] = in && d < D ? src[koff + d] : 0.0f;
      v[kk][i] = in && d < D ? src[voff + d] : 0.0f;
      dk[kk][i] = dv[kk][i] = 0.0f;
    }
    if (!in) key[kk] = -1;
  }
  for (int r0 = 0; r0 < t.count; ++r0) {
    const AttnRow ar = rows[t.first + r0];
    const int64_t r = ar.row;
    const int qp = kpos ? a.pos[r] : 0;
    for (int h = kvh * rep; h < (kvh + 1) * rep; ++h) {
      float q[DPL], g[DPL];
#pragma unroll
      for (int i = 0; i < DPL; ++i) {
        const int d = lane + 32 * i;
        q[i] = d < D ? a.q[r * a.qstride + a.qoff + int64_t(h) * D + d] * a.scale : 0.0f;
        g[i] = d < D ? dout[(r * H + h) * D + d] : 0.0f;
      }
      const float L = lse[r * H + h], DD = Di[r * H + h];
#pragma unroll
      for (int kk = 0; kk < kKeysPerWarp; ++kk) {
        if (key[kk] < 0 || key[kk] >= ar.nprompt) continue;
        float extra = 0.0f;
        if (kpos) {
          if (a.window > 0 && int64_t(qp) - kp[kk] >= a.window) continue;
          if (a.bias) extra = __ldg(a.bias + int64_t(relative_bucket_cut(int64_t(kp[kk]) - qp, a.cuts)) * H + h);
        }
        float s = 0.0f, dp = 0.0f;
#pragma unroll
        for (int i = 0; i < DPL; ++i) {
          s += q[i] * k[kk][i];
          dp += g[i] * v[kk][i];
        }
        s = warp_sum(s);
        dp = warp_sum(dp);
        const float p = expf(s + extra - L), ds = p * (dp - DD);
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
    float* o = dkv + int64_t(t.prompt_start + key[kk]) * a.kvstride;
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

template <int DPL>
void launch_backward(float* dq, float* dkv, float* dbias, const float* dout, const float* lse, const float* Di,
                     const AttnArgs& a, const AttnCall& c, cudaStream_t s) {
  // K, V chunk (32, D) each, bias and dbias (NB), key positions (32)
  const size_t smem = size_t(2 * kAttnKeysPerChunk * c.D + 2 * a.NB + kAttnKeysPerChunk) * sizeof(float);
  static SmemLimit limit;  // the most any head size of this instantiation (D <= 32 DPL) needs
  limit.lift(attention_dq_kernel<DPL>,
             size_t(2 * kAttnKeysPerChunk * 32 * DPL + 2 * kMaxRelBuckets + kAttnKeysPerChunk) * sizeof(float));
  if (c.ntiles > 0) {
    attention_dq_kernel<DPL><<<dim3(unsigned(c.ntiles), unsigned(c.H)), unsigned(c.rows_per_tile / kAttnRowsPerWarp * 32),
                               smem, s>>>(dq, dkv, dbias, dout, lse, Di, a, c.tiles, c.rows);
    CUDA_CHECK(cudaGetLastError());
  }
  if (c.nkv > 0) {
    attention_dkv_kernel<DPL><<<dim3(unsigned(c.nkv), unsigned(c.Hkv)), 32 * kAttnKeysPerChunk / kKeysPerWarp, 0, s>>>(
        dkv, dout, lse, Di, a, c.kv_tiles, c.rows);
    CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace

void attention_backward(float* dq, float* dkv, float* dbias, float* Di, const float* dout, const void* out, DType ot,
                        const float* lse, const AttnCall& c, cudaStream_t s) {
  check_attn_call(c);
  GLAM_CHECK(!c.kv || dkv, "InvalidArgument", "the cross-attention backward needs dkv");
  GLAM_CHECK(c.kv_tiles || c.nkv == 0, "InvalidArgument", "the attention backward needs the plan's kv tiles");
  if (c.T == 0) return;
  CUDA_CHECK(cudaMemsetAsync(dq, 0, size_t(c.T) * size_t(c.qstride) * sizeof(float), s));
  if (c.kv && c.Tkv > 0) CUDA_CHECK(cudaMemsetAsync(dkv, 0, size_t(c.Tkv) * size_t(c.kvstride) * sizeof(float), s));
  if (!c.kv) dkv = dq;  // self attention: dK, dV live in dqkv
  const int64_t TH = c.T * c.H;
  const unsigned warps_per_cta = 8;
  const unsigned grid = unsigned((TH + warps_per_cta - 1) / warps_per_cta);
  if (ot == DType::F32)
    attention_di_kernel<float><<<grid, 32 * warps_per_cta, 0, s>>>(Di, dout, static_cast<const float*>(out), TH, int(c.D));
  else
    attention_di_kernel<bf16><<<grid, 32 * warps_per_cta, 0, s>>>(Di, dout, static_cast<const bf16*>(out), TH, int(c.D));
  CUDA_CHECK(cudaGetLastError());
  const AttnArgs a = attn_args(c);
  if (c.D <= 64) launch_backward<2>(dq, dkv, dbias, dout, lse, Di, a, c, s);
  else if (c.D <= 128) launch_backward<4>(dq, dkv, dbias, dout, lse, Di, a, c, s);
  else launch_backward<8>(dq, dkv, dbias, dout, lse, Di, a, c, s);
}

}  // namespace glam::cuda
