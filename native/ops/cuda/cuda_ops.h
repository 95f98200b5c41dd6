// The CUDA backend's kernels: host launchers, one concept per file, each backward beside its forward.
// defines: embedding_forward/backward (embedding.cu), rmsnorm_forward/backward (rmsnorm.cu),
//          layernorm_forward/backward (layernorm.cu), rope_forward/backward (rope.cu),
//          swiglu_forward/backward, gelu_forward/backward,
//          relu_forward/backward, geglu_tanh_forward/backward (activation.cu), attention_forward/backward
//          (attention.cu, attention_backward.cu), lm_head_lse_forward/backward (lm_head.cu), sigmoid_forward,
//          value_head_forward/backward (value_head.cu), bias_backward (bias_grad.cu), cast_rows,
//          widen_bf16 (cast.cu), grad_norm, adamw_step (adamw.cu). GEMMs: gemm.h (cuBLASLt).
// Backward conventions (the CPU engine's, native/ops/cpu/cpu_ops.h): parameter gradients are fp32
// and ACCUMULATE (+=: microbatches add up); input gradients are fp32 and are WRITTEN unless they say
// +=; a null parameter gradient is a frozen parameter (its work is skipped).
// Conventions: launchers take outputs, inputs, sizes, then the stream; `void*` tensors carry their
// DType beside them (fp32 | bf16); the residual stream, q|k|v, GEMM outputs and every statistic
// are fp32; only GEMM inputs (norm outputs, attention output, MLP activation, weights) are bf16 in
// bf16 mode. Nothing here allocates or synchronises, so the whole pass can be captured in a graph.
//
// Dimension legend: T packed rows, C hidden, H query heads, Hkv key/value heads, D head size,
// I MLP width, V vocabulary, R scored rows, NT target tokens, n rows of a norm call.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backend/backend.h"  // OptSlot
#include "ops/cuda/attention_layout.h"
#include "ops/cuda/cuda_check.h"
#include "ops/relative_buckets.h"

