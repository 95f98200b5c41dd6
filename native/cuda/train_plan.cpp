// Training memory plan; see train_plan.h.
#include "cuda/train_plan.h"

#include <algorithm>

#include "common/error.h"
#include "model/family.h"
#include "cuda/workspace_plan.h"
#include "ops/cuda/attention_layout.h"

namespace glam::cuda {

namespace {

struct Arena {
  size_t at = 0;
  size_t take(size_t bytes) {
    const size_t o = at;
    at += (bytes + kWorkspaceAlign - 1) / kWorkspaceAlign * kWorkspaceAlign;
    return o;
  }
};

}  // namespace

TrainPlan plan_training(const ModelConfig& cfg, const TrainShape& s, bool bf16) {
  GLAM_CHECK(s.T >= 0 && s.B >= 0 && s.R >= 0 && s.NT >= 0 && s.ntiles >= 0 && s.nkv >= 0, "InvalidArgument",
             "training shape counts must be non-negative");
  const size_t e = bf16 ? 2 : 4, f = 4;
  const size_t T = size_t(s.T), C = size_t(cfg.hidden), Q = size_t(cfg.qkv_dim()), HD = size_t(cfg.heads * cfg.head_dim);
  const size_t H = size_t(cfg.heads), I = size_t(cfg.inter), U = size_t(up_rows(cfg));
  const size_t R = size_t(s.R), NT = size_t(s.NT), B = size_t(s.B);
  TrainPlan p;
  // the same LM-head tile width as the scoring workspace for R rows
  p.Vt = plan_workspace(cfg, WorkspaceShape{0, 0, s.R, 0, 0, 0}, bf16).Vt;
  Arena a;
  p.layers.resize(size_t(cfg.layers));
  for (size_t l = 0; l < p.layers.size(); ++l) {
    LayerCacheOffsets& o = p.layers[l];
    o.x1 = a.take(T * C * f);
    o.x2 = a.take(T * C * f);
    o.qkv = a.take(T * Q * f);
    o.att = a.take(T * HD * e);
    o.lse = a.take(T * H * f);
    o.up = a.take(T * U * f);
    const size_t r = l < s.lora_rank.size() ? size_t(s.lora_rank[l]) : 0;
    o.lora_t = a.take(T * r * e);
  }
  p.xf = a.take(T * C * f);
  p.hn = a.take(R * C * e);
  p.hn32 = a.take(B * C * f);
  p.lse = a.take(R * f);
  for (size_t i = 1; i + 1 < s.value_sizes.size(); ++i) p.vacts.push_back(a.take(B * size_t(s.value_sizes[i]) * f));
  p.meta = a.at;
  p.ids = a.take(T * 4);
  p.pos = a.take(T * 4);
  p.rows = a.take(R * 4);
  p.tiles = a.take(size_t(s.ntiles) * sizeof(AttnTile));
  p.kv_tiles = a.take(size_t(s.nkv) * sizeof(AttnKvTile));
  p.arows = a.take(T * sizeof(AttnRow));
  p.row_off = a.take((R + 1) * 4);
  p.row_tid = a.take(NT * 4);
  p.meta_bytes = a.at - p.meta;
  p.cache_total = a.at;

  Arena b;
  const size_t widest = std::max({Q, U, C, HD});
  const size_t rmax = size_t(s.lora_rmax);
  size_t vwidth = 0;
  for (size_t i = 1; i + 1 < s.value_sizes.size(); ++i) vwidth = std::max(vwidth, size_t(s.value_sizes[i]));
  p.dx = b.take(T * C * f);
  p.dh = b.take(T * C * f);
  p.h = b.take(T * C * e);
  p.act = b.take(T * I * e);
  p.dact = b.take(T * I * f);
  p.dup = b.take(T * U * f);
  p.ge = b.take(T * widest * e);
  p.datt = b.take(T * HD * f);
  p.dqkv = b.take(T * Q * f);
  p.di = b.take(T * H * f);
  p.dt = b.take(T * rmax * f);
  p.dte = b.take(T * rmax * e);
  p.dhn = b.take(R * C * f);
  p.tile = b.take(R * size_t(p.Vt) * f);
  p.gtile = b.take(R * size_t(p.Vt) * e);
  p.g_row = b.take(R * f);
  p.row_tg = b.take(NT * f);
  p.dv = b.take(B * f);
  p.vd_a = b.take(B * std::max(vwidth, C) * f);
  p.vd_b = b.take(B * std::max(vwidth, C) * f);
  p.scratch_total = b.at;
  return p;
}

StateBytes optimizer_state_bytes(int64_t trainable_matrix_params, int64_t trainable_fp32_params, bool bf16) {
  StateBytes b;
  const size_t n = size_t(trainable_matrix_params) + size_t(trainable_fp32_params);
  b.grads = n * 4;
  b.moments = n * 8;
  b.masters = bf16 ? size_t(trainable_matrix_params) * 4 : 0;  // fp32 mode: the compute copy is the master
  return b;
}

double cache_bytes_per_token(const ModelConfig& cfg, const TrainShape& s, bool bf16) {
  if (s.T <= 0) return 0;
  return double(plan_training(cfg, s, bf16).cache_total) / double(s.T);
}

int64_t max_train_tokens(const ModelConfig& cfg, const TrainShape& s, bool bf16, size_t available) {
  if (s.T <= 0) return 0;
  auto need = [&](int64_t t) {
    TrainShape q = s;
    const double k = double(t) / double(s.T);
    q.T = t;
    q.B = std::max<int64_t>(1, int64_t(double(s.B) * k));
    q.R = std::max<int64_t>(1, int64_t(double(s.R) * k));
    q.NT = std::max<int64_t>(1, int64_t(double(s.NT) * k));
    q.ntiles = std::max<int64_t>(1, int64_t(double(s.ntiles) * k));
    q.nkv = std::max<int64_t>(1, int64_t(double(s.nkv) * k));
    const TrainPlan p = plan_training(cfg, q, bf16);
    // the training forward also uses the scoring workspace for its transient buffers
    const WorkspacePlan w = plan_workspace(cfg, WorkspaceShape{q.T, q.B, q.R, q.NT, q.ntiles, 0}, bf16);
    return p.cache_total + p.scratch_total + w.total;
  };
  if (need(1) > available) return 0;
  int64_t lo = 1, hi = std::max<int64_t>(s.T, 1);
  while (need(hi) <= available && hi < (int64_t(1) << 31)) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (need(mid) <= available) lo = mid;
    else hi = mid;
  }
  return lo;
}

}  // namespace glam::cuda
