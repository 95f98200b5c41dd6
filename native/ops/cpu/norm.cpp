// RMSNorm (Llama family) and LayerNorm (GPT-2) on the CPU: forward here, backward beside it (part 2).
// Subtle: statistics accumulate in double so long rows (C up to 8192) lose nothing to fp32 sums;
// HF computes them in fp32 after upcasting, which double reproduces to well under 1e-6.
#include <cmath>

#include "ops/cpu/cpu_ops.h"

namespace glam::cpu {

void rmsnorm_forward(float* out, const float* x, const float* w, int64_t T, int64_t C, float eps, ThreadPool& pool) {
  pool.parallel_for(T, 16, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const float* xr = x + t * C;
      float* o = out + t * C;
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += double(xr[c]) * xr[c];
      const float inv = float(1.0 / std::sqrt(ss / double(C) + double(eps)));
      for (int64_t c = 0; c < C; ++c) o[c] = (xr[c] * inv) * w[c];
    }
  });
}

void layernorm_forward(float* out, const float* x, const float* w, const float* bias, int64_t T, int64_t C, float eps,
                       ThreadPool& pool) {
  pool.parallel_for(T, 16, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const float* xr = x + t * C;
      float* o = out + t * C;
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += xr[c];
      const double mean = s / double(C);
      double v = 0;
      for (int64_t c = 0; c < C; ++c) {
        const double d = xr[c] - mean;
        v += d * d;
      }
      const float inv = float(1.0 / std::sqrt(v / double(C) + double(eps)));
      const float m = float(mean);
      for (int64_t c = 0; c < C; ++c) o[c] = (xr[c] - m) * inv * w[c] + bias[c];
    }
  });
}

}  // namespace glam::cpu
