// DeviceWeights: a model's parameters on the GPU, uploaded once at load from the fp32 host Weights
// (native/model/weights.h: q|k|v and gate|up already fused, GPT-2's Conv1D already transposed), in
// THE parameter order (param_list's base part) so the one view builder (model/param_table.h) and the
// TrainState (model/train_state.h) read them like the CPU engine's.
// Matrices (embeddings, projections, LM head: param_is_matrix) are stored in the compute type (bf16
// copies in bf16 mode, fp32 in fp32 mode); norm weights, biases and RoPE frequencies stay fp32.
// Legend: k a param_list index.
// Subtle: fp32 -> bf16 is round-to-nearest-even on the host (what torch's .to(bfloat16) does), so
// bf16 mode uses the same weights as a bf16 Hugging Face model. Each host tensor is freed as soon as
// it is uploaded: the engine keeps no host copy of the model (exports read the device).
#pragma once
#include <cstdint>
#include <vector>

#include "cuda/device_buffer.h"
#include "model/param_table.h"
#include "model/weights.h"

namespace glam::cuda {

struct DeviceWeights {
  DType dt = DType::BF16;
  std::vector<DeviceBuffer> t;  // param_list's base tensors, in order (empty ones unallocated)
  DeviceBuffer inv_freq;        // (D/2) fp32, RoPE families
  Weights meta;                 // the structure (layers; no tensor data)
  size_t bytes = 0;

  ParamTable table() const;  // points at t (valid while this object lives and is not moved)
};

// Uploads w's tensors in the compute type dt (matrices) or fp32, freeing each host tensor after it.
DeviceWeights upload_weights(Weights&& w, DType dt);

// One host tensor on the device in type dt (fp32, or bf16 rounded to nearest even); empty: nothing
// allocated. total += its bytes. (The T5 engine's upload too: cuda/cuda_t5_engine.cpp.)
DeviceBuffer upload_tensor(const std::vector<float>& v, DType dt, size_t& total);

// fp32 -> bf16 bits, round to nearest even (NaN stays NaN).
uint16_t bf16_bits(float f);
float bf16_value(uint16_t bits);

}  // namespace glam::cuda
