// DeviceWeights: a model's parameters on the GPU, uploaded once at load from the fp32 host Weights
// (native/model/weights.h: q|k|v and gate|up already fused, GPT-2's Conv1D already transposed).
// Matrices (embeddings, projections, LM head) are stored in the compute type (bf16 copies in bf16
// mode, fp32 in fp32 mode); norm weights, biases and RoPE frequencies stay fp32.
// Legend: V vocab, C hidden, Q = (H + 2 Hkv) D, HD = H D, I MLP width, U = 2I | I, L layers.
// Subtle: fp32 -> bf16 is round-to-nearest-even on the host (what torch's .to(bfloat16) does), so
// bf16 mode uses the same weights as a bf16 Hugging Face model.
#pragma once
#include <cstdint>
#include <vector>

#include "cuda/device_buffer.h"
#include "model/weights.h"

namespace glam::cuda {

struct DeviceLayer {
  DeviceBuffer norm1_w, norm1_b;  // (C), (C) gpt2 only; fp32
  DeviceBuffer wqkv, bqkv;        // (Q, C) dt, (Q) fp32 when biased
  DeviceBuffer wo, bo;            // (C, HD) dt, (C)
  DeviceBuffer norm2_w, norm2_b;  // (C)
  DeviceBuffer wup, bup;          // (U, C) dt, (U)
  DeviceBuffer wdown, bdown;      // (C, I) dt, (C)
};

struct DeviceWeights {
  DType dt = DType::BF16;
  DeviceBuffer embed;       // (V, C) dt
  DeviceBuffer pos_embed;   // (maxPos, C) dt, gpt2 only
  std::vector<DeviceLayer> layers;
  DeviceBuffer final_w, final_b;  // (C)
  DeviceBuffer lm_head;     // (V, C) dt; empty when tied to embed
  DeviceBuffer inv_freq;    // (D/2) fp32, llama family
  size_t bytes = 0;

  const void* head() const { return lm_head.get() ? lm_head.get() : embed.get(); }
};

DeviceWeights upload_weights(const Weights& w, DType dt);

// fp32 -> bf16 bits, round to nearest even (NaN stays NaN).
uint16_t bf16_bits(float f);
float bf16_value(uint16_t bits);

}  // namespace glam::cuda
