// T5's training over the one TrainState (model/train_state.h: the flat fp32 gradient buffer, AdamW
// moments, Backend::adamw_step, the value head's slices): what T5 adds is its trainable set (full
// fine-tuning, or LoRA adapters under PEFT's T5 names q, k, v, o, wi, wi_0, wi_1, wo in both
// stacks, cross attention included) and its parameter order (t5_param_list, model/t5_weights.h),
// which is the TrainState's table order, so a state tensor maps back onto Hugging Face names
// through T5Weights (t5_state_tensors, then export_t5).
// Both engines build their TrainState from t5_trainable over their own table (the CPU engine's
// host vectors: model/t5_cpu.h; the CUDA engine's device tensors: cuda/cuda_t5_engine.h).
// Subtle: frozen tensors (empty ones, LoRA's base, frozen embeddings / head; with a tied head,
// freezing either freezes `shared`) have no slice.
// Legend: C d_model, HD = heads x d_kv, I d_ff, r LoRA rank.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/t5_scorer.h"
#include "model/train_state.h"
#include "model/trainable_set.h"  // TrainOptions

namespace glam {

// Adds the LoRA adapters opts asks for to w (PEFT's init, as below) and returns which tensors of
// t5_param_list(w) train: the trainable set both engines hand to their TrainState.
// present (t5_param_list's base part; null: w's own tensors tell) says which base tensors exist when
// w holds only the structure (the CUDA engine's, whose tensors live on the device).
std::vector<bool> t5_trainable(const ModelConfig& cfg, T5Weights& w, const TrainOptions& opts,
                               const std::vector<bool>* present = nullptr);
// w's structure (stacks, adapters' metadata) without tensor data.
T5Weights t5_structure(const T5Weights& w);
// Every tensor of `what` in w's structure (frozen grads and moments EMPTY): export_t5 names them.
T5Weights t5_state_tensors(T5Weights& w, TrainState& t, StateTensor what);
// The inverse for params and moments: every non-empty tensor of s written into the state.
void t5_upload_state(TrainState& t, StateTensor what, T5Weights& s);

// Both T5 engines' export and import of scope model | lora under Hugging Face / PEFT names. meta:
// the engine's T5Weights (its structure and adapters' metadata; tensor data unused); t: the training
// state, or null when training is off, then `weights` are the model's tensors as fp32 host vectors
// (the CPU engine's own; the CUDA engine's downloaded copy, or for import a zero copy shaped by
// t5_shape_like that it uploads afterwards). Import of scope model needs every tensor.
std::map<std::string, HfTensor> t5_export(const ModelConfig& cfg, T5Weights& meta, TrainState* t, StateTensor what,
                                          bool lora, T5Weights& weights);
void t5_import(const ModelConfig& cfg, T5Weights& meta, TrainState* t, StateTensor what, bool lora,
               const std::map<std::string, HfTensor>& src, T5Weights& weights);

}  // namespace glam
