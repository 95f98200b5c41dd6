// The CPU backend's elementwise, normalisation, attention and head ops (GEMM lives in gemm.h).
// defines: embedding_forward/backward, rmsnorm_forward/backward, layernorm_forward/backward,
//          rope_forward/backward, swiglu_forward/backward, gelu_tanh_forward/backward,
//          gelu_erf_forward/backward, relu_forward/backward, geglu_tanh_forward/backward,
//          sigmoid_forward, attention_forward/backward, attention_ext_forward/backward,
//          lm_head_lse_forward/backward, lm_head_logprob_reference, bias_backward,
//          value_head_forward/backward (value_head.cpp), adamw_step (adamw.cpp).
// Each op's backward is written beside its forward in the op's own file. Backward ops ACCUMULATE
// into parameter gradients (+=: microbatches add up) and WRITE input gradients unless they say +=.
// Parameter-gradient reductions over rows use fixed 64-row chunks summed in order, so gradients do
// not depend on the thread count either.
//
// Dimension legend: T packed rows (tokens of the batch), C hidden, H query heads, Hkv key/value
// heads, D head size, I MLP width, V vocabulary, R scored rows, B prompts, N candidates (all prompts).
// Subtle: every op is row-parallel over the pool and computes each output element on one thread in
// a fixed order, so results do not depend on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "runtime/thread_pool.h"

namespace glam::cpu {

// out[T,C] = table[ids[t], :] (+ pos_table[pos[t], :] when pos_table is given, GPT-2's learned positions)
void embedding_forward(float* out, const int32_t* ids, const int32_t* pos, int64_t T, const float* table,
                       const float* pos_table, int64_t C, ThreadPool& pool);
// dtable[V,C] += scatter of dout rows by ids (and dpos_table by pos); either may be null (frozen).
// Threads own disjoint id ranges, and rows are added in row order: deterministic.
void embedding_backward(float* dtable, int64_t V, float* dpos_table, int64_t maxPos, const float* dout,
                        const int32_t* ids, const int32_t* pos, int64_t T, int64_t C, ThreadPool& pool);

// out[T,C] = x / rms(x) * w          (Llama family: no bias, eps inside the sqrt)
void rmsnorm_forward(float* out, const float* x, const float* w, int64_t T, int64_t C, float eps, ThreadPool& pool);
// dx[T,C] += d(out)/dx . dout; dw[C] += sum_t dout * x / rms(x) (dw may be null: frozen)
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w, int64_t T, int64_t C,
                      float eps, ThreadPool& pool);
// out[T,C] = (x - mean) / std * w + b (GPT-2)
void layernorm_forward(float* out, const float* x, const float* w, const float* b, int64_t T, int64_t C, float eps,
                       ThreadPool& pool);
// dx[T,C] += ...; dw[C], db[C] += ... (null: frozen)
void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w, int64_t T,
                        int64_t C, float eps, ThreadPool& pool);

// db[N] += sum_t dy[t, 0:N] (row stride ldy)
void bias_backward(float* db, const float* dy, int64_t ldy, int64_t T, int64_t N, ThreadPool& pool);

// RoPE in Hugging Face's rotate_half convention: dims (d, d + D/2) rotate together.
// x: T rows of `stride` floats, each holding nheads*D rotated values from its start; in place.
// inv_freq[D/2]; pos[T].
void rope_forward(float* x, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                  const float* inv_freq, ThreadPool& pool);
// The inverse rotation applied to gradients, in place (RoPE is orthogonal).
void rope_backward(float* dx, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                   const float* inv_freq, ThreadPool& pool);

// act[T,I] = silu(gu[T, 0:I]) * gu[T, I:2I]   (gate and up projections fused into one GEMM)
void swiglu_forward(float* act, const float* gu, int64_t T, int64_t I, ThreadPool& pool);
// dgu[T,2I] = d act / d gu . dact
void swiglu_backward(float* dgu, const float* dact, const float* gu, int64_t T, int64_t I, ThreadPool& pool);
// x[T,I] = gelu_tanh(x) in place (GPT-2's gelu_new)
void gelu_tanh_forward(float* x, int64_t n, ThreadPool& pool);
// dx[n] = gelu_tanh'(x) * dy (x: the pre-activation)
void gelu_tanh_backward(float* dx, const float* dy, const float* x, int64_t n, ThreadPool& pool);
// x[n] = gelu(x) in place with the exact erf form (GPT-2 configs that say "gelu")
void gelu_erf_forward(float* x, int64_t n, ThreadPool& pool);
void gelu_erf_backward(float* dx, const float* dy, const float* x, int64_t n, ThreadPool& pool);
// x[n] = max(x, 0) in place (T5 v1.0); dx = dy where x > 0
void relu_forward(float* x, int64_t n, ThreadPool& pool);
void relu_backward(float* dx, const float* dy, const float* x, int64_t n, ThreadPool& pool);
// act[T,I] = gelu_tanh(u[T, 0:I]) * u[T, I:2I] (T5 v1.1's gated-gelu); du[T,2I] written
void geglu_tanh_forward(float* act, const float* u, int64_t T, int64_t I, ThreadPool& pool);
void geglu_tanh_backward(float* du, const float* dact, const float* u, int64_t T, int64_t I, ThreadPool& pool);
// x = sigmoid(x) in place (the value head)
void sigmoid_forward(float* x, int64_t n);

