// CudaBackend: each interface call is one kernel launch or a few cuBLASLt GEMMs; see cuda_backend.h.
// GEMM forms (gemm.h): NT Y = X W^T (forward), NN Y = X W (input gradients), TN Y = X^T W (weight
// gradients); leading dimensions are row strides, so LoRA's column slices need no copies.
#include "ops/cuda/cuda_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cuda/device_buffer.h"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

namespace {

class CudaBuffer final : public Buffer {
 public:
  explicit CudaBuffer(int64_t& generation) : generation_(generation) {}
  void* ensure(size_t bytes) override {
    if (bytes > b_.size()) {
      b_.alloc(bytes);  // frees the old block first (cudaFree waits for the device)
      ++generation_;
    }
    used_ = bytes;
    return b_.get();
  }
  void* data() const override { return b_.get(); }
  size_t size() const override { return used_; }

 private:
  DeviceBuffer b_;
  size_t used_ = 0;
  int64_t& generation_;
};

const char* at(const void* p, int64_t elems, DType t) { return static_cast<const char*>(p) + elems * int64_t(dtype_size(t)); }

enum Slot { kGrad = 0, kGradSlice, kLoraT, kLoraTe, kLoraDt, kAttnDi, kLmRows, kLmGrad, kVhA, kVhB, kOptSlots, kOptNorm };

}  // namespace

std::unique_ptr<Buffer> CudaBackend::buffer() { return std::make_unique<CudaBuffer>(generation_); }

void* CudaBackend::scratch(int slot, size_t bytes) {
  if (!scratch_[slot]) scratch_[slot] = buffer();
  return scratch_[slot]->ensure(bytes);
}

const void* CudaBackend::gemm_input(const float* dY, int64_t T, int64_t n, int slot) {
  if (dt_ == DType::F32) return dY;
  void* e = scratch(slot, size_t(T * n) * 2);
  cast_rows(e, dt_, dY, T, n, n, 1.0f, s_);
  return e;
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s_));
}

void CudaBackend::zero(void* dst, size_t bytes) {
  if (bytes) CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, s_));
}

void CudaBackend::to_host(void* host, const void* src, size_t bytes) {
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, s_));
  CUDA_CHECK(cudaStreamSynchronize(s_));
}

void CudaBackend::from_host(void* dst, const void* host, size_t bytes) {
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, s_));
  CUDA_CHECK(cudaStreamSynchronize(s_));  // host is the caller's pageable memory
}

void CudaBackend::cast(void* dst, DType t, const float* src, int64_t n) {
  if (n) cast_rows(dst, t, src, 1, n, n, 1.0f, s_);
}

void CudaBackend::widen(float* dst, const void* src, DType t, int64_t n) {
  if (t == DType::F32) copy(dst, src, size_t(n) * 4);
  else if (n) widen_bf16(dst, src, n, s_);
}

void CudaBackend::scale(float* x, int64_t n, float s) {
  if (n) cast_rows(x, DType::F32, x, 1, n, n, s, s_);  // elementwise: in place is safe
}

void CudaBackend::set_attention(const AttentionRows& rows, const int32_t* pos, int64_t T) {
  rows_ = &rows;
  pos_ = pos;
  T_ = T;
  cur_ = RowsBinding{&rows, bind_.arows, bind_.tiles, bind_.kv_tiles};
  if (!bind_.sets[0].host && !bind_.sets[1].host) return;  // the decoder engine: one set of rows per pass
  for (const RowsBinding& b : bind_.sets)
    if (b.host == &rows) {
      cur_ = b;
      return;
    }
  GLAM_CHECK(false, "InternalError", "set_attention's rows were not bound by the engine");
}

void CudaBackend::embedding_forward(float* x, const int32_t* ids, const int32_t* pos, int64_t T, const void* table,
                                    const void* pos_table, int64_t C) {
  cuda::embedding_forward(x, ids, pos, table, pos_table, dt_, T, C, s_);
}

void CudaBackend::embedding_backward(float* dtable, int64_t, float* dpos_table, int64_t, const float* dx,
                                     const int32_t* ids, const int32_t* pos, int64_t T, int64_t C) {
  if (dtable || dpos_table) cuda::embedding_backward(dtable, dpos_table, dx, ids, pos, T, C, s_);
}

