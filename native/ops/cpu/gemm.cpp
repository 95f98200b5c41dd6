// GEMM for the CPU backend (interface and semantics in gemm.h).
//
// Scheme (BLIS-like, one microkernel per ISA):
//  - The product is Y[i,j] = sum_k A(i,k)·B(k,j): A is the "row" operand (X, or X^T for gemm_tn),
//    B the "column" operand (W^T for gemm_nt, W for gemm_nn / gemm_tn). Each is described by two
//    strides, so the three public entry points only differ in how their operands are packed.
//  - K is cut into blocks of at most KC_MAX. A is packed into micro-panels of MR rows
//    ([kc][MR] floats, k-major), B into micro-panels of NR columns ([kc][NR], zero-padded).
//  - The microkernel keeps an MR x NR tile of Y in registers and walks one k block: per k it loads
//    NR floats of B (NR/16 zmm or NR/8 ymm vectors), broadcasts MR floats of A and issues
//    MR·NR/width FMAs. AVX-512: 12x32 (24 accumulators), AVX2+FMA: 6x16 (12), scalar: 4x8.
//  - The smaller operand (by its outer dimension: N <= M packs B, else A) is packed once, in
//    parallel, into a shared buffer (in chunks of at most SHARED_CAP floats); tasks then split the
//    larger dimension and pack their own slice of the other operand per k block.
//  - gemm_nt with M <= SMALL_M rows skips packing: dot products of X rows and W rows read in place.
// Measured (AMD EPYC Zen 4, 2 cores, AVX-512, FMA peak ~117 GFLOP/s per core, bench/gemm.ts) on the
// engine's shapes: 90-95% of peak on 1 thread, 82-93% on 2; 1.04-1.10x / 1.06-1.23x OpenBLAS 0.3.21.
// Subtle: determinism. Every output element is, per k block, one FMA chain over k in increasing
// order started from the bias (first block) or 0, added once to (accumulate ? Y : 0) or the tile the
// previous block stored (why not started from Y: gemm.h). So neither the thread count nor the task
// split changes a bit of the result (tail tiles use the same chain with masked loads/stores). The few-row gemm_nt path
// sums in vector lanes instead: a different rounding, but again independent of the thread count.
// Subtle: buffers are thread_local and grow to the largest size seen (the shared one lives on the
// calling thread, the per-task ones on whichever thread runs the task), so steady-state calls
// allocate nothing; concurrent calls from different threads (each with its own pool) are safe.
#include "ops/cpu/gemm.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <utility>

#include "common/error.h"

#include "ops/cpu/gemm_internal.h"

namespace glam::cpu {

namespace {

using namespace gemm_detail;

#if GLAM_GEMM_ISA == 2
constexpr int MR = 12, NR = 32;
#elif GLAM_GEMM_ISA == 1
constexpr int MR = 6, NR = 16;
#else
constexpr int MR = 4, NR = 8;
#endif

constexpr int64_t KC_MAX = 768;               // k block (K <= 768: one block, Y written once)
constexpr int64_t MC_MAX = 16 * MR;           // rows per task when B is the shared operand
constexpr int64_t L2_A_BYTES = 768 << 10;     // a shared-A row block re-read from L2 per B panel
constexpr int64_t NC_MAX = 16 * NR;           // columns per task when A is the shared operand
constexpr int64_t SHARED_CAP = int64_t(4) << 20;  // floats in the shared packed operand (16 MiB)

// ---------------------------------------------------------------------------------------------
// Buffers

struct AlignedBuffer {
  float* p = nullptr;
  size_t cap = 0;
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(p); }
  float* get(size_t n) {
    if (n > cap) {
      std::free(p);
      p = nullptr;
      cap = 0;
      const size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!p) throw std::bad_alloc();
      cap = n;
    }
    return p;
  }
};

thread_local AlignedBuffer tl_shared;   // the operand packed once per call (calling thread)
thread_local AlignedBuffer tl_private;  // a task's own packed slice (whichever thread runs it)



// ---------------------------------------------------------------------------------------------
// Packing

