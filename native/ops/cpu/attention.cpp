// Shared-prefix attention on the CPU: the plain per-row reference, forward and backward. The naive
// scoring path runs on it, so the fused pass's blocked attention (attention_blocked.cpp) is checked
// against it by every fused-vs-naive parity test.
// Pipeline per (group, head): prompt rows attend causally over the prompt's keys; each candidate row
// attends over ALL the prompt's keys/values (read in place from the packed qkv buffer: never copied
// per candidate, never recomputed) and over its own candidate's earlier rows.
// Subtle: the prompt part and the own-tokens part of a candidate row's softmax are merged by
// computing both score runs into one buffer and normalising once, which is exactly the log-sum-exp
// merge of the two parts (FlashInfer's cascade) without materialising either part separately.
// Legend: T packed rows, H query heads, Hkv kv heads, D head size, P prompt rows, A candidate rows.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/cpu/cpu_ops.h"

namespace glam::cpu {
namespace {

inline float dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// One query row against a list of key rows given as (first, count) runs; writes out[D].
// keys: runs[r] = {row, count}; scores in buf (size >= total keys).
struct Run {
  int64_t row, count;
};

inline bool masked(const int32_t* pos, int64_t row, int32_t qpos, int64_t window) {
  return window > 0 && int64_t(qpos) - int64_t(pos[row]) >= window;
}

// Returns the row's log-sum-exp of scaled scores (for the backward).
float attend_row(float* out, const float* q, const float* qkv, int64_t stride, int64_t koff, int64_t voff, int64_t D,
                 float scale, const Run* runs, int nruns, const int32_t* pos, int32_t qpos, int64_t window,
                 std::vector<float>& buf) {
  int64_t total = 0;
  for (int r = 0; r < nruns; ++r) total += runs[r].count;
  if (int64_t(buf.size()) < total) buf.resize(total);
  float mx = -std::numeric_limits<float>::infinity();
  int64_t n = 0;
  for (int r = 0; r < nruns; ++r) {
    for (int64_t j = 0; j < runs[r].count; ++j, ++n) {
      const int64_t row = runs[r].row + j;
      float s;
      if (masked(pos, row, qpos, window)) {
        s = -std::numeric_limits<float>::infinity();
      } else {
        s = dot(q, qkv + row * stride + koff, D) * scale;
      }
      buf[n] = s;
      mx = std::max(mx, s);
    }
  }
  double sum = 0;
  for (int64_t i = 0; i < total; ++i) {
    const float p = std::exp(buf[i] - mx);
    buf[i] = p;
    sum += p;
  }
  const float inv = float(1.0 / sum);
  for (int64_t d = 0; d < D; ++d) out[d] = 0.0f;
  n = 0;
  for (int r = 0; r < nruns; ++r) {
    for (int64_t j = 0; j < runs[r].count; ++j, ++n) {
      const float p = buf[n] * inv;
      if (p == 0.0f) continue;
      const float* v = qkv + (runs[r].row + j) * stride + voff;
      for (int64_t d = 0; d < D; ++d) out[d] += p * v[d];
    }
  }
  return float(double(mx) + std::log(sum));
}

// The key runs a row attends to: prompt rows causally, or all prompt rows + own earlier rows.
int row_runs(const AttentionGroup& g, int64_t i, int64_t c, int64_t j, Run* runs) {
  if (c < 0) {
    runs[0] = {g.start, i + 1};
    return 1;
  }
  runs[0] = {g.start, g.prefix_len};
  runs[1] = {g.cand_start[size_t(c)], j + 1};
  return 2;
}

// Calls fn(row, runs, nruns) for every query row of a group: prompt rows, then candidate rows.
template <typename Fn>
void for_each_row(const AttentionGroup& g, Fn fn) {
  Run runs[2];
  for (int64_t i = 0; i < g.prefix_len; ++i) fn(g.start + i, runs, row_runs(g, i, -1, 0, runs));
  for (size_t c = 0; c < g.cand_start.size(); ++c)
    for (int64_t j = 0; j < g.cand_len[c]; ++j) fn(g.cand_start[c] + j, runs, row_runs(g, 0, int64_t(c), j, runs));
}

}  // namespace

void attention_forward_reference(float* out, const float* qkv, const int32_t* pos, const std::vector<AttentionGroup>& groups,
                                 int64_t H, int64_t Hkv, int64_t D, int64_t window, ThreadPool& pool, float* lse) {
  const int64_t stride = (H + 2 * Hkv) * D;
  const int64_t ostride = H * D;
  const int64_t rep = H / Hkv;
  const float scale = float(1.0 / std::sqrt(double(D)));
  const int64_t G = int64_t(groups.size());
  pool.run(G * H, [&](int64_t task) {
    const AttentionGroup& g = groups[size_t(task / H)];
    const int64_t h = task % H;
    const int64_t koff = H * D + (h / rep) * D;
    const int64_t voff = (H + Hkv) * D + (h / rep) * D;
    std::vector<float> buf;
    // prompt rows: causal over the prompt; candidate rows: all P prompt keys + own earlier rows
    for_each_row(g, [&](int64_t row, const Run* runs, int nruns) {
      const float l = attend_row(out + row * ostride + h * D, qkv + row * stride + h * D, qkv, stride, koff, voff, D,
                                 scale, runs, nruns, pos, pos[row], window, buf);
      if (lse) lse[row * H + h] = l;
    });
  });
}

void attention_backward_reference(float* dqkv, const float* dout, const float* out, const float* qkv, const float* lse,
                        const int32_t* pos, const std::vector<AttentionGroup>& groups, int64_t H, int64_t Hkv,
                        int64_t D, int64_t window, ThreadPool& pool) {
  const int64_t stride = (H + 2 * Hkv) * D;
  const int64_t ostride = H * D;
  const int64_t rep = H / Hkv;
  const float scale = float(1.0 / std::sqrt(double(D)));
  const int64_t G = int64_t(groups.size());
  // zero this backward's output rows first: dK/dV accumulate
  for (const AttentionGroup& g : groups) {
    std::fill(dqkv + g.start * stride, dqkv + (g.start + g.prefix_len) * stride, 0.0f);
    for (size_t c = 0; c < g.cand_start.size(); ++c)
      std::fill(dqkv + g.cand_start[c] * stride, dqkv + (g.cand_start[c] + g.cand_len[c]) * stride, 0.0f);
  }
  pool.run(G * Hkv, [&](int64_t task) {
    const AttentionGroup& g = groups[size_t(task / Hkv)];
    const int64_t kvh = task % Hkv;
    const int64_t koff = H * D + kvh * D, voff = (H + Hkv) * D + kvh * D;
    std::vector<float> p;
    for (int64_t h = kvh * rep; h < (kvh + 1) * rep; ++h) {
      for_each_row(g, [&](int64_t row, const Run* runs, int nruns) {
        const float* q = qkv + row * stride + h * D;
        const float* dO = dout + row * ostride + h * D;
        const float* O = out + row * ostride + h * D;
        const float l = lse[row * H + h];
        float Di = dot(dO, O, D);
        float* dq = dqkv + row * stride + h * D;
        for (int r = 0; r < nruns; ++r) {
          for (int64_t j = 0; j < runs[r].count; ++j) {
            const int64_t krow = runs[r].row + j;
            if (masked(pos, krow, pos[row], window)) continue;
            const float* k = qkv + krow * stride + koff;
            const float* v = qkv + krow * stride + voff;
            const float pij = std::exp(dot(q, k, D) * scale - l);
            const float ds = pij * (dot(dO, v, D) - Di) * scale;
            float* dk = dqkv + krow * stride + koff;
            float* dv = dqkv + krow * stride + voff;
            for (int64_t d = 0; d < D; ++d) {
              dq[d] += ds * k[d];
              dk[d] += ds * q[d];
              dv[d] += pij * dO[d];
            }
          }
        }
      });
    }
  });
}

}  // namespace glam::cpu
