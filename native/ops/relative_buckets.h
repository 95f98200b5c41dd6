// Relative-position buckets (T5's `_relative_position_bucket`): the index into a learned (buckets, H)
// attention bias for rel = key position - query position. Shared by the CPU and CUDA attention ops.
// Bidirectional (an encoder): half the buckets per sign (rel > 0 in the upper half); causal (a
// decoder): only rel <= 0 counts, as -rel. Of each side's n buckets, the first n/2 are exact
// distances, the rest logarithmic up to max_distance, then clamped to the last bucket.
// Subtle: transformers computes the logarithmic part in float32 (log of a float32 ratio, divided by
// log(max_distance / max_exact) rounded to float32, times n - max_exact, truncated); the same float32
// steps here give the same integer at every distance (checked against transformers' tables of both
// fixtures, and offline for 7 bucket/distance pairs including flan-t5's 32/128 over |rel| <= 5000).
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

namespace glam {

inline int32_t relative_bucket(int64_t rel, bool bidirectional, int64_t num_buckets, int64_t max_distance) {
  int64_t n = num_buckets, b = 0, a;
  if (bidirectional) {
    n /= 2;
    if (rel > 0) b += n;
    a = rel < 0 ? -rel : rel;
  } else {
    a = rel < 0 ? -rel : 0;
  }
  const int64_t max_exact = n / 2;
  if (a < max_exact) return int32_t(b + a);
  float x = std::log(float(a) / float(max_exact));
  x = x / float(std::log(double(max_distance) / double(max_exact)));
  x = x * float(n - max_exact);
  const int64_t large = max_exact + int64_t(x);
  return int32_t(b + (large < n - 1 ? large : n - 1));
}

// table[rel + span] = bucket of rel for rel in [-span, span]
inline std::vector<int32_t> relative_bucket_table(int64_t span, bool bidirectional, int64_t num_buckets,
                                                  int64_t max_distance) {
  std::vector<int32_t> t(size_t(2 * span + 1));
  for (int64_t r = -span; r <= span; ++r) t[size_t(r + span)] = relative_bucket(r, bidirectional, num_buckets, max_distance);
  return t;
}

}  // namespace glam
