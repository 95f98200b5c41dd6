// Linear + LoRA forward/backward over the CPU GEMMs; see linear.h.
#include "model/linear.h"

#include "ops/cpu/cpu_ops.h"
#include "ops/cpu/gemm.h"

namespace glam {

using namespace cpu;

void linear_forward(float* Y, const float* X, int64_t T, int64_t in, int64_t out, const std::vector<float>& W,
                    const std::vector<float>& b, const std::vector<LoraAdapter>& lora, bool accumulate, ThreadPool& pool) {
  gemm_nt(X, in, W.data(), in, Y, out, T, out, in, b.empty() ? nullptr : b.data(), accumulate, pool);
  std::vector<float> t;
  for (const LoraAdapter& a : lora) {
    t.assign(static_cast<size_t>(T * a.rank), 0.0f);
    gemm_nt(X, in, a.A.data(), in, t.data(), a.rank, T, a.rank, in, nullptr, false, pool);  // t = X A^T
    for (float& v : t) v *= a.scale;
    gemm_nt(t.data(), a.rank, a.B.data(), a.rank, Y + a.out_off, out, T, a.out_n, a.rank, nullptr, true, pool);
  }
}

void linear_backward(float* dX, bool dx_accumulate, const float* dY, const float* X, int64_t T, int64_t in, int64_t out,
                     const std::vector<float>& W, std::vector<float>& dW, std::vector<float>& db,
                     const std::vector<LoraAdapter>& lora, std::vector<LoraAdapter>& dlora, ThreadPool& pool) {
  if (dX) gemm_nn(dY, out, W.data(), in, dX, in, T, in, out, dx_accumulate, pool);  // dX = dY W
  if (!dW.empty()) gemm_tn(dY, out, X, in, dW.data(), in, out, in, T, true, pool);  // dW += dY^T X
  if (!db.empty()) bias_backward(db.data(), dY, out, T, out, pool);
  std::vector<float> t, dt;
  for (size_t i = 0; i < lora.size(); ++i) {
    const LoraAdapter& a = lora[i];
    LoraAdapter& g = dlora[i];
    const int64_t r = a.rank;
    t.assign(static_cast<size_t>(T * r), 0.0f);
    gemm_nt(X, in, a.A.data(), in, t.data(), r, T, r, in, nullptr, false, pool);  // t = X A^T
    // dB += s dY_slice^T t ; dt = s dY_slice B ; dA += dt^T X ; dX += dt A
    for (float& v : t) v *= a.scale;
    gemm_tn(dY + a.out_off, out, t.data(), r, g.B.data(), r, a.out_n, r, T, true, pool);
    dt.assign(static_cast<size_t>(T * r), 0.0f);
    gemm_nn(dY + a.out_off, out, a.B.data(), r, dt.data(), r, T, r, a.out_n, false, pool);
    for (float& v : dt) v *= a.scale;
    gemm_tn(dt.data(), r, X, in, g.A.data(), in, r, in, T, true, pool);
    if (dX) gemm_nn(dt.data(), r, a.A.data(), in, dX, in, T, in, r, true, pool);
  }
}

}  // namespace glam
