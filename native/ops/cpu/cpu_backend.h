// CpuBackend: the Backend interface (backend/backend.h) over the CPU kernels (cpu_ops.h, linear.h,
// gemm.h) and one thread pool. Memory is host memory: a Buffer is a std::vector<float> that keeps
// its capacity, so a workspace grown once is reused without page faults.
// Subtle: the naive plan (AttentionRows::reference) runs the reference kernels: row-by-row attention
// and the LM head's materialised log-softmax in double (written as target_logit with lse = 0).
// Every op runs on the pool with a fixed per-element order (see cpu_ops.h), so results do
// not depend on the thread count; set_attention keeps a pointer to the caller's rows, which must
// outlive the attention calls that follow.
#pragma once
#include "backend/backend.h"
#include "runtime/thread_pool.h"

namespace glam::cpu {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : pool_(threads) {}
  ThreadPool& pool() { return pool_; }

  DType compute_type() const override { return DType::F32; }
  std::unique_ptr<Buffer> buffer() override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void zero(void* dst, size_t bytes) override;
  void to_host(void* host, const void* src, size_t bytes) override { copy(host, src, bytes); }
  void from_host(void* dst, const void* host, size_t bytes) override { copy(dst, host, bytes); }
  void cast(void* dst, DType t, const float* src, int64_t n) override;
  void widen(float* dst, const void* src, DType t, int64_t n) override;
  void scale(float* x, int64_t n, float s) override;
  void set_attention(const AttentionRows& rows, const int32_t* pos, int64_t T) override;
  void embedding_forward(float* x, const int32_t* ids, const int32_t* pos, int64_t T, const void* table,
                         const void* pos_table, int64_t C) override;
  void embedding_backward(float* dtable, int64_t V, float* dpos_table, int64_t maxPos, const float* dx,
                          const int32_t* ids, const int32_t* pos, int64_t T, int64_t C) override;
  void norm_forward(NormKind k, void* h, DType ht, const float* x, const int32_t* rows, int64_t n, int64_t C, float eps,
                    const NormParams& p) override;
  void norm_backward(NormKind k, float* dx, const float* dh, const float* x, const int32_t* rows, int64_t n, int64_t C,
                     float eps, const NormParams& p) override;
  void linear_forward(float* Y, const void* X, int64_t T, int64_t in, int64_t out, const LinearParams& p,
                      bool accumulate, float* keep_t) override;
  void linear_backward(float* dX, bool dx_accumulate, const float* dY, const void* X, int64_t T, int64_t in,
                       int64_t out, const LinearParams& p, const float* saved_t) override;
  void rope_forward(float* x, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                    const float* inv_freq) override;
  void rope_backward(float* dx, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                     const float* inv_freq) override;
  void act_forward(ActKind k, void* act, const float* u, int64_t T, int64_t I) override;
  void act_backward(ActKind k, float* du, const float* dact, const float* u, int64_t T, int64_t I) override;
  void attention_forward(void* out, float* lse, const float* qkv, int64_t H, int64_t Hkv, int64_t D,
                         const AttentionSpec& spec) override;
  void attention_backward(float* dqkv, const float* dout, const void* out, const float* qkv, const float* lse,
                          int64_t H, int64_t Hkv, int64_t D, const AttentionSpec& spec) override;
  void lm_head_forward(float* lse, float* target_logit, const void* h, int64_t R, const void* E, int64_t V, int64_t C,
                       const int32_t* target_row, const int32_t* target_id, int64_t NT) override;
  void lm_head_backward(float* dh, float* dE, const float* dlogprob, const void* h, int64_t R, const void* E, int64_t V,
                        int64_t C, const float* lse, const int32_t* target_row, const int32_t* target_id,
                        int64_t NT) override;
  void value_head_forward(float* out, const float* h, int64_t B, const ValueHeadParams& p, float* const* acts) override;
  void value_head_backward(float* dh, const float* dv, const float* h, const float* const* acts, int64_t B,
                           const ValueHeadParams& p) override;
  double adamw_step(const std::vector<OptSlot>& slots, const AdamWOptions& o, int64_t t) override;

 private:
  ThreadPool pool_;
  const AttentionRows* rows_ = nullptr;
  const int32_t* pos_ = nullptr;
};

}  // namespace glam::cpu
