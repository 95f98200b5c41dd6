// T5Weights: a T5ForConditionalGeneration's parameters in fp32, in the fused layout the T5 model code
// (model/t5_model.h) runs: per block, self-attention q|k|v as one (3HD, C) matrix, cross-attention
// k|v as one (2HD, C) matrix (both read the encoder output), the feed-forward's wi_0|wi_1 as one
// (2I, C) matrix (gated) or wi (I, C). One table (t5_layout: the Hugging Face names as data, which
// the addon's t5Table() exports to lib/io/t5-weights.ts) gives t5_tensors, the map of every tensor
// onto these vectors, so loading, export (checkpoints, gradients, moments), the optimizer's parameter
// list and TypeScript's inventory cannot disagree.
// Subtle: the head is lm_head.weight when the checkpoint has its own (v1.1 / Flan-T5), else the
// shared embedding (v1.0, and every checkpoint transformers 5 saves with a tied head); whether the
// decoder output is rescaled by C^-0.5 is the config's (ModelConfig::scale_head), not the head's.
// Only the first block of each stack owns relative_attention_bias (NB, H); later blocks reuse it.
// Legend: V vocab, C d_model, H heads, D d_kv, I d_ff, U = 2I (gated) | I, NB buckets, L layers.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/lora_adapter.h"
#include "model/model_config.h"
#include "model/weights.h"  // RawTensor, HfTensor, to_f32

namespace glam {

// The linears of a T5 block, in T5Block::lin order (cross-attention ones in decoder blocks only).
enum class T5Lin { Qkv, O, CrossQ, CrossKv, CrossO, Wi, Wo };
constexpr int kT5Lins = 7;

struct T5Block {
  std::vector<float> ln_attn, ln_cross, ln_ff;  // (C) each; ln_cross decoder only
  std::vector<float> lin[kT5Lins];              // Qkv (3HD, C), O (C, HD), CrossQ (HD, C), CrossKv (2HD, C),
                                                // CrossO (C, HD), Wi (U, C), Wo (C, I)
  std::vector<LoraAdapter> lora[kT5Lins];       // adapters on the fused matrices (LoRA training only)
};

struct T5Weights {
  std::vector<float> shared;              // (V, C): both stacks' embeddings (and the tied head)
  std::vector<float> lm_head;             // (V, C) or empty: the head is `shared`
  std::vector<float> enc_bias, dec_bias;  // (NB, H)
  std::vector<T5Block> enc, dec;          // (L), (L_dec)
  std::vector<float> enc_final, dec_final;  // (C)
  const float* head() const { return lm_head.empty() ? shared.data() : lm_head.data(); }
};

// The layout as data. A size of the config (t5_dim); where a block tensor goes; which feed-forward has it.
enum class T5Dim { None, V, C, HD, I, NB, H };
enum class T5Dst { LnAttn, LnCross, LnFf, Qkv, O, CrossQ, CrossKv, CrossO, Wi, Wo };
enum class T5Ff { Any, Gated, Relu };
// One tensor of a block: `name` under the block's prefix ("encoder.block.<l>."), shape (rows) or
// (rows, cols), stored at rows [index * rows, (index + 1) * rows) of the fused destination.
struct T5Part {
  const char* name;
  T5Dim rows, cols;  // cols None: a vector
  T5Dst dst;
  int64_t index;
  T5Ff ff;
};
struct T5Stack {
  const char* prefix;      // + "<l>." + part name
  const char* final_norm;  // (C)
  std::vector<T5Part> parts;  // in load order
};
struct T5Layout {
  const char* embed;        // (V, C) "shared.weight"
  const char* embed_alias;  // the encoder's copy, read when a checkpoint lacks `embed`
  const char* lm_head;      // (V, C), when the checkpoint has its own head
  const char* rel_bias;     // (NB, H), under block 0's prefix only
  T5Stack enc, dec;
};
const T5Layout& t5_layout();
int64_t t5_dim(const ModelConfig& cfg, T5Dim d);
// Whether cfg has this part (its feed-forward kind); the fused linear a matrix part (cols != None) lives in.
bool t5_has_part(const ModelConfig& cfg, const T5Part& p);
T5Lin t5_lin(T5Dst d);

// One Hugging Face tensor: rows [row0, row0 + rows) of the fused vector *dst, each `cols` wide.
struct T5Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float>* dst;
  int64_t row0;
};
// Every tensor of w (sized by cfg) under its Hugging Face name; w's vectors must already be sized
// (t5_shape_like) unless they are empty, which skips them (frozen gradients).
std::vector<T5Tensor> t5_tensors(const ModelConfig& cfg, T5Weights& w);
// Sizes every vector of w for cfg (zeros); with_head: a separate lm_head.
void t5_shape_like(const ModelConfig& cfg, T5Weights& w, bool with_head);
// Every parameter vector in one fixed order (base tensors, then adapters' A and B): optimizer order.
std::vector<std::vector<float>*> t5_param_list(T5Weights& w);
size_t t5_base_param_count(const T5Weights& w);

// Loads from Hugging Face names (F32/F16/BF16); TensorMissing / TensorShapeMismatch on bad input.
T5Weights load_t5_weights(const ModelConfig& cfg, const std::map<std::string, RawTensor>& tensors);
// The inverse: name -> fp32 tensor (empty vectors skipped); adapters_only: the LoRA adapters under
// PEFT's names (base_model.model.<module>.lora_A.weight / lora_B.weight).
std::map<std::string, HfTensor> export_t5(const ModelConfig& cfg, T5Weights& w, bool adapters_only);

}  // namespace glam
