// Weights: a model's parameters in fp32, in the layout the CPU ops read, built from Hugging Face's
// tensors (any of F32/F16/BF16). Subtle: q/k/v are concatenated into one [(H+2Hkv)D, C] matrix and
// gate/up into one [2I, C] matrix so each is one GEMM; GPT-2's Conv1D weights ([in, out]) are
// transposed to Linear's [out, in]. Part 2 writes them back under Hugging Face's names.
// Legend: V vocab, C hidden, H heads, Hkv kv heads, D head size, I MLP width, L layers.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/family.h"
#include "model/lora_adapter.h"
#include "model/model_config.h"

namespace glam {

// A tensor as it arrives from a safetensors file (borrowed bytes).
struct RawTensor {
  std::string dtype;  // "F32" | "F16" | "BF16"
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
};

struct LayerWeights {
  std::vector<float> norm1_w, norm1_b;  // (C), (C) gpt2 only
  std::vector<float> wqkv, bqkv;        // ((H+2Hkv)D, C), ((H+2Hkv)D) when biased
  std::vector<float> wo, bo;            // (C, HD), (C)
  std::vector<float> norm2_w, norm2_b;  // (C)
  std::vector<float> wup, bup;          // llama: (2I, C) gate|up; gpt2: (I, C)
  std::vector<float> wdown, bdown;      // (C, I)
  // LoRA adapters on the fused matrices (empty unless LoRA training is enabled)
  std::vector<LoraAdapter> lqkv, lo, lup, ldown;

  // the fused linear of a role (family.h), for code that walks the family table
  std::vector<float>& weight(LinearRole r) { return *pick(r, &wqkv, &wo, &wup, &wdown); }
  std::vector<float>& bias(LinearRole r) { return *pick(r, &bqkv, &bo, &bup, &bdown); }
  std::vector<LoraAdapter>& lora(LinearRole r) { return *pick(r, &lqkv, &lo, &lup, &ldown); }
  const std::vector<float>& weight(LinearRole r) const { return const_cast<LayerWeights*>(this)->weight(r); }
  const std::vector<float>& bias(LinearRole r) const { return const_cast<LayerWeights*>(this)->bias(r); }
  const std::vector<LoraAdapter>& lora(LinearRole r) const { return const_cast<LayerWeights*>(this)->lora(r); }

 private:
  template <class T>
  static T* pick(LinearRole r, T* qkv, T* o, T* up, T* down) {
    return r == LinearRole::Qkv ? qkv : r == LinearRole::O ? o : r == LinearRole::Up ? up : down;
  }
};

struct Weights {
  std::vector<float> embed;      // (V, C)
  std::vector<float> pos_embed;  // (maxPos, C) gpt2 only
  std::vector<LayerWeights> layers;
  std::vector<float> final_w, final_b;  // (C)
  std::vector<float> lm_head;           // (V, C); empty when tied to embed
  std::vector<float> inv_freq;          // (D/2) RoPE, llama family

  const float* head() const { return lm_head.empty() ? embed.data() : lm_head.data(); }
};

// Every parameter vector of `w` in one fixed order (embeddings, layers, final norm, head, then the
// adapters' A and B): the optimizer and the gradient buffers zip over this list.
std::vector<std::vector<float>*> param_list(Weights& w);
// How many of param_list's entries are base-model parameters (the rest are LoRA adapters).
inline size_t param_list_base_size(const Weights& w) { return 2 + 12 * w.layers.size() + 3; }

// The weights as Hugging Face tensors (the inverse of load_weights: q/k/v and gate/up split, GPT-2's
// Conv1D transposed back), name -> (shape, fp32 values). Vectors that are empty (frozen gradients)
// are skipped. With adapters_only, the LoRA adapters under PEFT's names instead.
struct HfTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};
std::map<std::string, HfTensor> export_hf(const ModelConfig& cfg, const Weights& w, bool adapters_only);

// Converts F32/F16/BF16 bytes to fp32 (exact for F16/BF16).
void to_f32(const RawTensor& t, float* out);

// Builds the weights from Hugging Face tensor names; throws GlamError TensorMissing /
// TensorShapeMismatch / TensorDtypeUnsupported.
Weights load_weights(const ModelConfig& cfg, const std::map<std::string, RawTensor>& tensors);

// RoPE inverse frequencies with optional llama3 scaling, as transformers computes them.
std::vector<float> rope_inv_freq(const ModelConfig& cfg);

}  // namespace glam