void CudaBackend::norm_forward(NormKind k, void* h, DType ht, const float* x, const int32_t* rows, int64_t n, int64_t C,
                               float eps, const NormParams& p) {
  float* xm = const_cast<float*>(x);  // no residual operand: the kernels only read x
  if (k == NormKind::Rms) rmsnorm_forward(h, ht, xm, nullptr, rows, p.w, n, C, eps, s_);
  else layernorm_forward(h, ht, xm, nullptr, rows, p.w, p.b, n, C, eps, s_);
}

void CudaBackend::norm_backward(NormKind k, float* dx, const float* dh, const float* x, const int32_t* rows, int64_t n,
                                int64_t C, float eps, const NormParams& p) {
  if (k == NormKind::Rms) rmsnorm_backward(dx, p.dw, dh, x, rows, p.w, n, C, eps, s_);
  else layernorm_backward(dx, p.dw, p.db, dh, x, rows, p.w, n, C, eps, s_);
}

void CudaBackend::linear_forward(float* Y, const void* X, int64_t T, int64_t in, int64_t out, const LinearParams& p,
                                 bool accumulate, float* keep_t) {
  gemm_.nt(Y, X, p.W, p.b, T, out, in, dt_, accumulate, s_);
  int64_t off = 0;  // elements of keep_t used so far
  for (const AdapterParams& a : p.lora) {
    const int64_t r = a.rank;
    float* t = static_cast<float*>(scratch(kLoraT, size_t(T * r) * 4));
    gemm_.run(GemmOp::NT, t, r, X, in, a.A, in, nullptr, T, r, in, dt_, false, s_);  // t (T, r) = X A^T
    void* te = keep_t ? static_cast<void*>(const_cast<char*>(at(keep_t, off, dt_))) : scratch(kLoraTe, size_t(T * r) * 4);
    cast_rows(te, dt_, t, T, r, r, a.scale, s_);  // s t in the compute type
    gemm_.run(GemmOp::NT, Y + a.out_off, out, te, r, a.B, r, nullptr, T, a.out_n, r, dt_, true, s_);  // Y += s t B^T
    off += T * r;
  }
}

void CudaBackend::linear_backward(float* dX, bool dx_accumulate, const float* dY, const void* X, int64_t T, int64_t in,
                                  int64_t out, const LinearParams& p, const float* saved_t) {
  const void* dYe = gemm_input(dY, T, out, kGrad);
  if (dX) gemm_.run(GemmOp::NN, dX, in, dYe, out, p.W, in, nullptr, T, in, out, dt_, dx_accumulate, s_);  // dX = dY W
  if (p.dW) gemm_.run(GemmOp::TN, p.dW, in, dYe, out, X, in, nullptr, out, in, T, dt_, true, s_);  // dW += dY^T X
  if (p.db) bias_backward(p.db, dY, out, T, out, s_);
  int64_t off = 0;
  for (const AdapterParams& a : p.lora) {
    const int64_t r = a.rank;
    const void* dYs = at(dYe, a.out_off, dt_);  // (T, out_n) slice, row stride out
    const void* te = saved_t ? static_cast<const void*>(at(saved_t, off, dt_)) : nullptr;
    off += T * r;
    if (!te) {  // recompute s X A^T
      float* t = static_cast<float*>(scratch(kLoraT, size_t(T * r) * 4));
      gemm_.run(GemmOp::NT, t, r, X, in, a.A, in, nullptr, T, r, in, dt_, false, s_);
      void* e = scratch(kLoraTe, size_t(T * r) * 4);
      cast_rows(e, dt_, t, T, r, r, a.scale, s_);
      te = e;
    }
    if (a.dB) gemm_.run(GemmOp::TN, a.dB, r, dYs, out, te, r, nullptr, a.out_n, r, T, dt_, true, s_);  // dB += dY^T te
    float* dt = static_cast<float*>(scratch(kLoraDt, size_t(T * r) * 4));
    gemm_.run(GemmOp::NN, dt, r, dYs, out, a.B, r, nullptr, T, r, a.out_n, dt_, false, s_);  // dt = dY B
    void* dte = scratch(kGradSlice, size_t(T * r) * 4);
    cast_rows(dte, dt_, dt, T, r, r, a.scale, s_);  // s dt
    if (a.dA) gemm_.run(GemmOp::TN, a.dA, in, dte, r, X, in, nullptr, r, in, T, dt_, true, s_);  // dA += s dt^T X
    if (dX) gemm_.run(GemmOp::NN, dX, in, dte, r, a.A, in, nullptr, T, in, r, dt_, true, s_);    // dX += s dt A
  }
}

