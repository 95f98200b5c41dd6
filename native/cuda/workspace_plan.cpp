// Workspace sizing; see workspace_plan.h.
#include "cuda/workspace_plan.h"

#include <algorithm>

#include "common/error.h"
#include "model/family.h"
#include "ops/cuda/attention_layout.h"

namespace glam::cuda {

int64_t lm_tile_width(int64_t V, int64_t R) {
  if (R <= 0) return std::min<int64_t>(V, 256);
  int64_t vt = int64_t(kLogitTileBytes / (4 * size_t(R))) / 256 * 256;
  vt = std::max<int64_t>(vt, 256);
  return std::min(vt, V);
}

namespace {

}  // namespace

WorkspacePlan plan_workspace(const ModelConfig& cfg, const WorkspaceShape& s, bool bf16) {
  GLAM_CHECK(s.T >= 0 && s.B >= 0 && s.R >= 0 && s.NT >= 0 && s.ntiles >= 0 && s.value_width >= 0, "InvalidArgument",
             "workspace shape counts must be non-negative");
  const auto [e, f, T, C, Q, HD, H, I, U, R, NT, B] = plan_dims(cfg, s.T, s.R, s.NT, s.B, bf16);
  WorkspacePlan p;
  p.Vt = lm_tile_width(cfg.vocab, s.R);
  Arena a;
  p.x = a.take(T * C * f);
  p.h = a.take(T * C * e);
  p.qkv = a.take(T * Q * f);
  p.att = a.take(T * HD * e);
  p.up = a.take(T * U * f);
  p.act = a.take(T * I * e);
  p.hn = a.take(R * C * e);
  p.hn32 = a.take(B * C * f);
  p.logits = a.take(R * size_t(p.Vt) * f);
  p.run_max = a.take(R * f);
  p.run_sum = a.take(R * f);
  p.lse = a.take(R * f);
  p.tlogit = a.take(NT * f);
  p.vh_a = a.take(B * size_t(s.value_width) * f);
  p.vh_b = a.take(B * size_t(s.value_width) * f);
  p.values = a.take(B * f);
  p.meta = a.at;
  p.m = meta_layout(s.T, s.R, s.NT, s.ntiles, 0);
  p.meta_bytes = p.m.bytes;
  a.take(p.m.bytes);
  p.ids = p.meta + p.m.ids;
  p.pos = p.meta + p.m.pos;
  p.rows = p.meta + p.m.rows;
  p.trow = p.meta + p.m.trow;
  p.tid = p.meta + p.m.tid;
  p.tiles = p.meta + p.m.tiles;
  p.arows = p.meta + p.m.arows;
  p.total = a.at;
  return p;
}

MetaLayout meta_layout(int64_t T, int64_t R, int64_t NT, int64_t ntiles, int64_t nkv) {
  Arena a;
  MetaLayout m;
  m.ids = a.take(size_t(T) * 4);
  m.pos = a.take(size_t(T) * 4);
  m.rows = a.take(size_t(R) * 4);
  m.trow = a.take(size_t(NT) * 4);
  m.tid = a.take(size_t(NT) * 4);
  m.arows = a.take(size_t(T) * sizeof(AttnRow));
  m.tiles = a.take(size_t(ntiles) * sizeof(AttnTile));
  m.kv = a.take(size_t(nkv) * sizeof(AttnKvTile));
  m.bytes = a.at;
  return m;
}

PlanDims plan_dims(const ModelConfig& cfg, int64_t T, int64_t R, int64_t NT, int64_t B, bool bf16) {
  const size_t I = size_t(cfg.inter);
  return PlanDims{bf16 ? size_t(2) : size_t(4), 4, size_t(T), size_t(cfg.hidden), size_t(cfg.qkv_dim()),
                  size_t(cfg.heads * cfg.head_dim), size_t(cfg.heads), I, size_t(up_rows(cfg)),
                  size_t(R), size_t(NT), size_t(B)};
}

int64_t largest_fitting(const std::function<size_t(int64_t)>& need, int64_t start, size_t available) {
  if (start <= 0 || need(1) > available) return 0;
  int64_t lo = 1, hi = std::max<int64_t>(start, 1);
  while (need(hi) <= available && hi < (int64_t(1) << 31)) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {  // invariant: lo fits, hi does not (or is past the range)
    const int64_t mid = lo + (hi - lo) / 2;
    if (need(mid) <= available) lo = mid;
    else hi = mid;
  }
  return lo;
}

int64_t max_tokens_fitting(const ModelConfig& cfg, const WorkspaceShape& s, bool bf16, size_t available) {
  return largest_fitting([&](int64_t t) { return plan_workspace(cfg, scaled_to(s, t), bf16).total; }, s.T, available);
}

void check_fits(const ModelConfig& cfg, const WorkspaceShape& s, bool bf16, size_t available) {
  const size_t need = plan_workspace(cfg, s, bf16).total;
  if (need <= available) return;
  const int64_t t = max_tokens_fitting(cfg, s, bf16, available);
  const int64_t prompts = s.B > 0 ? std::max<int64_t>(0, int64_t(double(s.B) * double(t) / double(s.T))) : 0;
  auto mib = [](size_t b) { return std::to_string((b + (size_t(1) << 20) - 1) >> 20); };
  fail("BatchTooLarge", "this batch of " + std::to_string(s.T) + " tokens (" + std::to_string(s.B) +
                            " prompts) needs " + mib(need) + " MiB of GPU activations but " + mib(available) +
                            " MiB are free beyond the weights; about " + std::to_string(t) +
                            " tokens fit (about " + std::to_string(prompts) +
                            " prompts of this length): score it in smaller batches");
}

}  // namespace glam::cuda
