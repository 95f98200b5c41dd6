// GLAM's value head on the CPU (the value MLP of backend/backend.h's ValueHeadParams): forward with
// each hidden layer's input kept for the backward, and the backward beside it.
// Legend: B prompts, in/out a layer's features.
// Subtle: a sigmoid follows every layer but the last, and its backward reads the sigmoid's OUTPUT
// (the next layer's kept input): d z = d a . a (1 - a).
#include <algorithm>

#include "ops/cpu/cpu_ops.h"
#include "ops/cpu/gemm.h"

namespace glam::cpu {

void value_head_forward(float* out, const float* h, int64_t B, const ValueHeadParams& p, float* const* acts,
                        ThreadPool& pool) {
  const int64_t L = p.layers();
  std::vector<float> cur(h, h + B * p.sizes[0]), next;
  for (int64_t i = 0; i < L; ++i) {
    const int64_t in = p.sizes[size_t(i)], outn = p.sizes[size_t(i + 1)];
    next.assign(size_t(B * outn), 0.0f);
    gemm_nt(cur.data(), in, p.W[size_t(i)], in, next.data(), outn, B, outn, in, p.b[size_t(i)], false, pool);
    if (i + 1 < L) {
      sigmoid_forward(next.data(), B * outn);
      if (acts) std::copy(next.begin(), next.end(), acts[i]);
    }
    cur.swap(next);
  }
  for (int64_t b = 0; b < B; ++b) out[b] = cur[size_t(b)];
}

void value_head_backward(float* dh, const float* dv, const float* h, const float* const* acts, int64_t B,
                         const ValueHeadParams& p, ThreadPool& pool) {
  // dz: gradient at the current layer's output (pre-sigmoid for hidden layers)
  std::vector<float> dz(dv, dv + B), da;
  for (int64_t ii = p.layers() - 1; ii >= 0; --ii) {
    const int64_t in = p.sizes[size_t(ii)], outn = p.sizes[size_t(ii + 1)];
    const float* a = ii == 0 ? h : acts[ii - 1];  // (B, in): this layer's input
    if (p.dW.size() > size_t(ii) && p.dW[size_t(ii)])
      gemm_tn(dz.data(), outn, a, in, p.dW[size_t(ii)], in, outn, in, B, true, pool);  // dW += dz^T a
    if (p.db.size() > size_t(ii) && p.db[size_t(ii)]) bias_backward(p.db[size_t(ii)], dz.data(), outn, B, outn, pool);
    da.assign(size_t(B * in), 0.0f);
    gemm_nn(dz.data(), outn, p.W[size_t(ii)], in, da.data(), in, B, in, outn, false, pool);  // da = dz W
    if (ii == 0) break;
    for (size_t k = 0; k < da.size(); ++k) da[k] *= a[k] * (1.0f - a[k]);  // a = sigmoid(z_prev)
    dz.swap(da);
  }
  std::copy(da.begin(), da.end(), dh);
}

}  // namespace glam::cpu
