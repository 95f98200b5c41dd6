// The optimizer on the CPU: the global gradient norm over every slot, then PyTorch's AdamW on each
// (backend/backend.h's adamw_step contract).
// Legend: S slots, n elements of a slot.
// Subtle: each slot's sum of squares runs over fixed 32768-element chunks, each summed in double by
// kLanes interleaved accumulators (element i into lane i mod kLanes, the lanes then added in order) and
// the chunks and slots in order, so a step is bit-identical for the same state whatever the thread
// count (resume after save/load relies on it). The per-element arithmetic is the CUDA kernel's
// (ops/cuda/adamw.cu) line by line: fp32 moments, the denominator formed in double.
// Both loops are written to vectorize (the step is memory-bound once they do): the lanes let the
// compiler keep kLanes partial sums in one register without reordering any addition, and the update
// runs in a function of __restrict pointers and by-value constants, since pointers captured by a lambda
// are re-read after every store and kept that loop scalar (2.3x the time on flan-t5-small's 78.5M
// parameters).
#include <algorithm>
#include <cmath>

#include "ops/cpu/cpu_ops.h"

namespace glam::cpu {

namespace {

constexpr int64_t kChunk = 1 << 15;  // elements per partial sum of squares (fixed: thread-count independent)
constexpr int kLanes = 8;            // interleaved accumulators per chunk (fixed, as kChunk)

double chunk_squares(const float* __restrict g, int64_t n) {
  double lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lane[j] += double(g[i + j]) * g[i + j];
  for (int j = 0; i < n; ++i, ++j) lane[j] += double(g[i]) * g[i];
  double s = 0;
  for (double l : lane) s += l;
  return s;
}

double sum_squares(const float* g, int64_t n, ThreadPool& pool) {
  const int64_t nchunk = (n + kChunk - 1) / kChunk;
  std::vector<double> part(size_t(nchunk), 0.0);
  pool.run(nchunk, [&](int64_t c) { part[size_t(c)] = chunk_squares(g + c * kChunk, std::min(n, (c + 1) * kChunk) - c * kChunk); });
  double s = 0;
  for (double p : part) s += p;
  return s;
}

struct AdamWConsts {
  float cf, decay, b1, b2, step_size;
  double bc2_sqrt, eps;
};

void adamw_range(float* __restrict w, const float* __restrict g, float* __restrict mm, float* __restrict vv, int64_t n,
                 const AdamWConsts k) {
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] * k.cf;
    w[i] *= k.decay;
    mm[i] += (gi - mm[i]) * (1 - k.b1);  // torch: exp_avg.lerp_(grad, 1 - beta1)
    vv[i] = vv[i] * k.b2 + (1 - k.b2) * gi * gi;
    const float denom = float(std::sqrt(double(vv[i])) / k.bc2_sqrt + k.eps);
    w[i] -= k.step_size * (mm[i] / denom);
  }
}

}  // namespace

double adamw_step(const std::vector<OptSlot>& slots, const AdamWOptions& o, int64_t t, ThreadPool& pool) {
  double ss = 0;
  for (const OptSlot& s : slots) ss += sum_squares(s.g, s.n, pool);
  const double norm = std::sqrt(ss);
  double clip = 1.0;
  if (o.max_grad_norm > 0) clip = std::min(1.0, o.max_grad_norm / (norm + 1e-6));  // torch.nn.utils.clip_grad_norm_
  const double bc1 = 1 - std::pow(o.beta1, double(t)), bc2 = 1 - std::pow(o.beta2, double(t));
  const double step_size = o.lr / bc1, bc2_sqrt = std::sqrt(bc2);
  const AdamWConsts k{float(clip), float(1 - o.lr * o.weight_decay), float(o.beta1), float(o.beta2), float(step_size),
                      bc2_sqrt, o.eps};
  for (const OptSlot& s : slots)
    pool.parallel_for(s.n, 1 << 14, [&](int64_t b, int64_t e) { adamw_range(s.w + b, s.g + b, s.m + b, s.v + b, e - b, k); });
  return norm;
}

}  // namespace glam::cpu
