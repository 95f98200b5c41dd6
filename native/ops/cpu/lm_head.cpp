// The LM head fused with log-softmax and the target gather, on the CPU (forward; backward in part 2
// recomputes the same tiles from the saved lse).
// Pipeline: scored rows h[R,C] x vocabulary tiles E[v0:v0+Vt, C] -> a [Rc, Vt] logit block per task
// -> per-row tile max and sum of exp, and the target logits that fall in the tile -> merged into
// lse[R]. No [R, V] buffer ever exists: each task holds one [Rc, Vt] block.
// Subtle: the per-tile (max, sum) pairs are merged in a fixed tile order, so the result does not
// depend on the thread count; sums are in double.
// Legend: R scored rows, C hidden, V vocabulary, Vt vocabulary tile, NT targets.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/cpu/cpu_ops.h"
#include "ops/cpu/gemm.h"

namespace glam::cpu {

void lm_head_lse_forward(float* lse, float* target_logit, const float* h, int64_t R, const float* E, int64_t V,
                         int64_t C, const int32_t* target_row, const int32_t* target_id, int64_t NT,
                         ThreadPool& pool) {
  if (R == 0) return;
  const int64_t Vt = 2048, Rc = 256;
  const int64_t ntile = (V + Vt - 1) / Vt, nchunk = (R + Rc - 1) / Rc;
  std::vector<float> tmax(static_cast<size_t>(ntile * R));
  std::vector<double> tsum(static_cast<size_t>(ntile * R));
  // targets grouped by row so a task finds its rows' targets without scanning all of them
  std::vector<std::vector<int64_t>> by_row(static_cast<size_t>(R));
  for (int64_t t = 0; t < NT; ++t) by_row[size_t(target_row[t])].push_back(t);
  pool.run(ntile * nchunk, [&](int64_t task) {
    const int64_t vt = task % ntile, rc = task / ntile;
    const int64_t v0 = vt * Vt, vn = std::min(Vt, V - v0);
    const int64_t r0 = rc * Rc, rn = std::min(Rc, R - r0);
    thread_local std::vector<float> block;  // [rn, vn], reused across calls (no page faults)
    block.resize(static_cast<size_t>(rn * vn));
    ThreadPool serial(1);
    gemm_nt(h + r0 * C, C, E + v0 * C, C, block.data(), vn, rn, vn, C, nullptr, false, serial);
    for (int64_t r = 0; r < rn; ++r) {
      const float* l = block.data() + r * vn;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t v = 0; v < vn; ++v) m = std::max(m, l[v]);
      double s = 0;
      for (int64_t v = 0; v < vn; ++v) s += std::exp(double(l[v] - m));
      tmax[size_t(vt * R + r0 + r)] = m;
      tsum[size_t(vt * R + r0 + r)] = s;
      for (int64_t t : by_row[size_t(r0 + r)]) {
        const int64_t id = target_id[t];
        if (id >= v0 && id < v0 + vn) target_logit[t] = l[id - v0];
      }
    }
  });
  for (int64_t r = 0; r < R; ++r) {
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t vt = 0; vt < ntile; ++vt) m = std::max(m, tmax[size_t(vt * R + r)]);
    double s = 0;
    for (int64_t vt = 0; vt < ntile; ++vt) s += tsum[size_t(vt * R + r)] * std::exp(double(tmax[size_t(vt * R + r)] - m));
    lse[r] = float(double(m) + std::log(s));
  }
}

void lm_head_lse_backward(float* dh, float* dE, const float* dlogprob, const float* h, int64_t R, const float* E,
                          int64_t V, int64_t C, const float* lse, const int32_t* target_row, const int32_t* target_id,
                          int64_t NT, ThreadPool& pool) {
  std::fill(dh, dh + R * C, 0.0f);
  if (R == 0) return;
  const int64_t Vt = 2048, Rc = 256;
  const int64_t ntile = (V + Vt - 1) / Vt;
  // per row: G_r = sum of its targets' gradients (d logprob_t / d logit_v = [v == t] - p_v)
  std::vector<double> G(static_cast<size_t>(R), 0.0);
  std::vector<std::vector<int64_t>> by_row(static_cast<size_t>(R));
  for (int64_t t = 0; t < NT; ++t) {
    G[size_t(target_row[t])] += dlogprob[t];
    by_row[size_t(target_row[t])].push_back(t);
  }
  // one [R, C] partial dh per vocabulary tile, summed in tile order below (deterministic)
  std::vector<float> part(static_cast<size_t>(ntile * R * C));
  pool.run(ntile, [&](int64_t vt) {
    const int64_t v0 = vt * Vt, vn = std::min(Vt, V - v0);
    thread_local std::vector<float> block;
    block.resize(static_cast<size_t>(std::min(Rc, R) * vn));
    ThreadPool serial(1);
    for (int64_t r0 = 0; r0 < R; r0 += Rc) {
      const int64_t rn = std::min(Rc, R - r0);
      gemm_nt(h + r0 * C, C, E + v0 * C, C, block.data(), vn, rn, vn, C, nullptr, false, serial);
      for (int64_t r = 0; r < rn; ++r) {
        float* l = block.data() + r * vn;
        const float lr = lse[r0 + r];
        const float g = float(G[size_t(r0 + r)]);
        for (int64_t v = 0; v < vn; ++v) l[v] = -g * std::exp(l[v] - lr);
        for (int64_t t : by_row[size_t(r0 + r)]) {
          const int64_t id = target_id[t];
          if (id >= v0 && id < v0 + vn) l[id - v0] += dlogprob[t];
        }
      }
      gemm_nn(block.data(), vn, E + v0 * C, C, part.data() + (vt * R + r0) * C, C, rn, C, vn, false, serial);
      if (dE) gemm_tn(block.data(), vn, h + r0 * C, C, dE + v0 * C, C, vn, C, rn, true, serial);
    }
  });
  for (int64_t vt = 0; vt < ntile; ++vt) {
    const float* p = part.data() + vt * R * C;
    for (int64_t i = 0; i < R * C; ++i) dh[i] += p[i];
  }
}

void lm_head_logprob_reference(double* logprob, const float* h, const float* E, int64_t V, int64_t C,
                               const int32_t* target_row, const int32_t* target_id, int64_t NT, ThreadPool& pool) {
  pool.parallel_for(NT, 1, [&](int64_t b, int64_t e) {
    std::vector<double> logits(static_cast<size_t>(V));
    for (int64_t t = b; t < e; ++t) {
      const float* x = h + int64_t(target_row[t]) * C;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t v = 0; v < V; ++v) {
        const float* w = E + v * C;
        double acc = 0;
        for (int64_t c = 0; c < C; ++c) acc += double(x[c]) * w[c];
        logits[size_t(v)] = acc;
        m = std::max(m, acc);
      }
      double s = 0;
      for (int64_t v = 0; v < V; ++v) s += std::exp(logits[size_t(v)] - m);
      logprob[t] = logits[size_t(target_id[t])] - m - std::log(s);
    }
  });
}

}  // namespace glam::cpu
