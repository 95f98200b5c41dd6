// Attention with the encoder-decoder variants of AttentionSpec (backend/backend.h) on the CPU, forward
// and backward, row by row like the reference (attention.cpp): bidirectional prefixes (an encoder),
// a score scale other than 1/sqrt(D), an additive relative position bias looked up by bucket
// (ops/relative_buckets.h), and cross attention to another stream's k|v rows.
// Rows: self attention reads q|k|v from one packed buffer (stride (H + 2 Hkv) D); cross attention
// reads q (stride H D) from it and k|v (stride 2 Hkv D) from spec.kv, query group g attending every
// prefix row of spec.kv_rows->groups[g] (the encoder rows of its prompt: read in place, never copied
// per candidate). Candidate rows of a group see the whole prefix plus their own earlier rows.
// Subtle: the bias gradient is reduced over (group, head) tasks in a fixed order from per-task
// double accumulators, so it does not depend on the thread count; dK/dV of a group's keys are
// written by the one task that owns (group, kv head).
// Legend: T query rows, Tkv key rows, H heads, Hkv kv heads, D head size, NB bias buckets.
#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "ops/cpu/attention_ext.h"
#include "ops/cpu/cpu_ops.h"

namespace glam::cpu {
namespace {

struct Run {
  int64_t row, count;
};

inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// The key runs of every query row of group g: fn(row, runs, nruns).
template <typename Fn>
void for_each_query(const AttentionGroup& g, const AttentionGroup* kvg, bool causal, Fn fn) {
  Run runs[2];
  auto prefix_runs = [&](int64_t i) {
    if (kvg) runs[0] = {kvg->start, kvg->prefix_len};
    else runs[0] = {g.start, causal ? i + 1 : g.prefix_len};
    return 1;
  };
  for (int64_t i = 0; i < g.prefix_len; ++i) fn(g.start + i, runs, prefix_runs(i));
  for (size_t c = 0; c < g.cand_start.size(); ++c)
    for (int64_t j = 0; j < g.cand_len[c]; ++j) {
      if (kvg) {
        fn(g.cand_start[c] + j, runs, prefix_runs(0));
        continue;
      }
      runs[0] = {g.start, g.prefix_len};
      runs[1] = {g.cand_start[c], j + 1};
      fn(g.cand_start[c] + j, runs, 2);
    }
}

const AttentionGroup* kv_group(const AttentionSpec& s, size_t g) {
  if (!s.kv) return nullptr;
  GLAM_CHECK(s.kv_rows && g < s.kv_rows->groups.size(), "BatchInvalid",
             "cross attention needs one key group per query group");
  return &s.kv_rows->groups[g];
}

}  // namespace

ExtView::ExtView(const float* qkv_, const int32_t* pos_, const std::vector<AttentionGroup>& groups, int64_t H_,
                 int64_t Hkv, int64_t D_, const AttentionSpec& s)
    : qkv(qkv_), D(D_), H(H_), rep(H_ / Hkv), bias(s.bias), pos(pos_), window(s.window) {
  scale = s.scale != 0.0f ? s.scale : float(1.0 / std::sqrt(double(D)));
  if (s.kv) {
    kv = s.kv;
    qstride = H * D;
    kvstride = 2 * Hkv * D;
    koff = 0;
    voff = Hkv * D;
  } else {
    kv = qkv;
    qstride = kvstride = (H + 2 * Hkv) * D;
    koff = H * D;
    voff = (H + Hkv) * D;
  }
  if (!bias) return;
  for (const AttentionGroup& g : groups) {
    for (int64_t i = 0; i < g.prefix_len; ++i) span = std::max<int64_t>(span, pos[g.start + i] + 1);
    for (size_t c = 0; c < g.cand_start.size(); ++c)
      for (int64_t j = 0; j < g.cand_len[c]; ++j) span = std::max<int64_t>(span, pos[g.cand_start[c] + j] + 1);
  }
  table = relative_bucket_table(span, !s.causal, s.bias_buckets, s.bias_max_distance);
}

void attention_ext_forward(float* out, float* lse, const float* qkv, const int32_t* pos,
                           const std::vector<AttentionGroup>& groups, int64_t H, int64_t Hkv, int64_t D,
                           const AttentionSpec& spec, bool blocked, ThreadPool& pool) {
  const ExtView v(qkv, pos, groups, H, Hkv, D, spec);
  const int64_t rep = v.rep, G = int64_t(groups.size());
  const float scale = v.scale;
  pool.run(G * H, [&](int64_t task) {
    const AttentionGroup& g = groups[size_t(task / H)];
    const AttentionGroup* kvg = kv_group(spec, size_t(task / H));
    const int64_t h = task % H, koff = v.koff + (h / rep) * D, voff = v.voff + (h / rep) * D;
    if (blocked && ext_blocked(g, kvg, spec)) {
      ext_blocked_forward(out, lse, v, g, kvg, h);
      return;
    }
    std::vector<float> buf;
    for_each_query(g, kvg, spec.causal, [&](int64_t row, const Run* runs, int nruns) {
      const float* q = qkv + row * v.qstride + h * D;
      int64_t total = 0;
      for (int r = 0; r < nruns; ++r) total += runs[r].count;
      buf.resize(size_t(total));
      float mx = -std::numeric_limits<float>::infinity();
      int64_t n = 0;
      for (int r = 0; r < nruns; ++r)
        for (int64_t j = 0; j < runs[r].count; ++j, ++n) {
          const int64_t k = runs[r].row + j;
          buf[size_t(n)] = dot(q, v.kv + k * v.kvstride + koff, D) * scale + v.bias_of(row, k, h);
          mx = std::max(mx, buf[size_t(n)]);
        }
      double sum = 0;
      for (float& x : buf) sum += (x = std::exp(x - mx));
      const float inv = float(1.0 / sum);
      float* o = out + row * H * D + h * D;
      std::fill(o, o + D, 0.0f);
      n = 0;
      for (int r = 0; r < nruns; ++r)
        for (int64_t j = 0; j < runs[r].count; ++j, ++n) {
          const float p = buf[size_t(n)] * inv;
          const float* vv = v.kv + (runs[r].row + j) * v.kvstride + voff;
          for (int64_t d = 0; d < D; ++d) o[d] += p * vv[d];
        }
      if (lse) lse[row * H + h] = float(double(mx) + std::log(sum));
    });
  });
}

void attention_ext_backward(float* dqkv, const float* dout, const float* out, const float* qkv, const float* lse,
                            const int32_t* pos, const std::vector<AttentionGroup>& groups, int64_t H, int64_t Hkv,
                            int64_t D, const AttentionSpec& spec, bool blocked, ThreadPool& pool) {
  const ExtView v(qkv, pos, groups, H, Hkv, D, spec);
  const ExtView& L = v;
  const int64_t rep = v.rep, G = int64_t(groups.size()), NB = spec.bias ? spec.bias_buckets : 0;
  const float scale = v.scale;
  float* dkv = spec.kv ? spec.dkv : dqkv;  // where dK/dV go, rows of stride kvstride
  GLAM_CHECK(dkv != nullptr, "InvalidArgument", "cross-attention backward needs spec.dkv");
  // zero this backward's outputs first: dK/dV accumulate over query rows
  auto zero_rows = [](float* base, int64_t stride, int64_t first, int64_t n) {
    std::fill(base + first * stride, base + (first + n) * stride, 0.0f);
  };
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const AttentionGroup& g = groups[gi];
    zero_rows(dqkv, L.qstride, g.start, g.prefix_len);
    for (size_t c = 0; c < g.cand_start.size(); ++c) zero_rows(dqkv, L.qstride, g.cand_start[c], g.cand_len[c]);
    if (const AttentionGroup* kvg = kv_group(spec, gi)) zero_rows(dkv, L.kvstride, kvg->start, kvg->prefix_len);
  }
  std::vector<std::vector<double>> dbias(size_t(spec.dbias ? G * Hkv : 0));
  pool.run(G * Hkv, [&](int64_t task) {
    const AttentionGroup& g = groups[size_t(task / Hkv)];
    const AttentionGroup* kvg = kv_group(spec, size_t(task / Hkv));
    const int64_t kvh = task % Hkv, koff = L.koff + kvh * D, voff = L.voff + kvh * D;
    std::vector<double>* db = spec.dbias && spec.bias ? &dbias[size_t(task)] : nullptr;
    if (db) db->assign(size_t(NB * rep), 0.0);
    if (blocked && ext_blocked(g, kvg, spec)) {
      ext_blocked_backward(dqkv, dkv, db ? db->data() : nullptr, dout, out, lse, v, g, kvg, kvh);
      return;
    }
    for (int64_t h = kvh * rep; h < (kvh + 1) * rep; ++h)
      for_each_query(g, kvg, spec.causal, [&](int64_t row, const Run* runs, int nruns) {
        const float* q = qkv + row * L.qstride + h * D;
        const float* dO = dout + row * H * D + h * D;
        const float l = lse[row * H + h];
        const float Di = dot(dO, out + row * H * D + h * D, D);
        float* dq = dqkv + row * L.qstride + h * D;
        for (int r = 0; r < nruns; ++r)
          for (int64_t j = 0; j < runs[r].count; ++j) {
            const int64_t k = runs[r].row + j;
            if (v.masked(row, k)) continue;
            const float* kk = L.kv + k * L.kvstride + koff;
            const float* vv = L.kv + k * L.kvstride + voff;
            const float p = std::exp(dot(q, kk, D) * scale + v.bias_of(row, k, h) - l);
            const float ds = p * (dot(dO, vv, D) - Di);
            if (db) (*db)[size_t(v.bucket(row, k) * rep + (h - kvh * rep))] += ds;
            float* dk = dkv + k * L.kvstride + koff;
            float* dv = dkv + k * L.kvstride + voff;
            for (int64_t d = 0; d < D; ++d) {
              dq[d] += scale * ds * kk[d];
              dk[d] += scale * ds * q[d];
              dv[d] += p * dO[d];
            }
          }
      });
  });
  if (!spec.dbias || !spec.bias) return;
  for (int64_t b = 0; b < NB; ++b)
    for (int64_t h = 0; h < H; ++h) {
      double s = 0;
      for (int64_t gi = 0; gi < G; ++gi) s += dbias[size_t(gi * Hkv + h / rep)][size_t(b * rep + h % rep)];
      spec.dbias[b * H + h] += float(s);
    }
}

}  // namespace glam::cpu