#if defined(__AVX__)
// dst[c*ldd + r] = src[r*ld + c] for an 8x8 block.
inline void transpose8x8(const float* src, int64_t ld, float* dst, int64_t ldd) {
  const __m256 r0 = _mm256_loadu_ps(src + 0 * ld), r1 = _mm256_loadu_ps(src + 1 * ld);
  const __m256 r2 = _mm256_loadu_ps(src + 2 * ld), r3 = _mm256_loadu_ps(src + 3 * ld);
  const __m256 r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld);
  const __m256 r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

#if defined(__SSE2__)
// dst[c*ldd + r] = src[r*ld + c] for a 4x4 block.
inline void transpose4x4(const float* src, int64_t ld, float* dst, int64_t ldd) {
  __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + ld);
  __m128 r2 = _mm_loadu_ps(src + 2 * ld), r3 = _mm_loadu_ps(src + 3 * ld);
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  _mm_storeu_ps(dst, r0);
  _mm_storeu_ps(dst + ldd, r1);
  _mm_storeu_ps(dst + 2 * ldd, r2);
  _mm_storeu_ps(dst + 3 * ldd, r3);
}
#endif

// A micro-panel: dst[k*MR + i] = A(i, k) for i < rows (< MR rows leave the rest unwritten; the
// kernel for `rows` never reads them), k < kc. src points at A(0, 0) of the panel.
void pack_a(float* __restrict dst, const float* __restrict src, int64_t s_i, int64_t s_k, int rows, int64_t kc) {
  if (s_i == 1 && rows == MR) {  // A(i,k) contiguous in i (gemm_tn): a copy per k
    for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * MR, src + k * s_k, sizeof(float) * MR);
    return;
  }
  if (s_k == 1) {  // contiguous in k (gemm_nt / gemm_nn): transpose
    int i0 = 0;
#if defined(__SSE2__)
    for (; i0 + 4 <= rows; i0 += 4) {
      int64_t k = 0;
      for (; k + 4 <= kc; k += 4) transpose4x4(src + i0 * s_i + k, s_i, dst + k * MR + i0, MR);
      for (; k < kc; ++k)
        for (int i = i0; i < i0 + 4; ++i) dst[k * MR + i] = src[i * s_i + k];
    }
#endif
    for (int i = i0; i < rows; ++i) {
      const float* s = src + i * s_i;
      for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = s[k];
    }
    return;
  }
  for (int64_t k = 0; k < kc; ++k)
    for (int i = 0; i < rows; ++i) dst[k * MR + i] = src[i * s_i + k * s_k];
}

// B micro-panel: dst[k*NR + j] = B(k, j) for j < cols, 0 for cols <= j < NR, k < kc.
void pack_b(float* __restrict dst, const float* __restrict src, int64_t s_k, int64_t s_j, int cols, int64_t kc) {
  if (s_j == 1) {  // B(k,j) contiguous in j (gemm_nn / gemm_tn): a copy per k
    if (cols == NR) {
      for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * NR, src + k * s_k, sizeof(float) * NR);
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        std::memcpy(dst + k * NR, src + k * s_k, sizeof(float) * size_t(cols));
        std::memset(dst + k * NR + cols, 0, sizeof(float) * size_t(NR - cols));
      }
    }
    return;
  }
  if (s_k == 1) {  // contiguous in k (gemm_nt: W[N,K]): transpose
    int j0 = 0;
#if defined(__AVX__)
    for (; j0 + 8 <= cols; j0 += 8) {
      int64_t k = 0;
      for (; k + 8 <= kc; k += 8) transpose8x8(src + j0 * s_j + k, s_j, dst + k * NR + j0, NR);
      for (; k < kc; ++k)
        for (int j = j0; j < j0 + 8; ++j) dst[k * NR + j] = src[j * s_j + k];
    }
#endif
    for (int j = j0; j < cols; ++j) {
      const float* s = src + j * s_j;
      for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = s[k];
    }
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int j = 0; j < cols; ++j) dst[k * NR + j] = src[k * s_k + j * s_j];
  }
  if (cols < NR)
    for (int64_t k = 0; k < kc; ++k) std::memset(dst + k * NR + cols, 0, sizeof(float) * size_t(NR - cols));
}

