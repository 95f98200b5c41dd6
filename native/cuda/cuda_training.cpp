// CudaEngine's training surface: the same model code as the CPU engine (model/decoder.cpp) over the
// CUDA backend, with the optimizer state of cuda/device_train_state.h; see cuda_engine.h.
// Pipeline of a training forward (kept in the pass until its backward):
//   plan (host) -> metadata (ids, pos, rows, targets, attention rows and tiles, kv tiles) on the device
//   x (T,C) = Decoder::forward (layer caches), hn (R,C) e = final_norm(x)[rows],
//   hn32 (B,C) = final_norm(x)[rows[0:B]] fp32, lse (R), tlogit (NT), values (B) (value-head layer inputs kept)
// Backward: dhn = LM-head backward (R,C); dx (T,C) = 0 + final-norm backward of dhn on the scored rows
// + final-norm backward of the value head's dh on the prompt rows; then Decoder::backward.
// Subtle: the transient scratch (LM-head tile, value-head activations) is the scoring workspace, sized
// for the pass's shape again in backward (another forward may have run in between); a pass never
// runs inside a CUDA graph. Legend: T rows, B prompts, N candidates, R scored rows, NT targets, C hidden.
#include <cstring>

#include "common/error.h"
#include "cuda/cuda_engine.h"
#include "model/value_head.h"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

namespace {

// The pass's device metadata, one block: offsets in bytes.
struct Meta {
  size_t ids = 0, pos = 0, rows = 0, trow = 0, tid = 0, arows = 0, tiles = 0, kv = 0, total = 0;
};

Meta meta_layout(const BatchPlan& p) {
  Meta m;
  auto take = [&](size_t bytes) {
    const size_t at = m.total;
    m.total += (bytes + 255) / 256 * 256;
    return at;
  };
  m.ids = take(p.ids.size() * 4);
  m.pos = take(p.pos.size() * 4);
  m.rows = take(p.rows.size() * 4);
  m.trow = take(p.trow.size() * 4);
  m.tid = take(p.tid.size() * 4);
  m.arows = take(p.arows.size() * sizeof(AttnRow));
  m.tiles = take(p.tiles.size() * sizeof(AttnTile));
  m.kv = take(p.kv_tiles.size() * sizeof(AttnKvTile));
  return m;
}

struct CudaPass final : TrainPass {
  BatchPlan plan;
  Meta meta;
  DecoderCache fc;
  std::unique_ptr<Buffer> dmeta, x, hn, hn32, lse;
  std::vector<std::unique_ptr<Buffer>> vacts;  // value head: inputs of layers 1.. (B, sizes[i]) fp32
  size_t bytes() const override {
    size_t b = fc.bytes();
    for (const auto* p : {&dmeta, &x, &hn, &hn32, &lse})
      if (*p) b += (*p)->size();
    for (const auto& a : vacts) b += a->size();
    return b;
  }
  int64_t tokens() const override { return plan.T; }
  const char* m() const { return static_cast<const char*>(dmeta->data()); }
  template <class T>
  const T* at(size_t off) const { return reinterpret_cast<const T*>(m() + off); }
};

StateTensor state_of(const std::string& what) {
  if (what == "params") return StateTensor::Params;
  if (what == "grads") return StateTensor::Grads;
  if (what == "exp_avg") return StateTensor::ExpAvg;
  if (what == "exp_avg_sq") return StateTensor::ExpAvgSq;
  fail("InvalidArgument", "tensor set must be params, grads, exp_avg or exp_avg_sq");
}

}  // namespace

void CudaEngine::value_head_changed(const ValueHead& head) {
  GLAM_CHECK(train_ == nullptr, "InvalidArgument",
             "the value head cannot be replaced after setTraining() on the CUDA backend; import its values instead");
  set_value_head(head);
}

