// RMSNorm (Llama family) and LayerNorm (GPT-2) on the CPU: forward here, backward beside it (part 2).
// bias_backward (column sums of an output gradient) lives here too: it shares the chunked reduction.
// Subtle: statistics accumulate in double so long rows (C up to 8192) lose nothing to fp32 sums;
// HF computes them in fp32 after upcasting, which double reproduces to well under 1e-6.
#include <algorithm>
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

namespace glam::cpu {
namespace {

constexpr int64_t kChunk = 64;  // rows per partial parameter-gradient sum (fixed: thread-count independent)

// Runs row_fn(t, acc...) over fixed 64-row chunks in parallel, each chunk with its own zeroed partial
// sums of `width` doubles per accumulator, then adds the partials into the outputs in chunk order.
template <typename RowFn>
void chunked_param_grads(int64_t T, int64_t width, std::vector<float*> outs, ThreadPool& pool, RowFn row_fn) {
  const int64_t nchunk = (T + kChunk - 1) / kChunk;
  const size_t nacc = outs.size();
  std::vector<double> part(static_cast<size_t>(nchunk) * nacc * size_t(width), 0.0);
  pool.run(nchunk, [&](int64_t c) {
    double* base = part.data() + size_t(c) * nacc * size_t(width);
    const int64_t e = std::min(T, (c + 1) * kChunk);
    for (int64_t t = c * kChunk; t < e; ++t) row_fn(t, base);
  });
  for (size_t a = 0; a < nacc; ++a) {
    if (!outs[a]) continue;
    for (int64_t c = 0; c < nchunk; ++c) {
      const double* p = part.data() + (size_t(c) * nacc + a) * size_t(width);
      for (int64_t i = 0; i < width; ++i) outs[a][i] += float(p[i]);
    }
  }
}

}  // namespace

void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w, int64_t T, int64_t C,
                      float eps, ThreadPool& pool) {
  // y = x r w with r = 1/sqrt(mean(x^2) + eps):  dx = r (dy w) - x r^3 / C * sum(dy w x)
  chunked_param_grads(T, C, {dw}, pool, [&](int64_t t, double* acc) {
    const float* xr = x + t * C;
    const float* dy = dout + t * C;
    float* o = dx + t * C;
    double ss = 0, dot = 0;
    for (int64_t c = 0; c < C; ++c) {
      ss += double(xr[c]) * xr[c];
      dot += double(dy[c]) * w[c] * xr[c];
    }
    const double r = 1.0 / std::sqrt(ss / double(C) + double(eps));
    const double k = dot * r * r * r / double(C);
    for (int64_t c = 0; c < C; ++c) {
      o[c] += float(r * double(dy[c]) * w[c] - k * xr[c]);
      acc[c] += double(dy[c]) * xr[c] * r;
    }
  });
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w, int64_t T,
                        int64_t C, float eps, ThreadPool& pool) {
  // xhat = (x - mean) r;  dx = r (g - mean(g) - xhat mean(g xhat)) with g = dy w
  chunked_param_grads(T, C, {dw, db}, pool, [&](int64_t t, double* acc) {
    const float* xr = x + t * C;
    const float* dy = dout + t * C;
    float* o = dx + t * C;
    double s = 0;
    for (int64_t c = 0; c < C; ++c) s += xr[c];
    const double mean = s / double(C);
    double v = 0;
    for (int64_t c = 0; c < C; ++c) v += (xr[c] - mean) * (xr[c] - mean);
    const double r = 1.0 / std::sqrt(v / double(C) + double(eps));
    double mg = 0, mgx = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double g = double(dy[c]) * w[c], xh = (xr[c] - mean) * r;
      mg += g;
      mgx += g * xh;
    }
    mg /= double(C);
    mgx /= double(C);
    for (int64_t c = 0; c < C; ++c) {
      const double xh = (xr[c] - mean) * r;
      o[c] += float(r * (double(dy[c]) * w[c] - mg - xh * mgx));
      acc[c] += double(dy[c]) * xh;
      acc[C + c] += dy[c];
    }
  });
}

void bias_backward(float* db, const float* dy, int64_t ldy, int64_t T, int64_t N, ThreadPool& pool) {
  chunked_param_grads(T, N, {db}, pool, [&](int64_t t, double* acc) {
    const float* r = dy + t * ldy;
    for (int64_t n = 0; n < N; ++n) acc[n] += r[n];
  });
}

}  // namespace glam::cpu
