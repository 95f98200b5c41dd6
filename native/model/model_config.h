// ModelConfig: the architecture hyper-parameters the model layer needs, normalised by
// lib/io/model-config.ts from a Hugging Face config.json (the TS side validates; this side trusts
// only what it re-checks for memory safety in weights.cpp).
#pragma once
#include <cstdint>
#include <string>

namespace glam {

enum class Family { Llama, Gpt2 };  // Llama covers Llama, Qwen2 and Mistral blocks
enum class Act { Silu, GeluTanh, Gelu };

struct ModelConfig {
  std::string architecture;
  Family family = Family::Llama;
  int64_t vocab = 0, hidden = 0, inter = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, max_pos = 0;
  float norm_eps = 1e-5f;
  double rope_theta = 10000.0;
  bool rope_llama3 = false;
  double rs_factor = 1, rs_low = 1, rs_high = 4;
  int64_t rs_orig = 8192;
  bool qkv_bias = false, o_bias = false, mlp_bias = false, tie = false;
  Act act = Act::Silu;
  int64_t sliding_window = 0;  // 0: full attention

  int64_t qkv_dim() const { return (heads + 2 * kv_heads) * head_dim; }
};

}  // namespace glam