void CudaBackend::rope_forward(float* x, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                               const float* inv_freq) {
  cuda::rope_forward(x, stride, T, nheads, D, pos, inv_freq, s_);
}

void CudaBackend::rope_backward(float* dx, int64_t stride, int64_t T, int64_t nheads, int64_t D, const int32_t* pos,
                                const float* inv_freq) {
  cuda::rope_backward(dx, stride, T, nheads, D, pos, inv_freq, s_);
}

void CudaBackend::act_forward(ActKind k, void* act, const float* u, int64_t T, int64_t I) {
  switch (k) {
    case ActKind::SwiGlu: return swiglu_forward(act, dt_, u, T, I, s_);
    case ActKind::GeluTanh:
    case ActKind::GeluErf: return gelu_forward(act, dt_, u, T * I, k == ActKind::GeluTanh, s_);
    case ActKind::Relu: return relu_forward(act, dt_, u, T * I, s_);
    case ActKind::GeGluTanh: return geglu_tanh_forward(act, dt_, u, T, I, s_);
  }
  GLAM_CHECK(false, "UnsupportedArchitecture", "the CUDA backend has no kernel for this activation");
}

void CudaBackend::act_backward(ActKind k, float* du, const float* dact, const float* u, int64_t T, int64_t I) {
  switch (k) {
    case ActKind::SwiGlu: return swiglu_backward(du, dact, u, T, I, s_);
    case ActKind::GeluTanh:
    case ActKind::GeluErf: return gelu_backward(du, dact, u, T * I, k == ActKind::GeluTanh, s_);
    case ActKind::Relu: return relu_backward(du, dact, u, T * I, s_);
    case ActKind::GeGluTanh: return geglu_tanh_backward(du, dact, u, T, I, s_);
  }
  GLAM_CHECK(false, "UnsupportedArchitecture", "the CUDA backend has no kernel for this activation");
}

AttnCall CudaBackend::attn_call(const float* qkv, int64_t H, int64_t Hkv, int64_t D, const AttentionSpec& spec) const {
  GLAM_CHECK(rows_ != nullptr, "InternalError", "attention before set_attention");
  const AttentionRows& r = *rows_;
  AttnCall c;
  if (spec.kv) {  // q (T, H D) here, k|v (Tkv, 2 Hkv D) in spec.kv; the current rows' cross lists
    GLAM_CHECK(spec.kv_rows && spec.causal == false, "InvalidArgument", "cross attention needs kv_rows and no causal mask");
    // the current rows must be the query stream's, with cross lists planned (plan_cross) and bound:
    // rows without them (an encoder's) would have 0 tiles, and the kernels would silently compute nothing
    GLAM_CHECK(!r.cross_arows.empty() && cur_.cross_tiles && cur_.cross_arows && r.groups.size() == spec.kv_rows->groups.size(),
               "InternalError", "cross attention over rows without bound cross lists (set_attention the decoder's rows)");
    c.q = qkv;
    c.qstride = H * D;
    c.kv = spec.kv;
    c.kvstride = 2 * Hkv * D;
    c.koff = 0;
    c.voff = Hkv * D;
    c.H = H;
    c.Hkv = Hkv;
    c.D = D;
    c.tiles = cur_.cross_tiles;
    c.ntiles = int64_t(r.cross_tiles.size());
    c.rows = cur_.cross_arows;
    c.kv_tiles = cur_.cross_kv_tiles;
    c.nkv = int64_t(r.cross_kv_tiles.size());
    for (const AttentionGroup& g : spec.kv_rows->groups) c.Tkv = std::max(c.Tkv, g.start + g.prefix_len);
  } else {
    GLAM_CHECK(spec.causal != r.bidirectional, "InternalError",
               "the attention rows were planned for another mask (causal vs bidirectional)");
    c = self_attn_call(qkv, H, Hkv, D);
    c.tiles = cur_.tiles;
    c.ntiles = int64_t(r.tiles.size());
    c.rows = cur_.arows;
    c.kv_tiles = cur_.kv_tiles;
    c.nkv = int64_t(r.kv_tiles.size());
  }
  c.pos = pos_;
  c.window = spec.window;
  c.scale = spec.scale != 0.0f ? spec.scale : 1.0f / sqrtf(float(D));  // the decoder engine's scale, as before
  if (spec.bias) {
    // (max distance beyond the causal side's exact buckets, as the config loader requires: below it
    // the float bucket function is not monotone and the cuts would not reproduce it)
    GLAM_CHECK(spec.bias_buckets >= 2 && spec.bias_buckets <= kMaxRelBuckets && spec.bias_max_distance > spec.bias_buckets / 2,
               "UnsupportedArchitecture",
               "the CUDA attention supports 2 to " + std::to_string(kMaxRelBuckets) + " relative position buckets; this model has " +
                   std::to_string(spec.bias_buckets) + ": load it with device: 'cpu'");
    c.bias = spec.bias;
    c.cuts = relative_bucket_cuts(!spec.causal, spec.bias_buckets, spec.bias_max_distance);
  }
  c.rows_per_tile = r.rows_per_tile;
  c.T = T_;
  return c;
}

