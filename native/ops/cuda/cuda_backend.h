// CudaBackend: the Backend interface (backend/backend.h) over the CUDA kernels (cuda_ops.h) and
// cuBLASLt (gemm.h), on one stream. Nothing here synchronises, so a whole pass over it can be
// captured in a CUDA graph.
// Subtle:
// - Device copies of the per-pass metadata (attention row/tile lists, the LM head's tile scratch)
//   are the engine's (it uploads them before a pass, outside any capture) and are bound here with
//   bind(); set_attention only records the rows (their list lengths are read at each attention
//   call, so the rows must outlive the pass) and picks their device lists, so it never copies. A T5 pass binds the lists of
//   its two AttentionRows (encoder, decoder with its cross lists) in PassBindings::sets, and
//   set_attention picks the set whose host plan is the rows it is given.
// - Buffers and the backend's own scratch (LoRA products, bf16 casts of gradients, the attention
//   backward's row sums) grow with cudaMalloc: generation() counts every growth, and an engine that
//   captured graphs must drop them when it changes (they hold the old addresses). A grown buffer's
//   contents are not kept (cudaFree synchronises the device first).
// - bf16 mode: GEMM inputs are bf16 and gradients are fp32, so every backward GEMM that reads a
//   gradient reads a bf16 cast of it (as autocast does); fp32 mode casts nothing.
// - LoRA: keep_t holds each adapter's s X A^T in the compute type, (T, r) per adapter.
// - adamw_step: the slot table lives in device memory, uploaded when it changes; the norm and its clip
//   factor stay on the device (the step kernel reads the factor there) and only the norm comes back,
//   after the step is enqueued, so a step costs one synchronisation.
// - lm_head_backward: the kernel reads the targets grouped by scored row with per-row sums of the
//   gradient (CSR); they are built on the host from the NT targets (a small download and upload), so
//   that call synchronises the stream (backward passes are never captured).
// Legend: T rows, in/out features, r adapter rank, R scored rows, Vt LM-head tile width.
#pragma once
#include <cuda_runtime.h>

#include "backend/backend.h"
#include "ops/cuda/attention_layout.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/gemm.h"

namespace glam::cuda {

// Device copies of one AttentionRows' lists (backend.h), as the engine uploaded them.
struct RowsBinding {
  const AttentionRows* host = nullptr;   // the host plan they were uploaded from (matched by address)
  const AttnRow* arows = nullptr;        // (T)
  const AttnTile* tiles = nullptr;       // (ntiles)
  const AttnKvTile* kv_tiles = nullptr;  // (nkv) backward only
  const AttnRow* cross_arows = nullptr;  // cross attention's lists (T5's decoder rows over the encoder's)
  const AttnTile* cross_tiles = nullptr;
  const AttnKvTile* cross_kv_tiles = nullptr;
};

// Per-pass device data the engine uploads and binds (null / 0 where a pass does not need it).
struct PassBindings {
  const AttnRow* arows = nullptr;        // (T) the decoder engine's rows (any set_attention)
  const AttnTile* tiles = nullptr;       // (ntiles)
  const AttnKvTile* kv_tiles = nullptr;  // (nkv) backward only
  RowsBinding sets[2];  // T5: the encoder's and the decoder's rows; set_attention picks by address
  float* lm_tile = nullptr;              // (R, Vt) fp32 LM-head logits tile
  int64_t Vt = 0;
  float *run_max = nullptr, *run_sum = nullptr;  // (R)
};

class CudaBackend final : public Backend {
 public:
  CudaBackend(DType dt, Gemm& gemm, cudaStream_t s) : dt_(dt), gemm_(gemm), s_(s) {}
  void bind(const PassBindings& b) { bind_ = b; }
  int64_t generation() const { return generation_; }

  DType compute_type() const override { return dt_; }
  std::unique_ptr<Buffer> buffer() override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void zero(void* dst, size_t bytes) override;
  void to_host(void* host, const void* src, size_t bytes) override;
  void from_host(void* dst, const void* host, size_t bytes) override;
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
  void* scratch(int slot, size_t bytes);
  // the gradient dY (T, n) fp32 as a GEMM input: itself in fp32 mode, a bf16 cast (scratch slot) otherwise
  const void* gemm_input(const float* dY, int64_t T, int64_t n, int slot);

  DType dt_;
  Gemm& gemm_;
  cudaStream_t s_;
  // the lists of an attention call over the current rows (self, or cross when spec.kv is set)
  AttnCall attn_call(const float* qkv, int64_t H, int64_t Hkv, int64_t D, const AttentionSpec& spec) const;

  PassBindings bind_;
  const AttentionRows* rows_ = nullptr;  // set_attention's
  RowsBinding cur_;                      // their device lists
  const int32_t* pos_ = nullptr;
  int64_t T_ = 0;
  int64_t generation_ = 0;
  std::unique_ptr<Buffer> scratch_[12];
  std::vector<OptSlot> opt_slots_;  // the slot table last uploaded (re-uploaded only when it changes)
  int64_t opt_gen_ = -1;            // generation_ at that upload
};

}  // namespace glam::cuda
