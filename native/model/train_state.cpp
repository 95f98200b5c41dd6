// TrainState over the Backend interface; see train_state.h.
#include "model/train_state.h"

#include "common/error.h"

namespace glam {

StateTensor state_tensor(const std::string& what) {
  if (what == "params") return StateTensor::Params;
  if (what == "grads") return StateTensor::Grads;
  if (what == "exp_avg") return StateTensor::ExpAvg;
  if (what == "exp_avg_sq") return StateTensor::ExpAvgSq;
  fail("InvalidArgument", "tensor set must be params, grads, exp_avg or exp_avg_sq");
}

Weights structure_of(const Weights& w) {
  Weights s;
  s.layers.resize(w.layers.size());
  for (size_t l = 0; l < w.layers.size(); ++l)
    for (int r = 0; r < kLinearRoles; ++r)
      for (LoraAdapter a : w.layers[l].lora(LinearRole(r))) {
        a.A.clear();
        a.B.clear();
        s.layers[l].lora(LinearRole(r)).push_back(std::move(a));
      }
  return s;
}

void download_param(Backend& be, const ParamRef& r, std::vector<float>& out, std::unique_ptr<Buffer>& tmp) {
  out.resize(size_t(r.n));
  if (r.n == 0) return;
  const void* src = r.w;
  if (r.dt != DType::F32) {  // widened on the backend, exactly
    if (!tmp) tmp = be.buffer();
    float* f = static_cast<float*>(tmp->ensure(size_t(r.n) * 4));
    be.widen(f, r.w, r.dt, r.n);
    src = f;
  }
  be.to_host(out.data(), src, size_t(r.n) * 4);
}

Weights download_params(Backend& be, const ParamTable& t) {
  Weights out = structure_of(*t.meta);
  auto dst = param_list(out);
  std::unique_ptr<Buffer> tmp;
  for (size_t k = 0; k < dst.size() && k < t.t.size(); ++k) download_param(be, t.t[k], *dst[k], tmp);
  return out;
}

void upload_param(Backend& be, const ParamRef& r, float* master, const std::vector<float>& data) {
  GLAM_CHECK(int64_t(data.size()) == r.n, "TensorShapeMismatch",
             "a tensor has " + std::to_string(data.size()) + " values, expected " + std::to_string(r.n));
  if (r.n == 0) return;
  if (master) {
    be.from_host(master, data.data(), data.size() * 4);
    if (r.w != master) be.cast(r.w, r.dt, master, r.n);
  } else if (r.dt == DType::F32) {
    be.from_host(r.w, data.data(), data.size() * 4);
  } else {  // a frozen bf16 tensor: rounded on the backend like the upload at load
    auto tmp = be.buffer();
    float* f = static_cast<float*>(tmp->ensure(data.size() * 4));
    be.from_host(f, data.data(), data.size() * 4);
    be.cast(r.w, r.dt, f, r.n);  // (freeing tmp waits for the cast: cudaFree synchronises)
  }
}

TrainState::TrainState(const ModelConfig& cfg, Backend& be, const ParamTable& model,
                       const std::vector<int64_t>& head_sizes, TrainOptions opts)
    : cfg_(cfg), be_(be), opts_(std::move(opts)), meta_(structure_of(*model.meta)) {
  const size_t base = model.base();
  for (LayerWeights& l : meta_.layers)
    for (int r = 0; r < kLinearRoles; ++r) l.lora(LinearRole(r)).clear();  // the model's own (none) are not reused
  add_lora_adapters(cfg_, meta_, opts_);
  const DType ct = be_.compute_type();
  table_.meta = &meta_;
  table_.inv_freq = model.inv_freq;
  table_.t.assign(model.t.begin(), model.t.begin() + long(base));
  // the adapters: fp32 masters from their host initialisation, compute copies in bf16 mode
  auto list = param_list(meta_);
  std::vector<float*> adapter_master(list.size(), nullptr);
  for (size_t k = base; k < list.size(); ++k) {
    const std::vector<float>& host = *list[k];
    auto m = be_.buffer();
    float* mp = static_cast<float*>(m->ensure(host.size() * 4));
    be_.from_host(mp, host.data(), host.size() * 4);
    adapters_.push_back(std::move(m));
    adapter_master[k] = mp;
    ParamRef r{mp, DType::F32, int64_t(host.size())};
    if (ct != DType::F32) {
      auto c = be_.buffer();
      r.w = c->ensure(host.size() * dtype_size(ct));
      r.dt = ct;
      be_.cast(r.w, ct, mp, r.n);
      adapters_.push_back(std::move(c));
    }
    table_.t.push_back(r);
  }
  for (LayerWeights& l : meta_.layers)  // the adapters' values live in the backend from here
    for (int r = 0; r < kLinearRoles; ++r)
      for (LoraAdapter& a : l.lora(LinearRole(r))) {
        a.A.clear();
        a.A.shrink_to_fit();
        a.B.clear();
        a.B.shrink_to_fit();
      }
  std::vector<int64_t> n;
  for (const ParamRef& r : table_.t) n.push_back(r.n);
  make_slices(trainable_mask(cfg_, n, base, opts_), adapter_master, head_sizes);
}

TrainState::TrainState(const ModelConfig& cfg, Backend& be, ParamTable table, const std::vector<bool>& trainable,
                       const std::vector<int64_t>& head_sizes, TrainOptions opts)
    : cfg_(cfg), be_(be), opts_(std::move(opts)), table_(std::move(table)) {
  GLAM_CHECK(trainable.size() == table_.t.size(), "InternalError", "a trainable mask of another table");
  table_.meta = nullptr;
  make_slices(trainable, std::vector<float*>(table_.t.size(), nullptr), head_sizes);
}

void TrainState::make_slices(const std::vector<bool>& trainable, const std::vector<float*>& given,
                             const std::vector<int64_t>& head_sizes) {
  slice_.assign(table_.t.size(), Slice{});
  for (size_t k = 0; k < table_.t.size(); ++k) {
    if (!trainable[k] || table_.t[k].n == 0) continue;
    const ParamRef& r = table_.t[k];
    Slice& s = slice_[k];
    s.n = r.n;
    if (given[k]) {
      s.master = given[k];
    } else if (r.dt == DType::F32) {
      s.master = static_cast<float*>(r.w);
    } else {
      auto m = be_.buffer();
      s.master = static_cast<float*>(m->ensure(size_t(r.n) * 4));
      be_.widen(s.master, r.w, r.dt, r.n);
      masters_.push_back(std::move(m));
    }
  }
  layout(head_sizes);
}

void TrainState::layout(const std::vector<int64_t>& head_sizes) {
  // model slices first (their offsets never change), then the value head's
  int64_t off = 0;
  for (Slice& s : slice_)
    if (s.n > 0) {
      s.off = off;
      off += s.n;
    }
  model_total_ = off;
  vslice_.clear();
  for (size_t i = 0; i + 1 < head_sizes.size(); ++i)
    for (int64_t n : {head_sizes[i + 1] * head_sizes[i], head_sizes[i + 1]}) {
      vslice_.push_back(Slice{nullptr, off, n});
      off += n;
    }
  const bool had = g_ != nullptr;
  const int64_t old = total_;
  total_ = off;
  // the model part is kept, the value head's part starts from zeros
  for (std::unique_ptr<Buffer>* b : {&g_, &m_, &v_}) {
    if (b != &g_ && !*b) continue;  // moments: not yet
    auto fresh = be_.buffer();
    char* p = static_cast<char*>(fresh->ensure(size_t(total_) * 4));
    be_.zero(p, size_t(total_) * 4);
    if (had && *b) be_.copy(p, (*b)->data(), size_t(std::min(model_total_, old)) * 4);
    *b = std::move(fresh);
  }
  grad_.assign(slice_.size(), nullptr);
  for (size_t k = 0; k < slice_.size(); ++k)
    if (slice_[k].off >= 0) grad_[k] = g_->as<float>() + slice_[k].off;
}

void TrainState::reset_value_head(const std::vector<int64_t>& sizes) { layout(sizes); }

ValueHeadParams TrainState::with_grads(ValueHeadParams head) const {
  GLAM_CHECK(vslice_.size() == 2 * head.W.size(), "InternalError", "the value head changed shape without a reset");
  head.dW.clear();
  head.db.clear();
  for (size_t i = 0; i < head.W.size(); ++i) {
    head.dW.push_back(g_->as<float>() + vslice_[2 * i].off);
    head.db.push_back(g_->as<float>() + vslice_[2 * i + 1].off);
  }
  return head;
}

void TrainState::zero_grad() {
  if (total_) be_.zero(g_->data(), size_t(total_) * 4);
}

void TrainState::ensure_moments() {
  for (std::unique_ptr<Buffer>* b : {&m_, &v_}) {
    if (*b) continue;
    *b = be_.buffer();
    be_.zero((*b)->ensure(size_t(total_) * 4), size_t(total_) * 4);
  }
}

float* TrainState::at(StateTensor what, int64_t off) const {
  switch (what) {
    case StateTensor::Grads: return g_->as<float>() + off;
    case StateTensor::ExpAvg: return m_->as<float>() + off;
    case StateTensor::ExpAvgSq: return v_->as<float>() + off;
    case StateTensor::Params: break;
  }
  return nullptr;
}

double TrainState::step(const AdamWOptions& o, const ValueHeadParams& head) {
  GLAM_CHECK(o.lr >= 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps > 0 && o.weight_decay >= 0,
             "InvalidArgument", "AdamW needs lr >= 0, 0 <= betas < 1, eps > 0, weightDecay >= 0");
  GLAM_CHECK(vslice_.size() == 2 * head.W.size(), "InternalError", "the value head changed shape without a reset");
  ensure_moments();
  ++step_;
  std::vector<OptSlot> slots;
  auto add = [&](float* w, const Slice& s, void* copy) {
    slots.push_back({w, at(StateTensor::Grads, s.off), at(StateTensor::ExpAvg, s.off), at(StateTensor::ExpAvgSq, s.off),
                     copy, s.n});
  };
  for (size_t k = 0; k < slice_.size(); ++k)
    if (slice_[k].off >= 0) add(slice_[k].master, slice_[k], table_.t[k].w == slice_[k].master ? nullptr : table_.t[k].w);
  for (size_t i = 0; i < head.W.size(); ++i) {
    add(const_cast<float*>(head.W[i]), vslice_[2 * i], nullptr);
    add(const_cast<float*>(head.b[i]), vslice_[2 * i + 1], nullptr);
  }
  return be_.adamw_step(slots, o, step_);
}

size_t TrainState::bytes() const {
  size_t b = 0;
  for (const auto* p : {&g_, &m_, &v_})
    if (*p) b += (*p)->size();
  for (const auto& m : masters_) b += m->size();
  for (const auto& a : adapters_) b += a->size();
  return b;
}

std::vector<float> TrainState::download_tensor(StateTensor what, size_t k) {
  GLAM_CHECK(k < table_.t.size(), "InternalError", "no such tensor in the training state");
  const ParamRef& r = table_.t[k];
  const Slice& s = slice_[k];
  std::vector<float> out;
  if (what == StateTensor::Params) {
    out.resize(size_t(r.n));
    if (r.n == 0) return out;
    if (s.master) {  // trainable: its fp32 master
      be_.to_host(out.data(), s.master, out.size() * 4);
    } else if (r.dt == DType::F32) {
      be_.to_host(out.data(), r.w, out.size() * 4);
    } else {  // widened on the backend, exactly
      auto tmp = be_.buffer();
      float* f = static_cast<float*>(tmp->ensure(out.size() * 4));
      be_.widen(f, r.w, r.dt, r.n);
      be_.to_host(out.data(), f, out.size() * 4);
    }
    return out;
  }
  if (s.off < 0) return out;  // frozen: no gradient, no moments (EMPTY)
  if (what != StateTensor::Grads) ensure_moments();
  out.resize(size_t(s.n));
  be_.to_host(out.data(), at(what, s.off), out.size() * 4);
  return out;
}

Weights TrainState::download(StateTensor what) {
  GLAM_CHECK(table_.meta != nullptr, "InternalError", "download() reads a decoder-only table");
  Weights out = structure_of(meta_);
  auto dst = param_list(out);
  for (size_t k = 0; k < dst.size(); ++k) *dst[k] = download_tensor(what, k);
  return out;
}

std::vector<std::vector<float>> TrainState::download_value_head(StateTensor what, const ValueHeadParams& head) {
  if (what == StateTensor::ExpAvg || what == StateTensor::ExpAvgSq) ensure_moments();
  std::vector<std::vector<float>> out(vslice_.size());
  for (size_t j = 0; j < vslice_.size(); ++j) {
    out[j].resize(size_t(vslice_[j].n));
    const float* src = what == StateTensor::Params ? (j % 2 ? head.b[j / 2] : head.W[j / 2]) : at(what, vslice_[j].off);
    be_.to_host(out[j].data(), src, out[j].size() * 4);
  }
  return out;
}

void TrainState::upload(StateTensor what, size_t k, const std::vector<float>& data) {
  GLAM_CHECK(what != StateTensor::Grads, "InvalidArgument", "gradients cannot be imported");
  GLAM_CHECK(k < table_.t.size() && int64_t(data.size()) == table_.t[k].n, "TensorShapeMismatch",
             "tensor " + std::to_string(k) + " has " + std::to_string(data.size()) + " values, expected " +
                 std::to_string(k < table_.t.size() ? table_.t[k].n : 0));
  if (what == StateTensor::Params) {
    upload_param(be_, table_.t[k], slice_[k].master, data);
    return;
  }
  if (slice_[k].off < 0) return;  // frozen: no moments to hold
  ensure_moments();
  be_.from_host(at(what, slice_[k].off), data.data(), data.size() * 4);
}

void TrainState::upload_value_head(StateTensor what, size_t j, const std::vector<float>& data,
                                   const ValueHeadParams& head) {
  GLAM_CHECK(what != StateTensor::Grads, "InvalidArgument", "gradients cannot be imported");
  GLAM_CHECK(j < vslice_.size() && int64_t(data.size()) == vslice_[j].n, "TensorShapeMismatch",
             "value head tensor " + std::to_string(j) + " has the wrong size");
  if (what != StateTensor::Params) ensure_moments();
  float* dst = what == StateTensor::Params ? const_cast<float*>(j % 2 ? head.b[j / 2] : head.W[j / 2])
                                           : at(what, vslice_[j].off);
  be_.from_host(dst, data.data(), data.size() * 4);
}

}  // namespace glam
