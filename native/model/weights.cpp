// Weights loading: Hugging Face tensor names -> the fused fp32 layout of weights.h.
// Subtle: every size is re-checked here (byte counts against shapes, shapes against the config),
// so a malformed tensor that slipped past the TS validator is a typed error, never an overread.
#include "model/weights.h"

#include <cmath>
#include <cstring>

#include "common/error.h"

namespace glam {
namespace {

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ff;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

struct Loader {
  const ModelConfig& cfg;
  const std::map<std::string, RawTensor>& t;

  const RawTensor& get(const std::string& name, std::vector<int64_t> shape) const {
    auto it = t.find(name);
    if (it == t.end()) fail("TensorMissing", "tensor '" + name + "' is missing from the model's safetensors files");
    const RawTensor& r = it->second;
    if (r.shape != shape)
      fail("TensorShapeMismatch", "tensor '" + name + "' has shape " + shape_str(r.shape) + " but the config needs " +
                                      shape_str(shape));
    return r;
  }
  // Copies `name` (shape) into dst at row offset; transposes a 2-D [rows, cols] source when asked.
  void into(std::vector<float>& dst, size_t offset, const std::string& name, std::vector<int64_t> shape,
            bool transpose = false) const {
    const RawTensor& r = get(name, shape);
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    const size_t esz = r.dtype == "F32" ? 4 : (r.dtype == "F16" || r.dtype == "BF16") ? 2 : 0;
    if (esz == 0) fail("TensorDtypeUnsupported", "tensor '" + name + "' has dtype " + r.dtype + "; use F32, F16 or BF16");
    if (r.nbytes != size_t(n) * esz)
      fail("SafetensorsInvalid", "tensor '" + name + "' holds " + std::to_string(r.nbytes) + " bytes, expected " +
                                     std::to_string(size_t(n) * esz));
    if (dst.size() < offset + size_t(n)) dst.resize(offset + size_t(n));
    if (!transpose) {
      to_f32(r, dst.data() + offset);
      return;
    }
    std::vector<float> tmp(static_cast<size_t>(n));
    to_f32(r, tmp.data());
    const int64_t rows = shape[0], cols = shape[1];
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) dst[offset + size_t(j * rows + i)] = tmp[size_t(i * cols + j)];
  }
  std::vector<float> one(const std::string& name, std::vector<int64_t> shape, bool transpose = false) const {
    std::vector<float> v;
    into(v, 0, name, std::move(shape), transpose);
    return v;
  }
};

}  // namespace

void to_f32(const RawTensor& t, float* out) {
  const size_t esz = t.dtype == "F32" ? 4 : 2;
  const size_t n = t.nbytes / esz;
  if (t.dtype == "F32") {
    std::memcpy(out, t.data, n * 4);
  } else if (t.dtype == "F16") {
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      out[i] = f16_to_f32(h);
    }
  } else if (t.dtype == "BF16") {
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      const uint32_t bits = uint32_t(h) << 16;
      std::memcpy(out + i, &bits, 4);
    }
  } else {
    fail("TensorDtypeUnsupported", "dtype " + t.dtype + " is not supported; use F32, F16 or BF16");
  }
}

std::vector<float> rope_inv_freq(const ModelConfig& cfg) {
  const int64_t D = cfg.head_dim, half = D / 2;
  std::vector<float> inv(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    // transformers forms base ** (2i / D) in fp32; doing it in double and rounding once is within 1 ulp
    inv[size_t(i)] = float(1.0 / std::pow(cfg.rope_theta, double(2 * i) / double(D)));
  }
  if (cfg.rope_llama3) {
    const double pi = 3.14159265358979323846;
    const double low_wavelen = double(cfg.rs_orig) / cfg.rs_low, high_wavelen = double(cfg.rs_orig) / cfg.rs_high;
    for (auto& f : inv) {
      const double wavelen = 2 * pi / double(f);
      double scaled = wavelen > low_wavelen ? double(f) / cfg.rs_factor : double(f);
      if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) {
        const double smooth = (double(cfg.rs_orig) / wavelen - cfg.rs_low) / (cfg.rs_high - cfg.rs_low);
        scaled = (1 - smooth) * scaled / cfg.rs_factor + smooth * scaled;
      }
      f = float(scaled);
    }
  }
  return inv;
}