DeviceTrainState& CudaEngine::train() {
  GLAM_CHECK(train_ != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
  return *train_;
}

void CudaEngine::enable_training(const TrainOptions& opts, const ValueHead& head) {
  OnDevice on(device_);
  GLAM_CHECK(train_ == nullptr, "InvalidArgument", "training is already enabled on this model; load it again to change modes");
  set_value_head(head);  // the state's value-head slots point at these buffers
  DeviceValueHeadRefs refs;
  refs.sizes = vsizes_;
  for (size_t i = 0; i < vw_.size(); ++i) {
    refs.weight.push_back(vw_[i].as<float>());
    refs.bias.push_back(vb_[i].as<float>());
  }
  train_ = std::make_unique<DeviceTrainState>(cfg_, host_, w_, refs, opts, stream_);
  drop_graphs();  // fp32 mode: the step writes the weights the graphs read (same addresses, but be plain)
}

DecoderParams CudaEngine::train_params() const {
  DecoderParams p = params_;
  const DeviceTrainState& t = *train_;
  const size_t base = param_list_base_size(t.host_shape());
  p.d_embed = t.grad(0);
  p.d_pos_embed = t.grad(1);
  p.final_norm.dw = t.grad(base - 3);
  p.final_norm.db = t.grad(base - 2);
  p.d_head = cfg_.tie ? t.grad(0) : t.grad(base - 1);
  for (size_t l = 0; l < p.layers.size(); ++l) {
    DecoderParams::Layer& pl = p.layers[l];
    const int64_t L = int64_t(l);
    pl.norm1.dw = t.layer_grad(L, LayerParam::Norm1W);
    pl.norm1.db = t.layer_grad(L, LayerParam::Norm1B);
    pl.norm2.dw = t.layer_grad(L, LayerParam::Norm2W);
    pl.norm2.db = t.layer_grad(L, LayerParam::Norm2B);
    const LayerParam wp[kLinearRoles] = {LayerParam::Wqkv, LayerParam::Wo, LayerParam::Wup, LayerParam::Wdown};
    const LayerParam bp[kLinearRoles] = {LayerParam::Bqkv, LayerParam::Bo, LayerParam::Bup, LayerParam::Bdown};
    const DeviceLayerAdapters& ad = t.adapters()[l];
    const std::vector<DeviceAdapter>* lists[kLinearRoles] = {&ad.qkv, &ad.o, &ad.up, &ad.down};
    for (int r = 0; r < kLinearRoles; ++r) {
      LinearParams& lp = pl.lin[r];
      lp.dW = t.layer_grad(L, wp[r]);
      lp.db = t.layer_grad(L, bp[r]);
      lp.lora.clear();
      for (const DeviceAdapter& a : *lists[r]) {
        AdapterParams ap;
        ap.A = a.A_compute();
        ap.B = a.B_compute();
        ap.dA = t.grad(a.a_index);
        ap.dB = t.grad(a.a_index + 1);
        ap.out_off = a.out_off;
        ap.out_n = a.out_n;
        ap.in_n = a.in_n;
        ap.rank = a.rank;
        ap.scale = a.scale;
        lp.lora.push_back(ap);
      }
    }
  }
  return p;
}

void CudaEngine::bind_pass(const char* meta, const BatchPlan& p) {
  const Meta m = meta_layout(p);
  ensure_workspace({p.T, p.B, p.R, p.NT, int64_t(p.tiles.size()), vwidth_});  // LM-head tile, value-head scratch
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
  const int64_t C = cfg_.hidden, B = p.B;
  // metadata: staged in pinned memory, one upload
  const Meta m = pass->meta = meta_layout(p);
  pass->dmeta = be_->buffer();
  char* dm = static_cast<char*>(pass->dmeta->ensure(m.total));
  staging_.reserve(m.total);
  char* host = staging_.as<char>();
  auto put = [&](size_t off, const void* src, size_t bytes) {
    if (bytes) std::memcpy(host + off, src, bytes);
  };
  put(m.ids, p.ids.data(), p.ids.size() * 4);
  put(m.pos, p.pos.data(), p.pos.size() * 4);
  put(m.rows, p.rows.data(), p.rows.size() * 4);
  put(m.trow, p.trow.data(), p.trow.size() * 4);
  put(m.tid, p.tid.data(), p.tid.size() * 4);
  put(m.arows, p.arows.data(), p.arows.size() * sizeof(AttnRow));
  put(m.tiles, p.tiles.data(), p.tiles.size() * sizeof(AttnTile));
  put(m.kv, p.kv_tiles.data(), p.kv_tiles.size() * sizeof(AttnKvTile));
  CUDA_CHECK(cudaMemcpyAsync(dm, host, m.total, cudaMemcpyHostToDevice, stream_));
  bind_pass(dm, p);
  const DecoderParams prm = train_params();
  const size_t e = dtype_size(w_.dt);
  for (auto* b : {&pass->x, &pass->hn, &pass->hn32, &pass->lse}) *b = be_->buffer();
  float* x = static_cast<float*>(pass->x->ensure(size_t(p.T * C) * 4));
  const int32_t* rows = pass->at<int32_t>(m.rows);
  dec_->forward(prm, x, pass->at<int32_t>(m.ids), pass->at<int32_t>(m.pos), p.T, &pass->fc);
  void* hn = pass->hn->ensure(size_t(p.R * C) * e);
  float* hn32 = static_cast<float*>(pass->hn32->ensure(size_t(B * C) * 4));
  dec_->final_norm(prm, hn, x, rows, p.R);
  dec_->final_norm(prm, hn32, x, rows, B, /*fp32=*/true);
  float* lse = static_cast<float*>(pass->lse->ensure(size_t(p.R) * 4));
  be_->lm_head_forward(lse, ws_.as<float>(wp_.tlogit), hn, p.R, prm.head, cfg_.vocab, C, pass->at<int32_t>(m.trow),
                       pass->at<int32_t>(m.tid), p.NT);
  // the value head, layer by layer, keeping each layer's input for the backward
  const float* in = hn32;
  for (size_t i = 0; i < vw_.size(); ++i) {
    const bool last = i + 1 == vw_.size();
    float* out = ws_.as<float>(wp_.values);
    if (!last) {
      pass->vacts.push_back(be_->buffer());
      out = static_cast<float*>(pass->vacts.back()->ensure(size_t(B * vsizes_[i + 1]) * 4));
    }
    gemm_->nt(out, in, vw_[i].get(), vb_[i].as<float>(), B, vsizes_[i + 1], vsizes_[i], DType::F32, false, stream_);
    if (!last) sigmoid_forward(out, B * vsizes_[i + 1], stream_);
    in = out;
  }
  // results
  std::vector<float> lse_h(size_t(p.R)), tlogit(size_t(p.NT)), values(size_t(B), 0.0f);
  CUDA_CHECK(cudaMemcpyAsync(lse_h.data(), lse, lse_h.size() * 4, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaMemcpyAsync(tlogit.data(), ws_.as<float>(wp_.tlogit), tlogit.size() * 4, cudaMemcpyDeviceToHost,
                             stream_));
  if (!vw_.empty())
    CUDA_CHECK(cudaMemcpyAsync(values.data(), ws_.as<float>(wp_.values), values.size() * 4, cudaMemcpyDeviceToHost,
                               stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  r = ScoreResult{};
  finish_scores(r, p, lse_h.data(), tlogit.data());
  r.values = std::move(values);
  pass->B = batch.B();
  pass->N = batch.N();
  return pass;
}

void CudaEngine::backward(TrainPass& tp, const ValueHead&, const float* dl, const float* dv) {
  OnDevice on(device_);
  DeviceTrainState& t = train();
  CudaPass& pass = static_cast<CudaPass&>(tp);
  const BatchPlan& p = pass.plan;
  const Meta& m = pass.meta;
  const int64_t C = cfg_.hidden, B = p.B;
  bind_pass(pass.m(), p);
  const DecoderParams prm = train_params();
  for (auto* b : {&bw_dx_, &bw_dhn_, &bw_dh_, &bw_io_})
    if (!*b) *b = be_->buffer();
  // d logprob of each target = d logprob of its candidate; dv after it
  std::vector<float> io(size_t(p.NT + B));
  for (int64_t k = 0; k < p.N; ++k)
    for (int64_t i = p.tok_off[size_t(k)]; i < p.tok_off[size_t(k + 1)]; ++i) io[size_t(i)] = dl[k];
  std::copy(dv, dv + B, io.begin() + p.NT);
  float* dio = static_cast<float*>(bw_io_->ensure(io.size() * 4));
  CUDA_CHECK(cudaMemcpyAsync(dio, io.data(), io.size() * 4, cudaMemcpyHostToDevice, stream_));
  const int32_t* rows = pass.at<int32_t>(m.rows);
  const float* x = pass.x->as<float>();
  float* dhn = static_cast<float*>(bw_dhn_->ensure(size_t(p.R * C) * 4));
  be_->lm_head_backward(dhn, prm.d_head, dio, pass.hn->data(), p.R, prm.head, cfg_.vocab, C, pass.lse->as<float>(),
                        pass.at<int32_t>(m.trow), pass.at<int32_t>(m.tid), p.NT);
  float* dx = static_cast<float*>(bw_dx_->ensure(size_t(p.T * C) * 4));
  CUDA_CHECK(cudaMemsetAsync(dx, 0, size_t(p.T * C) * 4, stream_));
  dec_->final_norm_backward(prm, dx, dhn, x, rows, p.R);
  if (!vw_.empty()) {
    std::vector<const float*> W, acts = {pass.hn32->as<float>()};
    std::vector<float*> dW, db;
    for (size_t i = 0; i < vw_.size(); ++i) {
      W.push_back(vw_[i].as<float>());
      dW.push_back(t.value_grad_w(i));
      db.push_back(t.value_grad_b(i));
      if (i > 0) acts.push_back(pass.vacts[i - 1]->as<float>());
    }
    float* dh = static_cast<float*>(bw_dh_->ensure(size_t(B * C) * 4));
    value_head_backward(dh, dW.data(), db.data(), dio + p.NT, int(vw_.size()), vsizes_.data(), W.data(), acts.data(),
                        ws_.as<float>(wp_.vh_a), ws_.as<float>(wp_.vh_b), B, *gemm_, stream_);
    dec_->final_norm_backward(prm, dx, dh, x, rows, B);  // the value head reads the prompts' rows, rows[0:B]
  }
  dec_->backward(prm, dx, pass.fc, pass.at<int32_t>(m.ids), pass.at<int32_t>(m.pos));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  spare_layers_ = std::move(pass.fc.layers);
}

double CudaEngine::step(const AdamWOptions& o, ValueHead&) {
  OnDevice on(device_);
  GLAM_CHECK(o.lr >= 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps > 0 && o.weight_decay >= 0,
             "InvalidArgument", "AdamW needs lr >= 0, 0 <= betas < 1, eps > 0, weightDecay >= 0");
  AdamWHyper h;
  h.lr = o.lr;
  h.beta1 = o.beta1;
  h.beta2 = o.beta2;
  h.eps = o.eps;
  h.weight_decay = o.weight_decay;
  h.max_grad_norm = o.max_grad_norm;
  return train().step(h, stream_);
}

int64_t CudaEngine::gradient_numel() { return train().trainable_params(); }

void CudaEngine::read_gradients(float* out) {
  OnDevice on(device_);
  train().copy_gradients(out, true, stream_);
}

void CudaEngine::write_gradients(const float* in) {
  OnDevice on(device_);
  train().copy_gradients(const_cast<float*>(in), false, stream_);
}

void CudaEngine::zero_grad() {
  OnDevice on(device_);
  train().zero_grad(stream_);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

std::map<std::string, HfTensor> CudaEngine::export_tensors(const std::string& what, const std::string& scope,
                                                           ValueHead& head) {
  OnDevice on(device_);
  const StateTensor st = state_of(what);
  GLAM_CHECK(scope == "model" || scope == "lora" || scope == "value_head", "InvalidArgument",
             "scope must be model, lora or value_head");
  if (!train_) {
    GLAM_CHECK(st == StateTensor::Params, "InvalidArgument", "training is not enabled; call setTraining() first");
    return scope == "value_head" ? value_head_tensors(head) : export_hf(cfg_, host_, scope == "lora");
  }
  if (scope != "value_head") return export_hf(cfg_, train_->download(st, stream_), scope == "lora");
  ValueHead v = head;  // shapes; values from the device
  const std::vector<std::vector<float>> d = train_->download_value_head(st, stream_);
  for (size_t i = 0; i < v.weight.size(); ++i) {
    v.weight[i] = d[2 * i];
    v.bias[i] = d[2 * i + 1];
  }
  return value_head_tensors(v);
}

void CudaEngine::import_tensors(const std::string& what, const std::string& scope,
                                const std::map<std::string, HfTensor>& src, ValueHead& head) {
  OnDevice on(device_);
  GLAM_CHECK(what != "grads", "InvalidArgument", "gradients cannot be imported");
  const StateTensor st = state_of(what);
  if (!train_) {
    GLAM_CHECK(st == StateTensor::Params && scope != "lora", "InvalidArgument",
               "training is not enabled; call setTraining() first");
    if (scope == "value_head") {
      import_value_head(head, src);
      set_value_head(head);
      return;
    }
    GLAM_CHECK(scope == "model", "InvalidArgument", "scope must be model, lora or value_head");
    host_ = weights_from(cfg_, src);
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    drop_graphs();  // they read the old weights' addresses
    w_ = upload_weights(host_, w_.dt);
    params_ = decoder_params(w_);
    return;
  }
  DeviceTrainState& t = *train_;
  if (scope == "value_head") {
    ValueHead v = head;
    import_value_head(v, src);
    for (size_t i = 0; i < v.weight.size(); ++i) {
      t.upload_value_head(st, i, false, v.weight[i], stream_);
      t.upload_value_head(st, i, true, v.bias[i], stream_);
    }
    if (st == StateTensor::Params) head = std::move(v);
    return;
  }
  Weights shape = t.host_shape();  // the parameter list's layout (sizes, adapters)
  auto to = param_list(shape);
  const size_t base = param_list_base_size(shape);
  if (scope == "model") {
    Weights loaded = weights_from(cfg_, src);
    auto from = param_list(loaded);
    for (size_t k = 0; k < base; ++k)
      if (!from[k]->empty()) t.upload(st, k, *from[k], stream_);
  } else if (scope == "lora") {
    size_t k = base;
    for (const LayerWeights& l : shape.layers)
      for (const auto* list : {&l.lqkv, &l.lo, &l.lup, &l.ldown})
        for (const LoraAdapter& a : *list) {
          t.upload(st, k++, tensor_from(src, "base_model.model." + a.module + ".lora_A.weight", size_t(a.rank * a.in_n)),
                   stream_);
          t.upload(st, k++, tensor_from(src, "base_model.model." + a.module + ".lora_B.weight", size_t(a.out_n * a.rank)),
                   stream_);
        }
  } else {
    fail("InvalidArgument", "scope must be model, lora or value_head");
  }
}

TrainStatus CudaEngine::train_status(int64_t set_step) {
  TrainStatus s;
  s.enabled = train_ != nullptr;
  if (!train_) return s;
  if (set_step >= 0) train_->set_step_count(set_step);
  s.step = train_->step_count();
  s.lora = train_->lora();
  s.trainable_params = train_->trainable_params();
  s.state_bytes = train_->bytes();
  return s;
}

}  // namespace glam::cuda
