// CpuBackend: each interface call is one CPU kernel (or a gather/scatter around one); see cpu_backend.h.
#include "ops/cpu/cpu_backend.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "ops/cpu/cpu_ops.h"
#include "ops/cpu/linear.h"

namespace glam::cpu {

namespace {

class HostBuffer final : public Buffer {
 public:
  void* ensure(size_t bytes) override {
    v_.resize((bytes + 3) / 4);  // keeps capacity: a recycled buffer does not fault again
    return v_.data();
  }
  void* data() const override { return const_cast<float*>(v_.data()); }
  size_t size() const override { return v_.size() * 4; }

 private:
  std::vector<float> v_;
};

const float* f(const void* p) { return static_cast<const float*>(p); }
float* f(void* p) { return static_cast<float*>(p); }


}  // namespace

std::unique_ptr<Buffer> CpuBackend::buffer() { return std::make_unique<HostBuffer>(); }

void CpuBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}

void CpuBackend::zero(void* dst, size_t bytes) {
  if (bytes) std::memset(dst, 0, bytes);
}

void CpuBackend::cast(void* dst, DType t, const float* src, int64_t n) {
  GLAM_CHECK(t == DType::F32, "InternalError", "the CPU backend computes in fp32 only");
  copy(dst, src, size_t(n) * 4);
}

void CpuBackend::widen(float* dst, const void* src, DType t, int64_t n) {
  GLAM_CHECK(t == DType::F32, "InternalError", "the CPU backend computes in fp32 only");
  copy(dst, src, size_t(n) * 4);
}