// Prefetches the NR floats at pf + off (the tile the next kernel call reads; it may lie past the
// end of Y for the last tile, so the address is formed as an integer: prefetches never fault).
inline void prefetch_row(const float* pf, int64_t off) {
#if defined(__SSE2__)
  const uintptr_t a = reinterpret_cast<uintptr_t>(pf) + uintptr_t(off) * sizeof(float);
  _mm_prefetch(reinterpret_cast<const char*>(a), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(a + (NR - 1) * sizeof(float)), _MM_HINT_T0);
#endif
}

// ---------------------------------------------------------------------------------------------
// Microkernels: C[R, nv] = (load_c ? C : 0) + ((bias ? bias : 0) + A_panel · B_panel over kc).
// A: [kc][MR] (rows < R used), B: [kc][NR]; nv <= NR valid columns; C row stride ldc.

#if GLAM_GEMM_ISA == 2

template <int R>
void ukernel(const float* __restrict A, const float* __restrict B, int64_t kc, float* __restrict C, int64_t ldc,
             int nv, bool load_c, const float* __restrict bias, const float* pf) {
  const __mmask16 m0 = nv >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << nv) - 1u);
  const __mmask16 m1 = nv >= 32 ? __mmask16(0xFFFF) : nv <= 16 ? __mmask16(0) : __mmask16((1u << (nv - 16)) - 1u);
  __m512 c0[R], c1[R];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  if (bias) {
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, bias), b1 = _mm512_maskz_loadu_ps(m1, bias + 16);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      c0[i] = _mm512_add_ps(c0[i], b0);
      c1[i] = _mm512_add_ps(c1[i], b1);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) prefetch_row(pf, i * ldc);
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(B), b1 = _mm512_load_ps(B + 16);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const __m512 a = _mm512_set1_ps(A[i]);
      c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
    }
    A += MR;
    B += NR;
  }
  if (load_c) {  // Y added once to the block's sum (not the chain's start: see the header)
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      c0[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, C + i * ldc), c0[i]);
      c1[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, C + i * ldc + 16), c1[i]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    _mm512_mask_storeu_ps(C + i * ldc, m0, c0[i]);
    _mm512_mask_storeu_ps(C + i * ldc + 16, m1, c1[i]);
  }
}

#elif GLAM_GEMM_ISA == 1

template <int R>
void ukernel(const float* __restrict A, const float* __restrict B, int64_t kc, float* __restrict C, int64_t ldc,
             int nv, bool load_c, const float* __restrict bias, const float* pf) {
  const bool full = nv == NR;
  const __m256i nvv = _mm256_set1_epi32(nv);
  const __m256i k0 = _mm256_cmpgt_epi32(nvv, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256i k1 = _mm256_cmpgt_epi32(nvv, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15));
  __m256 c0[R], c1[R];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) c0[i] = c1[i] = _mm256_setzero_ps();
  if (bias) {
    const __m256 b0 = _mm256_maskload_ps(bias, k0), b1 = _mm256_maskload_ps(bias + 8, k1);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      c0[i] = _mm256_add_ps(c0[i], b0);
      c1[i] = _mm256_add_ps(c1[i], b1);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) prefetch_row(pf, i * ldc);
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(B), b1 = _mm256_load_ps(B + 8);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const __m256 a = _mm256_broadcast_ss(A + i);
      c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
    }
    A += MR;
    B += NR;
  }
  if (load_c) {  // Y added once to the block's sum (not the chain's start: see the header)
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      if (full) {
        c0[i] = _mm256_add_ps(_mm256_loadu_ps(C + i * ldc), c0[i]);
        c1[i] = _mm256_add_ps(_mm256_loadu_ps(C + i * ldc + 8), c1[i]);
      } else {
        c0[i] = _mm256_add_ps(_mm256_maskload_ps(C + i * ldc, k0), c0[i]);
        c1[i] = _mm256_add_ps(_mm256_maskload_ps(C + i * ldc + 8, k1), c1[i]);
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    if (full) {
      _mm256_storeu_ps(C + i * ldc, c0[i]);
      _mm256_storeu_ps(C + i * ldc + 8, c1[i]);
    } else {
      _mm256_maskstore_ps(C + i * ldc, k0, c0[i]);
      _mm256_maskstore_ps(C + i * ldc + 8, k1, c1[i]);
    }
  }
}

