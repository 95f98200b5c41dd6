// What the attention forward (attention.cu) and backward (attention_backward.cu) kernels share: the
// per-call layout they read (AttnArgs: where q and k|v live, the score scale, the relative position
// bias), the score of one (query, key) pair beyond q.k, the online-softmax step, and the per-device
// lift of their dynamic shared memory limit (SmemLimit).
// Legend: T query rows, Tkv key rows, H heads, Hkv kv heads, D head size, NB bias buckets.
// Subtle: queries are pre-scaled by `scale` when loaded, so a score is (scale q).k + bias; the
// bias's bucket comes from RelBucketCuts (ops/relative_buckets.h), integer-only, so the GPU buckets
// equal the CPU's exactly. Self attention reads keys from the query buffer (kv == q, one stride);
// cross attention reads q (stride H D) and k|v (stride 2 Hkv D) from two buffers, and positions /
// bias / window never apply to it (the caller refuses those combinations).
#pragma once
#include <algorithm>
#include <cstdint>
#include <mutex>

#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

// Lifts a kernel's dynamic shared memory limit (48 KiB by default) to `bytes`, clamped to the
// device's opt-in limit, once per DEVICE: cudaFuncSetAttribute applies to the current device only,
// so a process-wide std::call_once would leave a second GPU at the default and its launches would
// fail. One static SmemLimit per kernel instantiation (the launcher templates hold it). After the
// first launch on a device only cudaGetDevice runs, which is safe inside a graph capture.
struct SmemLimit {
  std::mutex mu;
  uint64_t done = 0;  // bit d: device d has the attribute
  template <typename Kernel>
  void lift(Kernel k, size_t bytes) {
    int dev = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    std::lock_guard<std::mutex> lock(mu);
    const uint64_t bit = dev < 64 ? uint64_t(1) << dev : 0;
    if (done & bit) return;
    int optin = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    CUDA_CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    int(std::min<size_t>(bytes, size_t(optin)))));
    done |= bit;
  }
};

struct AttnArgs {
  const float* q;       // query head h of row r: q + r qstride + qoff + h D
  const float* kv;      // key of kv head g of key row j: kv + j kvstride + koff + g D (value: voff)
  int64_t qstride, qoff, kvstride, koff, voff;
  const int32_t* pos;   // (T) positions of the query stream (self attention: of the keys too)
  const float* bias;    // (NB, H) or null
  int64_t window;       // > 0: key visible only if pos_q - pos_k < window
  float scale;
  int H, Hkv, D, NB;
  RelBucketCuts cuts;   // with bias
};

// Throws UnsupportedArchitecture / InternalError for what the kernels do not cover (attention.cu).
void check_attn_call(const AttnCall& c);

inline AttnArgs attn_args(const AttnCall& c) {
  AttnArgs a;
  a.q = c.q;
  a.kv = c.kv ? c.kv : c.q;
  a.qstride = c.qstride;
  a.qoff = c.qoff;
  a.kvstride = c.kv ? c.kvstride : c.qstride;
  a.koff = c.koff;
  a.voff = c.voff;
  a.pos = c.pos;
  a.bias = c.bias;
  a.window = c.window;
  a.scale = c.scale;
  a.H = int(c.H);
  a.Hkv = int(c.Hkv);
  a.D = int(c.D);
  a.NB = c.bias ? int(c.cuts.n * (c.cuts.bidirectional ? 2 : 1)) : 0;
  a.cuts = c.cuts;
  return a;
}

// What the score of (query at qp, key at kp) adds to (scale q).k: the bias of its bucket for this
// head (bs: the head's NB biases), or -inf outside the window.
__device__ __forceinline__ float score_extra(const AttnArgs& a, const float* bs, int qp, int kp) {
  if (a.window > 0 && int64_t(qp) - kp >= a.window) return -INFINITY;
  return bs ? bs[relative_bucket_cut(int64_t(kp) - qp, a.cuts)] : 0.0f;
}

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

}  // namespace glam::cuda
