// ModelConfig: the architecture hyper-parameters the model layer needs, normalised by
// lib/io/model-config.ts from a Hugging Face config.json (the TS side validates; this side trusts
// only what it re-checks for memory safety in weights.cpp).
#pragma once
#include <cstdint>
#include <string>

namespace glam {

enum class Family { Llama, Gpt2, T5 };  // Llama covers Llama, Qwen2 and Mistral blocks; T5: model/t5_model.h
enum class Act { Silu, GeluTanh, Gelu, Relu };

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
  // T5 (family T5): layers = encoder layers; inter = d_ff; head_dim = d_kv; act Relu or GeluTanh.
  int64_t dec_layers = 0, rel_buckets = 0, rel_max_distance = 0;
  int32_t decoder_start = 0;
  bool gated = false;       // gated-gelu feed-forward (v1.1 / Flan-T5): wi_0|wi_1
  bool scale_head = false;  // decoder output * hidden^-0.5 before the head (v1.0's tied head)

  int64_t qkv_dim() const { return (heads + 2 * kv_heads) * head_dim; }
};

}  // namespace glam
