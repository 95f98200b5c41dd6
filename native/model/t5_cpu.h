// T5Cpu: a loaded T5 on the CPU — config, the fp32 host weights, the CPU backend and the T5 runtime
// over it (model/t5_scorer.h) — and its training state. Apart from the shared T5 code so that the
// CUDA addon, which compiles that code too, never sees the CPU backend.
// Subtle: the TrainState's table points into w's host vectors (host memory is the CPU backend's;
// fp32 tensors are their own masters, so the step updates the weights in place): they must never be
// reallocated while training (imports copy into them).
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include "model/t5_scorer.h"
#include "model/t5_training.h"
#include "ops/cpu/cpu_backend.h"

namespace glam {

struct T5Cpu {
  T5Cpu(ModelConfig c, T5Weights weights, int threads)
      : cfg(std::move(c)), w(std::move(weights)), be(threads), rt(cfg, be) {}
  ModelConfig cfg;
  T5Weights w;
  cpu::CpuBackend be;
  T5Runtime rt;
};

// Adds the LoRA adapters opts asks for to model.w (PEFT's init: A ~ U(+-1/sqrt(in)) from opts.seed,
// B = 0) and builds the training state over model.w's tensors in t5_param_list order.
inline std::unique_ptr<TrainState> t5_train_state(T5Cpu& model, const std::vector<int64_t>& head_sizes,
                                                  TrainOptions opts) {
  const std::vector<bool> trainable = t5_trainable(model.cfg, model.w, opts);
  return std::make_unique<TrainState>(model.cfg, model.be, t5_table(model.w), trainable, head_sizes, std::move(opts));
}

}  // namespace glam
