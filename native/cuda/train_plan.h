// TrainPlan: the GPU training pass's memory for one batch — the activations a training forward keeps
// for its backward (one arena per open handle) and the backward's scratch — and the optimizer
// state's bytes; "bytes per trained token" and the largest batch that fits are read off it.
// Pure C++ (no CUDA headers): the CPU test addon compiles it and exports it as a test hook, so sizing
// is tested on every machine.
// Legend: T packed rows, C hidden, Q = (H + 2 Hkv) D, HD = H D, H heads, I MLP width, U = 2I (Llama)
// | I (GPT-2), L layers, r_l sum of LoRA ranks in layer l, R scored rows, NT targets, B prompts,
// Vt LM-head tile width, e = 2 (bf16) | 4.
// Kept per layer (what is expensive to recompute, as the CPU engine keeps): the norm inputs x1, x2
// (T, C) fp32, q|k|v after RoPE (T, Q) fp32, the attention output (T, HD) e and its lse (T, H), the MLP
// pre-activation (T, U) fp32, and each adapter's s X A^T (T, r) e. The norms' outputs and the MLP
// activation are RECOMPUTED in backward (cheap, elementwise), never kept.
// Subtle: the backward scratch is shared by every handle (one backward at a time); only the cache
// grows with the number of open handles.
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

struct LayerCacheOffsets {
  size_t x1 = 0, x2 = 0, qkv = 0, att = 0, lse = 0, up = 0, lora_t = 0;  // lora_t: (T, r_l) e, adapter after adapter
};

struct TrainPlan {
  // the handle's arena (cache + metadata)
  std::vector<LayerCacheOffsets> layers;  // (L)
  size_t xf = 0;        // (T, C) stream after the last block (the final norm's input)
  size_t hn = 0;        // (R, C) e final-norm scored rows
  size_t hn32 = 0;      // (B, C) fp32 final-norm prompt rows (value head input)
  size_t lse = 0;       // (R) LM-head log-sum-exp
  std::vector<size_t> vacts;  // value head layer i > 0 inputs (B, sizes[i]) fp32
  size_t meta = 0, meta_bytes = 0;  // ids, pos (T), rows (R), tiles, kv tiles, arows (T), row_off (R+1), row_tid (NT) int32
  size_t ids = 0, pos = 0, rows = 0, tiles = 0, kv_tiles = 0, arows = 0, row_off = 0, row_tid = 0;
  size_t cache_total = 0;
  // the shared backward scratch
  size_t dx = 0, dh = 0;      // (T, C) fp32
  size_t h = 0;               // (T, C) e recomputed norm output
  size_t act = 0;             // (T, I) e recomputed activation
  size_t dact = 0, dup = 0;   // (T, I), (T, U) fp32
  size_t ge = 0;              // (T, max(Q, U, C, HD)) e: an fp32 gradient cast to the GEMM input type
  size_t datt = 0, dqkv = 0;  // (T, HD), (T, Q) fp32
  size_t di = 0;              // (T, H) fp32
  size_t dt = 0, dte = 0;     // (T, rmax) fp32 and e: LoRA's d(s X A^T)
  size_t dhn = 0;             // (R, C) fp32
  size_t tile = 0, gtile = 0; // (R, Vt) fp32 and e
  size_t g_row = 0, row_tg = 0;  // (R), (NT) fp32: per-row and per-target d logprob (uploaded per backward)
  size_t dv = 0, vd_a = 0, vd_b = 0;  // (B), (B, widest) fp32 value-head backward
  size_t scratch_total = 0;
  int64_t Vt = 0;
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

// The largest T (scaling every count of s with it) whose cache + scratch fit in `available` bytes.
int64_t max_train_tokens(const ModelConfig& cfg, const TrainShape& s, bool bf16, size_t available);

}  // namespace glam::cuda
