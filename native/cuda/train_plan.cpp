// Training memory plan; see train_plan.h.
#include "cuda/train_plan.h"

#include <algorithm>

#include "common/error.h"
#include "model/family.h"
#include "cuda/workspace_plan.h"
#include "ops/cuda/attention_layout.h"

namespace glam::cuda {

TrainPlan plan_training(const ModelConfig& cfg, const TrainShape& s, bool bf16) {
  GLAM_CHECK(s.T >= 0 && s.B >= 0 && s.R >= 0 && s.NT >= 0 && s.ntiles >= 0 && s.nkv >= 0, "InvalidArgument",
             "training shape counts must be non-negative");
  const auto [e, f, T, C, Q, HD, H, I, U, R, NT, B] = plan_dims(cfg, s.T, s.R, s.NT, s.B, bf16);
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
  auto need = [&](int64_t t) {
    TrainShape q = scaled_to(s, t);
    q.nkv = scaled_count(s.nkv, double(t) / double(s.T));
    const TrainPlan p = plan_training(cfg, q, bf16);
    // the training forward also uses the scoring workspace for its transient buffers
    const WorkspacePlan w = plan_workspace(cfg, WorkspaceShape{q.T, q.B, q.R, q.NT, q.ntiles, 0}, bf16);
    return p.cache_total + p.scratch_total + w.total;
  };
  return largest_fitting(need, s.T, available);
}

}  // namespace glam::cuda
