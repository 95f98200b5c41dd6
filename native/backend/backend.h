// Backend: the one contract between the model layer (native/model) and the compute backends
// (native/ops/cpu: CpuBackend, native/ops/cuda: CudaBackend). The model writes each architecture's
// forward and backward once as calls on this interface; a backend never learns which architecture
// it runs (it sees norms, linears, attention over row groups, activations, the LM head).
// defines: NormKind, ActKind, NormParams, AdapterParams, LinearParams, AttentionGroup, AttentionRows,
//          AttentionSpec, ValueHeadParams, AdamWOptions, OptSlot, Buffer, Backend (DType: backend/dtype.h).
// Conventions (both backends, see ops/cpu/cpu_ops.h and ops/cuda/cuda_ops.h): every pointer lives in
// the backend's memory; the residual stream, q|k|v, GEMM outputs and statistics are fp32; tensors
// typed `void*` (norm outputs, the attention output, the MLP activation, weight matrices) are in the
// backend's compute type (fp32 on the CPU; bf16 or fp32 on the GPU). Backward ops ACCUMULATE into
// parameter gradients (+=, microbatches add up) and WRITE input gradients unless they say +=; a null
// parameter gradient is a frozen parameter (its work is skipped).
// Dimension legend: T packed rows, C hidden, H heads, Hkv kv heads, D head size, I MLP width,
// V vocabulary, R scored rows, NT target tokens, n rows of a norm call, r LoRA rank, B prompts (value
// head rows), S optimizer slots.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/dtype.h"
#include "ops/cuda/attention_layout.h"  // the CUDA kernels' row lists: plain C++