#else

template <int R>
void ukernel(const float* __restrict A, const float* __restrict B, int64_t kc, float* __restrict C, int64_t ldc,
             int nv, bool load_c, const float* __restrict bias, const float* pf) {
  float c[R][NR];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < NR; ++j) {
      c[i][j] = (bias && j < nv) ? bias[j] : 0.0f;
    }
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < R; ++i) {
      const float a = A[i];
      for (int j = 0; j < NR; ++j) c[i][j] = fmadd_scalar(a, B[j], c[i][j]);
    }
    A += MR;
    B += NR;
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < nv; ++j) C[i * ldc + j] = load_c ? C[i * ldc + j] + c[i][j] : c[i][j];
}

#endif

using KernelFn = void (*)(const float*, const float*, int64_t, float*, int64_t, int, bool, const float*, const float*);

template <size_t... I>
constexpr auto make_kernel_table(std::index_sequence<I...>) {
  return std::array<KernelFn, sizeof...(I)>{&ukernel<int(I) + 1>...};
}
const auto kKernels = make_kernel_table(std::make_index_sequence<MR>{});

inline void kernel(int rows, const float* A, const float* B, int64_t kc, float* C, int64_t ldc, int nv, bool load_c,
                   const float* bias, const float* pf) {
  kKernels[size_t(rows - 1)](A, B, kc, C, ldc, nv, load_c, bias, pf);
}

// ---------------------------------------------------------------------------------------------
// Driver

// Element (o, k) of an operand lives at p[o*s_o + k*s_k] (o: i for A, j for B).
struct Operand {
  const float* p;
  int64_t s_o, s_k;
};

struct KBlocks {
  int64_t K, kcb, n;
  int64_t k0(int64_t b) const { return b * kcb; }
  int64_t kc(int64_t b) const { return std::min(kcb, K - b * kcb); }
};

KBlocks k_blocks(int64_t K) {
  const int64_t n0 = ceil_div(K, KC_MAX);
  int64_t kcb = round_up(ceil_div(K, n0), 8);
  if (kcb > K) kcb = K;
  return {K, kcb, ceil_div(K, kcb)};
}

// How many tasks share `panels` micro-panels (each task a contiguous, even share of at most
// max_per panels): with T > 1 threads at least 4 per thread and a multiple of T, so that dynamic
// scheduling ends with the threads finishing together.
int64_t task_count(int64_t panels, int64_t max_per, int T) {
  int64_t n = ceil_div(panels, max_per);
  if (T > 1) n = round_up(std::max<int64_t>(n, 4 * int64_t(T)), T);
  return std::max<int64_t>(1, std::min(n, panels));
}

// Y[M,N] = init + A·B with init = (accumulate ? Y : 0) + bias, for K == 0.
void init_only(float* C, int64_t ldc, int64_t M, int64_t N, const float* bias, bool accumulate) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) c[j] = (accumulate ? c[j] : 0.0f) + (bias ? bias[j] : 0.0f);
  }
}

