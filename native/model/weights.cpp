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
