// T5's trainable set and LoRA adapters over the one TrainState; see t5_training.h.
#include "model/t5_training.h"

#include <algorithm>

#include "common/error.h"
#include "model/engine.h"  // tensor_from

namespace glam {
namespace {

struct Target {
  T5Lin lin;
  std::string module;  // relative to the block prefix
  int64_t out_off, out_n, in_n;
};

// The LoRA targets are the block's matrices as the name table lists them (model/t5_weights.h
// t5_layout): q, k, v, o, (decoder: cross q, k, v, o), wi_0, wi_1 | wi, wo; PEFT's module = the
// tensor's name without ".weight".
std::vector<Target> targets(const ModelConfig& c, bool dec) {
  std::vector<Target> t;
  for (const T5Part& p : (dec ? t5_layout().dec : t5_layout().enc).parts) {
    if (p.cols == T5Dim::None || !t5_has_part(c, p)) continue;
    const std::string name = p.name;
    const int64_t rows = t5_dim(c, p.rows);
    t.push_back({t5_lin(p.dst), name.substr(0, name.rfind(".weight")), p.index * rows, rows, t5_dim(c, p.cols)});
  }
  return t;
}

void add_lora(const ModelConfig& c, T5Weights& w, const TrainOptions& o) {
  uint64_t s = lora_seed(o);
  int matched = 0;
  for (int st = 0; st < 2; ++st) {
    std::vector<T5Block>& blocks = st ? w.dec : w.enc;
    for (size_t l = 0; l < blocks.size(); ++l)
      for (const Target& t : targets(c, st == 1)) {
        const std::string& m = t.module;
        const std::string name = m.substr(m.rfind('.') + 1);
        if (!o.targets.empty() && std::find(o.targets.begin(), o.targets.end(), name) == o.targets.end()) continue;
        ++matched;
        const std::string module = (st ? t5_layout().dec : t5_layout().enc).prefix + std::to_string(l) + "." + m;
        blocks[l].lora[int(t.lin)].push_back(make_lora_adapter(module, t.out_off, t.out_n, t.in_n, o, s));
      }
  }
  GLAM_CHECK(matched > 0, "InvalidArgument", "no LoRA target matched; T5's targets are q, k, v, o, wi, wi_0, wi_1, wo");
}

}  // namespace

T5Weights t5_structure(const T5Weights& w) {
  T5Weights s;
  s.enc.resize(w.enc.size());
  s.dec.resize(w.dec.size());
  for (int st = 0; st < 2; ++st)
    for (size_t l = 0; l < (st ? w.dec : w.enc).size(); ++l)
      for (int k = 0; k < kT5Lins; ++k)
        for (LoraAdapter a : (st ? w.dec : w.enc)[l].lora[k]) {
          a.A.clear();
          a.B.clear();
          (st ? s.dec : s.enc)[l].lora[k].push_back(std::move(a));
        }
  return s;
}

std::vector<bool> t5_trainable(const ModelConfig& cfg, T5Weights& w, const TrainOptions& opts,
                               const std::vector<bool>* present) {
  const auto params = t5_param_list(w);
  const size_t base = t5_base_param_count(w);
  GLAM_CHECK(!present || present->size() == base, "InternalError", "a presence mask of another T5 structure");
  auto has = [&](size_t k) { return present ? bool((*present)[k]) : !params[k]->empty(); };
  size_t head_k = base;  // lm_head's index (base tensors are listed before any adapter)
  for (size_t k = 0; k < base; ++k)
    if (params[k] == &w.lm_head) head_k = k;
  const bool tied = head_k == base || !has(head_k);
  if (opts.lora) add_lora(cfg, w, opts);
  const auto all = t5_param_list(w);
  std::vector<bool> trainable(all.size(), false);
  for (size_t k = 0; k < all.size(); ++k) {
    std::vector<float>& v = *all[k];
    if (k < base ? !has(k) : v.empty()) continue;
    if (opts.lora) {
      trainable[k] = k >= base;
      continue;
    }
    const bool embed = &v == &w.shared, head_w = &v == &w.lm_head || (tied && embed);
    trainable[k] = !(embed && opts.freeze_embeddings) && !(head_w && opts.freeze_lm_head);
  }
  return trainable;
}

T5Weights t5_state_tensors(T5Weights& w, TrainState& t, StateTensor what) {
  T5Weights s = t5_structure(w);
  const auto dst = t5_param_list(s);
  for (size_t k = 0; k < dst.size(); ++k) *dst[k] = t.download_tensor(what, k);
  return s;
}

void t5_upload_state(TrainState& t, StateTensor what, T5Weights& s) {
  const auto src = t5_param_list(s);
  for (size_t k = 0; k < src.size(); ++k)
    if (!src[k]->empty()) t.upload(what, k, *src[k]);
}

namespace {

// Copies every tensor of the table (T5's fused layout) from src, all checked before any is written.
void copy_in(const std::vector<T5Tensor>& table, const std::map<std::string, HfTensor>& src) {
  for (const T5Tensor& x : table) {
    if (x.dst->empty()) continue;  // frozen: no moments
    int64_t n = 1;
    for (int64_t d : x.shape) n *= d;
    tensor_from(src, x.name, size_t(n));
  }
  for (const T5Tensor& x : table) {
    if (x.dst->empty()) continue;
    const std::vector<float>& v = src.at(x.name).data;
    std::copy(v.begin(), v.end(), x.dst->begin() + x.row0 * (x.shape.size() == 2 ? x.shape[1] : 1));
  }
}

}  // namespace

std::map<std::string, HfTensor> t5_export(const ModelConfig& cfg, T5Weights& meta, TrainState* t, StateTensor what,
                                          bool lora, T5Weights& weights) {
  GLAM_CHECK(t || what == StateTensor::Params, "InvalidArgument", "training is not enabled; call setTraining() first");
  if (!t) return export_t5(cfg, weights, lora);
  T5Weights s = t5_state_tensors(meta, *t, what);
  return export_t5(cfg, s, lora);
}

void t5_import(const ModelConfig& cfg, T5Weights& meta, TrainState* t, StateTensor what, bool lora,
               const std::map<std::string, HfTensor>& src, T5Weights& weights) {
  GLAM_CHECK(t || what == StateTensor::Params, "InvalidArgument", "training is not enabled; call setTraining() first");
  if (!t) {  // the weights themselves (no adapters before training: nothing to import for lora)
    if (!lora) copy_in(t5_tensors(cfg, weights), src);
    return;
  }
  // the state's current tensors, overwritten from src, written back through the TrainState
  T5Weights s = t5_state_tensors(meta, *t, what);
  if (!lora) {
    T5Weights base = t5_structure(s);  // only the base tensors go back: adapters keep their values
    const auto from = t5_param_list(s), to = t5_param_list(base);
    for (size_t k = 0; k < t5_base_param_count(s); ++k) to[k]->swap(*from[k]);
    copy_in(t5_tensors(cfg, base), src);
    t5_upload_state(*t, what, base);
  } else {
    for (auto* stack : {&s.enc, &s.dec})
      for (T5Block& b : *stack)
        for (auto& list : b.lora)
          for (LoraAdapter& a : list) {
            if (a.A.empty()) continue;  // frozen (never for adapters) or no moments
            a.A = tensor_from(src, "base_model.model." + a.module + ".lora_A.weight", a.A.size());
            a.B = tensor_from(src, "base_model.model." + a.module + ".lora_B.weight", a.B.size());
          }
    T5Weights adapters = t5_structure(s);
    const auto from = t5_param_list(s), to = t5_param_list(adapters);
    for (size_t k = t5_base_param_count(s); k < from.size(); ++k) to[k]->swap(*from[k]);
    t5_upload_state(*t, what, adapters);
  }
}

}  // namespace glam
