// Shared-prefix attention on the CPU, forward (backward beside it in part 2).
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

void attend_row(float* out, const float* q, const float* qkv, int64_t stride, int64_t koff, int64_t voff, int64_t D,
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
      if (window > 0 && int64_t(qpos) - int64_t(pos[row]) >= window) {
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
}

}  // namespace

void attention_forward(float* out, const float* qkv, const int32_t* pos, const std::vector<AttentionGroup>& groups,
                       int64_t H, int64_t Hkv, int64_t D, int64_t window, ThreadPool& pool) {
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
    // prompt rows: causal over the prompt (P x P / 2 scores)
    for (int64_t i = 0; i < g.prefix_len; ++i) {
      const int64_t row = g.start + i;
      Run run{g.start, i + 1};
      attend_row(out + row * ostride + h * D, qkv + row * stride + h * D, qkv, stride, koff, voff, D, scale, &run, 1,
                 pos, pos[row], window, buf);
    }
    // candidate rows: all P prompt keys + own earlier rows
    for (size_t c = 0; c < g.cand_start.size(); ++c) {
      for (int64_t j = 0; j < g.cand_len[c]; ++j) {
        const int64_t row = g.cand_start[c] + j;
        Run runs[2] = {{g.start, g.prefix_len}, {g.cand_start[c], j + 1}};
        attend_row(out + row * ostride + h * D, qkv + row * stride + h * D, qkv, stride, koff, voff, D, scale, runs, 2,
                   pos, pos[row], window, buf);
      }
    }
  });
}

}  // namespace glam::cpu