Weights load_weights(const ModelConfig& cfg, const std::map<std::string, RawTensor>& tensors) {
  Loader L{cfg, tensors};
  const int64_t V = cfg.vocab, C = cfg.hidden, H = cfg.heads, Hkv = cfg.kv_heads, D = cfg.head_dim, I = cfg.inter;
  GLAM_CHECK(V > 0 && C > 0 && H > 0 && Hkv > 0 && D > 0 && I > 0 && cfg.layers > 0 && H % Hkv == 0,
             "ConfigInvalid", "model dimensions must be positive and heads divisible by kv heads");
  Weights w;
  w.layers.resize(size_t(cfg.layers));
  if (cfg.family == Family::Llama) {
    GLAM_CHECK(D % 2 == 0, "ConfigInvalid", "head_dim must be even for RoPE");
    w.embed = L.one("model.embed_tokens.weight", {V, C});
    for (int64_t l = 0; l < cfg.layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      LayerWeights& lw = w.layers[size_t(l)];
      lw.norm1_w = L.one(p + "input_layernorm.weight", {C});
      L.into(lw.wqkv, 0, p + "self_attn.q_proj.weight", {H * D, C});
      L.into(lw.wqkv, size_t(H * D * C), p + "self_attn.k_proj.weight", {Hkv * D, C});
      L.into(lw.wqkv, size_t((H + Hkv) * D * C), p + "self_attn.v_proj.weight", {Hkv * D, C});
      if (cfg.qkv_bias) {
        L.into(lw.bqkv, 0, p + "self_attn.q_proj.bias", {H * D});
        L.into(lw.bqkv, size_t(H * D), p + "self_attn.k_proj.bias", {Hkv * D});
        L.into(lw.bqkv, size_t((H + Hkv) * D), p + "self_attn.v_proj.bias", {Hkv * D});
      }
      lw.wo = L.one(p + "self_attn.o_proj.weight", {C, H * D});
      if (cfg.o_bias) lw.bo = L.one(p + "self_attn.o_proj.bias", {C});
      lw.norm2_w = L.one(p + "post_attention_layernorm.weight", {C});
      L.into(lw.wup, 0, p + "mlp.gate_proj.weight", {I, C});
      L.into(lw.wup, size_t(I * C), p + "mlp.up_proj.weight", {I, C});
      lw.wdown = L.one(p + "mlp.down_proj.weight", {C, I});
      if (cfg.mlp_bias) {
        L.into(lw.bup, 0, p + "mlp.gate_proj.bias", {I});
        L.into(lw.bup, size_t(I), p + "mlp.up_proj.bias", {I});
        lw.bdown = L.one(p + "mlp.down_proj.bias", {C});
      }
    }
    w.final_w = L.one("model.norm.weight", {C});
    if (!cfg.tie) w.lm_head = L.one("lm_head.weight", {V, C});
    w.inv_freq = rope_inv_freq(cfg);
  } else {
    GLAM_CHECK(H == Hkv && H * D == C, "ConfigInvalid", "GPT-2 needs n_head * head_dim == n_embd");
    w.embed = L.one("transformer.wte.weight", {V, C});
    w.pos_embed = L.one("transformer.wpe.weight", {cfg.max_pos, C});
    for (int64_t l = 0; l < cfg.layers; ++l) {
      const std::string p = "transformer.h." + std::to_string(l) + ".";
      LayerWeights& lw = w.layers[size_t(l)];
      lw.norm1_w = L.one(p + "ln_1.weight", {C});
      lw.norm1_b = L.one(p + "ln_1.bias", {C});
      lw.wqkv = L.one(p + "attn.c_attn.weight", {C, 3 * C}, true);  // Conv1D [in, out] -> [out, in]
      lw.bqkv = L.one(p + "attn.c_attn.bias", {3 * C});
      lw.wo = L.one(p + "attn.c_proj.weight", {C, C}, true);
      lw.bo = L.one(p + "attn.c_proj.bias", {C});
      lw.norm2_w = L.one(p + "ln_2.weight", {C});
      lw.norm2_b = L.one(p + "ln_2.bias", {C});
      lw.wup = L.one(p + "mlp.c_fc.weight", {C, I}, true);
      lw.bup = L.one(p + "mlp.c_fc.bias", {I});
      lw.wdown = L.one(p + "mlp.c_proj.weight", {I, C}, true);
      lw.bdown = L.one(p + "mlp.c_proj.bias", {C});
    }
    w.final_w = L.one("transformer.ln_f.weight", {C});
    w.final_b = L.one("transformer.ln_f.bias", {C});
    if (!cfg.tie) w.lm_head = L.one("lm_head.weight", {V, C});
  }
  return w;
}

}  // namespace glam

