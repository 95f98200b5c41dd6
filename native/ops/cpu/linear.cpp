// Linear + LoRA forward/backward over the CPU GEMMs; see linear.h.
#include "ops/cpu/linear.h"

#include <vector>

#include "ops/cpu/cpu_ops.h"
#include "ops/cpu/gemm.h"

namespace glam::cpu {

namespace {

// B (out_n, r) transposed to (r, out_n): adapter products are formed with the rank r as the SHORT
// dimension of each GEMM's output (r x T or r x out_n), which the packed kernels run far better than
// outputs that are only r columns wide.
std::vector<float> transposed(const float* B, int64_t out_n, int64_t r) {
  std::vector<float> bt(static_cast<size_t>(r * out_n));
  for (int64_t o = 0; o < out_n; ++o)
    for (int64_t k = 0; k < r; ++k) bt[size_t(k * out_n + o)] = B[size_t(o * r + k)];
  return bt;
}

// tT (r, T) = s * A X^T
void adapter_t(float* tT, const AdapterParams& a, const float* X, int64_t T, int64_t in, ThreadPool& pool) {
  std::fill(tT, tT + a.rank * T, 0.0f);
  gemm_nt(static_cast<const float*>(a.A), in, X, in, tT, T, a.rank, T, in, nullptr, false, pool);
  for (int64_t i = 0; i < a.rank * T; ++i) tT[i] *= a.scale;
}

}  // namespace

void linear_forward(float* Y, const float* X, int64_t T, int64_t in, int64_t out, const LinearParams& p,
                    bool accumulate, float* keep_t, ThreadPool& pool) {
  gemm_nt(X, in, static_cast<const float*>(p.W), in, Y, out, T, out, in, p.b, accumulate, pool);
  thread_local std::vector<float> scratch;  // reused across calls (no page faults)
  int64_t off = 0;
  for (const AdapterParams& a : p.lora) {
    float* tT = nullptr;
    if (keep_t) {
      tT = keep_t + off;
    } else {
      scratch.resize(size_t(a.rank * T));
      tT = scratch.data();
    }
    off += a.rank * T;
    adapter_t(tT, a, X, T, in, pool);
    const std::vector<float> bt = transposed(static_cast<const float*>(a.B), a.out_n, a.rank);
    gemm_tn(tT, T, bt.data(), a.out_n, Y + a.out_off, out, T, a.out_n, a.rank, true, pool);  // Y += t B^T
  }
}

void linear_backward(float* dX, bool dx_accumulate, const float* dY, const float* X, int64_t T, int64_t in,
                     int64_t out, const LinearParams& p, const float* saved_t, ThreadPool& pool) {
  const float* W = static_cast<const float*>(p.W);
  if (dX) gemm_nn(dY, out, W, in, dX, in, T, in, out, dx_accumulate, pool);  // dX = dY W
  if (p.dW) gemm_tn(dY, out, X, in, p.dW, in, out, in, T, true, pool);        // dW += dY^T X
  if (p.db) bias_backward(p.db, dY, out, T, out, pool);
  thread_local std::vector<float> scratch, dtT, dBT;
  int64_t off = 0;
  for (const AdapterParams& a : p.lora) {
    const int64_t r = a.rank;
    const float* dYs = dY + a.out_off;  // (T, out_n) slice, row stride out
    const float* tT = saved_t ? saved_t + off : nullptr;
    off += r * T;
    if (!tT) {
      scratch.resize(size_t(r * T));
      adapter_t(scratch.data(), a, X, T, in, pool);
      tT = scratch.data();
    }
    // dB^T (r, out_n) = tT dY_slice   (s already in tT)
    dBT.assign(static_cast<size_t>(r * a.out_n), 0.0f);
    gemm_nn(tT, T, dYs, out, dBT.data(), a.out_n, r, a.out_n, T, false, pool);
    if (a.dB)
      for (int64_t o = 0; o < a.out_n; ++o)
        for (int64_t k = 0; k < r; ++k) a.dB[size_t(o * r + k)] += dBT[size_t(k * a.out_n + o)];
    // dt^T (r, T) = s B^T dY_slice^T
    const std::vector<float> bt = transposed(static_cast<const float*>(a.B), a.out_n, r);
    dtT.assign(static_cast<size_t>(r * T), 0.0f);
    gemm_nt(bt.data(), a.out_n, dYs, out, dtT.data(), T, r, T, a.out_n, nullptr, false, pool);
    for (float& v : dtT) v *= a.scale;
    if (a.dA) gemm_nn(dtT.data(), T, X, in, a.dA, in, r, in, T, true, pool);  // dA += dt^T X
    if (dX) gemm_tn(dtT.data(), T, static_cast<const float*>(a.A), in, dX, in, T, in, r, true, pool);  // dX += dt A
  }
}

}  // namespace glam::cpu
