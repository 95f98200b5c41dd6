// CudaEngine's training surface: the same model code as the CPU engine (model/decoder.cpp, the heads
// of model/heads.cpp) over the CUDA backend, with the same TrainState (model/train_state.h); see
// cuda_engine.h.
// Pipeline of a training forward (kept in the pass until its backward):
//   plan (host) -> metadata (ids, pos, rows, targets, attention rows and tiles, kv tiles) on the device
//   x (T,C) = Decoder::forward (layer caches), then Heads::forward into the pass's HeadCache
// Backward: Heads::backward (dx of the stream after the last block), then Decoder::backward.
// Subtle: the transient scratch (LM-head tile) is the scoring workspace, sized for the pass's shape
// again in backward (another forward may have run in between); a pass never runs inside a CUDA
// graph. Legend: T rows, B prompts, N candidates, R scored rows, NT targets, C hidden.
#include <cstring>

#include "common/error.h"
#include "cuda/cuda_engine.h"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

namespace {

// The pass's metadata block (workspace_plan.h), with the attention backward's kv tiles.
MetaLayout meta_of(const BatchPlan& p) {
  return meta_layout(p.T, p.R, p.NT, int64_t(p.tiles.size()), int64_t(p.kv_tiles.size()));
}

struct CudaPass final : TrainPass {
  BatchPlan plan;
  MetaLayout meta;
  DecoderCache fc;
  HeadCache hc;
  std::unique_ptr<Buffer> dmeta;
  size_t bytes() const override { return fc.bytes() + hc.bytes() + (dmeta ? dmeta->size() : 0); }
  int64_t tokens() const override { return plan.T; }
  const char* m() const { return static_cast<const char*>(dmeta->data()); }
  template <class T>
  const T* at(size_t off) const { return reinterpret_cast<const T*>(m() + off); }
  PlanRows rows() const { return {at<int32_t>(meta.rows), at<int32_t>(meta.trow), at<int32_t>(meta.tid), plan.R, plan.NT, plan.B}; }
};

}  // namespace

void CudaEngine::value_head_changed(const ValueHead& head) {
  GLAM_CHECK(train_ == nullptr, "InvalidArgument",
             "the value head cannot be replaced after setTraining() on the CUDA backend; import its values instead");
  set_value_head(head);
}

