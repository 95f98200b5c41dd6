// Transformer: a loaded decoder-only model on the CPU — its fp32 host weights (model/weights.h), the
// CPU backend (ops/cpu/cpu_backend.h, which owns the thread pool) and the shared model code
// (model/decoder.h) that runs over it. The CUDA engine (cuda/cuda_engine.h) pairs the same Decoder
// with the CUDA backend and device weights.
// Subtle: params() builds the Decoder's views of the weights (and, for a backward, of the gradient
// buffers: empty vectors are frozen and give null pointers) on every call, so LoRA adapters added
// or weights replaced between calls are always seen.
#pragma once
#include <cstdint>
#include <vector>

#include "model/decoder.h"
#include "model/model_config.h"
#include "model/weights.h"
#include "ops/cpu/cpu_backend.h"
#include "runtime/thread_pool.h"

namespace glam {

class Transformer {
 public:
  Transformer(ModelConfig cfg, Weights w, int threads)
      : cfg_(std::move(cfg)), w_(std::move(w)), be_(threads), dec_(cfg_, be_) {}

  const ModelConfig& config() const { return cfg_; }
  const Weights& weights() const { return w_; }
  Weights& mutable_weights() { return w_; }
  ThreadPool& pool() { return be_.pool(); }
  Backend& backend() { return be_; }
  Decoder& decoder() { return dec_; }

  // The weights as the Decoder sees them; with g, their gradients (g has weights' structure).
  DecoderParams params(Weights* g = nullptr);

 private:
  ModelConfig cfg_;
  Weights w_;
  cpu::CpuBackend be_;
  Decoder dec_;
};

}  // namespace glam
