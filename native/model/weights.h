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

// The per-layer tensors in the one parameter order (param_list below).
enum class LayerParam { Norm1W, Norm1B, Wqkv, Bqkv, Wo, Bo, Norm2W, Norm2B, Wup, Bup, Wdown, Bdown };
constexpr size_t kLayerParams = 12;

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
  std::vector<float>& at(LayerParam p) {
    std::vector<float>* t[kLayerParams] = {&norm1_w, &norm1_b, &wqkv, &bqkv, &wo, &bo, &norm2_w, &norm2_b, &wup, &bup, &wdown, &bdown};
    return *t[size_t(p)];
  }

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

// Every parameter vector of `w` in THE parameter order (embed, pos_embed, each layer's LayerParam
// tensors, final_w, final_b, lm_head, then every adapter's A and B: layer by layer, qkv, o, up, down):
// the gradient buffers, the optimizer, the backends' tensor tables (model/param_table.h) and
// checkpoints' import all index tensors by it.
std::vector<std::vector<float>*> param_list(Weights& w);
// How many of param_list's entries are base-model parameters (the rest are LoRA adapters).
inline size_t param_list_base_size(size_t layers) { return 2 + kLayerParams * layers + 3; }
inline size_t param_list_base_size(const Weights& w) { return param_list_base_size(w.layers.size()); }
inline size_t layer_param_index(int64_t layer, LayerParam p) { return 2 + kLayerParams * size_t(layer) + size_t(p); }
// Whether base tensor k is a matrix the forward reads in the compute type (embeddings, projections,
// LM head); the others (norms, biases) stay fp32.
bool param_is_matrix(size_t k, size_t base);

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
