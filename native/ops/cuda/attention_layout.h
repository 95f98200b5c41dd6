// The shared-prefix attention's work list, built on the host (native/model/batch_plan.cpp) and read by
// the kernel (attention.cu). Plain C++ (no CUDA headers): the CPU addon compiles the planner too.
// One tile = up to `rows_per_tile` query rows of ONE prompt group, run by one CTA per (tile, head):
// the CTA streams the group's prompt keys/values through shared memory once and serves every query
// row of the tile with them, so a tile of candidate rows (up to 64 rows, e.g. 16 candidates x 4
// tokens) reads its prompt's K/V once instead of once per candidate.
// T5's variants reuse the same lists (model/attention_plan.h): an encoder row sees its whole group
// (nprompt = P), and cross attention's tiles stream another stream's keys (prompt_start is a row of
// the encoder's k|v; every decoder row of the group sees all of them; no own keys).
// Legend: P prompt rows of the group, A tokens of a candidate, D head size.
#pragma once
#include <cstdint>

namespace glam::cuda {

struct AttnRow {
  int32_t row;         // packed row of this query
  int32_t nprompt;     // prompt keys it sees: prompt row i -> i + 1, candidate rows -> P
  int32_t own_start;   // candidate rows: first packed row of its candidate (own keys: own_start..row); -1 for prompt rows
  int32_t pad;
};

struct AttnTile {
  int32_t prompt_start;  // packed row of the group's first prompt token (prompt key j is row prompt_start + j, position j)
  int32_t first;         // index of the tile's first AttnRow
  int32_t count;         // query rows in the tile (<= rows_per_tile)
  int32_t nkeys;         // max nprompt over the tile's rows: prompt keys streamed through shared memory
};

// The attention backward's dK/dV work list: one CTA per (32-key chunk of one prompt, kv head) walks
// every query row that can see the chunk: rows [first, first + count) of the AttnRow list (the
// group's prompt rows from key0 on, then all its candidates' rows).
struct AttnKvTile {
  int32_t prompt_start;  // packed row of the group's first prompt token
  int32_t key0;          // first prompt key (position) of the chunk
  int32_t nkeys;         // keys in the chunk (<= kAttnKeysPerChunk)
  int32_t first;         // first AttnRow that sees the chunk
  int32_t count;         // AttnRows from there to the end of the group
  int32_t pad[3];
};

// Query rows per tile for head size D: 4 rows per warp, 16 warps for D <= 128 and 8 above (shared
// memory: Q tile + one 32-key K/V chunk must fit the opt-in limit of every targeted GPU, 99 KiB).
inline int attention_rows_per_tile(int64_t D) { return D <= 128 ? 64 : 32; }
constexpr int kAttnRowsPerWarp = 4;
constexpr int kAttnKeysPerChunk = 32;
constexpr int64_t kAttnMaxHeadDim = 256;

}  // namespace glam::cuda
