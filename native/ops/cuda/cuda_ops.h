// The CUDA backend's kernels: host launchers, one concept per file, forward now (part 1) with each
// backward to sit beside its forward (part 2).
// defines: embedding_forward (embedding.cu), rmsnorm_forward (rmsnorm.cu), layernorm_forward
//          (layernorm.cu), rope_forward (rope.cu), swiglu_forward, gelu_forward (activation.cu),
//          attention_forward (attention.cu), lm_head_lse_forward (lm_head.cu),
//          bias_sigmoid_forward (value_head.cu). GEMMs: gemm.h (cuBLASLt).
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

#include "ops/cuda/attention_layout.h"
#include "ops/cuda/cuda_check.h"

namespace glam::cuda {

class Gemm;

// x[T,C] (fp32) = table[ids[t], :] (+ pos_table[pos[t], :], GPT-2's learned positions; may be null).
// table (V, C) and pos_table (maxPos, C) of type wt.
void embedding_forward(float* x, const int32_t* ids, const int32_t* pos, const void* table, const void* pos_table,
                       DType wt, int64_t T, int64_t C, cudaStream_t s);

// Fused residual add + RMSNorm over n rows: r = rows ? rows[i] : i;  v = x[r] + (y ? y[r] : 0);
// h[i, :] = v / rms(v) * w (type ht). Without `rows` and with `y`, v is written back to x[r]
// (the residual add); with `rows` (a gather, e.g. the final norm of scored rows) x is left as is.
// x, y (., C) fp32; w (C) fp32; h (n, C).
void rmsnorm_forward(void* h, DType ht, float* x, const float* y, const int32_t* rows, const float* w, int64_t n,
                     int64_t C, float eps, cudaStream_t s);
// The same with LayerNorm (GPT-2): h = (v - mean) / std * w + b.
void layernorm_forward(void* h, DType ht, float* x, const float* y, const int32_t* rows, const float* w,
                       const float* b, int64_t n, int64_t C, float eps, cudaStream_t s);

// RoPE, Hugging Face's rotate_half layout ((d, d + D/2) pairs), in place on T rows of `stride`
// floats, each holding nheads * D values from its start (q heads then k heads). pos (T), inv_freq (D/2).
void rope_forward(float* x, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                  const float* inv_freq, cudaStream_t s);

// act[T,I] (type at) = silu(gu[t, 0:I]) * gu[t, I:2I]; gu (T, 2I) fp32.
void swiglu_forward(void* act, DType at, const float* gu, int64_t T, int64_t I, cudaStream_t s);
// act[n] (type at) = gelu(u[n]); tanh_form: GPT-2's gelu_new, else the exact erf form. u fp32.
void gelu_forward(void* act, DType at, const float* u, int64_t n, bool tanh_form, cudaStream_t s);

// Shared-prefix attention (flash-style online softmax in fp32), see attention_layout.h.
// qkv (T, (H + 2 Hkv) D) fp32 with RoPE applied; out (T, H D) of type ot; pos (T);
// tiles (ntiles) and rows (device arrays from the batch plan); lse (T, H) fp32 or null.
// window > 0: key j visible from query i only if pos_i - pos_j < window.
void attention_forward(void* out, DType ot, float* lse, const float* qkv, const int32_t* pos, const AttnTile* tiles,
                       int64_t ntiles, const AttnRow* rows, int64_t H, int64_t Hkv, int64_t D, int64_t window,
                       int rows_per_tile, cudaStream_t s);

// The fused LM head over vocabulary tiles of Vt columns: for each tile, logits (R, Vt) = h E_tile^T
// (cuBLASLt, fp32 out, into `tile`), then each row's running max and sum of exp (fp32) are updated
// and the targets inside the tile are picked out. Writes only lse (R) and target_logit (NT): never
// an R x V buffer. h (R, C) and E (V, C) of type dt; target_row, target_id (NT);
// tile (R, Vt) fp32 scratch; run_max, run_sum (R) fp32 scratch.
void lm_head_lse_forward(float* lse, float* target_logit, const void* h, const void* E, DType dt, int64_t R, int64_t V,
                         int64_t C, const int32_t* target_row, const int32_t* target_id, int64_t NT, float* tile,
                         int64_t Vt, float* run_max, float* run_sum, Gemm& gemm, cudaStream_t s);

// The value head's hidden-layer activation, in place: y[n] = sigmoid(y[n]) (bias already added by
// the GEMM's epilogue).
void sigmoid_forward(float* y, int64_t n, cudaStream_t s);
// GLAM's value MLP in fp32: out[B] = W_L(... sigmoid(W_1 h + b_1) ...) + b_L; sigmoid after every
// layer but the last. sizes (nlayers + 1): C, hidden..., 1; W[i] (sizes[i+1], sizes[i]); b[i]
// (sizes[i+1]); h (B, C); scratch_a, scratch_b (B, max hidden) each.
void value_head_forward(float* out, const float* h, int nlayers, const int64_t* sizes, const float* const* W,
                        const float* const* b, float* scratch_a, float* scratch_b, int64_t B, Gemm& gemm,
                        cudaStream_t s);

}  // namespace glam::cuda
