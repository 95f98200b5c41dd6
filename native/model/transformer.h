// Transformer: a loaded decoder-only model on the CPU — its fp32 host weights (model/weights.h), the
// CPU backend (ops/cpu/cpu_backend.h, which owns the thread pool), and the shared model code that
// runs over it: the decoder blocks (model/decoder.h) and the heads after them (model/heads.h). The
// CUDA engine (cuda/cuda_engine.h) pairs the same Decoder and Heads with the CUDA backend.
// Subtle: table() is built on every call (cheap: pointers), so weights replaced in place are seen;
// the weights' vectors are never reallocated after load (imports copy into them), so a TrainState's
// table of them stays valid.
#pragma once
#include <cstdint>
#include <vector>

#include "model/decoder.h"
#include "model/heads.h"
#include "model/model_config.h"
#include "model/param_table.h"
#include "model/weights.h"
#include "ops/cpu/cpu_backend.h"
#include "runtime/thread_pool.h"

namespace glam {

class Transformer {
 public:
  Transformer(ModelConfig cfg, Weights w, int threads)
      : cfg_(std::move(cfg)), w_(std::move(w)), be_(threads), dec_(cfg_, be_), heads_(cfg_, be_, family_spec(cfg_.family).norm) {}

  const ModelConfig& config() const { return cfg_; }
  Weights& weights() { return w_; }
  ThreadPool& pool() { return be_.pool(); }
  Backend& backend() { return be_; }
  Decoder& decoder() { return dec_; }
  Heads& heads() { return heads_; }
  // The weights as a parameter table (host memory is the CPU backend's memory).
  ParamTable table() { return host_table(w_); }

 private:
  ModelConfig cfg_;
  Weights w_;
  cpu::CpuBackend be_;
  Decoder dec_;
  Heads heads_;
};

}  // namespace glam
