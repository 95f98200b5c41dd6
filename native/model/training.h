// TrainState: everything training adds to a loaded model: the trainable set (model/trainable_set.h: full fine-tuning or
// LoRA adapters, optionally frozen embeddings / LM head; the value head always trains), gradient
// buffers that accumulate over microbatches, and AdamW (PyTorch's semantics: decoupled weight decay,
// bias-corrected moments, eps outside the square root) after clipping by the global norm.
// Subtle: frozen parameters get EMPTY gradient and moment vectors, so they hold no memory and their
// dW GEMMs are skipped; every reduction runs over fixed-size chunks summed in order, so a step is
// bit-identical for the same state whatever the thread count (resume after save/load relies on it).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/engine.h"  // AdamWOptions
#include "model/trainable_set.h"
#include "model/transformer.h"
#include "model/value_head.h"

namespace glam {

class TrainState {
 public:
  // Adds LoRA adapters to the model's weights when opts.lora, and allocates gradient buffers.
  TrainState(Transformer& model, const ValueHead& head, TrainOptions opts);

  const TrainOptions& options() const { return opts_; }
  Weights grads;       // same structure as the model's weights; empty vectors = frozen
  ValueHead vgrads;    // same shapes as the value head
  Weights m, v;        // AdamW moments (allocated at the first step)
  ValueHead vm, vv;
  int64_t step = 0;

  void zero_grad();
  // Clips (when max_grad_norm > 0), applies one AdamW step; returns the global norm before clipping.
  double adamw_step(Transformer& model, ValueHead& head, const AdamWOptions& o);
  // Bytes held by gradients and moments.
  size_t bytes() const;
  int64_t trainable_params() const;
  // Data parallel: out=true copies every gradient into flat (trainable_params() values, adamw_step's
  // slot order: trainable model tensors in param_list order, then the value head's weight, bias per
  // layer); out=false copies flat back into the gradients.
  void copy_gradients(float* flat, bool out);
  // Re-shapes the value-head buffers after the head was replaced (sizes may change).
  void reset_value_head(const ValueHead& head);
  // Allocates the AdamW moments (zeros) if they do not exist yet.
  void ensure_moments(Transformer& model, const ValueHead& head);

 private:
  TrainOptions opts_;
};

}  // namespace glam