void CudaBackend::attention_forward(void* out, float* lse, const float* qkv, int64_t H, int64_t Hkv, int64_t D,
                                    const AttentionSpec& spec) {
  cuda::attention_forward(out, dt_, lse, attn_call(qkv, H, Hkv, D, spec), s_);
}

void CudaBackend::attention_backward(float* dqkv, const float* dout, const void* out, const float* qkv, const float* lse,
                                     int64_t H, int64_t Hkv, int64_t D, const AttentionSpec& spec) {
  const AttnCall c = attn_call(qkv, H, Hkv, D, spec);
  GLAM_CHECK(c.kv_tiles || c.nkv == 0, "InvalidArgument", "the attention backward needs the plan's kv tiles bound");
  float* Di = static_cast<float*>(scratch(kAttnDi, size_t(T_ * H) * 4));
  cuda::attention_backward(dqkv, spec.dkv, spec.bias ? spec.dbias : nullptr, Di, dout, out, dt_, lse, c, s_);
}

void CudaBackend::lm_head_forward(float* lse, float* target_logit, const void* h, int64_t R, const void* E, int64_t V,
                                  int64_t C, const int32_t* target_row, const int32_t* target_id, int64_t NT) {
  GLAM_CHECK(bind_.lm_tile && bind_.Vt > 0, "InvalidArgument", "the LM head needs its tile scratch bound");
  lm_head_lse_forward(lse, target_logit, h, E, dt_, R, V, C, target_row, target_id, NT, bind_.lm_tile, bind_.Vt,
                      bind_.run_max, bind_.run_sum, gemm_, s_);
}

void CudaBackend::lm_head_backward(float* dh, float* dE, const float* dlogprob, const void* h, int64_t R, const void* E,
                                   int64_t V, int64_t C, const float* lse, const int32_t* target_row,
                                   const int32_t* target_id, int64_t NT) {
  GLAM_CHECK(bind_.lm_tile && bind_.Vt > 0, "InvalidArgument", "the LM head needs its tile scratch bound");
  const size_t nt = static_cast<size_t>(NT);
  std::vector<int32_t> trow(nt), tid(nt);
  std::vector<float> g(nt);
  if (NT) {
    CUDA_CHECK(cudaMemcpyAsync(trow.data(), target_row, size_t(NT) * 4, cudaMemcpyDeviceToHost, s_));
    CUDA_CHECK(cudaMemcpyAsync(tid.data(), target_id, size_t(NT) * 4, cudaMemcpyDeviceToHost, s_));
    CUDA_CHECK(cudaMemcpyAsync(g.data(), dlogprob, size_t(NT) * 4, cudaMemcpyDeviceToHost, s_));
  }
  CUDA_CHECK(cudaStreamSynchronize(s_));
  // CSR by scored row, stable: [row_off (R+1) | row_tid (NT) int32 | row_tg (NT) | G (R) fp32]
  std::vector<int32_t> ints(size_t(R + 1 + NT), 0);
  std::vector<float> floats(size_t(NT + R), 0.0f);
  int32_t* row_off = ints.data();
  for (int64_t t = 0; t < NT; ++t) ++row_off[trow[size_t(t)] + 1];
  for (int64_t r = 0; r < R; ++r) row_off[r + 1] += row_off[r];
  std::vector<int32_t> fill(row_off, row_off + R);
  for (int64_t t = 0; t < NT; ++t) {
    const int32_t i = fill[size_t(trow[size_t(t)])]++;
    ints[size_t(R + 1 + i)] = tid[size_t(t)];
    floats[size_t(i)] = g[size_t(t)];
    floats[size_t(NT + trow[size_t(t)])] += g[size_t(t)];
  }
  char* d = static_cast<char*>(scratch(kLmRows, ints.size() * 4 + floats.size() * 4));
  CUDA_CHECK(cudaMemcpyAsync(d, ints.data(), ints.size() * 4, cudaMemcpyHostToDevice, s_));
  CUDA_CHECK(cudaMemcpyAsync(d + ints.size() * 4, floats.data(), floats.size() * 4, cudaMemcpyHostToDevice, s_));
  const int32_t* d_off = reinterpret_cast<const int32_t*>(d);
  const float* d_tg = reinterpret_cast<const float*>(d + ints.size() * 4);
  void* gtile = scratch(kLmGrad, size_t(R * bind_.Vt) * dtype_size(dt_));
  lm_head_lse_backward(dh, dE, h, E, dt_, R, V, C, lse, d_tg + NT, d_off, d_off + R + 1, d_tg, bind_.lm_tile, gtile,
                       bind_.Vt, gemm_, s_);
  CUDA_CHECK(cudaStreamSynchronize(s_));  // the host vectors above are pageable
}