TrainState& CudaEngine::train() {
  GLAM_CHECK(train_ != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
  return *train_;
}

void CudaEngine::enable_training(const TrainOptions& opts, const ValueHead& head) {
  OnDevice on(device_);
  GLAM_CHECK(train_ == nullptr, "InvalidArgument", "training is already enabled on this model; load it again to change modes");
  set_value_head(head);  // the state's value-head slots are these buffers
  train_ = std::make_unique<TrainState>(cfg_, *be_, w_.table(), vh_.sizes, opts);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  drop_graphs();  // fp32 mode: the step writes the weights the graphs read (same addresses, but be plain)
}

void CudaEngine::bind_pass(const char* meta, const BatchPlan& p) {
  const MetaLayout m = meta_of(p);
  ensure_workspace({p.T, p.B, p.R, p.NT, int64_t(p.tiles.size()), vh_.width});  // LM-head tile, value-head scratch
  PassBindings b;
  b.arows = reinterpret_cast<const AttnRow*>(meta + m.arows);
  b.tiles = reinterpret_cast<const AttnTile*>(meta + m.tiles);
  b.kv_tiles = reinterpret_cast<const AttnKvTile*>(meta + m.kv);
  b.lm_tile = ws_.as<float>(wp_.logits);
  b.Vt = wp_.Vt;
  b.run_max = ws_.as<float>(wp_.run_max);
  b.run_sum = ws_.as<float>(wp_.run_sum);
  be_->bind(b);
  be_->set_attention(p, reinterpret_cast<const int32_t*>(meta + m.pos), p.T);
  const DecoderWorkspace dw{ws_.as<void>(wp_.h), ws_.as<float>(wp_.qkv), ws_.as<void>(wp_.att), ws_.as<float>(wp_.up),
                            ws_.as<void>(wp_.act)};
  dec_->use_workspace(&dw);
}

std::unique_ptr<TrainPass> CudaEngine::forward_train(const PackedBatch& batch, const ValueHead&, ScoreResult& r) {
  OnDevice on(device_);
  train();
  auto pass = std::make_unique<CudaPass>();
  pass->fc.layers = std::move(spare_layers_);
  pass->plan = plan_batch(cfg_, batch);
  const BatchPlan& p = pass->plan;
  const int64_t C = cfg_.hidden;
  // metadata: staged in pinned memory, one upload
  const MetaLayout m = pass->meta = meta_of(p);
  pass->dmeta = be_->buffer();
  char* dm = static_cast<char*>(pass->dmeta->ensure(m.bytes));
  upload_meta(p, m, dm);
  bind_pass(dm, p);
  const DecoderParams prm = train_->params();
  const ValueHeadParams vh = value_head();
  heads_->prepare(pass->hc, p, vh);
  float* x = pass->hc.x->as<float>();
  dec_->forward(prm, x, pass->at<int32_t>(m.ids), pass->at<int32_t>(m.pos), p.T, &pass->fc);
  heads_->forward(prm, vh, x, pass->rows(), pass->hc.out);
  std::vector<float> lse(size_t(p.R)), tlogit(size_t(p.NT)), values(size_t(p.B));
  be_->to_host(lse.data(), pass->hc.out.lse, lse.size() * 4);
  be_->to_host(tlogit.data(), pass->hc.out.tlogit, tlogit.size() * 4);
  if (!vh_.empty()) be_->to_host(values.data(), pass->hc.out.values, values.size() * 4);
  r = assemble(p, lse.data(), tlogit.data(), vh_.empty() ? nullptr : values.data(), nullptr, C);
  pass->B = batch.B();
  pass->N = batch.N();
  return pass;
}

void CudaEngine::backward(TrainPass& tp, const ValueHead&, const float* dl, const float* dv) {
  OnDevice on(device_);
  TrainState& t = train();
  CudaPass& pass = static_cast<CudaPass&>(tp);
  const BatchPlan& p = pass.plan;
  bind_pass(pass.m(), p);
  const DecoderParams prm = t.params();
  if (!bw_dx_) bw_dx_ = be_->buffer();
  float* dx = static_cast<float*>(bw_dx_->ensure(size_t(p.T * cfg_.hidden) * 4));
  heads_->backward(prm, t.with_grads(value_head()), dx, p, pass.rows(), pass.hc, dl, dv);
  dec_->backward(prm, dx, pass.fc, pass.at<int32_t>(pass.meta.ids), pass.at<int32_t>(pass.meta.pos));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  spare_layers_ = std::move(pass.fc.layers);
}

double CudaEngine::step(const AdamWOptions& o, ValueHead&) {
  OnDevice on(device_);
  return train().step(o, value_head());
}

void CudaEngine::read_gradients(float* out) {
  OnDevice on(device_);
  Engine::read_gradients(out);
}

void CudaEngine::write_gradients(const float* in) {
  OnDevice on(device_);
  Engine::write_gradients(in);
}

void CudaEngine::zero_grad() {
  OnDevice on(device_);
  train().zero_grad();
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

std::map<std::string, HfTensor> CudaEngine::export_tensors(const std::string& what, const std::string& scope,
                                                           ValueHead& head) {
  OnDevice on(device_);
  const StateTensor st = state_tensor(what);
  if (train_) return export_training(cfg_, *train_, st, scope, head, value_head());
  GLAM_CHECK(st == StateTensor::Params, "InvalidArgument", "training is not enabled; call setTraining() first");
  if (scope == "value_head") return value_head_tensors(head);  // the uploaded head's values
  GLAM_CHECK(scope == "model" || scope == "lora", "InvalidArgument", "scope must be model, lora or value_head");
  return export_hf(cfg_, download_params(*be_, w_.table()), scope == "lora");
}

void CudaEngine::import_tensors(const std::string& what, const std::string& scope,
                                const std::map<std::string, HfTensor>& src, ValueHead& head) {
  OnDevice on(device_);
  GLAM_CHECK(what != "grads", "InvalidArgument", "gradients cannot be imported");
  const StateTensor st = state_tensor(what);
  if (train_) return import_training(cfg_, *train_, st, scope, src, head, value_head());
  GLAM_CHECK(st == StateTensor::Params && scope != "lora", "InvalidArgument",
             "training is not enabled; call setTraining() first");
  if (scope == "value_head") {
    import_value_head(head, src);
    set_value_head(head);
    return;
  }
  GLAM_CHECK(scope == "model", "InvalidArgument", "scope must be model, lora or value_head");
  Weights loaded = weights_from(cfg_, src);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  drop_graphs();  // they read the old weights' addresses
  w_ = upload_weights(std::move(loaded), w_.dt);
  params_ = decoder_params(cfg_, w_.table());
}

TrainStatus CudaEngine::train_status(int64_t set_step) { return train_status_of(train_.get(), set_step); }

}  // namespace glam::cuda
