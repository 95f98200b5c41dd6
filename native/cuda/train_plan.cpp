// Training memory plan; see train_plan.h.
#include "cuda/train_plan.h"

#include <algorithm>

#include "common/error.h"
#include "cuda/workspace_plan.h"
#include "model/family.h"

namespace glam::cuda {

namespace {

// the widest value-head hidden layer (the value head's scratch and the workspace's vh_a / vh_b)
int64_t value_width(const TrainShape& s) {
  int64_t w = 0;
  for (size_t i = 1; i + 1 < s.value_sizes.size(); ++i) w = std::max(w, s.value_sizes[i]);
  return w;
}

}  // namespace

TrainPlan plan_training(const ModelConfig& cfg, const TrainShape& s, bool bf16) {
  GLAM_CHECK(s.T >= 0 && s.B >= 0 && s.R >= 0 && s.NT >= 0 && s.ntiles >= 0 && s.nkv >= 0, "InvalidArgument",
             "training shape counts must be non-negative");
  const auto [e, f, T, C, Q, HD, H, I, U, R, NT, B] = plan_dims(cfg, s.T, s.R, s.NT, s.B, bf16);
  TrainPlan p;
  // the same LM-head tile width as the scoring workspace for R rows
  p.Vt = plan_workspace(cfg, WorkspaceShape{0, 0, s.R, 0, 0, 0}, bf16).Vt;
  Arena a;  // each buffer rounded to kWorkspaceAlign, summed
  for (int64_t l = 0; l < cfg.layers; ++l) {  // model/decoder.h LayerCache
    const size_t r = size_t(l) < s.lora_rank.size() ? size_t(s.lora_rank[size_t(l)]) : 0;
    for (size_t bytes : {T * C * f, T * C * f, T * Q * f, T * HD * e, T * H * f, T * U * f, T * r * e}) a.take(bytes);
  }
  for (size_t bytes : {T * C * f, R * C * e, B * C * f, R * f, NT * f, B * f}) a.take(bytes);  // HeadCache: x hn hv lse tlogit values
  for (size_t i = 1; i + 1 < s.value_sizes.size(); ++i) a.take(B * size_t(s.value_sizes[i]) * f);  // value-head inputs
  p.meta_bytes = meta_layout(s.T, s.R, s.NT, s.ntiles, s.nkv).bytes;  // the pass's metadata block
  a.take(p.meta_bytes);
  p.cache_total = a.at;

  Arena b;
  const size_t rmax = size_t(s.lora_rmax), vw = size_t(std::max<int64_t>(value_width(s), 1));
  // the decoder's backward (model/decoder.h): h dh act dact dup datt dqkv; the engine's dx
  for (size_t bytes : {T * C * e, T * C * f, T * I * e, T * I * f, T * U * f, T * HD * f, T * Q * f, T * C * f}) b.take(bytes);
  // the heads' backward (model/heads.h): dtok|dv, dhn, dh
  for (size_t bytes : {(NT + B) * f, R * C * f, B * C * f}) b.take(bytes);
  // the CUDA backend's scratch: the bf16 cast of a gradient (bf16 only), LoRA's t, s t, d t, s d t,
  // attention's row sums, the LM head's CSR rows and gradient tile, the value head's two activations
  b.take(bf16 ? T * std::max({Q, U, C}) * 2 : 0);
  for (size_t bytes : {T * rmax * f, T * rmax * f, T * rmax * f, T * rmax * f, T * H * f}) b.take(bytes);
  for (size_t bytes : {(R + 1 + NT) * 4 + (NT + R) * f, R * size_t(p.Vt) * e, B * vw * f, B * vw * f}) b.take(bytes);
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
    const WorkspacePlan w = plan_workspace(cfg, WorkspaceShape{q.T, q.B, q.R, q.NT, q.ntiles, value_width(q)}, bf16);
    return p.cache_total + p.scratch_total + w.total;
  };
  return largest_fitting(need, s.T, available);
}

}  // namespace glam::cuda
