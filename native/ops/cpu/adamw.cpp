// The optimizer on the CPU: the global gradient norm over every slot, then PyTorch's AdamW on each
// (backend/backend.h's adamw_step contract).
// Legend: S slots, n elements of a slot.
// Subtle: each slot's sum of squares runs over fixed 32768-element chunks summed in order (in double)
// and the slots are summed in slot order, so a step is bit-identical for the same state whatever the
// thread count (resume after save/load relies on it). The per-element arithmetic is the CUDA
// kernel's (ops/cuda/adamw.cu) line by line: fp32 moments, the denominator formed in double.
#include <algorithm>
#include <cmath>

#include "ops/cpu/cpu_ops.h"

namespace glam::cpu {

namespace {

constexpr int64_t kChunk = 1 << 15;  // elements per partial sum of squares (fixed: thread-count independent)

double sum_squares(const float* g, int64_t n, ThreadPool& pool) {
  const int64_t nchunk = (n + kChunk - 1) / kChunk;
  std::vector<double> part(size_t(nchunk), 0.0);
  pool.run(nchunk, [&](int64_t c) {
    double s = 0;
    for (int64_t i = c * kChunk, e = std::min(n, (c + 1) * kChunk); i < e; ++i) s += double(g[i]) * g[i];
    part[size_t(c)] = s;
  });
  double s = 0;
  for (double p : part) s += p;
  return s;
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
  const float decay = float(1 - o.lr * o.weight_decay), cf = float(clip);
  const float b1 = float(o.beta1), b2 = float(o.beta2);
  for (const OptSlot& s : slots) {
    float *w = s.w, *g = s.g, *mm = s.m, *vv = s.v;
    pool.parallel_for(s.n, 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const float gi = g[i] * cf;
        w[i] *= decay;
        mm[i] += (gi - mm[i]) * (1 - b1);  // torch: exp_avg.lerp_(grad, 1 - beta1)
        vv[i] = vv[i] * b2 + (1 - b2) * gi * gi;
        const float denom = float(std::sqrt(double(vv[i])) / bc2_sqrt + o.eps);
        w[i] -= float(step_size) * (mm[i] / denom);
      }
    });
  }
  return norm;
}

}  // namespace glam::cpu
