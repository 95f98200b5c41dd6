// The attention work lists of one group and of the encoder-decoder variants; see attention_plan.h.
#include "model/attention_plan.h"

#include <algorithm>

#include "common/error.h"

namespace glam {

using cuda::AttnKvTile;
using cuda::AttnRow;
using cuda::AttnTile;
using cuda::kAttnKeysPerChunk;

void tile_group(std::vector<AttnTile>& tiles, const std::vector<AttnRow>& arows, size_t first, int32_t prompt_start,
                int rows_per_tile) {
  for (size_t t0 = first; t0 < arows.size(); t0 += size_t(rows_per_tile)) {
    const size_t n = std::min(size_t(rows_per_tile), arows.size() - t0);
    int32_t nkeys = 0;
    for (size_t i = t0; i < t0 + n; ++i) nkeys = std::max(nkeys, arows[i].nprompt);
    tiles.push_back({prompt_start, int32_t(t0), int32_t(n), nkeys});
  }
}

void kv_tile_group(std::vector<AttnKvTile>& kv_tiles, int32_t prompt_start, int32_t P, size_t first, int32_t nrows,
                   bool causal) {
  for (int32_t k0 = 0; k0 < P; k0 += kAttnKeysPerChunk) {
    const int32_t skip = causal ? k0 : 0;
    kv_tiles.push_back(
        {prompt_start, k0, std::min(kAttnKeysPerChunk, P - k0), int32_t(first) + skip, nrows - skip, {0, 0, 0}});
  }
}

void plan_bidirectional(AttentionRows& r, int64_t head_dim) {
  r.rows_per_tile = cuda::attention_rows_per_tile(head_dim);
  r.bidirectional = true;
  r.arows.clear();
  r.tiles.clear();
  r.kv_tiles.clear();
  for (const AttentionGroup& g : r.groups) {
    GLAM_CHECK(g.cand_start.empty(), "InternalError", "a bidirectional group has no candidates");
    const int32_t s = int32_t(g.start), P = int32_t(g.prefix_len);
    const size_t first = r.arows.size();
    for (int32_t i = 0; i < P; ++i) r.arows.push_back({s + i, P, -1, 0});
    tile_group(r.tiles, r.arows, first, s, r.rows_per_tile);
    kv_tile_group(r.kv_tiles, s, P, first, P, false);
  }
}

void plan_cross(AttentionRows& q, const AttentionRows& kv) {
  GLAM_CHECK(q.groups.size() == kv.groups.size(), "BatchInvalid", "cross attention needs one key group per query group");
  GLAM_CHECK(q.rows_per_tile > 0, "InternalError", "plan the query rows before their cross attention");
  q.cross_arows.clear();
  q.cross_tiles.clear();
  q.cross_kv_tiles.clear();
  for (size_t gi = 0; gi < q.groups.size(); ++gi) {
    const AttentionGroup& g = q.groups[gi];
    const int32_t ks = int32_t(kv.groups[gi].start), Pkv = int32_t(kv.groups[gi].prefix_len);
    const size_t first = q.cross_arows.size();
    for (int64_t i = 0; i < g.prefix_len; ++i) q.cross_arows.push_back({int32_t(g.start + i), Pkv, -1, 0});
    for (size_t c = 0; c < g.cand_start.size(); ++c)
      for (int64_t j = 0; j < g.cand_len[c]; ++j) q.cross_arows.push_back({int32_t(g.cand_start[c] + j), Pkv, -1, 0});
    tile_group(q.cross_tiles, q.cross_arows, first, ks, q.rows_per_tile);
    kv_tile_group(q.cross_kv_tiles, ks, Pkv, first, int32_t(q.cross_arows.size() - first), false);
  }
}

}  // namespace glam