namespace glam::cuda {

class Gemm;

// x[T,C] (fp32) = table[ids[t], :] (+ pos_table[pos[t], :], GPT-2's learned positions; may be null).
// table (V, C) and pos_table (maxPos, C) of type wt.
void embedding_forward(float* x, const int32_t* ids, const int32_t* pos, const void* table, const void* pos_table,
                       DType wt, int64_t T, int64_t C, cudaStream_t s);

// dtable[V,C] += scatter of dx rows by ids; dpos_table[maxPos,C] += by pos (either may be null).
void embedding_backward(float* dtable, float* dpos_table, const float* dx, const int32_t* ids, const int32_t* pos,
                        int64_t T, int64_t C, cudaStream_t s);

// Fused residual add + RMSNorm over n rows: r = rows ? rows[i] : i;  v = x[r] + (y ? y[r] : 0);
// h[i, :] = v / rms(v) * w (type ht). Without `rows` and with `y`, v is written back to x[r]
// (the residual add); with `rows` (a gather, e.g. the final norm of scored rows) x is left as is.
// x, y (., C) fp32; w (C) fp32; h (n, C).
void rmsnorm_forward(void* h, DType ht, float* x, const float* y, const int32_t* rows, const float* w, int64_t n,
                     int64_t C, float eps, cudaStream_t s);
// The same with LayerNorm (GPT-2): h = (v - mean) / std * w + b.
void layernorm_forward(void* h, DType ht, float* x, const float* y, const int32_t* rows, const float* w,
                       const float* b, int64_t n, int64_t C, float eps, cudaStream_t s);
// Backwards of the norm alone (the residual add's gradient is the identity, handled by the caller):
// x (., C) the norm's saved input v; dh (n, C); dx[r] += for r = rows ? rows[i] : i (rows distinct);
// dw, db (C) += (null: frozen).
void rmsnorm_backward(float* dx, float* dw, const float* dh, const float* x, const int32_t* rows, const float* w,
                      int64_t n, int64_t C, float eps, cudaStream_t s);
void layernorm_backward(float* dx, float* dw, float* db, const float* dh, const float* x, const int32_t* rows,
                        const float* w, int64_t n, int64_t C, float eps, cudaStream_t s);

// RoPE, Hugging Face's rotate_half layout ((d, d + D/2) pairs), in place on T rows of `stride`
// floats, each holding nheads * D values from its start (q heads then k heads). pos (T), inv_freq (D/2).
void rope_forward(float* x, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                  const float* inv_freq, cudaStream_t s);
// The inverse rotation, in place on the gradients of the rotated heads.
void rope_backward(float* dx, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                   const float* inv_freq, cudaStream_t s);

// act[T,I] (type at) = silu(gu[t, 0:I]) * gu[t, I:2I]; gu (T, 2I) fp32.
void swiglu_forward(void* act, DType at, const float* gu, int64_t T, int64_t I, cudaStream_t s);
// act[n] (type at) = gelu(u[n]); tanh_form: GPT-2's gelu_new, else the exact erf form. u fp32.
void gelu_forward(void* act, DType at, const float* u, int64_t n, bool tanh_form, cudaStream_t s);
// dgu[T,2I] = d act / d gu . dact;  du[n] = gelu'(u) dact (all fp32; gu, u the saved pre-activations).
void swiglu_backward(float* dgu, const float* dact, const float* gu, int64_t T, int64_t I, cudaStream_t s);
void gelu_backward(float* du, const float* dact, const float* u, int64_t n, bool tanh_form, cudaStream_t s);
// T5: act[n] (type at) = max(u[n], 0); act[T,I] = gelu_tanh(u[t, 0:I]) * u[t, I:2I] with u (T, 2I) fp32.
void relu_forward(void* act, DType at, const float* u, int64_t n, cudaStream_t s);
void geglu_tanh_forward(void* act, DType at, const float* u, int64_t T, int64_t I, cudaStream_t s);
// du[n] = (u > 0) dact; du[T,2I] = d act / d u . dact (fp32, written).
void relu_backward(float* du, const float* dact, const float* u, int64_t n, cudaStream_t s);
void geglu_tanh_backward(float* du, const float* dact, const float* u, int64_t T, int64_t I, cudaStream_t s);

// Shared-prefix attention (flash-style online softmax in fp32), see attention_layout.h, with the
// encoder-decoder variants of backend.h's AttentionSpec: bidirectional prefixes (the planner gives
// every prefix row nprompt = P), a score scale, an additive relative position bias by bucket, and
// cross attention (q and k|v in two buffers). One call's layout and work lists:
struct AttnCall {
  const float* q = nullptr;    // query head h of row r at q + r qstride + qoff + h D (self: q|k|v rows)
  int64_t qstride = 0, qoff = 0;
  const float* kv = nullptr;   // cross: k|v rows, kv head g at kv + j kvstride + koff|voff + g D (null: self, from q)
  int64_t kvstride = 0, koff = 0, voff = 0;
  const int32_t* pos = nullptr;  // (T) query positions (self attention: keys' too)
  const float* bias = nullptr;   // (NB, H) or null; buckets by `cuts`
  RelBucketCuts cuts;
  int64_t window = 0;            // > 0: key visible only if pos_q - pos_k < window (self only)
  float scale = 0.0f;            // the score scale (never 0 here: the backend resolves 1/sqrt(D))
  int64_t H = 0, Hkv = 0, D = 0;
  const AttnTile* tiles = nullptr;  // (ntiles) over rows; a tile's prompt_start is a row of the KEY stream
  int64_t ntiles = 0;
  const AttnRow* rows = nullptr;    // (T) query rows
  const AttnKvTile* kv_tiles = nullptr;  // (nkv) backward only
  int64_t nkv = 0;
  int rows_per_tile = 0;
  int64_t T = 0, Tkv = 0;  // query rows and key rows (Tkv: cross only) the backward zeroes
};
// The layout of self attention over qkv (T, (H + 2 Hkv) D) fp32 (RoPE applied).
inline AttnCall self_attn_call(const float* qkv, int64_t H, int64_t Hkv, int64_t D) {
  AttnCall c;
  c.q = qkv;
  c.qstride = (H + 2 * Hkv) * D;
  c.koff = H * D;
  c.voff = (H + Hkv) * D;
  c.H = H;
  c.Hkv = Hkv;
  c.D = D;
  return c;
}
// out (T, H D) of type ot; lse (T, H) fp32 or null.
void attention_forward(void* out, DType ot, float* lse, const AttnCall& c, cudaStream_t s);
// Its backward from dout (T, H D) fp32, the saved output `out` (type ot) and lse, recomputing the
// probabilities: dq (T, qstride) WRITTEN (zeroed here first; self attention: dq is dqkv and receives
// dK/dV too); cross: dkv (Tkv, kvstride) WRITTEN (zeroed first); dbias (NB, H) += (null: frozen);
// Di (T, H) fp32 scratch. dbias needs NB <= kMaxRelBuckets (shared memory per CTA).
void attention_backward(float* dq, float* dkv, float* dbias, float* Di, const float* dout, const void* out, DType ot,
                        const float* lse, const AttnCall& c, cudaStream_t s);

// The fused LM head over vocabulary tiles of Vt columns: for each tile, logits (R, Vt) = h E_tile^T
// (cuBLASLt, fp32 out, into `tile`), then each row's running max and sum of exp (fp32) are updated
// and the targets inside the tile are picked out. Writes only lse (R) and target_logit (NT): never
// an R x V buffer. h (R, C) and E (V, C) of type dt; target_row, target_id (NT);
// tile (R, Vt) fp32 scratch; run_max, run_sum (R) fp32 scratch.
void lm_head_lse_forward(float* lse, float* target_logit, const void* h, const void* E, DType dt, int64_t R, int64_t V,
                         int64_t C, const int32_t* target_row, const int32_t* target_id, int64_t NT, float* tile,
                         int64_t Vt, float* run_max, float* run_sum, Gemm& gemm, cudaStream_t s);

// Its backward, recomputing each logit tile from the saved lse: dh (R, C) fp32 WRITTEN; dE (V, C)
// fp32 += (null: the head is frozen, its GEMM skipped). G (R) = per-row sum of the targets' d logprob;
// row_off (R+1), row_tid / row_tg (NT): each row's target ids and d logprob (CSR); tile (R, Vt) fp32
// and gtile (R, Vt) of type dt scratch.
void lm_head_lse_backward(float* dh, float* dE, const void* h, const void* E, DType dt, int64_t R, int64_t V, int64_t C,
                          const float* lse, const float* G, const int32_t* row_off, const int32_t* row_tid,
                          const float* row_tg, float* tile, void* gtile, int64_t Vt, Gemm& gemm, cudaStream_t s);

// The value head's hidden-layer activation, in place: y[n] = sigmoid(y[n]) (bias already added by
// the GEMM's epilogue).
void sigmoid_forward(float* y, int64_t n, cudaStream_t s);
// GLAM's value MLP in fp32: out[B] = W_L(... sigmoid(W_1 h + b_1) ...) + b_L; sigmoid after every
// layer but the last. sizes (nlayers + 1): C, hidden..., 1; W[i] (sizes[i+1], sizes[i]); b[i]
// (sizes[i+1]); h (B, C); acts[i] (B, sizes[i+1]) receives hidden layer i's output (layer i+1's
// input), nlayers - 1 of them: distinct to keep them for the backward, else two alternating buffers.
void value_head_forward(float* out, const float* h, int nlayers, const int64_t* sizes, const float* const* W,
                        const float* const* b, float* const* acts, int64_t B, Gemm& gemm, cudaStream_t s);
// Its backward: dh (B, C) WRITTEN; dW[i], db[i] +=; dv (B); acts[i] (B, sizes[i]) layer i's saved
// input (acts[0] = h; acts[i > 0] the previous layer's sigmoid output); scratch as for the forward.
void value_head_backward(float* dh, float* const* dW, float* const* db, const float* dv, int nlayers,
                         const int64_t* sizes, const float* const* W, const float* const* acts, float* scratch_a,
                         float* scratch_b, int64_t B, Gemm& gemm, cudaStream_t s);

// db[N] += sum_t dy[t, 0:N] (row stride ldy); db null: nothing.
void bias_backward(float* db, const float* dy, int64_t ldy, int64_t T, int64_t N, cudaStream_t s);

// out[rows, cols] (type ot, dense) = scale * in[rows, cols] (fp32, row stride ld_in).
void cast_rows(void* out, DType ot, const float* in, int64_t rows, int64_t cols, int64_t ld_in, float scale,
               cudaStream_t s);
// out[n] fp32 = in[n] bf16.
void widen_bf16(float* out, const void* in, int64_t n, cudaStream_t s);

// The optimizer (adamw.cu). One slot (backend/backend.h's OptSlot) per trainable tensor: fp32 master
// w, gradient g, moments m, v, and the bf16 compute copy the forward reads (null when it reads w).
struct AdamWArgs {
  float decay, b1, b2, step_size;  // decay = 1 - lr wd; step_size = lr / (1 - b1^t)
  double bc2_sqrt, eps;            // sqrt(1 - b2^t)
};
constexpr unsigned kAdamChunks = 64;  // CTAs per slot (partials per slot of the norm)
// norm_clip[0] = global L2 norm of every slot's gradient, norm_clip[1] = its clip factor (1 without
// clipping); partial holds nslots * kAdamChunks doubles. Slots live in device memory.
void grad_norm(double* norm_clip, double* partial, const OptSlot* slots, int64_t nslots, double max_norm,
               cudaStream_t s);
// One AdamW step over every slot, gradients scaled by norm_clip[1].
void adamw_step(const OptSlot* slots, int64_t nslots, const double* norm_clip, const AdamWArgs& a, cudaStream_t s);

}  // namespace glam::cuda
