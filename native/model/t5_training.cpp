// T5's trainable set, LoRA adapters and AdamW; see t5_training.h.
// Subtle: the AdamW update below is model/training.cpp's, written over T5's parameter list; the two
// should become one function over (param, grad, m, v) slots once the decoder-only state exposes it.
#include "model/t5_training.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace glam {
namespace {

constexpr int64_t kChunk = 1 << 15;  // elements per partial sum of squares (thread-count independent)

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct Target {
  T5Lin lin;
  const char* module;  // relative to the block prefix
  int64_t out_off, out_n, in_n;
};

std::vector<Target> targets(const ModelConfig& c, bool dec) {
  const int64_t C = c.hidden, HD = c.heads * c.head_dim, I = c.inter;
  std::vector<Target> t = {{T5Lin::Qkv, "layer.0.SelfAttention.q", 0, HD, C},
                           {T5Lin::Qkv, "layer.0.SelfAttention.k", HD, HD, C},
                           {T5Lin::Qkv, "layer.0.SelfAttention.v", 2 * HD, HD, C},
                           {T5Lin::O, "layer.0.SelfAttention.o", 0, C, HD}};
  if (dec) {
    t.push_back({T5Lin::CrossQ, "layer.1.EncDecAttention.q", 0, HD, C});
    t.push_back({T5Lin::CrossKv, "layer.1.EncDecAttention.k", 0, HD, C});
    t.push_back({T5Lin::CrossKv, "layer.1.EncDecAttention.v", HD, HD, C});
    t.push_back({T5Lin::CrossO, "layer.1.EncDecAttention.o", 0, C, HD});
  }
  const bool g = c.gated;
  if (dec) {
    t.push_back({T5Lin::Wi, g ? "layer.2.DenseReluDense.wi_0" : "layer.2.DenseReluDense.wi", 0, I, C});
    if (g) t.push_back({T5Lin::Wi, "layer.2.DenseReluDense.wi_1", I, I, C});
    t.push_back({T5Lin::Wo, "layer.2.DenseReluDense.wo", 0, C, I});
  } else {
    t.push_back({T5Lin::Wi, g ? "layer.1.DenseReluDense.wi_0" : "layer.1.DenseReluDense.wi", 0, I, C});
    if (g) t.push_back({T5Lin::Wi, "layer.1.DenseReluDense.wi_1", I, I, C});
    t.push_back({T5Lin::Wo, "layer.1.DenseReluDense.wo", 0, C, I});
  }
  return t;
}

void add_lora(const ModelConfig& c, T5Weights& w, const TrainOptions& o) {
  GLAM_CHECK(o.rank >= 1 && o.rank <= 4096 && o.alpha > 0, "InvalidArgument", "LoRA needs 1 <= rank <= 4096 and alpha > 0");
  uint64_t s = o.seed * 0x9e3779b97f4a7c15ull + 1;
  int matched = 0;
  for (int st = 0; st < 2; ++st) {
    std::vector<T5Block>& blocks = st ? w.dec : w.enc;
    for (size_t l = 0; l < blocks.size(); ++l)
      for (const Target& t : targets(c, st == 1)) {
        const std::string m = t.module, name = m.substr(m.rfind('.') + 1);
        if (!o.targets.empty() && std::find(o.targets.begin(), o.targets.end(), name) == o.targets.end()) continue;
        ++matched;
        LoraAdapter a;
        a.module = std::string(st ? "decoder" : "encoder") + ".block." + std::to_string(l) + "." + m;
        a.out_off = t.out_off;
        a.out_n = t.out_n;
        a.in_n = t.in_n;
        a.rank = o.rank;
        a.scale = float(o.alpha / double(o.rank));
        const double bound = 1.0 / std::sqrt(double(t.in_n));  // PEFT: kaiming_uniform(a = sqrt(5)); B = 0
        a.A.resize(size_t(a.rank * a.in_n));
        for (float& x : a.A) x = float((double(splitmix64(s) >> 11) / 9007199254740992.0 * 2 - 1) * bound);
        a.B.assign(size_t(a.out_n * a.rank), 0.0f);
        blocks[l].lora[int(t.lin)].push_back(std::move(a));
      }
  }
  GLAM_CHECK(matched > 0, "InvalidArgument", "no LoRA target matched; T5's targets are q, k, v, o, wi, wi_0, wi_1, wo");
}

// A copy of w's structure (adapter metadata included) with the vectors that train sized as zeros.
T5Weights shaped_like(T5Weights& w, const std::vector<bool>& trainable) {
  T5Weights g;
  g.enc.resize(w.enc.size());
  g.dec.resize(w.dec.size());
  for (int st = 0; st < 2; ++st)
    for (size_t l = 0; l < (st ? w.dec : w.enc).size(); ++l)
      for (int k = 0; k < kT5Lins; ++k)
        for (const LoraAdapter& a : (st ? w.dec : w.enc)[l].lora[k]) {
          LoraAdapter z = a;
          z.A.clear();
          z.B.clear();
          (st ? g.dec : g.enc)[l].lora[k].push_back(z);
        }
  auto src = t5_param_list(w), dst = t5_param_list(g);
  for (size_t k = 0; k < src.size(); ++k)
    if (trainable[k]) dst[k]->assign(src[k]->size(), 0.0f);
  return g;
}

double sum_squares(const std::vector<float>& g, ThreadPool& pool) {
  const int64_t n = int64_t(g.size()), nchunk = (n + kChunk - 1) / kChunk;
  std::vector<double> part(size_t(nchunk), 0.0);
  pool.run(nchunk, [&](int64_t c) {
    double s = 0;
    for (int64_t i = c * kChunk, e = std::min(n, (c + 1) * kChunk); i < e; ++i) s += double(g[size_t(i)]) * g[size_t(i)];
    part[size_t(c)] = s;
  });
  double s = 0;
  for (double p : part) s += p;
  return s;
}

ValueHead zeros_like(const ValueHead& h) {
  ValueHead z;
  z.sizes = h.sizes;
  for (const auto& w : h.weight) z.weight.emplace_back(w.size(), 0.0f);
  for (const auto& b : h.bias) z.bias.emplace_back(b.size(), 0.0f);
  return z;
}

}  // namespace

