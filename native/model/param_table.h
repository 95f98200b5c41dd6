// ParamTable: a model's tensors where its backend holds them, in THE parameter order (param_list,
// model/weights.h), and the one view builder that turns a table (and its gradients) into the
// Decoder's params (model/decoder.h). The CPU engine's table points into its host Weights (host
// memory is the CPU backend's memory); the CUDA engine's into its uploaded tensors; a TrainState adds
// the LoRA adapters it holds (model/train_state.h).
// Legend: L layers, k a param_list index, D head size.
// Subtle: matrices are in the backend's compute type, everything else fp32 (param_is_matrix); an
// empty tensor (GPT-2's absent RoPE, an unbiased linear's bias) has w == nullptr and n == 0, which
// the view turns into "absent" (null) as the ops expect.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "model/decoder.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace glam {

struct ParamRef {
  void* w = nullptr;  // backend memory; null when the tensor is empty
  DType dt = DType::F32;
  int64_t n = 0;
};

struct ParamTable {
  std::vector<ParamRef> t;          // param_list order: base tensors, then every adapter's A, B
  const Weights* meta = nullptr;    // the adapters' metadata (module, offsets, rank, scale), param_list order
  const float* inv_freq = nullptr;  // (D/2) RoPE frequencies, backend memory; null without RoPE
  size_t base() const;              // base tensors (the rest are adapters)
  const void* head(bool tie) const { return tie ? t[0].w : t[base() - 1].w; }
};

// The one view builder: the Decoder's views of a table; with grads (param_list order, null entries
// frozen) the gradients too.
DecoderParams decoder_params(const ModelConfig& cfg, const ParamTable& t, const std::vector<float*>* grads = nullptr);

// A host Weights as a table (fp32 everywhere; for the CPU backend). Adapters come with it.
ParamTable host_table(Weights& w);

}  // namespace glam
