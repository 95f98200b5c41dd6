// The T5 engine on the GPU: weights, placement, and the Engine surface over the shared T5 code; see
// cuda_t5_engine.h.
// Pipeline of a scoring pass (model/t5_scorer.cpp score_t5, with place() below):
//   plan_t5 (host) -> one metadata block uploaded -> encoder, decoder, heads on the stream -> lse,
//   target logits, values (and hidden) downloaded -> assemble
// A training pass keeps the metadata block in its handle and binds it again before its backward.
#include "cuda/cuda_t5_engine.h"

#include <cstring>
#include <unordered_set>

#include "common/error.h"
#include "cuda/cuda_engine.h"  // OnDevice, check_device
#include "cuda/device_weights.h"
#include "cuda/workspace_plan.h"  // Arena, lm_tile_width

namespace glam::cuda {

namespace {

struct T5Pass final : TrainPass {
  T5TrainHandle h;
  size_t bytes() const override { return h.bytes(); }
  int64_t tokens() const override { return h.plan.Te + h.plan.dec.T; }
};

// The matrices of w (GEMM operands and embeddings: the compute type); everything else is fp32.
std::unordered_set<const std::vector<float>*> matrices(T5Weights& w) {
  std::unordered_set<const std::vector<float>*> m = {&w.shared, &w.lm_head};
  for (auto* stack : {&w.enc, &w.dec})
    for (T5Block& b : *stack)
      for (auto& lin : b.lin) m.insert(&lin);
  return m;
}

}  // namespace

// --- placement

T5Meta CudaT5Runtime::place(const T5Plan& p, std::unique_ptr<Buffer>& store) {
  const BatchPlan& d = p.dec;
  // one block, each part on kWorkspaceAlign bytes: [offset, source, bytes]
  struct Part {
    size_t off;
    const void* src;
    size_t bytes;
  };
  Arena a;
  std::vector<Part> parts;
  auto put = [&](const void* src, size_t bytes) {
    parts.push_back({a.take(bytes), src, bytes});
    return parts.size() - 1;
  };
  const size_t enc_ids = put(p.enc_ids.data(), p.enc_ids.size() * 4), enc_pos = put(p.enc_pos.data(), p.enc_pos.size() * 4);
  const size_t dec_ids = put(d.ids.data(), d.ids.size() * 4), dec_pos = put(d.pos.data(), d.pos.size() * 4);
  const size_t rows = put(d.rows.data(), d.rows.size() * 4), trow = put(d.trow.data(), d.trow.size() * 4),
               tid = put(d.tid.data(), d.tid.size() * 4);
  auto lists = [&](const std::vector<AttnRow>& ar, const std::vector<AttnTile>& tl, const std::vector<AttnKvTile>& kt) {
    const size_t i = put(ar.data(), ar.size() * sizeof(AttnRow));
    put(tl.data(), tl.size() * sizeof(AttnTile));
    put(kt.data(), kt.size() * sizeof(AttnKvTile));
    return i;
  };
  const size_t enc_l = lists(p.enc.arows, p.enc.tiles, p.enc.kv_tiles);
  const size_t dec_l = lists(d.arows, d.tiles, d.kv_tiles);
  const size_t cross_l = lists(d.cross_arows, d.cross_tiles, d.cross_kv_tiles);
  std::vector<char> host(a.at, 0);
  for (const Part& x : parts)
    if (x.bytes) std::memcpy(host.data() + x.off, x.src, x.bytes);
  if (!store) store = be.buffer();
  char* dev = static_cast<char*>(store->ensure(a.at));
  be.from_host(dev, host.data(), host.size());  // synchronous: host goes after this
  auto at = [&](size_t i) { return dev + parts[i].off; };
  auto i32 = [&](size_t i) { return reinterpret_cast<const int32_t*>(at(i)); };
  auto bound = [&](const AttentionRows* host_rows, size_t l, size_t x) {
    RowsBinding b;
    b.host = host_rows;
    b.arows = reinterpret_cast<const AttnRow*>(at(l));
    b.tiles = reinterpret_cast<const AttnTile*>(at(l + 1));
    b.kv_tiles = reinterpret_cast<const AttnKvTile*>(at(l + 2));
    if (x) {
      b.cross_arows = reinterpret_cast<const AttnRow*>(at(x));
      b.cross_tiles = reinterpret_cast<const AttnTile*>(at(x + 1));
      b.cross_kv_tiles = reinterpret_cast<const AttnKvTile*>(at(x + 2));
    }
    return b;
  };
  // the LM head's scratch for R scored rows
  const int64_t R = std::max<int64_t>(d.R, 1), Vt = lm_tile_width(cfg.vocab, R);
  if (!lm_) lm_ = be.buffer();
  float* lm = static_cast<float*>(lm_->ensure(size_t(R * Vt + 2 * R) * 4));
  PassBindings b;
  b.sets[0] = bound(&p.enc, enc_l, 0);
  b.sets[1] = bound(&d, dec_l, cross_l);
  b.lm_tile = lm;
  b.Vt = Vt;
  b.run_max = lm + R * Vt;
  b.run_sum = b.run_max + R;
  cbe_.bind(b);
  return {i32(enc_ids), i32(enc_pos), i32(dec_ids), i32(dec_pos), PlanRows{i32(rows), i32(trow), i32(tid), d.R, d.NT, d.B}};
}

// --- the engine

CudaT5Engine::CudaT5Engine(ModelConfig cfg, T5Weights&& w, DType dt, int device)
    : cfg_(std::move(cfg)), device_(device), dt_(dt) {
  check_device(cfg_, device);
  GLAM_CHECK(cfg_.rel_buckets >= 2 && cfg_.rel_buckets <= kMaxRelBuckets, "UnsupportedArchitecture",
             "the CUDA attention supports 2 to " + std::to_string(kMaxRelBuckets) +
                 " relative position buckets; this model has " + std::to_string(cfg_.rel_buckets) +
                 ": load it with device: 'cpu'");
  OnDevice on(device_);
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  try {
    gemm_ = std::make_unique<Gemm>();
    be_ = std::make_unique<CudaBackend>(dt, *gemm_, stream_);
    const auto list = t5_param_list(w);
    const auto mat = matrices(w);
    for (std::vector<float>* v : list) {  // no adapters at load: every entry is a base tensor
      const DType kt = mat.count(v) ? dt : DType::F32;
      present_.push_back(!v->empty());
      t_.push_back(upload_tensor(*v, kt, weight_bytes_));
      table_.t.push_back({t_.back().get(), kt, int64_t(v->size())});
      std::vector<float>().swap(*v);  // the host copy goes as soon as the device holds it
    }
    meta_ = t5_structure(w);
    rt_ = std::make_unique<CudaT5Runtime>(cfg_, *be_);
  } catch (...) {
    cudaStreamDestroy(stream_);
    throw;
  }
}

CudaT5Engine::~CudaT5Engine() {
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  train_.reset();  // its buffers, and the runtime's, free before the stream goes
  rt_.reset();
  if (stream_) cudaStreamDestroy(stream_);
}

std::vector<std::pair<std::string, InfoValue>> CudaT5Engine::info() const {
  auto n = [](double v) { InfoValue x; x.num = v; return x; };
  auto str = [](std::string v) { InfoValue x; x.str = std::move(v); x.is_str = true; return x; };
  return {{"threads", n(1)}, {"backend", str("cuda")}, {"device", n(device_)}, {"precision", str(dtype_name(dt_))},
          {"weightBytes", n(double(weight_bytes_))}};
}

T5Params CudaT5Engine::params() { return t5_params(meta_, train_ ? train_->table() : table_); }

ScoreResult CudaT5Engine::score(const PackedBatch& batch, const ValueHead&, bool naive, bool want_hidden) {
  OnDevice on(device_);
  return score_t5(*rt_, params(), value_head(), batch, naive, want_hidden);
}

ScoreResult CudaT5Engine::score_top(const PackedBatch& batch, const ValueHead&, bool want_hidden, int64_t top_n) {
  OnDevice on(device_);
  return score_t5(*rt_, params(), value_head(), batch, false, want_hidden, nullptr, top_n);
}

void CudaT5Engine::set_value_head(const ValueHead& head) {
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  vh_.upload(head);
}

ValueHeadParams CudaT5Engine::value_head() const { return vh_.params(); }

void CudaT5Engine::value_head_changed(const ValueHead& head) {
  GLAM_CHECK(train_ == nullptr, "InvalidArgument",
             "the value head cannot be replaced after setTraining() on the CUDA backend; import its values instead");
  OnDevice on(device_);
  set_value_head(head);
}

// --- training

TrainState& CudaT5Engine::train() {
  GLAM_CHECK(train_ != nullptr, "InvalidArgument", "training is not enabled; call setTraining() first");
  return *train_;
}

void CudaT5Engine::enable_training(const TrainOptions& opts, const ValueHead& head) {
  OnDevice on(device_);
  GLAM_CHECK(train_ == nullptr, "InvalidArgument", "training is already enabled on this model; load it again to change modes");
  set_value_head(head);  // the state's value-head slots are these buffers
  const std::vector<bool> trainable = t5_trainable(cfg_, meta_, opts, &present_);  // adds LoRA's adapters to meta_
  const auto list = t5_param_list(meta_);
  ParamTable t = table_;
  for (size_t k = present_.size(); k < list.size(); ++k) {  // the adapters, in the compute type like the matrices
    t_.push_back(upload_tensor(*list[k], dt_, weight_bytes_));
    t.t.push_back({t_.back().get(), dt_, int64_t(list[k]->size())});
    std::vector<float>().swap(*list[k]);  // meta_ keeps only the adapters' metadata
  }
  train_ = std::make_unique<TrainState>(cfg_, *be_, std::move(t), trainable, vh_.sizes, opts);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

std::unique_ptr<TrainPass> CudaT5Engine::forward_train(const PackedBatch& batch, const ValueHead&, ScoreResult& r) {
  OnDevice on(device_);
  train();
  auto p = std::make_unique<T5Pass>();
  r = score_t5(*rt_, params(), value_head(), batch, false, false, &p->h);
  p->B = p->h.B;
  p->N = p->h.N;
  return p;
}

void CudaT5Engine::backward(TrainPass& pass, const ValueHead&, const float* dl, const float* dv) {
  OnDevice on(device_);
  TrainState& t = train();
  T5TrainHandle& h = static_cast<T5Pass&>(pass).h;
  t5_train_backward(*rt_, t5_params(meta_, t.table(), &t.grads()), t.with_grads(value_head()), h, dl, dv);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

double CudaT5Engine::step(const AdamWOptions& o, ValueHead&) {
  OnDevice on(device_);
  return train().step(o, value_head());
}

void CudaT5Engine::zero_grad() {
  OnDevice on(device_);
  train().zero_grad();
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaT5Engine::read_gradients(float* out) {
  OnDevice on(device_);
  Engine::read_gradients(out);
}

void CudaT5Engine::write_gradients(const float* in) {
  OnDevice on(device_);
  Engine::write_gradients(in);
}

TrainStatus CudaT5Engine::train_status(int64_t set_step) { return train_status_of(train_.get(), set_step); }

// --- tensors under Hugging Face / PEFT names (model/t5_training.h t5_export, t5_import)

T5Weights CudaT5Engine::download_weights() {
  T5Weights w = t5_structure(meta_);
  const auto list = t5_param_list(w);
  std::unique_ptr<Buffer> tmp;
  for (size_t k = 0; k < present_.size(); ++k) download_param(*be_, table_.t[k], *list[k], tmp);
  return w;
}

std::map<std::string, HfTensor> CudaT5Engine::export_tensors(const std::string& what, const std::string& scope,
                                                             ValueHead& head) {
  OnDevice on(device_);
  const StateTensor st = state_tensor(what);
  GLAM_CHECK(train_ || st == StateTensor::Params, "InvalidArgument", "training is not enabled; call setTraining() first");
  if (scope == "model" || scope == "lora") {
    T5Weights w;
    if (!train_) w = download_weights();
    return t5_export(cfg_, meta_, train_.get(), st, scope == "lora", w);
  }
  GLAM_CHECK(scope == "value_head", "InvalidArgument", "scope must be model, lora or value_head");
  return train_ ? export_value_head_state(*train_, st, head, value_head()) : value_head_tensors(head);
}

void CudaT5Engine::import_tensors(const std::string& what, const std::string& scope,
                                  const std::map<std::string, HfTensor>& src, ValueHead& head) {
  OnDevice on(device_);
  GLAM_CHECK(what != "grads", "InvalidArgument", "gradients cannot be imported");
  const StateTensor st = state_tensor(what);
  GLAM_CHECK(train_ || st == StateTensor::Params, "InvalidArgument", "training is not enabled; call setTraining() first");
  if (scope == "value_head") {
    if (train_) return import_value_head_state(*train_, st, src, head, value_head());
    import_value_head(head, src);
    set_value_head(head);
    return;
  }
  GLAM_CHECK(scope == "model" || scope == "lora", "InvalidArgument", "scope must be model, lora or value_head");
  T5Weights w;
  if (train_ || scope == "lora") return t5_import(cfg_, meta_, train_.get(), st, scope == "lora", src, w);
  // not training: a zero copy of the model's shape filled from src (every tensor), then uploaded
  w = t5_structure(meta_);
  t5_shape_like(cfg_, w, table_.t[1].n > 0);  // t5_param_list's entry 1 is lm_head (empty: tied)
  t5_import(cfg_, meta_, nullptr, st, false, src, w);
  const auto list = t5_param_list(w);
  for (size_t k = 0; k < present_.size(); ++k)
    if (present_[k]) upload_param(*be_, table_.t[k], nullptr, *list[k]);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

}  // namespace glam::cuda