void gemm_packed(Operand A, Operand B, float* C, int64_t ldc, int64_t M, int64_t N, int64_t K, const float* bias,
                 bool accumulate, ThreadPool& pool) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    init_only(C, ldc, M, N, bias, accumulate);
    return;
  }
  const KBlocks kb = k_blocks(K);
  const int T = pool.size();
  const bool parallel = T > 1 && 2.0 * double(M) * double(N) * double(K) >= PARALLEL_MIN_FLOPS;
  const int Tn = parallel ? T : 1;

  if (N <= M) {
    // B is the shared operand: packed once per column chunk; tasks split M.
    const int64_t chunk = std::max<int64_t>(NR, SHARED_CAP / K / NR * NR);
    for (int64_t c0 = 0; c0 < N; c0 += chunk) {
      const int64_t nc = std::min(chunk, N - c0), npan = ceil_div(nc, NR), ldp = npan * NR;
      float* Bp = tl_shared.get(size_t(ldp * K));
      const int64_t ptasks = std::min<int64_t>(npan, 4 * Tn);
      run_tasks(pool, parallel, ptasks, [&](int64_t t) {
        const int64_t jb = t * npan / ptasks, je = (t + 1) * npan / ptasks;
        for (int64_t j = jb; j < je; ++j) {
          const int cols = int(std::min<int64_t>(NR, nc - j * NR));
          for (int64_t b = 0; b < kb.n; ++b) {
            const int64_t k0 = kb.k0(b), kc = kb.kc(b);
            pack_b(Bp + k0 * ldp + j * kc * NR, B.p + (c0 + j * NR) * B.s_o + k0 * B.s_k, B.s_k, B.s_o, cols, kc);
          }
        }
      });
      const int64_t mpanels = ceil_div(M, MR), mtasks = task_count(mpanels, MC_MAX / MR, Tn);
      run_tasks(pool, parallel, mtasks, [&](int64_t t) {
        const int64_t pb = t * mpanels / mtasks, pe = (t + 1) * mpanels / mtasks;
        const int64_t m0 = pb * MR, rows = std::min(pe * MR, M) - m0, npa = pe - pb;
        float* Ap = tl_private.get(size_t(npa * MR * kb.kcb));
        for (int64_t b = 0; b < kb.n; ++b) {
          const int64_t k0 = kb.k0(b), kc = kb.kc(b);
          for (int64_t p = 0; p < npa; ++p) {
            const int r = int(std::min<int64_t>(MR, rows - p * MR));
            pack_a(Ap + p * kc * MR, A.p + (m0 + p * MR) * A.s_o + k0 * A.s_k, A.s_o, A.s_k, r, kc);
          }
          const bool load_c = accumulate || b > 0;
          for (int64_t j = 0; j < npan; ++j) {
            const int cols = int(std::min<int64_t>(NR, nc - j * NR));
            const float* bp = Bp + k0 * ldp + j * kc * NR;
            const float* bj = (bias && b == 0) ? bias + c0 + j * NR : nullptr;
            float* cj = C + m0 * ldc + c0 + j * NR;
            for (int64_t p = 0; p < npa; ++p) {
              const int r = int(std::min<int64_t>(MR, rows - p * MR));
              // pf: the next tile in this loop order, whose rows the kernel prefetches
              const float* pf = p + 1 < npa ? cj + (p + 1) * MR * ldc : cj + NR;
              kernel(r, Ap + p * kc * MR, bp, kc, cj + p * MR * ldc, ldc, cols, load_c, bj, pf);
            }
          }
        }
      });
    }
  } else {
    // A is the shared operand: packed once per row chunk; tasks split N.
    const int64_t chunk = std::max<int64_t>(MR, SHARED_CAP / K / MR * MR);
    for (int64_t r0 = 0; r0 < M; r0 += chunk) {
      const int64_t mr = std::min(chunk, M - r0), npa = ceil_div(mr, MR), ldp = npa * MR;
      float* Ap = tl_shared.get(size_t(ldp * K));
      const int64_t ptasks = std::min<int64_t>(npa, 4 * Tn);
      run_tasks(pool, parallel, ptasks, [&](int64_t t) {
        const int64_t pb = t * npa / ptasks, pe = (t + 1) * npa / ptasks;
        for (int64_t p = pb; p < pe; ++p) {
          const int r = int(std::min<int64_t>(MR, mr - p * MR));
          for (int64_t b = 0; b < kb.n; ++b) {
            const int64_t k0 = kb.k0(b), kc = kb.kc(b);
            pack_a(Ap + k0 * ldp + p * kc * MR, A.p + (r0 + p * MR) * A.s_o + k0 * A.s_k, A.s_o, A.s_k, r, kc);
          }
        }
      });
      const int64_t npanels = ceil_div(N, NR), ntasks = task_count(npanels, NC_MAX / NR, Tn);
      run_tasks(pool, parallel, ntasks, [&](int64_t t) {
        const int64_t jb = t * npanels / ntasks, je = (t + 1) * npanels / ntasks;
        const int64_t n0 = jb * NR, cols_t = std::min(je * NR, N) - n0, npb = je - jb;
        float* Bp = tl_private.get(size_t(npb * NR * kb.kcb));
        for (int64_t b = 0; b < kb.n; ++b) {
          const int64_t k0 = kb.k0(b), kc = kb.kc(b);
          const bool load_c = accumulate || b > 0;
          // Row blocks of the shared A small enough to stay in L2 while the task's B panels pass;
          // each B panel is packed right before its first use.
          const int64_t mbp0 = std::max<int64_t>(1, L2_A_BYTES / (kc * MR * int64_t(sizeof(float))));
          const int64_t mbp = ceil_div(npa, ceil_div(npa, mbp0));
          for (int64_t pm = 0; pm < npa; pm += mbp) {
            const int64_t pe = std::min(npa, pm + mbp);
            for (int64_t j = 0; j < npb; ++j) {
              const int cols = int(std::min<int64_t>(NR, cols_t - j * NR));
              float* bp = Bp + j * kc * NR;
              if (pm == 0) pack_b(bp, B.p + (n0 + j * NR) * B.s_o + k0 * B.s_k, B.s_k, B.s_o, cols, kc);
              const float* bj = (bias && b == 0) ? bias + n0 + j * NR : nullptr;
              float* cj = C + r0 * ldc + n0 + j * NR;
              for (int64_t p = pm; p < pe; ++p) {
                const int r = int(std::min<int64_t>(MR, mr - p * MR));
                const float* pf = p + 1 < pe ? cj + (p + 1) * MR * ldc : cj + pm * MR * ldc + NR;
                kernel(r, Ap + k0 * ldp + p * kc * MR, bp, kc, cj + p * MR * ldc, ldc, cols, load_c, bj, pf);
              }
            }
          }
        }
      });
    }
  }
}