void CpuBackend::scale(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void CpuBackend::set_attention(const AttentionRows& rows, const int32_t* pos, int64_t) {
  rows_ = &rows;
  pos_ = pos;
}

void CpuBackend::embedding_forward(float* x, const int32_t* ids, const int32_t* pos, int64_t T, const void* table,
                                   const void* pos_table, int64_t C) {
  cpu::embedding_forward(x, ids, pos, T, f(table), f(pos_table), C, pool_);
}

void CpuBackend::embedding_backward(float* dtable, int64_t V, float* dpos_table, int64_t maxPos, const float* dx,
                                    const int32_t* ids, const int32_t* pos, int64_t T, int64_t C) {
  cpu::embedding_backward(dtable, V, dpos_table, maxPos, dx, ids, pos, T, C, pool_);
}

void CpuBackend::norm_forward(NormKind k, void* h, DType, const float* x, const int32_t* rows, int64_t n, int64_t C,
                              float eps, const NormParams& p) {
  std::vector<float> gathered;
  if (rows) {
    gathered.resize(size_t(n * C));
    for (int64_t r = 0; r < n; ++r) std::copy(x + rows[r] * C, x + (rows[r] + 1) * C, gathered.begin() + r * C);
    x = gathered.data();
  }
  if (k == NormKind::Rms) rmsnorm_forward(f(h), x, p.w, n, C, eps, pool_);
  else layernorm_forward(f(h), x, p.w, p.b, n, C, eps, pool_);
}

void CpuBackend::norm_backward(NormKind k, float* dx, const float* dh, const float* x, const int32_t* rows, int64_t n,
                               int64_t C, float eps, const NormParams& p) {
  std::vector<float> xg, dxg;
  float* out = dx;
  if (rows) {
    xg.resize(size_t(n * C));
    dxg.assign(size_t(n * C), 0.0f);
    for (int64_t r = 0; r < n; ++r) std::copy(x + rows[r] * C, x + (rows[r] + 1) * C, xg.begin() + r * C);
    x = xg.data();
    out = dxg.data();
  }
  if (k == NormKind::Rms) rmsnorm_backward(out, p.dw, dh, x, p.w, n, C, eps, pool_);
  else layernorm_backward(out, p.dw, p.db, dh, x, p.w, n, C, eps, pool_);
  if (!rows) return;
  for (int64_t r = 0; r < n; ++r) {  // rows are distinct: the scatter has no collisions
    float* d = dx + rows[r] * C;
    for (int64_t c = 0; c < C; ++c) d[c] += dxg[size_t(r * C + c)];
  }
}

void CpuBackend::linear_forward(float* Y, const void* X, int64_t T, int64_t in, int64_t out, const LinearParams& p,
                                bool accumulate, float* keep_t) {
  cpu::linear_forward(Y, f(X), T, in, out, p, accumulate, keep_t, pool_);
}

void CpuBackend::linear_backward(float* dX, bool dx_accumulate, const float* dY, const void* X, int64_t T, int64_t in,
                                 int64_t out, const LinearParams& p, const float* saved_t) {
  cpu::linear_backward(dX, dx_accumulate, dY, f(X), T, in, out, p, saved_t, pool_);
}

void CpuBackend::rope_forward(float* x, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                              const float* inv_freq) {
  cpu::rope_forward(x, stride, T, nheads, D, pos, inv_freq, pool_);
}

void CpuBackend::rope_backward(float* dx, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                               const float* inv_freq) {
  cpu::rope_backward(dx, stride, T, nheads, D, pos, inv_freq, pool_);
}

void CpuBackend::act_forward(ActKind k, void* act, const float* u, int64_t T, int64_t I) {
  if (k == ActKind::SwiGlu || k == ActKind::GeGluTanh) {
    (k == ActKind::SwiGlu ? swiglu_forward : geglu_tanh_forward)(f(act), u, T, I, pool_);
    return;
  }
  std::copy(u, u + T * I, f(act));  // the pre-activation stays (cached for backward)
  if (k == ActKind::GeluErf) gelu_erf_forward(f(act), T * I, pool_);
  else if (k == ActKind::Relu) relu_forward(f(act), T * I, pool_);
  else gelu_tanh_forward(f(act), T * I, pool_);
}

void CpuBackend::act_backward(ActKind k, float* du, const float* dact, const float* u, int64_t T, int64_t I) {
  if (k == ActKind::SwiGlu) swiglu_backward(du, dact, u, T, I, pool_);
  else if (k == ActKind::GeGluTanh) geglu_tanh_backward(du, dact, u, T, I, pool_);
  else if (k == ActKind::Relu) relu_backward(du, dact, u, T * I, pool_);
  else if (k == ActKind::GeluErf) gelu_erf_backward(du, dact, u, T * I, pool_);
  else gelu_tanh_backward(du, dact, u, T * I, pool_);
}

void CpuBackend::attention_forward(void* out, float* lse, const float* qkv, int64_t H, int64_t Hkv, int64_t D,
                                   const AttentionSpec& spec) {
  if (!spec.plain()) {  // the encoder-decoder variants: one row-by-row kernel for fused and naive plans
    attention_ext_forward(f(out), lse, qkv, pos_, rows_->groups, H, Hkv, D, spec, !rows_->reference, pool_);
    return;
  }
  (rows_->reference ? attention_forward_reference : cpu::attention_forward)(f(out), qkv, pos_, rows_->groups, H, Hkv, D,
                                                                     spec.window, pool_, lse);
}

void CpuBackend::attention_backward(float* dqkv, const float* dout, const void* out, const float* qkv, const float* lse,
                                    int64_t H, int64_t Hkv, int64_t D, const AttentionSpec& spec) {
  if (!spec.plain()) {
    attention_ext_backward(dqkv, dout, f(out), qkv, lse, pos_, rows_->groups, H, Hkv, D, spec, !rows_->reference, pool_);
    return;
  }
  (rows_->reference ? attention_backward_reference : cpu::attention_backward)(dqkv, dout, f(out), qkv, lse, pos_, rows_->groups,
                                                                       H, Hkv, D, spec.window, pool_);
}

void CpuBackend::lm_head_forward(float* lse, float* target_logit, const void* h, int64_t R, const void* E, int64_t V,
                                 int64_t C, const int32_t* target_row, const int32_t* target_id, int64_t NT) {
  if (!rows_ || !rows_->reference) {
    lm_head_lse_forward(lse, target_logit, f(h), R, f(E), V, C, target_row, target_id, NT, pool_);
    return;
  }
  // the naive plan's oracle: a materialised log-softmax in double; log p = target_logit - 0
  std::vector<double> lp(static_cast<size_t>(NT));
  lm_head_logprob_reference(lp.data(), f(h), f(E), V, C, target_row, target_id, NT, pool_);
  std::fill(lse, lse + R, 0.0f);
  for (int64_t t = 0; t < NT; ++t) target_logit[t] = float(lp[size_t(t)]);
}

void CpuBackend::lm_head_backward(float* dh, float* dE, const float* dlogprob, const void* h, int64_t R, const void* E,
                                  int64_t V, int64_t C, const float* lse, const int32_t* target_row,
                                  const int32_t* target_id, int64_t NT) {
  GLAM_CHECK(!rows_ || !rows_->reference, "InvalidArgument", "the naive plan scores only; train on the fused plan");
  lm_head_lse_backward(dh, dE, dlogprob, f(h), R, f(E), V, C, lse, target_row, target_id, NT, pool_);
}

void CpuBackend::value_head_forward(float* out, const float* h, int64_t B, const ValueHeadParams& p,
                                    float* const* acts) {
  cpu::value_head_forward(out, h, B, p, acts, pool_);
}

void CpuBackend::value_head_backward(float* dh, const float* dv, const float* h, const float* const* acts, int64_t B,
                                     const ValueHeadParams& p) {
  cpu::value_head_backward(dh, dv, h, acts, B, p, pool_);
}

double CpuBackend::adamw_step(const std::vector<OptSlot>& slots, const AdamWOptions& o, int64_t t) {
  return cpu::adamw_step(slots, o, t, pool_);
}

}  // namespace glam::cpu
