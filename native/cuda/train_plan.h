// TrainPlan: the GPU training pass's memory for one batch, counted from the buffers the engine really
// allocates — what a training forward keeps for its backward (per open handle: the decoder's layer
// caches, model/decoder.h; the heads' cache, model/heads.h; the pass's metadata, cuda_training.cpp)
// and the backward's scratch (the decoder's, the heads', the engine's dx and the CUDA backend's own,
// ops/cuda/cuda_backend.cpp) — and the optimizer state's bytes; "bytes per trained token" and the
// largest batch that fits are read off it.
// Pure C++ (no CUDA headers): the CPU test addon compiles it and exports it as a test hook, so sizing
// is tested on every machine.
// Legend: T packed rows, C hidden, Q = (H + 2 Hkv) D, HD = H D, H heads, I MLP width, U = 2I (Llama)
// | I (GPT-2), L layers, r_l sum of LoRA ranks in layer l, R scored rows, NT targets, B prompts,
// Vt LM-head tile width, e = 2 (bf16) | 4.
// Kept per layer (what is expensive to recompute, as the CPU engine keeps): the block input and the
// mid-block residual (T, C) fp32, q|k|v after RoPE (T, Q) fp32, the attention output (T, HD) e and
// its lse (T, H), the MLP pre-activation (T, U) fp32, and the adapters' s X A^T (T, r_l) e. The norms'
// outputs and the MLP activation are RECOMPUTED in backward (cheap, elementwise), never kept.
// Subtle: every buffer is its own allocation, counted rounded up to 256 bytes (the adapters' products
// of a layer as one: the engine holds one per adapted linear, a few hundred bytes apart); the backward
// scratch is shared by every handle (one backward at a time), only the cache grows with the number of
// open handles.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/model_config.h"

namespace glam::cuda {

struct TrainShape {
  int64_t T = 0, B = 0, R = 0, NT = 0, ntiles = 0, nkv = 0;
  std::vector<int64_t> lora_rank;  // (L) sum of adapter ranks per layer (empty: no LoRA)
  int64_t lora_rmax = 0;           // the largest single adapter rank
  std::vector<int64_t> value_sizes;  // value head sizes (C, hidden..., 1); empty: no head
};

struct TrainPlan {
  size_t cache_total = 0;    // kept per open handle: layer caches, heads' cache, metadata
  size_t meta_bytes = 0;     // of which the metadata block
  size_t scratch_total = 0;  // the shared backward scratch
  int64_t Vt = 0;            // the LM-head tile width (the scoring workspace's for R rows)
};

TrainPlan plan_training(const ModelConfig& cfg, const TrainShape& s, bool bf16);

// Optimizer-side bytes on the GPU: fp32 gradients, AdamW moments, and fp32 masters where the compute
// copy is bf16. full: every base parameter trains (minus frozen embeddings / head); lora: adapters
// of total size adapter_params only.
struct StateBytes {
  size_t grads = 0, moments = 0, masters = 0;
  size_t total() const { return grads + moments + masters; }
};
StateBytes optimizer_state_bytes(int64_t trainable_matrix_params, int64_t trainable_fp32_params, bool bf16);

// Bytes of cache per trained token (activations kept from forward to backward), at a batch shape:
// cache_total / T.
double cache_bytes_per_token(const ModelConfig& cfg, const TrainShape& s, bool bf16);

// The largest T (scaling every count of s with it) whose cache + scratch + the forward's scoring
// workspace fit in `available` bytes.
int64_t max_train_tokens(const ModelConfig& cfg, const TrainShape& s, bool bf16, size_t available);

}  // namespace glam::cuda
