// Internal to the GEMM files (gemm.cpp: packed kernels and driver; gemm_small.cpp: the few-row
// gemm_nt path): ISA selection and the small helpers both use. Not part of the op interface.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>

#include "runtime/thread_pool.h"

#if defined(__SSE2__) || defined(__AVX__) || defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

// GLAM_GEMM_ISA: 2 = AVX-512F, 1 = AVX2+FMA, 0 = portable scalar. Defaults to the best the
// compiler targets; define it lower (e.g. -DGLAM_GEMM_ISA=0) to build and test a fallback path.
#if !defined(GLAM_GEMM_ISA)
#if defined(__AVX512F__)
#define GLAM_GEMM_ISA 2
#elif defined(__AVX2__) && defined(__FMA__)
#define GLAM_GEMM_ISA 1
#else
#define GLAM_GEMM_ISA 0
#endif
#endif
#if GLAM_GEMM_ISA == 2 && !defined(__AVX512F__)
#error "GLAM_GEMM_ISA=2 needs AVX-512F"
#endif
#if GLAM_GEMM_ISA == 1 && !(defined(__AVX2__) && defined(__FMA__))
#error "GLAM_GEMM_ISA=1 needs AVX2 and FMA"
#endif

namespace glam::cpu::gemm_detail {

constexpr double PARALLEL_MIN_FLOPS = 2e6;  // below this, waking the pool costs more than it saves
constexpr int64_t SMALL_M = 4;              // gemm_nt with at most this many rows takes the dot path

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

inline float fmadd_scalar(float a, float b, float c) {
#if defined(__FMA__) || defined(FP_FAST_FMAF)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// Runs fn(t) for t < tasks on the pool, or inline when the call is too small to share.
inline void run_tasks(ThreadPool& pool, bool parallel, int64_t tasks, const std::function<void(int64_t)>& fn) {
  if (parallel && tasks > 1) {
    pool.run(tasks, fn);
  } else {
    for (int64_t t = 0; t < tasks; ++t) fn(t);
  }
}


// Few-row gemm_nt (M <= SMALL_M), gemm_small.cpp.
void gemm_nt_small(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy, int64_t M,
                   int64_t N, int64_t K, const float* bias, bool accumulate, ThreadPool& pool);

}  // namespace glam::cpu::gemm_detail
