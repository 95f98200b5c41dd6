// The CUDA attention kernels' work lists (ops/cuda/attention_layout.h) for one group of query rows,
// and for the encoder-decoder variants beyond batch_plan's causal shared prefix: an encoder's
// bidirectional groups and cross attention from a decoder's groups to its encoder's. Built on the
// host once per pass, beside the groups the CPU backend reads, so both backends see the same rows.
// Pure C++ (no CUDA headers): the CPU addon compiles it and the test addon exports it
// (native/napi_test/plan_exports.cpp, test/native/t5-attention-plan.test.ts).
// Legend: P prefix (prompt) rows of a group, Pkv the kv group's prefix rows, D head size.
// Subtle: every list keeps the kernels' invariants: a tile holds rows of ONE group and streams keys
// [prompt_start, prompt_start + nkeys); a kv tile covers one 32-key chunk of one key group and lists
// every query row that sees any of its keys, so each key's dK/dV is stored by exactly one CTA.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/backend.h"

namespace glam {

// Appends the tiles of rows arows[first, end) (one group, keys from prompt_start) to tiles.
void tile_group(std::vector<cuda::AttnTile>& tiles, const std::vector<cuda::AttnRow>& arows, size_t first,
                int32_t prompt_start, int rows_per_tile);
// Appends the kv tiles of a key group of P keys from prompt_start: chunk k0 lists rows
// [first + skip(k0), first + nrows) where skip(k0) = k0 when causal (prompt rows i < k0 see none of
// the chunk's keys, and they come first), else 0.
void kv_tile_group(std::vector<cuda::AttnKvTile>& kv_tiles, int32_t prompt_start, int32_t P, size_t first,
                   int32_t nrows, bool causal);
// r.groups hold prefix-only groups (no candidates: an encoder's prompts): fills r.arows, r.tiles,
// r.kv_tiles with every row of a group seeing all of the group's rows, and r.bidirectional.
void plan_bidirectional(AttentionRows& r, int64_t head_dim);
// The cross lists of q (query groups, rows_per_tile set) over kv (one key group per query group):
// each query group's rows (prefix, then candidates) see every prefix row of its kv group.
void plan_cross(AttentionRows& q, const AttentionRows& kv);

}  // namespace glam
