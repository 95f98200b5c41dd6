// ValueHead forward (backward beside it in part 2). Subtle: sigmoid follows every layer but the last.
#include "model/value_head.h"

#include "ops/cpu/cpu_ops.h"
#include "ops/cpu/gemm.h"

namespace glam {

void ValueHead::forward(float* out, const float* h, int64_t B, ThreadPool& pool,
                        std::vector<std::vector<float>>* acts) const {
  std::vector<float> cur(h, h + B * sizes[0]), next;
  if (acts) acts->clear();
  for (size_t i = 0; i < weight.size(); ++i) {
    if (acts) acts->push_back(cur);
    const int64_t in = sizes[i], outn = sizes[i + 1];
    next.assign(size_t(B * outn), 0.0f);
    cpu::gemm_nt(cur.data(), in, weight[i].data(), in, next.data(), outn, B, outn, in, bias[i].data(), false, pool);
    if (i + 1 < weight.size()) cpu::sigmoid_forward(next.data(), B * outn);
    cur.swap(next);
  }
  for (int64_t b = 0; b < B; ++b) out[b] = cur[size_t(b)];
}

}  // namespace glam

namespace glam {

void ValueHead::backward(float* dh, ValueHead& g, const float* dv, int64_t B, const std::vector<std::vector<float>>& acts,
                         ThreadPool& pool) const {
  // dz: gradient at the current layer's output (pre-sigmoid for hidden layers)
  std::vector<float> dz(dv, dv + B), da;
  for (size_t ii = weight.size(); ii-- > 0;) {
    const int64_t in = sizes[ii], outn = sizes[ii + 1];
    const std::vector<float>& a = acts[ii];  // (B, in): this layer's input
    cpu::gemm_tn(dz.data(), outn, a.data(), in, g.weight[ii].data(), in, outn, in, B, true, pool);  // dW += dz^T a
    cpu::bias_backward(g.bias[ii].data(), dz.data(), outn, B, outn, pool);
    da.assign(size_t(B * in), 0.0f);
    cpu::gemm_nn(dz.data(), outn, weight[ii].data(), in, da.data(), in, B, in, outn, false, pool);  // da = dz W
    if (ii == 0) break;
    for (size_t k = 0; k < da.size(); ++k) da[k] *= a[k] * (1.0f - a[k]);  // a = sigmoid(z_prev)
    dz.swap(da);
  }
  std::copy(da.begin(), da.end(), dh);
}

ValueHead ValueHead::zeros_like() const {
  ValueHead z;
  z.sizes = sizes;
  for (size_t i = 0; i < weight.size(); ++i) {
    z.weight.emplace_back(weight[i].size(), 0.0f);
    z.bias.emplace_back(bias[i].size(), 0.0f);
  }
  return z;
}

}  // namespace glam
