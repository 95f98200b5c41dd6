// T5 weights: the Hugging Face name table, loading, export; see t5_weights.h.
// Subtle: every size is re-checked against the config and the byte counts, so a malformed tensor
// that slipped past the TS validator is a typed error, never an overread.
#include "model/t5_weights.h"

#include "common/error.h"

namespace glam {
namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

int64_t numel(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

int64_t up_rows_t5(const ModelConfig& c) { return c.gated ? 2 * c.inter : c.inter; }

std::vector<float>* dst_of(T5Block& b, T5Dst d) {
  switch (d) {
    case T5Dst::LnAttn: return &b.ln_attn;
    case T5Dst::LnCross: return &b.ln_cross;
    case T5Dst::LnFf: return &b.ln_ff;
    default: return &b.lin[int(t5_lin(d))];
  }
}

// The block parts of one stack, in load order: self-attention, (decoder) cross-attention, feed-forward
// (the encoder's is its layer 1, the decoder's its layer 2).
std::vector<T5Part> stack_parts(bool dec) {
  using D = T5Dim;
  std::vector<T5Part> p = {
      {"layer.0.layer_norm.weight", D::C, D::None, T5Dst::LnAttn, 0, T5Ff::Any},
      {"layer.0.SelfAttention.q.weight", D::HD, D::C, T5Dst::Qkv, 0, T5Ff::Any},
      {"layer.0.SelfAttention.k.weight", D::HD, D::C, T5Dst::Qkv, 1, T5Ff::Any},
      {"layer.0.SelfAttention.v.weight", D::HD, D::C, T5Dst::Qkv, 2, T5Ff::Any},
      {"layer.0.SelfAttention.o.weight", D::C, D::HD, T5Dst::O, 0, T5Ff::Any},
  };
  if (dec) {
    p.insert(p.end(), {
                          {"layer.1.layer_norm.weight", D::C, D::None, T5Dst::LnCross, 0, T5Ff::Any},
                          {"layer.1.EncDecAttention.q.weight", D::HD, D::C, T5Dst::CrossQ, 0, T5Ff::Any},
                          {"layer.1.EncDecAttention.k.weight", D::HD, D::C, T5Dst::CrossKv, 0, T5Ff::Any},
                          {"layer.1.EncDecAttention.v.weight", D::HD, D::C, T5Dst::CrossKv, 1, T5Ff::Any},
                          {"layer.1.EncDecAttention.o.weight", D::C, D::HD, T5Dst::CrossO, 0, T5Ff::Any},
                      });
    p.insert(p.end(), {
                          {"layer.2.layer_norm.weight", D::C, D::None, T5Dst::LnFf, 0, T5Ff::Any},
                          {"layer.2.DenseReluDense.wi_0.weight", D::I, D::C, T5Dst::Wi, 0, T5Ff::Gated},
                          {"layer.2.DenseReluDense.wi_1.weight", D::I, D::C, T5Dst::Wi, 1, T5Ff::Gated},
                          {"layer.2.DenseReluDense.wi.weight", D::I, D::C, T5Dst::Wi, 0, T5Ff::Relu},
                          {"layer.2.DenseReluDense.wo.weight", D::C, D::I, T5Dst::Wo, 0, T5Ff::Any},
                      });
  } else {
    p.insert(p.end(), {
                          {"layer.1.layer_norm.weight", D::C, D::None, T5Dst::LnFf, 0, T5Ff::Any},
                          {"layer.1.DenseReluDense.wi_0.weight", D::I, D::C, T5Dst::Wi, 0, T5Ff::Gated},
                          {"layer.1.DenseReluDense.wi_1.weight", D::I, D::C, T5Dst::Wi, 1, T5Ff::Gated},
                          {"layer.1.DenseReluDense.wi.weight", D::I, D::C, T5Dst::Wi, 0, T5Ff::Relu},
                          {"layer.1.DenseReluDense.wo.weight", D::C, D::I, T5Dst::Wo, 0, T5Ff::Any},
                      });
  }
  return p;
}

void block_tensors(const ModelConfig& c, const T5Stack& s, T5Block& b, int64_t l, std::vector<T5Tensor>& out) {
  const std::string p = s.prefix + std::to_string(l) + ".";
  for (const T5Part& part : s.parts) {
    if (!t5_has_part(c, part)) continue;
    const int64_t rows = t5_dim(c, part.rows);
    std::vector<int64_t> shape = {rows};
    if (part.cols != T5Dim::None) shape.push_back(t5_dim(c, part.cols));
    out.push_back({p + part.name, shape, dst_of(b, part.dst), part.index * rows});
  }
}

}  // namespace

const T5Layout& t5_layout() {
  static const T5Layout layout{"shared.weight",
                               "encoder.embed_tokens.weight",
                               "lm_head.weight",
                               "layer.0.SelfAttention.relative_attention_bias.weight",
                               {"encoder.block.", "encoder.final_layer_norm.weight", stack_parts(false)},
                               {"decoder.block.", "decoder.final_layer_norm.weight", stack_parts(true)}};
  return layout;
}

bool t5_has_part(const ModelConfig& c, const T5Part& p) {
  return p.ff == T5Ff::Any || (p.ff == T5Ff::Gated) == c.gated;
}

T5Lin t5_lin(T5Dst d) {
  switch (d) {
    case T5Dst::Qkv: return T5Lin::Qkv;
    case T5Dst::O: return T5Lin::O;
    case T5Dst::CrossQ: return T5Lin::CrossQ;
    case T5Dst::CrossKv: return T5Lin::CrossKv;
    case T5Dst::CrossO: return T5Lin::CrossO;
    case T5Dst::Wi: return T5Lin::Wi;
    case T5Dst::Wo: return T5Lin::Wo;
    default: break;
  }
  GLAM_CHECK(false, "Internal", "a T5 norm has no linear");
  return T5Lin::Qkv;
}

int64_t t5_dim(const ModelConfig& c, T5Dim d) {
  switch (d) {
    case T5Dim::None: return 1;
    case T5Dim::V: return c.vocab;
    case T5Dim::C: return c.hidden;
    case T5Dim::HD: return c.heads * c.head_dim;
    case T5Dim::I: return c.inter;
    case T5Dim::NB: return c.rel_buckets;
    case T5Dim::H: return c.heads;
  }
  return 0;
}

std::vector<T5Tensor> t5_tensors(const ModelConfig& c, T5Weights& w) {
  const T5Layout& t = t5_layout();
  const int64_t V = c.vocab, C = c.hidden, NB = c.rel_buckets, H = c.heads;
  struct StackDst {
    const T5Stack& s;
    std::vector<T5Block>& blocks;
    std::vector<float>& bias;
    std::vector<float>& final_norm;
  };
  std::vector<T5Tensor> out;
  out.push_back({t.embed, {V, C}, &w.shared, 0});
  for (const StackDst& d : {StackDst{t.enc, w.enc, w.enc_bias, w.enc_final}, StackDst{t.dec, w.dec, w.dec_bias, w.dec_final}}) {
    for (size_t l = 0; l < d.blocks.size(); ++l) {
      if (l == 0) out.push_back({std::string(d.s.prefix) + "0." + t.rel_bias, {NB, H}, &d.bias, 0});
      block_tensors(c, d.s, d.blocks[l], int64_t(l), out);
    }
    out.push_back({d.s.final_norm, {C}, &d.final_norm, 0});
  }
  out.push_back({t.lm_head, {V, C}, &w.lm_head, 0});
  return out;
}

void t5_shape_like(const ModelConfig& c, T5Weights& w, bool with_head) {
  const int64_t V = c.vocab, C = c.hidden, HD = c.heads * c.head_dim, I = c.inter, U = up_rows_t5(c);
  w.enc.resize(size_t(c.layers));
  w.dec.resize(size_t(c.dec_layers));
  w.shared.assign(size_t(V * C), 0.0f);
  w.lm_head.assign(with_head ? size_t(V * C) : 0, 0.0f);
  w.enc_bias.assign(size_t(c.rel_buckets * c.heads), 0.0f);
  w.dec_bias.assign(size_t(c.rel_buckets * c.heads), 0.0f);
  w.enc_final.assign(size_t(C), 0.0f);
  w.dec_final.assign(size_t(C), 0.0f);
  for (auto* stack : {&w.enc, &w.dec})
    for (T5Block& b : *stack) {
      const bool dec = stack == &w.dec;
      b.ln_attn.assign(size_t(C), 0.0f);
      b.ln_ff.assign(size_t(C), 0.0f);
      b.ln_cross.assign(dec ? size_t(C) : 0, 0.0f);
      const int64_t sizes[kT5Lins] = {3 * HD * C, C * HD, dec ? HD * C : 0, dec ? 2 * HD * C : 0, dec ? C * HD : 0,
                                      U * C, C * I};
      for (int k = 0; k < kT5Lins; ++k) b.lin[k].assign(size_t(sizes[k]), 0.0f);
    }
}

std::vector<std::vector<float>*> t5_param_list(T5Weights& w) {
  std::vector<std::vector<float>*> out = {&w.shared, &w.lm_head, &w.enc_bias, &w.dec_bias, &w.enc_final, &w.dec_final};
  for (auto* stack : {&w.enc, &w.dec})
    for (T5Block& b : *stack) {
      out.insert(out.end(), {&b.ln_attn, &b.ln_cross, &b.ln_ff});
      for (auto& m : b.lin) out.push_back(&m);
    }
  for (auto* stack : {&w.enc, &w.dec})
    for (T5Block& b : *stack)
      for (auto& list : b.lora)
        for (LoraAdapter& a : list) out.insert(out.end(), {&a.A, &a.B});
  return out;
}

size_t t5_base_param_count(const T5Weights& w) { return 6 + (3 + kT5Lins) * (w.enc.size() + w.dec.size()); }

T5Weights load_t5_weights(const ModelConfig& c, const std::map<std::string, RawTensor>& tensors) {
  GLAM_CHECK(c.family == Family::T5 && c.vocab > 0 && c.hidden > 0 && c.heads > 0 && c.head_dim > 0 && c.inter > 0 &&
                 c.layers > 0 && c.dec_layers > 0 && c.rel_buckets >= 4 && c.rel_max_distance > c.rel_buckets / 2,
             "ConfigInvalid", "the T5 config needs positive sizes, >= 4 buckets and a max distance beyond the decoder's exact ones (buckets / 2)");
  // the last block of each stack must exist before anything is sized by the config (a corrupt config
  // claiming 2^20 layers is a TensorMissing error, not an allocation of 2^20 blocks)
  const T5Layout& layout = t5_layout();
  for (const auto& [s, L] : {std::pair<const T5Stack*, int64_t>{&layout.enc, c.layers}, {&layout.dec, c.dec_layers}}) {
    const std::string last = s->prefix + std::to_string(L - 1) + "." + s->parts[0].name;
    GLAM_CHECK(tensors.count(last) > 0, "TensorMissing", "tensor '" + last + "' is missing from the model's safetensors files");
  }
  const bool head = tensors.count(layout.lm_head) > 0;
  T5Weights w;
  w.enc.resize(size_t(c.layers));
  w.dec.resize(size_t(c.dec_layers));
  // every tensor checked (present, shape, dtype, bytes) before any is sized by the config
  std::vector<std::pair<const T5Tensor*, const RawTensor*>> found;
  const std::vector<T5Tensor> table = t5_tensors(c, w);
  for (const T5Tensor& t : table) {
    if (t.name == layout.lm_head && !head) continue;  // the head is `shared`
    auto it = tensors.find(t.name);
    if (it == tensors.end() && t.name == layout.embed) it = tensors.find(layout.embed_alias);
    GLAM_CHECK(it != tensors.end(), "TensorMissing", "tensor '" + t.name + "' is missing from the model's safetensors files");
    const RawTensor& r = it->second;
    GLAM_CHECK(r.shape == t.shape, "TensorShapeMismatch",
               "tensor '" + t.name + "' has shape " + shape_str(r.shape) + " but the config needs " + shape_str(t.shape));
    const size_t esz = r.dtype == "F32" ? 4 : (r.dtype == "F16" || r.dtype == "BF16") ? 2 : 0;
    GLAM_CHECK(esz != 0, "TensorDtypeUnsupported", "tensor '" + t.name + "' has dtype " + r.dtype + "; use F32, F16 or BF16");
    GLAM_CHECK(r.nbytes == size_t(numel(t.shape)) * esz, "SafetensorsInvalid",
               "tensor '" + t.name + "' holds the wrong number of bytes");
    found.push_back({&t, &r});
  }
  t5_shape_like(c, w, head);  // same block counts: the table's pointers stay valid
  for (const auto& [t, r] : found) {
    const int64_t cols = t->shape.size() == 2 ? t->shape[1] : 1;
    GLAM_CHECK(size_t(t->row0 * cols + numel(t->shape)) <= t->dst->size(), "TensorShapeMismatch",
               "tensor '" + t->name + "' does not fit");
    to_f32(*r, t->dst->data() + t->row0 * cols);
  }
  return w;
}

std::map<std::string, HfTensor> export_t5(const ModelConfig& c, T5Weights& w, bool adapters_only) {
  std::map<std::string, HfTensor> out;
  if (adapters_only) {
    for (auto* stack : {&w.enc, &w.dec})
      for (T5Block& b : *stack)
        for (auto& list : b.lora)
          for (LoraAdapter& a : list) {
            out["base_model.model." + a.module + ".lora_A.weight"] = {{a.rank, a.in_n}, a.A};
            out["base_model.model." + a.module + ".lora_B.weight"] = {{a.out_n, a.rank}, a.B};
          }
    return out;
  }
  for (const T5Tensor& t : t5_tensors(c, w)) {
    if (t.dst->empty()) continue;
    const int64_t n = numel(t.shape), cols = t.shape.size() == 2 ? t.shape[1] : 1;
    const float* src = t.dst->data() + t.row0 * cols;
    out[t.name] = {t.shape, std::vector<float>(src, src + n)};
  }
  return out;
}

}  // namespace glam
