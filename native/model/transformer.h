// Transformer: a decoder-only model (Llama family or GPT-2) as a sequence of ops over packed rows,
// forward and backward. It knows nothing about prompts or candidates beyond the attention groups it
// is handed; the scoring passes (scorer.h) build those.
// Subtle: a training forward keeps, per layer, only what is expensive to recompute (the layer input,
// the mid-layer residual, q|k|v after RoPE, the attention output and its per-head log-sum-exp, and the
// MLP pre-activation); the norms and activation functions are recomputed in backward. Inference keeps
// a workspace between calls and grows it to the largest batch, so repeated scoring allocates nothing.
// Legend: T packed rows, C hidden, H heads, Hkv kv heads, D head size, I MLP width, U = 2I (llama) | I.
#pragma once
#include <cstdint>
#include <vector>

#include "model/model_config.h"
#include "model/weights.h"
#include "ops/cpu/cpu_ops.h"
#include "runtime/thread_pool.h"

namespace glam {

struct LayerCache {
  std::vector<float> x_in, x_mid;  // (T, C)
  std::vector<float> qkv;          // (T, (H+2Hkv)D), RoPE applied
  std::vector<float> att;          // (T, HD)
  std::vector<float> lse;          // (T, H)
  std::vector<float> up;           // (T, U) before the activation
  std::vector<std::vector<float>> t_qkv, t_o, t_up, t_down;  // LoRA: each adapter's s X A^T, (r, T)
};

struct ForwardCache {
  std::vector<int32_t> ids, pos;   // (T)
  std::vector<cpu::AttentionGroup> groups;
  std::vector<LayerCache> layers;  // (L)
  int64_t T = 0;
  size_t bytes() const;
};

class Transformer {
 public:
  Transformer(ModelConfig cfg, Weights w, int threads) : cfg_(std::move(cfg)), w_(std::move(w)), pool_(threads) {}

  const ModelConfig& config() const { return cfg_; }
  const Weights& weights() const { return w_; }
  Weights& mutable_weights() { return w_; }
  ThreadPool& pool() { return pool_; }

  // x[T,C] <- the residual stream after the last block (before the final norm). With a cache, also
  // records what backward needs (cache->ids/pos/groups must already be filled).
  // reference: the plain per-row attention (the naive scoring path, an oracle for the blocked one).
  void forward(std::vector<float>& x, const int32_t* ids, const int32_t* pos, int64_t T,
               const std::vector<cpu::AttentionGroup>& groups, ForwardCache* cache = nullptr, bool reference = false);
  // out[R,C] <- final_norm(x[rows[r], :])
  void final_norm_rows(float* out, const float* x, const std::vector<int64_t>& rows);
  // dx[T,C] += final_norm backward for the gathered rows, given dout[R,C]; final-norm grads into g.
  void final_norm_rows_backward(float* dx, Weights& g, const float* dout, const float* x, const std::vector<int64_t>& rows);
  // Backward through every block and the embeddings, from dx[T,C] (the gradient of the stream after
  // the last block; consumed). Parameter gradients accumulate into g (empty vectors: frozen).
  void backward(std::vector<float>& dx, const ForwardCache& cache, Weights& g);

 private:
  void block(int64_t l, std::vector<float>& x, const int32_t* pos, int64_t T,
             const std::vector<cpu::AttentionGroup>& groups, LayerCache* lc, bool reference);
  void block_backward(int64_t l, std::vector<float>& dx, const ForwardCache& cache, Weights& g);
  void norm(int which, const LayerWeights& lw, float* out, const float* x, int64_t T);

  ModelConfig cfg_;
  Weights w_;
  ThreadPool pool_;
  std::vector<float> h_, qkv_, att_, up_, act_;  // workspace: (T,C), (T,(H+2Hkv)D), (T,HD), (T,U), (T,I)
  std::vector<float> bw_h_, bw_dh_, bw_act_, bw_dact_, bw_dup_, bw_datt_, bw_dqkv_;  // backward scratch
};

}  // namespace glam