void CudaBackend::value_head_forward(float* out, const float* h, int64_t B, const ValueHeadParams& p,
                                     float* const* acts) {
  std::vector<float*> alt;  // not kept: two scratch buffers of the widest layer, alternating
  if (!acts) {
    int64_t width = 1;
    for (int64_t i = 1; i < p.layers(); ++i) width = std::max(width, p.sizes[size_t(i)]);
    float* ab[2] = {static_cast<float*>(scratch(kVhA, size_t(B * width) * 4)),
                    static_cast<float*>(scratch(kVhB, size_t(B * width) * 4))};
    for (int64_t i = 0; i + 1 < p.layers(); ++i) alt.push_back(ab[i % 2]);
    acts = alt.data();
  }
  cuda::value_head_forward(out, h, int(p.layers()), p.sizes.data(), p.W.data(), p.b.data(), acts, B, gemm_, s_);
}

void CudaBackend::value_head_backward(float* dh, const float* dv, const float* h, const float* const* acts, int64_t B,
                                      const ValueHeadParams& p) {
  const int L = int(p.layers());
  int64_t width = 1;
  std::vector<const float*> in = {h};
  for (int i = 1; i < L; ++i) {
    width = std::max(width, p.sizes[size_t(i)]);
    in.push_back(acts[i - 1]);
  }
  float* a = static_cast<float*>(scratch(kVhA, size_t(B * width) * 4));
  float* b = static_cast<float*>(scratch(kVhB, size_t(B * width) * 4));
  cuda::value_head_backward(dh, p.dW.data(), p.db.data(), dv, L, p.sizes.data(), p.W.data(), in.data(), a, b, B, gemm_,
                            s_);
}

double CudaBackend::adamw_step(const std::vector<OptSlot>& slots, const AdamWOptions& o, int64_t t) {
  if (slots.empty()) return 0.0;
  const size_t bytes = slots.size() * sizeof(OptSlot);
  const int64_t S = int64_t(slots.size());
  OptSlot* table = static_cast<OptSlot*>(scratch(kOptSlots, bytes));
  char* nb = static_cast<char*>(scratch(kOptNorm, 2 * sizeof(double) + size_t(S) * kAdamChunks * sizeof(double)));
  const bool same = opt_gen_ == generation_ && opt_slots_.size() == slots.size() &&
                    std::memcmp(opt_slots_.data(), slots.data(), bytes) == 0;
  if (!same) {  // a grown scratch buffer does not keep its contents: any growth uploads again
    from_host(table, slots.data(), bytes);
    opt_slots_ = slots;
    opt_gen_ = generation_;
  }
  double* norm_clip = reinterpret_cast<double*>(nb);
  double* partial = norm_clip + 2;
  const double bc1 = 1 - std::pow(o.beta1, double(t)), bc2 = 1 - std::pow(o.beta2, double(t));
  const AdamWArgs a{float(1 - o.lr * o.weight_decay), float(o.beta1), float(o.beta2), float(o.lr / bc1), std::sqrt(bc2),
                    o.eps};
  grad_norm(norm_clip, partial, table, S, o.max_grad_norm, s_);
  cuda::adamw_step(table, S, norm_clip, a, s_);
  double host[2] = {0, 0};
  to_host(host, norm_clip, sizeof(host));
  return host[0];
}

}  // namespace glam::cuda