namespace glam {

enum class NormKind { Rms, Layer };
// Relu: max(u, 0) (T5 v1.0); GeGluTanh: gelu_tanh(u[:, :I]) * u[:, I:2I] (T5 v1.1 / Flan-T5's gated-gelu).
enum class ActKind { SwiGlu, GeluTanh, GeluErf, Relu, GeGluTanh };

// A norm's weight and bias (fp32; b null without bias) and their gradients (null: frozen).
struct NormParams {
  const float *w = nullptr, *b = nullptr;
  float *dw = nullptr, *db = nullptr;
};

// One LoRA adapter on a column slice [out_off, out_off + out_n) of a linear's output:
// Y[:, slice] += scale (X A^T) B^T. A (r, in_n), B (out_n, r) in the compute type; dA, dB fp32.
struct AdapterParams {
  const void *A = nullptr, *B = nullptr;
  float *dA = nullptr, *dB = nullptr;
  int64_t out_off = 0, out_n = 0, in_n = 0, rank = 0;
  float scale = 1.0f;
};

// A linear layer: W (out, in) compute type, b (out) fp32 or null; gradients (null: frozen).
struct LinearParams {
  const void* W = nullptr;
  const float* b = nullptr;
  float *dW = nullptr, *db = nullptr;
  std::vector<AdapterParams> lora;
  // values a training forward keeps for the adapters' backward: sum of ranks x T (compute type)
  int64_t lora_rank() const {
    int64_t r = 0;
    for (const AdapterParams& a : lora) r += a.rank;
    return r;
  }
};

// One attention group: a run of packed rows that share a prefix.
//   rows [start, start+prefix_len) are the prompt (causal among themselves);
//   candidate c owns rows [cand_start[c], cand_start[c]+cand_len[c]) and sees every prompt row plus
//   its own earlier rows, never another candidate's. A naive sequence is a group with no candidates.
struct AttentionGroup {
  int64_t start;
  int64_t prefix_len;
  std::vector<int64_t> cand_start, cand_len;
};

// The rows attention runs over, planned once on the host (model/batch_plan.cpp) in the form each
// backend reads: groups for the CPU kernels, row/tile work lists for the CUDA kernels.
struct AttentionRows {
  std::vector<AttentionGroup> groups;
  std::vector<cuda::AttnRow> arows;        // (T) query rows grouped by prompt: prompt rows, then candidate rows
  std::vector<cuda::AttnTile> tiles;       // attention tiles over arows
  std::vector<cuda::AttnKvTile> kv_tiles;  // the backward's dK/dV chunks (one per 32 prompt keys of a group)
  int rows_per_tile = 0;
  bool reference = false;  // the naive plan: the plain per-row kernels (the oracle)
  // Encoder-decoder variants (model/attention_plan.h; empty for decoder-only models):
  bool bidirectional = false;  // arows planned with every prefix row seeing its whole prefix (an encoder)
  // cross attention from these rows (queries) to the kv stream's groups: query group g reads every
  // prefix row of kv group g (T5's decoder over its encoder rows); tiles' prompt_start is a kv row
  std::vector<cuda::AttnRow> cross_arows;
  std::vector<cuda::AttnTile> cross_tiles;
  std::vector<cuda::AttnKvTile> cross_kv_tiles;
};

// What an attention call computes beyond the decoder's causal shared-prefix self-attention. The
// encoder-decoder variants (T5) set the fields below; a backend that lacks one throws
// UnsupportedArchitecture rather than computing something else.
struct AttentionSpec {
  bool causal = true;             // false: bidirectional within each group's prefix (an encoder)
  float scale = 0.0f;             // score scale; 0: 1/sqrt(D)
  const float* bias = nullptr;    // additive relative position bias (bias_buckets, H), or null
  int64_t bias_buckets = 0;       // with bias: T5's buckets of rel = pos_key - pos_query (bidirectional
  int64_t bias_max_distance = 0;  //   when !causal), model/t5_buckets.h
  const float* kv = nullptr;      // cross attention: k|v rows (Tkv, 2 Hkv D) of another stream (null: self);
                                  //   qkv then holds q only (T, H D)
  const AttentionRows* kv_rows = nullptr;  // cross: query group g attends every prefix row of kv_rows->groups[g]
  float* dbias = nullptr;         // backward: (bias_buckets, H) += (null: frozen)
  float* dkv = nullptr;           // backward of cross attention: (Tkv, 2 Hkv D) written on kv_rows' rows
  int64_t window = 0;             // > 0: key j visible from query i only if pos_i - pos_j < window
  bool plain() const { return causal && scale == 0.0f && !bias && !kv; }
};

// GLAM's value MLP (fp32 in both precisions, backend memory): layer i W[i] (sizes[i+1], sizes[i]), b[i]
// (sizes[i+1]), a sigmoid after every layer but the last; dW, db their gradients (empty: not training).
struct ValueHeadParams {
  std::vector<int64_t> sizes;  // C, hidden..., 1
  std::vector<const float*> W, b;
  std::vector<float*> dW, db;
  bool empty() const { return W.empty(); }
  int64_t layers() const { return int64_t(W.size()); }
};

// AdamW as PyTorch has it (decoupled weight decay, bias-corrected moments, eps outside the square
// root), after clipping by the global norm: clip factor min(1, max_grad_norm / (norm + 1e-6)) when
// max_grad_norm > 0 (torch.nn.utils.clip_grad_norm_).
struct AdamWOptions {
  double lr = 1e-6, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0, max_grad_norm = 0.0;  // 0: no clipping
};

// One trainable tensor as the optimizer sees it (backend memory): fp32 master w, gradient g, moments
// m, v, and the compute copy the forward reads when it is not w itself (bf16; null otherwise).
struct OptSlot {
  float *w, *g, *m, *v;
  void* copy;
  int64_t n;
};

// Backend memory that grows on demand; contents are kept while it does not grow.
class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual void* ensure(size_t bytes) = 0;  // the data, at least `bytes` long
  virtual void* data() const = 0;
  virtual size_t size() const = 0;
  template <class T>
  T* as() const { return static_cast<T*>(data()); }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DType compute_type() const = 0;
  virtual std::unique_ptr<Buffer> buffer() = 0;
  // dst <- src (bytes), both in backend memory
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  // dst (backend memory) <- 0
  virtual void zero(void* dst, size_t bytes) = 0;
  // Between host and backend memory; both return when the copy is done (the host side may go).
  virtual void to_host(void* host, const void* src, size_t bytes) = 0;
  virtual void from_host(void* dst, const void* host, size_t bytes) = 0;
  // dst[n] (type t) <- src[n] fp32, rounded to nearest even when t is BF16 (backend memory both).
  virtual void cast(void* dst, DType t, const float* src, int64_t n) = 0;
  // dst[n] fp32 <- src[n] (type t), exact (backend memory both).
  virtual void widen(float* dst, const void* src, DType t, int64_t n) = 0;
  // x[n] fp32 *= s (backend memory): T5 v1.0's rescaled head input and its gradient.
  virtual void scale(float* x, int64_t n, float s) = 0;

  // The rows the next attention calls run over (until the next call), pos (T) in backend memory.
  // The rows must outlive those calls; a backend that reads device copies of them (CUDA) has them
  // bound by its engine beforehand, so this call never copies (it may run inside a graph capture).
  virtual void set_attention(const AttentionRows& rows, const int32_t* pos, int64_t T) = 0;

  // x[T,C] (fp32) = table[ids[t], :] (+ pos_table[pos[t], :] when given: learned positions)
  virtual void embedding_forward(float* x, const int32_t* ids, const int32_t* pos, int64_t T, const void* table,
                                 const void* pos_table, int64_t C) = 0;
  // dtable[V,C] += scatter of dx rows by ids, dpos_table[maxPos,C] by pos (either null: frozen)
  virtual void embedding_backward(float* dtable, int64_t V, float* dpos_table, int64_t maxPos, const float* dx,
                                  const int32_t* ids, const int32_t* pos, int64_t T, int64_t C) = 0;

