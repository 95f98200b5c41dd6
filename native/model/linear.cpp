// Linear + LoRA forward/backward over the CPU GEMMs; see linear.h.
#include "model/linear.h"

#include "ops/cpu/cpu_ops.h"
#include "ops/cpu/gemm.h"

namespace glam {

using namespace cpu;

namespace {

// B (out_n, r) transposed to (r, out_n): adapter products are formed with the rank r as the SHORT
// dimension of each GEMM's output (r x T or r x out_n), which the packed kernels run far better than
// outputs that are only r columns wide.
std::vector<float> transposed(const std::vector<float>& B, int64_t out_n, int64_t r) {
  std::vector<float> bt(static_cast<size_t>(r * out_n));
  for (int64_t o = 0; o < out_n; ++o)
    for (int64_t k = 0; k < r; ++k) bt[size_t(k * out_n + o)] = B[size_t(o * r + k)];
  return bt;
}

// tT (r, T) = s * A X^T
void adapter_t(std::vector<float>& tT, const LoraAdapter& a, const float* X, int64_t T, int64_t in, ThreadPool& pool) {
  tT.assign(static_cast<size_t>(a.rank * T), 0.0f);
  gemm_nt(a.A.data(), in, X, in, tT.data(), T, a.rank, T, in, nullptr, false, pool);
  for (float& v : tT) v *= a.scale;
}

}  // namespace

void linear_forward(float* Y, const float* X, int64_t T, int64_t in, int64_t out, const std::vector<float>& W,
                    const std::vector<float>& b, const std::vector<LoraAdapter>& lora, bool accumulate, ThreadPool& pool,
                    std::vector<std::vector<float>>* keep_t) {
  gemm_nt(X, in, W.data(), in, Y, out, T, out, in, b.empty() ? nullptr : b.data(), accumulate, pool);
  thread_local std::vector<float> scratch;  // reused across calls (no page faults)
  if (keep_t) keep_t->resize(lora.size());
  for (size_t i = 0; i < lora.size(); ++i) {
    const LoraAdapter& a = lora[i];
    std::vector<float>& tT = keep_t ? (*keep_t)[i] : scratch;
    adapter_t(tT, a, X, T, in, pool);
    const std::vector<float> bt = transposed(a.B, a.out_n, a.rank);
    gemm_tn(tT.data(), T, bt.data(), a.out_n, Y + a.out_off, out, T, a.out_n, a.rank, true, pool);  // Y += t B^T
  }
}

void linear_backward(float* dX, bool dx_accumulate, const float* dY, const float* X, int64_t T, int64_t in, int64_t out,
                     const std::vector<float>& W, std::vector<float>& dW, std::vector<float>& db,
                     const std::vector<LoraAdapter>& lora, std::vector<LoraAdapter>& dlora, ThreadPool& pool,
                     const std::vector<std::vector<float>>* saved_t) {
  if (dX) gemm_nn(dY, out, W.data(), in, dX, in, T, in, out, dx_accumulate, pool);  // dX = dY W
  if (!dW.empty()) gemm_tn(dY, out, X, in, dW.data(), in, out, in, T, true, pool);  // dW += dY^T X
  if (!db.empty()) bias_backward(db.data(), dY, out, T, out, pool);
  thread_local std::vector<float> scratch, dtT, dBT;
  for (size_t i = 0; i < lora.size(); ++i) {
    const LoraAdapter& a = lora[i];
    LoraAdapter& g = dlora[i];
    const int64_t r = a.rank;
    const float* dYs = dY + a.out_off;  // (T, out_n) slice, row stride out
    const std::vector<float>* tp = saved_t && i < saved_t->size() ? &(*saved_t)[i] : nullptr;
    if (!tp) {
      adapter_t(scratch, a, X, T, in, pool);
      tp = &scratch;
    }
    const std::vector<float>& tT = *tp;
    // dB^T (r, out_n) = tT dY_slice   (s already in tT)
    dBT.assign(static_cast<size_t>(r * a.out_n), 0.0f);
    gemm_nn(tT.data(), T, dYs, out, dBT.data(), a.out_n, r, a.out_n, T, false, pool);
    for (int64_t o = 0; o < a.out_n; ++o)
      for (int64_t k = 0; k < r; ++k) g.B[size_t(o * r + k)] += dBT[size_t(k * a.out_n + o)];
    // dt^T (r, T) = s B^T dY_slice^T
    const std::vector<float> bt = transposed(a.B, a.out_n, r);
    dtT.assign(static_cast<size_t>(r * T), 0.0f);
    gemm_nt(bt.data(), a.out_n, dYs, out, dtT.data(), T, r, T, a.out_n, nullptr, false, pool);
    for (float& v : dtT) v *= a.scale;
    gemm_nn(dtT.data(), T, X, in, g.A.data(), in, r, in, T, true, pool);                // dA += dt^T X
    if (dX) gemm_tn(dtT.data(), T, a.A.data(), in, dX, in, T, in, r, true, pool);      // dX += dt A
  }
}

}  // namespace glam