void check_args(const char* name, int64_t M, int64_t N, int64_t K, int64_t ldx, int64_t ldx_min, int64_t ldw,
                int64_t ldw_min, int64_t ldy, const void* X, const void* W, const void* Y) {
  GLAM_CHECK(M >= 0 && N >= 0 && K >= 0, "InvalidArgument", std::string(name) + ": negative dimension");
  if (M == 0 || N == 0) return;
  GLAM_CHECK(Y != nullptr && ldy >= N, "InvalidArgument", std::string(name) + ": bad output or ldy < N");
  if (K == 0) return;
  GLAM_CHECK(X != nullptr && W != nullptr, "InvalidArgument", std::string(name) + ": null operand");
  GLAM_CHECK(ldx >= ldx_min && ldw >= ldw_min, "InvalidArgument", std::string(name) + ": leading dimension too small");
}

}  // namespace

void gemm_nt(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy, int64_t M, int64_t N,
             int64_t K, const float* bias, bool accumulate, ThreadPool& pool) {
  check_args("gemm_nt", M, N, K, ldx, K, ldw, K, ldy, X, W, Y);
  if (M > 0 && M <= SMALL_M && N > 0 && K > 0) {
    gemm_nt_small(X, ldx, W, ldw, Y, ldy, M, N, K, bias, accumulate, pool);
    return;
  }
  gemm_packed({X, ldx, 1}, {W, ldw, 1}, Y, ldy, M, N, K, bias, accumulate, pool);
}

void gemm_nn(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy, int64_t M, int64_t N,
             int64_t K, bool accumulate, ThreadPool& pool) {
  check_args("gemm_nn", M, N, K, ldx, K, ldw, N, ldy, X, W, Y);
  gemm_packed({X, ldx, 1}, {W, 1, ldw}, Y, ldy, M, N, K, nullptr, accumulate, pool);
}

void gemm_tn(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy, int64_t M, int64_t N,
             int64_t K, bool accumulate, ThreadPool& pool) {
  check_args("gemm_tn", M, N, K, ldx, M, ldw, N, ldy, X, W, Y);
  gemm_packed({X, 1, ldx}, {W, 1, ldw}, Y, ldy, M, N, K, nullptr, accumulate, pool);
}

}  // namespace glam::cpu