  // h[n,C] (type ht: the compute type, or fp32) = norm(x[r]) with r = rows ? rows[i] : i (a gather).
  virtual void norm_forward(NormKind k, void* h, DType ht, const float* x, const int32_t* rows, int64_t n, int64_t C, float eps,
                            const NormParams& p) = 0;
  // dx[r] += d norm / dx . dh[i] (rows distinct); p.dw, p.db +=.
  virtual void norm_backward(NormKind k, float* dx, const float* dh, const float* x, const int32_t* rows, int64_t n,
                             int64_t C, float eps, const NormParams& p) = 0;

  // Y[T,out] (fp32) (+)= X[T,in] W^T + b + LoRA; accumulate: the residual add fused into the GEMM.
  // keep_t (training, sum of ranks x T values of the compute type): what the adapters' backward reuses.
  virtual void linear_forward(float* Y, const void* X, int64_t T, int64_t in, int64_t out, const LinearParams& p,
                              bool accumulate, float* keep_t) = 0;
  // dX[T,in] (= or += per dx_accumulate; null: not needed) from dY[T,out]; dW, db, dA, dB +=.
  virtual void linear_backward(float* dX, bool dx_accumulate, const float* dY, const void* X, int64_t T, int64_t in,
                               int64_t out, const LinearParams& p, const float* saved_t) = 0;

  // RoPE (rotate_half) in place on T rows of `stride` floats, nheads * D values from each row's start
  virtual void rope_forward(float* x, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                            const float* inv_freq) = 0;
  virtual void rope_backward(float* dx, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                             const float* inv_freq) = 0;

  // act[T,I] (compute type) = f(u): SwiGLU reads u (T, 2I) = gate|up, the others u (T, I)
  virtual void act_forward(ActKind k, void* act, const float* u, int64_t T, int64_t I) = 0;
  // du = f'(u) . dact (fp32, written)
  virtual void act_backward(ActKind k, float* du, const float* dact, const float* u, int64_t T, int64_t I) = 0;

  // out[T, HD] (compute type) from qkv[T, (H+2Hkv)D] (fp32, RoPE applied) over set_attention's rows;
  // lse (T, H) saved for the backward when not null.
  virtual void attention_forward(void* out, float* lse, const float* qkv, int64_t H, int64_t Hkv, int64_t D,
                                 const AttentionSpec& spec) = 0;
  // dqkv[T, (H+2Hkv)D] written from dout[T, HD], recomputing the probabilities from lse.
  virtual void attention_backward(float* dqkv, const float* dout, const void* out, const float* qkv, const float* lse,
                                  int64_t H, int64_t Hkv, int64_t D, const AttentionSpec& spec) = 0;

  // The fused LM head: lse (R) and target_logit (NT) of h (R, C) against E (V, C); log p = logit - lse.
  virtual void lm_head_forward(float* lse, float* target_logit, const void* h, int64_t R, const void* E, int64_t V,
                               int64_t C, const int32_t* target_row, const int32_t* target_id, int64_t NT) = 0;
  // dh (R, C) written, dE (V, C) += (null: frozen) from dlogprob (NT).
  virtual void lm_head_backward(float* dh, float* dE, const float* dlogprob, const void* h, int64_t R, const void* E,
                                int64_t V, int64_t C, const float* lse, const int32_t* target_row,
                                const int32_t* target_id, int64_t NT) = 0;

  // The value head: out (B) = head(h (B, sizes[0])). acts (training): layer i >= 1's input is kept in
  // acts[i-1] (B, sizes[i]) for the backward; null: the backend's scratch.
  virtual void value_head_forward(float* out, const float* h, int64_t B, const ValueHeadParams& p,
                                  float* const* acts) = 0;
  // dh (B, sizes[0]) written, p.dW, p.db += from dv (B); h and acts as the forward read and kept them.
  virtual void value_head_backward(float* dh, const float* dv, const float* h, const float* const* acts, int64_t B,
                                   const ValueHeadParams& p) = 0;

  // One clipped AdamW step over every slot at step count t (>= 1): the global L2 norm of every
  // slot's gradient, the clip factor from it, then each slot's update (master, moments and the
  // compute copy). Returns the norm before clipping. Partial sums have a fixed shape, so the norm
  // does not depend on scheduling or thread count.
  virtual double adamw_step(const std::vector<OptSlot>& slots, const AdamWOptions& o, int64_t t) = 0;
};

}  // namespace glam