// The attention groups (backend/backend.h): a prompt and its candidates, or one naive sequence.
using glam::AttentionGroup;
// qkv[T, (H + 2 Hkv) D] holds q | k | v per row (RoPE already applied); out[T, H D].
// window > 0: sliding-window attention (key j visible from query i only if pos_i - pos_j < window).
// lse (optional, [T, H]): each row's softmax log-sum-exp per head, saved for the backward.
// attention_forward/backward (attention_blocked.cpp) run the prompt block and the candidates' prompt
// part as matrix products per (group, head); the *_reference versions (attention.cpp) go row by row.
void attention_forward_reference(float* out, const float* qkv, const int32_t* pos, const std::vector<AttentionGroup>& groups,
                                 int64_t H, int64_t Hkv, int64_t D, int64_t window, ThreadPool& pool, float* lse = nullptr);
void attention_backward_reference(float* dqkv, const float* dout, const float* out, const float* qkv, const float* lse,
                                  const int32_t* pos, const std::vector<AttentionGroup>& groups, int64_t H, int64_t Hkv,
                                  int64_t D, int64_t window, ThreadPool& pool);
void attention_forward(float* out, const float* qkv, const int32_t* pos, const std::vector<AttentionGroup>& groups,
                       int64_t H, int64_t Hkv, int64_t D, int64_t window, ThreadPool& pool, float* lse = nullptr);
// dqkv[T, (H+2Hkv)D] = gradient w.r.t. q|k|v from dout[T, HD], recomputing the probabilities from
// the saved lse. The prompt's dK/dV gather contributions from the prompt's rows AND every
// candidate's rows. Tasks are (group, kv head) so no two threads write the same dK/dV row.
void attention_backward(float* dqkv, const float* dout, const float* out, const float* qkv, const float* lse,
                        const int32_t* pos, const std::vector<AttentionGroup>& groups, int64_t H, int64_t Hkv,
                        int64_t D, int64_t window, ThreadPool& pool);

// The encoder-decoder variants of AttentionSpec (attention_ext.cpp): bidirectional prefixes, a
// score scale, a relative position bias by bucket, cross attention to spec.kv over spec.kv_rows.
// Self: qkv[T, (H+2Hkv)D]; cross: qkv = q[T, HD] and spec.kv[Tkv, 2 Hkv D]. out[T, HD], lse[T, H].
void attention_ext_forward(float* out, float* lse, const float* qkv, const int32_t* pos,
                           const std::vector<AttentionGroup>& groups, int64_t H, int64_t Hkv, int64_t D,
                           const AttentionSpec& spec, bool blocked, ThreadPool& pool);
// blocked: groups whose query rows all see the same keys run as matrix products (attention_ext_blocked.cpp)
// dqkv written (self: q|k|v; cross: q, with dK|dV written into spec.dkv); spec.dbias +=.
void attention_ext_backward(float* dqkv, const float* dout, const float* out, const float* qkv, const float* lse,
                            const int32_t* pos, const std::vector<AttentionGroup>& groups, int64_t H, int64_t Hkv,
                            int64_t D, const AttentionSpec& spec, bool blocked, ThreadPool& pool);

// The fused LM head: for each scored row r, logits = h[r] · E^T over vocabulary tiles with a running
// max and sum of exp; writes lse[R] and, for each target t with target_row[t] = r, target_logit[t].
// Never holds more than one [R, tile] block of logits per thread.
// h[R,C]; E[V,C]; target_row[NT], target_id[NT] -> target_logit[NT]
void lm_head_lse_forward(float* lse, float* target_logit, const float* h, int64_t R, const float* E, int64_t V,
                         int64_t C, const int32_t* target_row, const int32_t* target_id, int64_t NT,
                         ThreadPool& pool);
// Backward of the fused head: given dlogprob[NT] for targets (logprob = target_logit - lse[row]),
// recomputes each [Rc, Vt] logit tile, forms dlogits = sum_t g_t (onehot(target_t) - softmax) in the
// tile, and accumulates dh[R,C] (written, not +=) and, when dE is not null, dE[V,C] +=.
void lm_head_lse_backward(float* dh, float* dE, const float* dlogprob, const float* h, int64_t R, const float* E,
                          int64_t V, int64_t C, const float* lse, const int32_t* target_row, const int32_t* target_id,
                          int64_t NT, ThreadPool& pool);
// Reference for the above and the naive path: materialises each row's logits [V] and takes a plain
// log_softmax in double. logprob[NT] = log_softmax(h[target_row[t]] · E^T)[target_id[t]].
void lm_head_logprob_reference(double* logprob, const float* h, const float* E, int64_t V, int64_t C,
                               const int32_t* target_row, const int32_t* target_id, int64_t NT, ThreadPool& pool);

// The value head (backend.h's ValueHeadParams): out[B] = head(h[B, sizes[0]]); acts (or null) keep
// layer i >= 1's input (B, sizes[i]) in acts[i-1].
void value_head_forward(float* out, const float* h, int64_t B, const ValueHeadParams& p, float* const* acts,
                        ThreadPool& pool);
// dh[B, sizes[0]] written; p.dW, p.db += (null: skipped) from dv[B].
void value_head_backward(float* dh, const float* dv, const float* h, const float* const* acts, int64_t B,
                         const ValueHeadParams& p, ThreadPool& pool);

// Clipped AdamW over every slot at step t (backend.h's adamw_step); returns the norm before clipping.
double adamw_step(const std::vector<OptSlot>& slots, const AdamWOptions& o, int64_t t, ThreadPool& pool);

}  // namespace glam::cpu
