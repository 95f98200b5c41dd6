// Transformer: a decoder-only model (Llama family or GPT-2) as a sequence of ops over packed rows.
// It knows nothing about prompts or candidates beyond the attention groups it is handed; the
// scoring passes (scorer.h) build those. Subtle: the workspace is kept between calls and grows to
// the largest batch seen, so repeated scoring allocates nothing.
// Legend: T packed rows, C hidden, R gathered rows.
#pragma once
#include <cstdint>
#include <vector>

#include "model/model_config.h"
#include "model/weights.h"
#include "ops/cpu/cpu_ops.h"
#include "runtime/thread_pool.h"

namespace glam {

class Transformer {
 public:
  Transformer(ModelConfig cfg, Weights w, int threads) : cfg_(std::move(cfg)), w_(std::move(w)), pool_(threads) {}

  const ModelConfig& config() const { return cfg_; }
  const Weights& weights() const { return w_; }
  ThreadPool& pool() { return pool_; }

  // x[T,C] <- the residual stream after the last block (before the final norm).
  void forward(std::vector<float>& x, const int32_t* ids, const int32_t* pos, int64_t T,
               const std::vector<cpu::AttentionGroup>& groups);
  // out[R,C] <- final_norm(x[rows[r], :])
  void final_norm_rows(float* out, const float* x, const std::vector<int64_t>& rows);

 private:
  void block(int64_t l, std::vector<float>& x, const int32_t* pos, int64_t T,
             const std::vector<cpu::AttentionGroup>& groups);

  ModelConfig cfg_;
  Weights w_;
  ThreadPool pool_;
  std::vector<float> h_, qkv_, att_, up_, act_;  // workspace: (T,C), (T,(H+2Hkv)D), (T,HD), (T,2I), (T,I)
};

}  // namespace glam
