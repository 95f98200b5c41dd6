// Top-N alternatives per target token; see prompt_logprobs.h.
#include "model/prompt_logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "common/error.h"

namespace glam {
namespace {

constexpr size_t kChunkFloats = size_t(1) << 22;  // logits per chunk (16 MiB): Rc = max(1, 4Mi / V)

// The best n of one logits row (V) as log-probs (double log-sum-exp), best first, ties by lower id:
// one scan keeping the n best in a min-heap (worst on top), O(V) for n << V.
void row_top(const float* l, int64_t V, int64_t n, int32_t* ids, float* lp, std::vector<int32_t>& heap) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t v = 0; v < V; ++v) m = std::max(m, l[v]);
  double s = 0;
  for (int64_t v = 0; v < V; ++v) s += std::exp(double(l[v]) - double(m));
  const double lse = double(m) + std::log(s);
  auto better = [l](int32_t a, int32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); };
  heap.clear();
  for (int64_t v = 0; v < V; ++v) {
    if (int64_t(heap.size()) < n) {
      heap.push_back(int32_t(v));
      std::push_heap(heap.begin(), heap.end(), better);  // better-first order puts the worst on top
    } else if (l[v] > l[heap.front()]) {  // an equal logit comes later, so with a higher id: not better
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = int32_t(v);
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), better);  // best first
  for (int64_t j = 0; j < n; ++j) {
    ids[j] = heap[size_t(j)];
    lp[j] = float(double(l[heap[size_t(j)]]) - lse);
  }
}

}  // namespace

void vocab_top(Backend& be, const void* hn, int64_t R, const void* E, int64_t V, int64_t C, const int32_t* trow,
               int64_t NT, int64_t n, const FetchFloats& fetch, ThreadPool* pool, ScoreResult& r) {
  GLAM_CHECK(n >= 1 && n <= kMaxTopN && n <= V, "InvalidArgument",
             "topN must be between 1 and " + std::to_string(std::min(kMaxTopN, V)) + " (alternatives per position)");
  std::vector<int32_t> rid(size_t(R * n));  // (R, n)
  std::vector<float> rlp(size_t(R * n));    // (R, n)
  const int64_t Rc = std::max<int64_t>(1, int64_t(kChunkFloats) / V);
  std::unique_ptr<Buffer> logits = be.buffer();
  logits->ensure(size_t(std::min(Rc, std::max<int64_t>(R, 1)) * V) * sizeof(float));
  const size_t hrow = size_t(C) * dtype_size(be.compute_type());  // bytes of one hn row
  LinearParams head;
  head.W = E;
  for (int64_t r0 = 0; r0 < R; r0 += Rc) {
    const int64_t rn = std::min(Rc, R - r0);
    // logits (rn, V) = hn[r0 : r0+rn] E^T
    be.linear_forward(logits->as<float>(), static_cast<const char*>(hn) + size_t(r0) * hrow, rn, C, V, head, false,
                      nullptr);
    const float* host = fetch(logits->as<float>(), size_t(rn * V));
    auto rows = [&](int64_t b, int64_t e) {
      std::vector<int32_t> idx;
      for (int64_t i = b; i < e; ++i)
        row_top(host + i * V, V, n, rid.data() + (r0 + i) * n, rlp.data() + (r0 + i) * n, idx);
    };
    if (pool) pool->parallel_for(rn, 1, rows);
    else rows(0, rn);
  }
  r.top_n = n;
  r.top_ids.resize(size_t(NT * n));
  r.top_logprobs.resize(size_t(NT * n));
  for (int64_t t = 0; t < NT; ++t) {
    const int64_t row = trow[t];
    std::copy(rid.begin() + row * n, rid.begin() + (row + 1) * n, r.top_ids.begin() + t * n);
    std::copy(rlp.begin() + row * n, rlp.begin() + (row + 1) * n, r.top_logprobs.begin() + t * n);
  }
}

}  // namespace glam
