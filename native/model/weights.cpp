// Weights loading: Hugging Face tensor names -> the fused fp32 layout of weights.h.
// Subtle: every size is re-checked here (byte counts against shapes, shapes against the config),
// so a malformed tensor that slipped past the TS validator is a typed error, never an overread.
#include "model/weights.h"

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "model/family.h"

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
  const FamilySpec& f = family_spec(cfg.family);
  const int64_t V = cfg.vocab, C = cfg.hidden, H = cfg.heads, Hkv = cfg.kv_heads, D = cfg.head_dim, I = cfg.inter;
  GLAM_CHECK(V > 0 && C > 0 && H > 0 && Hkv > 0 && D > 0 && I > 0 && cfg.layers > 0 && H % Hkv == 0,
             "ConfigInvalid", "model dimensions must be positive and heads divisible by kv heads");
  GLAM_CHECK(f.pos != PosKind::Rope || D % 2 == 0, "ConfigInvalid", "head_dim must be even for RoPE");
  // the block's shapes (qkv (Q, C), o (C, HD), up (U, C), down (C, I)) against the family's tensors
  const int64_t need_in[kLinearRoles] = {C, H * D, C, I}, need_out[kLinearRoles] = {cfg.qkv_dim(), C, up_rows(cfg), C};
  for (const LinearSpec& s : f.linears) {
    int64_t rows = 0;
    for (const ModulePart& part : s.parts) rows += dim(cfg, part.rows);
    GLAM_CHECK(dim(cfg, s.in) == need_in[int(s.role)] && rows == need_out[int(s.role)], "ConfigInvalid",
               std::string(f.name) + " needs n_head * head_dim == hidden size and q/k/v/o shapes that match the config");
  }
  Weights w;
  w.layers.resize(size_t(cfg.layers));
  w.embed = L.one(f.embed, {V, C});
  if (f.pos == PosKind::Learned) w.pos_embed = L.one(f.pos_embed, {cfg.max_pos, C});
  for (int64_t l = 0; l < cfg.layers; ++l) {
    const std::string p = layer_prefix(f, l);
    LayerWeights& lw = w.layers[size_t(l)];
    lw.norm1_w = L.one(p + f.norm1 + ".weight", {C});
    if (f.norm_bias) lw.norm1_b = L.one(p + f.norm1 + ".bias", {C});
    lw.norm2_w = L.one(p + f.norm2 + ".weight", {C});
    if (f.norm_bias) lw.norm2_b = L.one(p + f.norm2 + ".bias", {C});
    for (const LinearSpec& s : f.linears) {
      const int64_t in = dim(cfg, s.in);
      const bool bias = linear_has_bias(cfg, s.role);
      int64_t off = 0;
      for (const ModulePart& part : s.parts) {
        const int64_t rows = dim(cfg, part.rows);
        const std::string m = p + part.module;
        if (s.conv1d) L.into(lw.weight(s.role), size_t(off * in), m + ".weight", {in, rows}, true);  // [in, out] -> [out, in]
        else L.into(lw.weight(s.role), size_t(off * in), m + ".weight", {rows, in});
        if (bias) L.into(lw.bias(s.role), size_t(off), m + ".bias", {rows});
        off += rows;
      }
    }
  }
  w.final_w = L.one(f.final_norm + ".weight", {C});
  if (f.norm_bias) w.final_b = L.one(f.final_norm + ".bias", {C});
  if (!cfg.tie) w.lm_head = L.one(f.lm_head, {V, C});
  if (f.pos == PosKind::Rope) w.inv_freq = rope_inv_freq(cfg);
  return w;
}

}  // namespace glam

namespace glam {

std::vector<std::vector<float>*> param_list(Weights& w) {
  std::vector<std::vector<float>*> p = {&w.embed, &w.pos_embed};
  for (LayerWeights& l : w.layers)
    for (size_t j = 0; j < kLayerParams; ++j) p.push_back(&l.at(LayerParam(j)));
  for (auto* v : {&w.final_w, &w.final_b, &w.lm_head}) p.push_back(v);
  for (LayerWeights& l : w.layers)
    for (auto* list : {&l.lqkv, &l.lo, &l.lup, &l.ldown})
      for (LoraAdapter& a : *list) {
        p.push_back(&a.A);
        p.push_back(&a.B);
      }
  return p;
}

bool param_is_matrix(size_t k, size_t base) {
  if (k < 2) return true;                             // embed, pos_embed
  if (k >= base - 3) return k == base - 1;            // final_w, final_b | lm_head
  const LayerParam j = LayerParam((k - 2) % kLayerParams);
  return j == LayerParam::Wqkv || j == LayerParam::Wo || j == LayerParam::Wup || j == LayerParam::Wdown;
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
  const int64_t C = cfg.hidden, V = cfg.vocab;
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
  const FamilySpec& f = family_spec(cfg.family);
  put_mat(f.embed, w.embed, C, 0, V);
  if (f.pos == PosKind::Learned) put_mat(f.pos_embed, w.pos_embed, C, 0, cfg.max_pos);
  for (int64_t i = 0; i < cfg.layers; ++i) {
    const LayerWeights& l = w.layers[size_t(i)];
    const std::string p = layer_prefix(f, i);
    put_vec(p + f.norm1 + ".weight", l.norm1_w, 0, C);
    put_vec(p + f.norm1 + ".bias", l.norm1_b, 0, C);
    put_vec(p + f.norm2 + ".weight", l.norm2_w, 0, C);
    put_vec(p + f.norm2 + ".bias", l.norm2_b, 0, C);
    for (const LinearSpec& s : f.linears) {
      const int64_t in = dim(cfg, s.in);
      int64_t off = 0;
      for (const ModulePart& part : s.parts) {
        const int64_t rows = dim(cfg, part.rows);
        put_mat(p + part.module + ".weight", l.weight(s.role), in, off, rows, s.conv1d);
        put_vec(p + part.module + ".bias", l.bias(s.role), off, rows);
        off += rows;
      }
    }
  }
  put_vec(f.final_norm + ".weight", w.final_w, 0, C);
  put_vec(f.final_norm + ".bias", w.final_b, 0, C);
  put_mat(f.lm_head, w.lm_head, C, 0, V);
  return out;
}

}  // namespace glam
