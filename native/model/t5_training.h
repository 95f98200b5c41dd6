// T5TrainState: what training adds to a loaded T5 (model/t5_scorer.h T5Cpu): the trainable set (full
// fine-tuning, or LoRA adapters under PEFT's T5 names q, k, v, o, wi, wi_0, wi_1, wo in both stacks,
// cross attention included), gradient buffers that accumulate over microbatches, and clipped AdamW
// with PyTorch's semantics (as model/training.h for decoder-only models: the same options, the same
// formulas and the same fixed-chunk reductions, so a step does not depend on the thread count).
// Subtle: frozen tensors get EMPTY gradient and moment vectors (no memory; their dW GEMMs are
// skipped); with a tied head, freezing the embeddings or the head freezes `shared`.
// Legend: C d_model, HD = heads x d_kv, I d_ff, r LoRA rank.
#pragma once
#include <cstdint>

#include "model/engine.h"  // AdamWOptions
#include "model/t5_scorer.h"
#include "model/trainable_set.h"  // TrainOptions

namespace glam {

class T5TrainState {
 public:
  // Adds the LoRA adapters opts asks for (PEFT's init: A ~ U(+-1/sqrt(in)) from opts.seed, B = 0)
  // and allocates the gradients.
  T5TrainState(T5Cpu& m, const ValueHead& head, TrainOptions opts);
  const TrainOptions& options() const { return opts_; }

  T5Weights grads, m, v;  // the weights' structure; empty vectors = frozen (m, v: after the first step)
  ValueHead vgrads, vm, vv;
  int64_t step = 0;

  void zero_grad();
  double adamw_step(T5Cpu& model, ValueHead& head, const AdamWOptions& o);  // the norm before clipping
  void ensure_moments(T5Cpu& model, const ValueHead& head);
  void reset_value_head(const ValueHead& head);
  size_t bytes() const;
  int64_t trainable_params() const;

 private:
  TrainOptions opts_;
};

}  // namespace glam