T5TrainState::T5TrainState(T5Cpu& model, const ValueHead& head, TrainOptions opts) : opts_(std::move(opts)) {
  T5Weights& w = model.w;
  if (opts_.lora) add_lora(model.cfg, w, opts_);
  auto params = t5_param_list(w);
  std::vector<bool> trainable(params.size(), false);
  const size_t base = t5_base_param_count(w);
  const bool tied = w.lm_head.empty();
  for (size_t k = 0; k < params.size(); ++k) {
    if (params[k]->empty()) continue;
    if (opts_.lora) {
      trainable[k] = k >= base;
      continue;
    }
    const bool embed = params[k] == &w.shared, head_w = params[k] == &w.lm_head || (tied && embed);
    trainable[k] = !(embed && opts_.freeze_embeddings) && !(head_w && opts_.freeze_lm_head);
  }
  grads = shaped_like(w, trainable);
  vgrads = zeros_like(head);
}

void T5TrainState::zero_grad() {
  for (auto* g : t5_param_list(grads)) std::fill(g->begin(), g->end(), 0.0f);
  for (auto& g : vgrads.weight) std::fill(g.begin(), g.end(), 0.0f);
  for (auto& g : vgrads.bias) std::fill(g.begin(), g.end(), 0.0f);
}

void T5TrainState::reset_value_head(const ValueHead& head) {
  vgrads = zeros_like(head);
  vm = ValueHead{};
  vv = ValueHead{};
}

void T5TrainState::ensure_moments(T5Cpu& model, const ValueHead& head) {
  if (m.enc.empty()) {
    auto gl = t5_param_list(grads);
    std::vector<bool> trainable(gl.size());
    for (size_t k = 0; k < gl.size(); ++k) trainable[k] = !gl[k]->empty();
    m = shaped_like(model.w, trainable);
    v = shaped_like(model.w, trainable);
  }
  if (vm.weight.empty()) {
    vm = zeros_like(head);
    vv = zeros_like(head);
  }
}

double T5TrainState::adamw_step(T5Cpu& model, ValueHead& head, const AdamWOptions& o) {
  GLAM_CHECK(o.lr >= 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps > 0 && o.weight_decay >= 0,
             "InvalidArgument", "AdamW needs lr >= 0, 0 <= betas < 1, eps > 0, weightDecay >= 0");
  ensure_moments(model, head);
  ThreadPool& pool = model.be.pool();
  struct Slot {
    std::vector<float>*w, *g, *m, *v;
  };
  std::vector<Slot> slots;
  auto W = t5_param_list(model.w), G = t5_param_list(grads), M = t5_param_list(m), V = t5_param_list(v);
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
  const float decay = float(1 - o.lr * o.weight_decay), cf = float(clip), b1 = float(o.beta1), b2 = float(o.beta2);
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

size_t T5TrainState::bytes() const {
  size_t b = 0;
  for (const T5Weights* ws : {&grads, &m, &v})
    for (auto* p : t5_param_list(const_cast<T5Weights&>(*ws))) b += p->size() * sizeof(float);
  for (const ValueHead* h : {&vgrads, &vm, &vv}) {
    for (const auto& x : h->weight) b += x.size() * sizeof(float);
    for (const auto& x : h->bias) b += x.size() * sizeof(float);
  }
  return b;
}

int64_t T5TrainState::trainable_params() const {
  int64_t n = 0;
  for (auto* p : t5_param_list(const_cast<T5Weights&>(grads))) n += int64_t(p->size());
  for (const auto& x : vgrads.weight) n += int64_t(x.size());
  for (const auto& x : vgrads.bias) n += int64_t(x.size());
  return n;
}

}  // namespace glam
