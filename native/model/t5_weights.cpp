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

void block_tensors(const ModelConfig& c, T5Block& b, const std::string& p, bool dec, std::vector<T5Tensor>& out) {
  const int64_t C = c.hidden, HD = c.heads * c.head_dim, I = c.inter;
  const std::string sa = p + "layer.0.SelfAttention.";
  out.push_back({p + "layer.0.layer_norm.weight", {C}, &b.ln_attn, 0});
  out.push_back({sa + "q.weight", {HD, C}, &b.lin[int(T5Lin::Qkv)], 0});
  out.push_back({sa + "k.weight", {HD, C}, &b.lin[int(T5Lin::Qkv)], HD});
  out.push_back({sa + "v.weight", {HD, C}, &b.lin[int(T5Lin::Qkv)], 2 * HD});
  out.push_back({sa + "o.weight", {C, HD}, &b.lin[int(T5Lin::O)], 0});
  if (dec) {
    const std::string ca = p + "layer.1.EncDecAttention.";
    out.push_back({p + "layer.1.layer_norm.weight", {C}, &b.ln_cross, 0});
    out.push_back({ca + "q.weight", {HD, C}, &b.lin[int(T5Lin::CrossQ)], 0});
    out.push_back({ca + "k.weight", {HD, C}, &b.lin[int(T5Lin::CrossKv)], 0});
    out.push_back({ca + "v.weight", {HD, C}, &b.lin[int(T5Lin::CrossKv)], HD});
    out.push_back({ca + "o.weight", {C, HD}, &b.lin[int(T5Lin::CrossO)], 0});
  }
  const std::string ff = p + (dec ? "layer.2." : "layer.1.");
  out.push_back({ff + "layer_norm.weight", {C}, &b.ln_ff, 0});
  if (c.gated) {
    out.push_back({ff + "DenseReluDense.wi_0.weight", {I, C}, &b.lin[int(T5Lin::Wi)], 0});
    out.push_back({ff + "DenseReluDense.wi_1.weight", {I, C}, &b.lin[int(T5Lin::Wi)], I});
  } else {
    out.push_back({ff + "DenseReluDense.wi.weight", {I, C}, &b.lin[int(T5Lin::Wi)], 0});
  }
  out.push_back({ff + "DenseReluDense.wo.weight", {C, I}, &b.lin[int(T5Lin::Wo)], 0});
}

}  // namespace

std::vector<T5Tensor> t5_tensors(const ModelConfig& c, T5Weights& w) {
  const int64_t V = c.vocab, C = c.hidden, NB = c.rel_buckets, H = c.heads;
  std::vector<T5Tensor> out;
  out.push_back({"shared.weight", {V, C}, &w.shared, 0});
  for (size_t l = 0; l < w.enc.size(); ++l) {
    if (l == 0)
      out.push_back({"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", {NB, H}, &w.enc_bias, 0});
    block_tensors(c, w.enc[l], "encoder.block." + std::to_string(l) + ".", false, out);
  }
  out.push_back({"encoder.final_layer_norm.weight", {C}, &w.enc_final, 0});
  for (size_t l = 0; l < w.dec.size(); ++l) {
    if (l == 0)
      out.push_back({"decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", {NB, H}, &w.dec_bias, 0});
    block_tensors(c, w.dec[l], "decoder.block." + std::to_string(l) + ".", true, out);
  }
  out.push_back({"decoder.final_layer_norm.weight", {C}, &w.dec_final, 0});
  out.push_back({"lm_head.weight", {V, C}, &w.lm_head, 0});
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
                 c.layers > 0 && c.dec_layers > 0 && c.rel_buckets >= 4 && c.rel_max_distance > c.rel_buckets / 4,
             "ConfigInvalid", "the T5 config needs positive sizes, >= 4 buckets and a max distance beyond the exact ones");
  // the last block of each stack must exist before anything is sized by the config (a corrupt config
  // claiming 2^20 layers is a TensorMissing error, not an allocation of 2^20 blocks)
  for (const auto& [stack, L] : {std::pair<std::string, int64_t>{"encoder", c.layers}, {"decoder", c.dec_layers}}) {
    const std::string last = stack + ".block." + std::to_string(L - 1) + ".layer.0.layer_norm.weight";
    GLAM_CHECK(tensors.count(last) > 0, "TensorMissing", "tensor '" + last + "' is missing from the model's safetensors files");
  }
  const bool head = tensors.count("lm_head.weight") > 0;
  T5Weights w;
  w.enc.resize(size_t(c.layers));
  w.dec.resize(size_t(c.dec_layers));
  // every tensor checked (present, shape, dtype, bytes) before any is sized by the config
  std::vector<std::pair<const T5Tensor*, const RawTensor*>> found;
  const std::vector<T5Tensor> table = t5_tensors(c, w);
  for (const T5Tensor& t : table) {
    if (t.name == "lm_head.weight" && !head) continue;  // the head is `shared`
    auto it = tensors.find(t.name);
    if (it == tensors.end() && t.name == "shared.weight") it = tensors.find("encoder.embed_tokens.weight");
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
