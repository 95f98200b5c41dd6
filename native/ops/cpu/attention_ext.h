// Internals shared by the two halves of attention_ext (cpu_ops.h): attention_ext.cpp (row by row,
// and the dispatch) and attention_ext_blocked.cpp (matrix products for groups whose query rows all
// see the same keys). ExtView is one call's layout: where q and k|v live, the score scale, and the
// relative position bias by bucket (ops/relative_buckets.h).
// Legend: T query rows, H heads, Hkv kv heads, D head size, NB buckets.
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

#include "backend/backend.h"
#include "ops/relative_buckets.h"

namespace glam::cpu {

struct ExtView {
  const float* qkv = nullptr;  // q rows (self: q|k|v rows)
  const float* kv = nullptr;   // k|v rows (self: qkv)
  int64_t qstride = 0, kvstride = 0, koff = 0, voff = 0;  // row strides; k, v offsets of kv head 0
  int64_t D = 0, H = 0, rep = 1;                          // rep = H / Hkv
  float scale = 1.0f;
  const float* bias = nullptr;  // (NB, H) or null
  const int32_t* pos = nullptr;
  int64_t window = 0;
  std::vector<int32_t> table;  // bucket of rel + span
  int64_t span = 0;

  ExtView(const float* qkv_, const int32_t* pos_, const std::vector<AttentionGroup>& groups, int64_t H_, int64_t Hkv,
          int64_t D_, const AttentionSpec& s);
  bool masked(int64_t qrow, int64_t krow) const { return window > 0 && int64_t(pos[qrow]) - int64_t(pos[krow]) >= window; }
  int32_t bucket(int64_t qrow, int64_t krow) const { return table[size_t(int64_t(pos[krow]) - int64_t(pos[qrow]) + span)]; }
  // what the score of (query, key) adds to scale q.k: the bias, or -inf when masked
  float bias_of(int64_t qrow, int64_t krow, int64_t h) const {
    if (masked(qrow, krow)) return -std::numeric_limits<float>::infinity();
    return bias ? bias[bucket(qrow, krow) * H + h] : 0.0f;
  }
};

// Whether group g (with cross-attention key group kvg, or null) takes the blocked path.
bool ext_blocked(const AttentionGroup& g, const AttentionGroup* kvg, const AttentionSpec& s);
// One (group, head): out rows (T, HD) and lse (T, H) written (lse may be null).
void ext_blocked_forward(float* out, float* lse, const ExtView& v, const AttentionGroup& g, const AttentionGroup* kvg,
                         int64_t h);
// One (group, kv head): dq rows and the group's key rows of dkv written; dbias (NB x rep, this task's) +=.
void ext_blocked_backward(float* dqkv, float* dkv, double* dbias, const float* dout, const float* out, const float* lse,
                          const ExtView& v, const AttentionGroup& g, const AttentionGroup* kvg, int64_t kvh);

}  // namespace glam::cpu
