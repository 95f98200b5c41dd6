// The few-row gemm_nt path (M <= SMALL_M): packing W would cost more than the product, so each
// output is a dot product of an X row and a W row read in place (see gemm.h for the interface,
// gemm.cpp for the packed path). Subtle: lane sums are reduced in a fixed order, so the result does
// not depend on the thread count (its rounding differs from the packed path's).
#include <algorithm>

#include "ops/cpu/gemm_internal.h"

namespace glam::cpu::gemm_detail {
namespace {

// ---------------------------------------------------------------------------------------------
// Few-row gemm_nt (M <= SMALL_M): packing W would cost more than the product itself, so each
// output is a dot product of an X row and a W row read in place, vectorised along k, for RM rows
// of X against 4 rows of W at a time. The lane sums are reduced in a fixed order, so the result
// still does not depend on the thread count (it differs in rounding from the packed path).

#if GLAM_GEMM_ISA == 2
using DotVec = __m512;
constexpr int DOT_W = 16;
inline DotVec dot_zero() { return _mm512_setzero_ps(); }
inline DotVec dot_load(const float* p, int64_t n) {
  return n >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1u), p);
}
inline DotVec dot_fma(DotVec a, DotVec b, DotVec c) { return _mm512_fmadd_ps(a, b, c); }
inline float dot_sum(DotVec v) {
  // (the mask_ forms: GCC 12 warns about the unmasked ones' undefined pass-through operand)
  const __m512 h = _mm512_add_ps(v, _mm512_mask_shuffle_f32x4(v, 0xFFFF, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  const __m512 g = _mm512_add_ps(h, _mm512_mask_shuffle_f32x4(h, 0xFFFF, h, h, _MM_SHUFFLE(2, 3, 0, 1)));
  const __m128 q = _mm512_mask_extractf32x4_ps(_mm_setzero_ps(), 0xFF, g, 0);
  const __m128 d = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(d, _mm_movehdup_ps(d)));
}
#elif GLAM_GEMM_ISA == 1
using DotVec = __m256;
constexpr int DOT_W = 8;
inline DotVec dot_zero() { return _mm256_setzero_ps(); }
inline DotVec dot_load(const float* p, int64_t n) {
  if (n >= 8) return _mm256_loadu_ps(p);
  const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_maskload_ps(p, m);
}
inline DotVec dot_fma(DotVec a, DotVec b, DotVec c) { return _mm256_fmadd_ps(a, b, c); }
inline float dot_sum(DotVec v) {
  const __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 d = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(d, _mm_movehdup_ps(d)));
}
#else
struct DotVec {
  float v[4];
};
constexpr int DOT_W = 4;
inline DotVec dot_zero() { return DotVec{{0, 0, 0, 0}}; }
inline DotVec dot_load(const float* p, int64_t n) {
  DotVec r{{0, 0, 0, 0}};
  for (int64_t i = 0; i < 4 && i < n; ++i) r.v[i] = p[i];
  return r;
}
inline DotVec dot_fma(DotVec a, DotVec b, DotVec c) {
  for (int i = 0; i < 4; ++i) c.v[i] = fmadd_scalar(a.v[i], b.v[i], c.v[i]);
  return c;
}
inline float dot_sum(DotVec v) { return (v.v[0] + v.v[2]) + (v.v[1] + v.v[3]); }
#endif

// Y[RM, n0:n1] for RM rows of X.
template <int RM>
void dot_rows(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy, int64_t n0, int64_t n1,
              int64_t K, const float* bias, bool accumulate) {
  for (int64_t n = n0; n < n1; n += 4) {
    const int nb = int(std::min<int64_t>(4, n1 - n));
    const float* w[4];
    for (int q = 0; q < 4; ++q) w[q] = W + (n + std::min(q, nb - 1)) * ldw;  // a short tail repeats its last row
    DotVec acc[RM][4];
    for (int m = 0; m < RM; ++m)
      for (int q = 0; q < 4; ++q) acc[m][q] = dot_zero();
    for (int64_t k = 0; k < K; k += DOT_W) {
      const int64_t kn = K - k;
      DotVec wv[4];
      for (int q = 0; q < 4; ++q) wv[q] = dot_load(w[q] + k, kn);
      for (int m = 0; m < RM; ++m) {
        const DotVec xv = dot_load(X + m * ldx + k, kn);
        for (int q = 0; q < 4; ++q) acc[m][q] = dot_fma(xv, wv[q], acc[m][q]);
      }
    }
    for (int m = 0; m < RM; ++m)
      for (int q = 0; q < nb; ++q) {
        float* y = Y + m * ldy + n + q;
        const float init = (accumulate ? *y : 0.0f) + (bias ? bias[n + q] : 0.0f);
        *y = init + dot_sum(acc[m][q]);
      }
  }
}

}  // namespace

void gemm_nt_small(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy, int64_t M,
                   int64_t N, int64_t K, const float* bias, bool accumulate, ThreadPool& pool) {
  const bool parallel = pool.size() > 1 && 2.0 * double(M) * double(N) * double(K) >= PARALLEL_MIN_FLOPS;
  const int64_t per = parallel ? round_up(ceil_div(N, 8 * int64_t(pool.size())), 4) : N;
  const int64_t tasks = ceil_div(N, per);
  run_tasks(pool, parallel, tasks, [&](int64_t t) {
    const int64_t n0 = t * per, n1 = std::min(N, n0 + per);
    switch (M) {
      case 1: dot_rows<1>(X, ldx, W, ldw, Y, ldy, n0, n1, K, bias, accumulate); break;
      case 2: dot_rows<2>(X, ldx, W, ldw, Y, ldy, n0, n1, K, bias, accumulate); break;
      case 3: dot_rows<3>(X, ldx, W, ldw, Y, ldy, n0, n1, K, bias, accumulate); break;
      default: dot_rows<4>(X, ldx, W, ldw, Y, ldy, n0, n1, K, bias, accumulate); break;
    }
  });
}

}  // namespace glam::cpu::gemm_detail
