// ValueHead forward (backward beside it in part 2). Subtle: sigmoid follows every layer but the last.
#include "model/value_head.h"

#include "ops/cpu/cpu_ops.h"
#include "ops/cpu/gemm.h"

namespace glam {

void ValueHead::forward(float* out, const float* h, int64_t B, ThreadPool& pool) const {
  std::vector<float> cur(h, h + B * sizes[0]), next;
  for (size_t i = 0; i < weight.size(); ++i) {
    const int64_t in = sizes[i], outn = sizes[i + 1];
    next.assign(size_t(B * outn), 0.0f);
    cpu::gemm_nt(cur.data(), in, weight[i].data(), in, next.data(), outn, B, outn, in, bias[i].data(), false, pool);
    if (i + 1 < weight.size()) cpu::sigmoid_forward(next.data(), B * outn);
    cur.swap(next);
  }
  for (int64_t b = 0; b < B; ++b) out[b] = cur[size_t(b)];
}

}  // namespace glam
