// WorkspacePlan: the GPU scoring pass's activation arena for one batch shape — every buffer's byte
// offset in one device allocation, sized from the batch's token count — and the "does it fit" check.
// Pure C++ (no CUDA headers): the CPU test addon compiles it too and exports it as a hook, so sizing
// and the too-big error are tested on every machine.
// Legend: T packed rows, C hidden, Q = (H + 2 Hkv) D, HD = H D, I MLP width, U = 2I (Llama) | I
// (GPT-2), R scored rows, NT targets, B prompts, V vocabulary, Vt LM-head tile width, e = 2 (bf16) | 4.
// Subtle: the residual stream, q|k|v, GEMM outputs and statistics are fp32 in both modes; only GEMM
// inputs are e bytes. The LM head's logits tile (R, Vt) is bounded by kLogitTileBytes, so the
// vocabulary never makes the arena grow with R x V.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace glam::cuda {

struct WorkspaceShape {
  int64_t T = 0, B = 0, R = 0, NT = 0, ntiles = 0;
  int64_t value_width = 0;  // widest value-head layer (0: no value head)
};

// A pass's metadata, one block uploaded once per pass (the scoring arena's meta region; a training
// pass's own buffer): offsets from the block's start. ids, pos (T), rows (R), trow, tid (NT) int32,
// arows (T) AttnRow, tiles (ntiles) AttnTile, kv (nkv) AttnKvTile (the attention backward's only).
struct MetaLayout {
  size_t ids = 0, pos = 0, rows = 0, trow = 0, tid = 0, arows = 0, tiles = 0, kv = 0, bytes = 0;
};

struct WorkspacePlan {
  // fp32 unless noted; e-byte buffers are GEMM inputs
  size_t x = 0;        // (T, C) residual stream (the branches add into it in their GEMMs)
  size_t h = 0;        // (T, C) e: norm output
  size_t qkv = 0;      // (T, Q)
  size_t att = 0;      // (T, HD) e: attention output
  size_t up = 0;       // (T, U) MLP up (gate|up) GEMM output
  size_t act = 0;      // (T, I) e: MLP activation
  size_t hn = 0;       // (R, C) e: final-norm scored rows (LM head input)
  size_t hn32 = 0;     // (B, C) final-norm prompt rows in fp32 (value head input, `hidden` output)
  size_t logits = 0;   // (R, Vt) LM-head tile
  size_t run_max = 0, run_sum = 0, lse = 0;  // (R)
  size_t tlogit = 0;   // (NT)
  size_t vh_a = 0, vh_b = 0;  // (B, value_width) value-head activations
  size_t values = 0;   // (B)
  // metadata uploaded per call, one contiguous block [meta, meta + meta_bytes) laid out by meta_layout
  // (without kv tiles); the offsets below are absolute
  size_t meta = 0, meta_bytes = 0;
  MetaLayout m;
  size_t ids = 0, pos = 0;    // (T) int32
  size_t rows = 0;            // (R) int32
  size_t trow = 0, tid = 0;   // (NT) int32
  size_t tiles = 0;           // (ntiles) AttnTile
  size_t arows = 0;           // (T) AttnRow
  int64_t Vt = 0;             // LM-head tile width
  size_t total = 0;           // bytes of the arena
};

constexpr size_t kLogitTileBytes = size_t(256) << 20;  // the LM head's (R, Vt) fp32 tile, at most
constexpr size_t kWorkspaceAlign = 256;                // every buffer starts on 256 bytes (cuBLASLt's best alignment)

WorkspacePlan plan_workspace(const ModelConfig& cfg, const WorkspaceShape& s, bool bf16);

// The LM head's tile width for R scored rows: (R, Vt) fp32 within kLogitTileBytes, a multiple of
// 256 of at least 256 (or the whole vocabulary V when smaller).
int64_t lm_tile_width(int64_t V, int64_t R);

MetaLayout meta_layout(int64_t T, int64_t R, int64_t NT, int64_t ntiles, int64_t nkv);

// --- what this plan and the training plan (train_plan.h) are both built from ---

// Offsets of consecutive buffers in one allocation, each starting on kWorkspaceAlign bytes.
struct Arena {
  size_t at = 0;  // bytes taken so far
  size_t take(size_t bytes) {
    const size_t o = at;
    at += (bytes + kWorkspaceAlign - 1) / kWorkspaceAlign * kWorkspaceAlign;
    return o;
  }
};

// The legend's sizes as size_t for byte counts; f = 4 (fp32), H heads.
struct PlanDims {
  size_t e, f, T, C, Q, HD, H, I, U, R, NT, B;
};
PlanDims plan_dims(const ModelConfig& cfg, int64_t T, int64_t R, int64_t NT, int64_t B, bool bf16);

// A count of a shape scaled by k (a token count over the shape's), at least 1.
inline int64_t scaled_count(int64_t n, double k) { return std::max<int64_t>(1, int64_t(double(n) * k)); }

// The same batch at t tokens: T = t, the shape's other counts in proportion (at least 1).
template <class Shape>
Shape scaled_to(const Shape& s, int64_t t) {
  Shape q = s;
  const double k = double(t) / double(s.T);
  q.T = t;
  q.B = scaled_count(s.B, k);
  q.R = scaled_count(s.R, k);
  q.NT = scaled_count(s.NT, k);
  q.ntiles = scaled_count(s.ntiles, k);
  return q;
}

// The largest t in [1, 2^31) with need(t) <= available, need growing with t: doubling from `start`
// (the shape's own T), then bisection; 0 when start <= 0 or t = 1 does not fit.
int64_t largest_fitting(const std::function<size_t(int64_t)>& need, int64_t start, size_t available);

// Throws GlamError BatchTooLarge when the plan needs more than `available` bytes, saying how many
// tokens (and prompts, at this batch's tokens per prompt) would fit. available: free GPU memory
// beyond the weights, the cuBLASLt workspace and a safety margin.
void check_fits(const ModelConfig& cfg, const WorkspaceShape& s, bool bf16, size_t available);

// The largest token count whose arena fits in `available`, scaling every count of `s` with T.
int64_t max_tokens_fitting(const ModelConfig& cfg, const WorkspaceShape& s, bool bf16, size_t available);

}  // namespace glam::cuda