namespace glam {

std::vector<std::vector<float>*> param_list(Weights& w) {
  std::vector<std::vector<float>*> p = {&w.embed, &w.pos_embed};
  for (LayerWeights& l : w.layers)
    for (auto* v : {&l.norm1_w, &l.norm1_b, &l.wqkv, &l.bqkv, &l.wo, &l.bo, &l.norm2_w, &l.norm2_b, &l.wup, &l.bup,
                    &l.wdown, &l.bdown})
      p.push_back(v);
  for (auto* v : {&w.final_w, &w.final_b, &w.lm_head}) p.push_back(v);
  for (LayerWeights& l : w.layers)
    for (auto* list : {&l.lqkv, &l.lo, &l.lup, &l.ldown})
      for (LoraAdapter& a : *list) {
        p.push_back(&a.A);
        p.push_back(&a.B);
      }
  return p;
}

namespace {

// rows [r0, r0+n) of a row-major (rows, cols) matrix, optionally transposed to (cols, n)
HfTensor rows_of(const std::vector<float>& m, int64_t cols, int64_t r0, int64_t n, bool transpose) {
  HfTensor t;
  t.data.resize(size_t(n * cols));
  if (!transpose) {
    std::copy(m.begin() + r0 * cols, m.begin() + (r0 + n) * cols, t.data.begin());
    t.shape = {n, cols};
  } else {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < cols; ++j) t.data[size_t(j * n + i)] = m[size_t((r0 + i) * cols + j)];
    t.shape = {cols, n};
  }
  return t;
}

HfTensor vec_of(const std::vector<float>& v, int64_t off, int64_t n) {
  HfTensor t;
  t.shape = {n};
  t.data.assign(v.begin() + off, v.begin() + off + n);
  return t;
}

}  // namespace

