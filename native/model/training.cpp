// TrainState: trainable set, gradient buffers, clipping and AdamW; see training.h.
#include "model/training.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace glam {
namespace {

constexpr int64_t kChunk = 1 << 15;  // elements per partial sum of squares (fixed: thread-count independent)

// Gradient-shaped copies: same adapters (metadata), vectors sized per `sized(param)`.
Weights shaped_like(Weights& w, const std::vector<bool>& trainable) {
  Weights g;
  g.layers.resize(w.layers.size());
  for (size_t i = 0; i < w.layers.size(); ++i)
    for (auto lists : {std::make_pair(&w.layers[i].lqkv, &g.layers[i].lqkv), std::make_pair(&w.layers[i].lo, &g.layers[i].lo),
                       std::make_pair(&w.layers[i].lup, &g.layers[i].lup), std::make_pair(&w.layers[i].ldown, &g.layers[i].ldown)})
      for (const LoraAdapter& a : *lists.first) {
        LoraAdapter z = a;
        z.A.clear();
        z.B.clear();
        lists.second->push_back(z);
      }
  auto src = param_list(w), dst = param_list(g);
  for (size_t k = 0; k < src.size(); ++k)
    if (trainable[k]) dst[k]->assign(src[k]->size(), 0.0f);
  return g;
}

double sum_squares(const std::vector<float>& g, ThreadPool& pool) {
  const int64_t n = int64_t(g.size()), nchunk = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<size_t>(nchunk), 0.0);
  pool.run(nchunk, [&](int64_t c) {
    double s = 0;
    for (int64_t i = c * kChunk, e = std::min(n, (c + 1) * kChunk); i < e; ++i) s += double(g[size_t(i)]) * g[size_t(i)];
    part[size_t(c)] = s;
  });
  double s = 0;
  for (double p : part) s += p;
  return s;
}

struct Slot {
  std::vector<float>*w, *g, *m, *v;
};

}  // namespace

TrainState::TrainState(Transformer& model, const ValueHead& head, TrainOptions opts) : opts_(std::move(opts)) {
  const ModelConfig& cfg = model.config();
  Weights& w = model.mutable_weights();
  add_lora_adapters(cfg, w, opts_);
  const std::vector<bool> trainable = trainable_mask(cfg, w, opts_);
  grads = shaped_like(w, trainable);
  vgrads = head.zeros_like();
}

void TrainState::reset_value_head(const ValueHead& head) {
  vgrads = head.zeros_like();
  vm = ValueHead{};
  vv = ValueHead{};
}

void TrainState::zero_grad() {
  for (auto* g : param_list(grads)) std::fill(g->begin(), g->end(), 0.0f);
  for (auto& g : vgrads.weight) std::fill(g.begin(), g.end(), 0.0f);
  for (auto& g : vgrads.bias) std::fill(g.begin(), g.end(), 0.0f);
}

void TrainState::ensure_moments(Transformer& model, const ValueHead& head) {
  if (m.layers.empty()) {
    auto gl = param_list(grads);
    std::vector<bool> trainable(gl.size());
    for (size_t k = 0; k < gl.size(); ++k) trainable[k] = !gl[k]->empty();
    m = shaped_like(model.mutable_weights(), trainable);
    v = shaped_like(model.mutable_weights(), trainable);
  }
  if (vm.weight.empty()) {
    vm = head.zeros_like();
    vv = head.zeros_like();
  }
}

double TrainState::adamw_step(Transformer& model, ValueHead& head, const AdamWOptions& o) {
  GLAM_CHECK(o.lr >= 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps > 0 && o.weight_decay >= 0,
             "InvalidArgument", "AdamW needs lr >= 0, 0 <= betas < 1, eps > 0, weightDecay >= 0");
  ensure_moments(model, head);
  ThreadPool& pool = model.pool();
  std::vector<Slot> slots;
  auto W = param_list(model.mutable_weights()), G = param_list(grads), M = param_list(m), V = param_list(v);
  for (size_t k = 0; k < W.size(); ++k)
    if (!G[k]->empty()) slots.push_back({W[k], G[k], M[k], V[k]});
  for (size_t i = 0; i < head.weight.size(); ++i) {
    slots.push_back({&head.weight[i], &vgrads.weight[i], &vm.weight[i], &vv.weight[i]});
    slots.push_back({&head.bias[i], &vgrads.bias[i], &vm.bias[i], &vv.bias[i]});
  }
  double ss = 0;
  for (const Slot& s : slots) ss += sum_squares(*s.g, pool);
  const double norm = std::sqrt(ss);
  double clip = 1.0;
  if (o.max_grad_norm > 0) clip = std::min(1.0, o.max_grad_norm / (norm + 1e-6));  // torch.nn.utils.clip_grad_norm_
  ++step;
  const double bc1 = 1 - std::pow(o.beta1, double(step)), bc2 = 1 - std::pow(o.beta2, double(step));
  const double step_size = o.lr / bc1, bc2_sqrt = std::sqrt(bc2);
  const float decay = float(1 - o.lr * o.weight_decay), cf = float(clip);
  const float b1 = float(o.beta1), b2 = float(o.beta2);
  for (const Slot& s : slots) {
    float *w = s.w->data(), *g = s.g->data(), *mm = s.m->data(), *vv2 = s.v->data();
    pool.parallel_for(int64_t(s.w->size()), 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const float gi = g[i] * cf;
        w[i] *= decay;
        mm[i] += (gi - mm[i]) * (1 - b1);  // torch: exp_avg.lerp_(grad, 1 - beta1)
        vv2[i] = vv2[i] * b2 + (1 - b2) * gi * gi;
        const float denom = float(std::sqrt(double(vv2[i])) / bc2_sqrt + o.eps);
        w[i] -= float(step_size) * (mm[i] / denom);
      }
    });
  }
  return norm;
}

size_t TrainState::bytes() const {
  size_t b = 0;
  for (const Weights* ws : {&grads, &m, &v})
    for (auto* p : param_list(const_cast<Weights&>(*ws))) b += p->size() * sizeof(float);
  for (const ValueHead* h : {&vgrads, &vm, &vv}) {
    for (const auto& x : h->weight) b += x.size() * sizeof(float);
    for (const auto& x : h->bias) b += x.size() * sizeof(float);
  }
  return b;
}

int64_t TrainState::trainable_params() const {
  int64_t n = 0;
  for (auto* p : param_list(const_cast<Weights&>(grads))) n += int64_t(p->size());
  for (const auto& x : vgrads.weight) n += int64_t(x.size());
  for (const auto& x : vgrads.bias) n += int64_t(x.size());
  return n;
}

void TrainState::copy_gradients(float* flat, bool out) {
  std::vector<std::vector<float>*> order;
  for (auto* g : param_list(grads))
    if (!g->empty()) order.push_back(g);
  for (size_t i = 0; i < vgrads.weight.size(); ++i) {
    order.push_back(&vgrads.weight[i]);
    order.push_back(&vgrads.bias[i]);
  }
  for (auto* g : order) {
    if (out) std::copy(g->begin(), g->end(), flat);
    else std::copy(flat, flat + g->size(), g->begin());
    flat += g->size();
  }
}

}  // namespace glam
