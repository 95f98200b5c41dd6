// Relative-position buckets (T5's `_relative_position_bucket`): the index into a learned (buckets, H)
// attention bias for rel = key position - query position. Shared by the CPU and CUDA attention ops.
// Bidirectional (an encoder): half the buckets per sign (rel > 0 in the upper half); causal (a
// decoder): only rel <= 0 counts, as -rel. Of each side's n buckets, the first n/2 are exact
// distances, the rest logarithmic up to max_distance, then clamped to the last bucket.
// Subtle: transformers computes the logarithmic part in float32 (log of a float32 ratio, divided by
// log(max_distance / max_exact) rounded to float32, times n - max_exact, truncated); the same float32
// steps here give the same integer at every distance (checked against transformers' tables of both
// fixtures, and offline for 7 bucket/distance pairs including flan-t5's 32/128 over |rel| <= 5000).
// On the GPU (ops/cuda/attention*.cu) the same function compiles (__host__ __device__), but the
// kernels use RelBucketCuts instead: the distances at which the logarithmic part steps up, found
// on the host with this very function, so a device logf that differs from the host's by an ulp
// can never move a distance into another bucket; relative_bucket_cut is then integer-only.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#if defined(__CUDACC__)
#define GLAM_HD __host__ __device__
#else
#define GLAM_HD
#endif

namespace glam {

GLAM_HD inline int32_t relative_bucket(int64_t rel, bool bidirectional, int64_t num_buckets, int64_t max_distance) {
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
  float x = ::logf(float(a) / float(max_exact));
  x = x / float(::log(double(max_distance) / double(max_exact)));
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

// The bucket function as thresholds: of each side's n buckets, distances below max_exact are exact
// and the logarithmic bucket max_exact + i (i >= 1) starts at distance cut[i - 1]. With at most
// kMaxRelBuckets buckets there are at most kMaxRelBuckets / 2 - 1 cuts.
constexpr int kMaxRelBuckets = 128;
struct RelBucketCuts {
  int32_t n = 0, max_exact = 0, bidirectional = 0, ncut = 0;
  int32_t cut[kMaxRelBuckets / 2];
};

// The cuts of (num_buckets, max_distance, bidirectional), from relative_bucket itself: the bucket of
// distance a is non-decreasing in a (every float step is monotone), so each cut is a binary search.
// num_buckets must be in [2, kMaxRelBuckets] (the caller checks and throws).
inline RelBucketCuts relative_bucket_cuts(bool bidirectional, int64_t num_buckets, int64_t max_distance) {
  RelBucketCuts c;
  c.n = int32_t(bidirectional ? num_buckets / 2 : num_buckets);
  c.max_exact = c.n / 2;
  c.bidirectional = bidirectional ? 1 : 0;
  // the side's bucket of distance a >= 0 (rel = -a: the lower half when bidirectional)
  auto side = [&](int64_t a) { return int64_t(relative_bucket(-a, bidirectional, num_buckets, max_distance)); };
  for (int32_t k = c.max_exact + 1; k < c.n && c.ncut < kMaxRelBuckets / 2; ++k) {
    int64_t lo = c.max_exact, hi = int64_t(1) << 40;  // side(lo) < k <= side(hi)
    if (side(hi) < k) break;  // never reached (a huge max_distance): later buckets neither
    while (hi - lo > 1) {
      const int64_t mid = lo + (hi - lo) / 2;
      (side(mid) >= k ? hi : lo) = mid;
    }
    c.cut[c.ncut++] = int32_t(hi < (int64_t(1) << 31) - 1 ? hi : (int64_t(1) << 31) - 1);
  }
  return c;
}

// relative_bucket(rel, ...) from the cuts, integer-only (what the CUDA kernels call).
GLAM_HD inline int32_t relative_bucket_cut(int64_t rel, const RelBucketCuts& c) {
  int32_t b = 0;
  int64_t a;
  if (c.bidirectional) {
    if (rel > 0) b = c.n;
    a = rel < 0 ? -rel : rel;
  } else {
    a = rel < 0 ? -rel : 0;
  }
  if (a < c.max_exact) return int32_t(b + a);
  int32_t large = c.max_exact;
  for (int i = 0; i < c.ncut; ++i) large += a >= c.cut[i] ? 1 : 0;
  return b + large;
}

}  // namespace glam
