// Rotary position embedding (RoPE) on the CPU, Hugging Face's rotate_half layout: the pair for dim d
// is (d, d + D/2). Subtle: the angle pos * inv_freq is formed in fp32 like HF (which multiplies fp32
// inv_freq by fp32 positions), then cos/sin in fp32; inv_freq already carries llama3 scaling.
#include <cmath>

#include "ops/cpu/cpu_ops.h"

namespace glam::cpu {

namespace {

// Rotates each (d, d + D/2) pair by +angle (forward) or -angle (backward: the transpose).
void rope_rotate(float* x, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                 const float* inv_freq, float sign, ThreadPool& pool) {
  const int64_t half = D / 2;
  pool.parallel_for(T, 32, [&](int64_t b, int64_t e) {
    std::vector<float> cs(half), sn(half);
    for (int64_t t = b; t < e; ++t) {
      const float p = float(pos[t]);
      for (int64_t d = 0; d < half; ++d) {
        const float ang = p * inv_freq[d];
        cs[d] = std::cos(ang);
        sn[d] = sign * std::sin(ang);
      }
      float* row = x + t * stride;
      for (int64_t h = 0; h < nheads; ++h) {
        float* v = row + h * D;
        for (int64_t d = 0; d < half; ++d) {
          const float a = v[d], c = v[d + half];
          v[d] = a * cs[d] - c * sn[d];
          v[d + half] = c * cs[d] + a * sn[d];
        }
      }
    }
  });
}

}  // namespace

void rope_forward(float* x, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                  const float* inv_freq, ThreadPool& pool) {
  rope_rotate(x, stride, T, nheads, D, pos, inv_freq, 1.0f, pool);
}

void rope_backward(float* dx, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                   const float* inv_freq, ThreadPool& pool) {
  rope_rotate(dx, stride, T, nheads, D, pos, inv_freq, -1.0f, pool);
}

}  // namespace glam::cpu