std::map<std::string, HfTensor> export_hf(const ModelConfig& cfg, const Weights& w, bool adapters_only) {
  std::map<std::string, HfTensor> out;
  const int64_t C = cfg.hidden, H = cfg.heads, Hkv = cfg.kv_heads, D = cfg.head_dim, I = cfg.inter, V = cfg.vocab;
  auto put_mat = [&](const std::string& name, const std::vector<float>& m, int64_t cols, int64_t r0, int64_t n,
                     bool transpose = false) {
    if (!m.empty()) out[name] = rows_of(m, cols, r0, n, transpose);
  };
  auto put_vec = [&](const std::string& name, const std::vector<float>& v, int64_t off, int64_t n) {
    if (!v.empty()) out[name] = vec_of(v, off, n);
  };
  if (adapters_only) {
    for (const LayerWeights& l : w.layers)
      for (const auto* list : {&l.lqkv, &l.lo, &l.lup, &l.ldown})
        for (const LoraAdapter& a : *list) {
          put_mat("base_model.model." + a.module + ".lora_A.weight", a.A, a.in_n, 0, a.rank);
          put_mat("base_model.model." + a.module + ".lora_B.weight", a.B, a.rank, 0, a.out_n);
        }
    return out;
  }
  if (cfg.family == Family::Llama) {
    put_mat("model.embed_tokens.weight", w.embed, C, 0, V);
    for (int64_t i = 0; i < cfg.layers; ++i) {
      const LayerWeights& l = w.layers[size_t(i)];
      const std::string p = "model.layers." + std::to_string(i) + ".";
      put_vec(p + "input_layernorm.weight", l.norm1_w, 0, C);
      put_mat(p + "self_attn.q_proj.weight", l.wqkv, C, 0, H * D);
      put_mat(p + "self_attn.k_proj.weight", l.wqkv, C, H * D, Hkv * D);
      put_mat(p + "self_attn.v_proj.weight", l.wqkv, C, (H + Hkv) * D, Hkv * D);
      put_vec(p + "self_attn.q_proj.bias", l.bqkv, 0, H * D);
      put_vec(p + "self_attn.k_proj.bias", l.bqkv, H * D, Hkv * D);
      put_vec(p + "self_attn.v_proj.bias", l.bqkv, (H + Hkv) * D, Hkv * D);
      put_mat(p + "self_attn.o_proj.weight", l.wo, H * D, 0, C);
      put_vec(p + "self_attn.o_proj.bias", l.bo, 0, C);
      put_vec(p + "post_attention_layernorm.weight", l.norm2_w, 0, C);
      put_mat(p + "mlp.gate_proj.weight", l.wup, C, 0, I);
      put_mat(p + "mlp.up_proj.weight", l.wup, C, I, I);
      put_vec(p + "mlp.gate_proj.bias", l.bup, 0, I);
      put_vec(p + "mlp.up_proj.bias", l.bup, I, I);
      put_mat(p + "mlp.down_proj.weight", l.wdown, I, 0, C);
      put_vec(p + "mlp.down_proj.bias", l.bdown, 0, C);
    }
    put_vec("model.norm.weight", w.final_w, 0, C);
    put_mat("lm_head.weight", w.lm_head, C, 0, V);
  } else {
    put_mat("transformer.wte.weight", w.embed, C, 0, V);
    put_mat("transformer.wpe.weight", w.pos_embed, C, 0, cfg.max_pos);
    for (int64_t i = 0; i < cfg.layers; ++i) {
      const LayerWeights& l = w.layers[size_t(i)];
      const std::string p = "transformer.h." + std::to_string(i) + ".";
      put_vec(p + "ln_1.weight", l.norm1_w, 0, C);
      put_vec(p + "ln_1.bias", l.norm1_b, 0, C);
      put_mat(p + "attn.c_attn.weight", l.wqkv, C, 0, 3 * C, true);
      put_vec(p + "attn.c_attn.bias", l.bqkv, 0, 3 * C);
      put_mat(p + "attn.c_proj.weight", l.wo, C, 0, C, true);
      put_vec(p + "attn.c_proj.bias", l.bo, 0, C);
      put_vec(p + "ln_2.weight", l.norm2_w, 0, C);
      put_vec(p + "ln_2.bias", l.norm2_b, 0, C);
      put_mat(p + "mlp.c_fc.weight", l.wup, C, 0, I, true);
      put_vec(p + "mlp.c_fc.bias", l.bup, 0, I);
      put_mat(p + "mlp.c_proj.weight", l.wdown, I, 0, C, true);
      put_vec(p + "mlp.c_proj.bias", l.bdown, 0, C);
    }
    put_vec("transformer.ln_f.weight", w.final_w, 0, C);
    put_vec("transformer.ln_f.bias", w.final_b, 0, C);
    put_mat("lm_head.weight", w.lm_head, C, 0, V);
  }
  return out;
}

}  // namespace glam
