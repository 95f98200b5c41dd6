// The training state on the GPU; see device_train_state.h.
#include "cuda/device_train_state.h"

#include "common/error.h"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

namespace {

// param_list(host)'s base part, in its order, as the device compute buffers
std::vector<DeviceBuffer*> device_base_list(DeviceWeights& d) {
  std::vector<DeviceBuffer*> p = {&d.embed, &d.pos_embed};
  for (DeviceLayer& l : d.layers)
    for (DeviceBuffer* b : {&l.norm1_w, &l.norm1_b, &l.wqkv, &l.bqkv, &l.wo, &l.bo, &l.norm2_w, &l.norm2_b, &l.wup, &l.bup,
                            &l.wdown, &l.bdown})
      p.push_back(b);
  for (DeviceBuffer* b : {&d.final_w, &d.final_b, &d.lm_head}) p.push_back(b);
  return p;
}

bool is_matrix(size_t k, size_t base_size) {
  if (k < 2) return true;                           // embed, pos_embed
  if (k >= base_size - 3) return k == base_size - 1;  // final_w, final_b | lm_head
  const size_t j = (k - 2) % kLayerParams;
  return j == size_t(LayerParam::Wqkv) || j == size_t(LayerParam::Wo) || j == size_t(LayerParam::Wup) ||
         j == size_t(LayerParam::Wdown);
}

DeviceBuffer upload_f32(const std::vector<float>& v, cudaStream_t s) {
  DeviceBuffer b(v.size() * sizeof(float));
  if (!v.empty()) CUDA_CHECK(cudaMemcpyAsync(b.get(), v.data(), b.size(), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaStreamSynchronize(s));  // v is pageable host memory the caller may free
  return b;
}

void download_f32(std::vector<float>& out, const float* p, int64_t n, cudaStream_t s) {
  out.resize(size_t(n));
  if (n) CUDA_CHECK(cudaMemcpyAsync(out.data(), p, size_t(n) * sizeof(float), cudaMemcpyDeviceToHost, s));
}

}  // namespace

DeviceTrainState::DeviceTrainState(const ModelConfig& cfg, const Weights& host, DeviceWeights& dw,
                                   const DeviceValueHeadRefs& head, const TrainOptions& opts, cudaStream_t s)
    : cfg_(cfg), opts_(opts), host_(host) {
  add_lora_adapters(cfg_, host_, opts_);
  const std::vector<bool> trainable = trainable_mask(cfg_, host_, opts_);
  auto params = param_list(host_);
  const size_t base = param_list_base_size(host_);
  const bool bf16 = dw.dt == DType::BF16;
  std::vector<DeviceBuffer*> dev = device_base_list(dw);
  GLAM_CHECK(dev.size() == base, "InternalError", "device weights do not match the host parameter list");
  refs_.resize(params.size());
  slot_.assign(params.size(), -1);
  for (size_t k = 0; k < base; ++k) {
    Ref& r = refs_[k];
    r.n = int64_t(params[k]->size());
    r.compute = dev[k]->get();
    r.dt = is_matrix(k, base) ? dw.dt : DType::F32;
    if (!trainable[k] || r.n == 0) continue;
    if (r.dt == DType::BF16) {
      masters_.push_back(upload_f32(*params[k], s));
      r.master = masters_.back().as<float>();
    } else {
      r.master = static_cast<float*>(r.compute);
    }
    slot_[k] = opt_.add(r.master, r.dt == DType::BF16 ? r.compute : nullptr, r.n);
  }
  // adapters: in param_list's order (layer, then qkv, o, up, down, then A, B)
  lora_.resize(host_.layers.size());
  size_t k = base;
  for (size_t l = 0; l < host_.layers.size(); ++l) {
    LayerWeights& lw = host_.layers[l];
    const std::pair<std::vector<LoraAdapter>*, std::vector<DeviceAdapter>*> groups[] = {
        {&lw.lqkv, &lora_[l].qkv}, {&lw.lo, &lora_[l].o}, {&lw.lup, &lora_[l].up}, {&lw.ldown, &lora_[l].down}};
    for (const auto& [src, dst] : groups)
      for (const LoraAdapter& a : *src) {
        DeviceAdapter d;
        d.out_off = a.out_off;
        d.out_n = a.out_n;
        d.in_n = a.in_n;
        d.rank = a.rank;
        d.scale = a.scale;
        d.a_index = k;
        d.A = upload_f32(a.A, s);
        d.B = upload_f32(a.B, s);
        if (bf16) {
          d.A_copy.alloc(a.A.size() * 2);
          d.B_copy.alloc(a.B.size() * 2);
          cast_rows(d.A_copy.get(), DType::BF16, d.A.as<float>(), a.rank, a.in_n, a.in_n, 1.0f, s);
          cast_rows(d.B_copy.get(), DType::BF16, d.B.as<float>(), a.out_n, a.rank, a.rank, 1.0f, s);
        }
        for (int ab = 0; ab < 2; ++ab, ++k) {
          Ref& r = refs_[k];
          DeviceBuffer& m = ab == 0 ? d.A : d.B;
          DeviceBuffer& c = ab == 0 ? d.A_copy : d.B_copy;
          r.n = int64_t(params[k]->size());
          r.master = m.as<float>();
          r.compute = c.get() ? c.get() : m.get();
          r.dt = c.get() ? DType::BF16 : DType::F32;
          if (trainable[k] && r.n > 0) slot_[k] = opt_.add(r.master, c.get(), r.n);
        }
        dst->push_back(std::move(d));
      }
  }
  GLAM_CHECK(k == params.size(), "InternalError", "adapter count does not match the host parameter list");
  // the value head always trains (fp32: its own master)
  for (size_t i = 0; i < head.weight.size(); ++i) {
    const int64_t nw = head.sizes[i + 1] * head.sizes[i], nb = head.sizes[i + 1];
    vslot_.push_back(opt_.add(head.weight[i], nullptr, nw));
    vslot_.push_back(opt_.add(head.bias[i], nullptr, nb));
    vn_.push_back(nw);
    vn_.push_back(nb);
  }
  CUDA_CHECK(cudaStreamSynchronize(s));
}

size_t DeviceTrainState::bytes() const {
  size_t b = opt_.bytes();
  for (const DeviceBuffer& m : masters_) b += m.size();
  for (const DeviceLayerAdapters& l : lora_)
    for (const auto* g : {&l.qkv, &l.o, &l.up, &l.down})
      for (const DeviceAdapter& a : *g) b += a.A.size() + a.B.size() + a.A_copy.size() + a.B_copy.size();
  return b;
}

float* DeviceTrainState::state_ptr(StateTensor what, int slot) const {
  switch (what) {
    case StateTensor::Grads: return opt_.grad(slot);
    case StateTensor::ExpAvg: return opt_.exp_avg(slot);
    case StateTensor::ExpAvgSq: return opt_.exp_avg_sq(slot);
    case StateTensor::Params: return opt_.master(slot);
  }
  return nullptr;
}

const Weights& DeviceTrainState::download(StateTensor what, cudaStream_t s) {
  if (what == StateTensor::ExpAvg || what == StateTensor::ExpAvgSq) opt_.ensure_moments(s);
  auto params = param_list(host_);
  std::vector<uint16_t> bits;
  for (size_t k = 0; k < params.size(); ++k) {
    std::vector<float>& out = *params[k];
    const Ref& r = refs_[k];
    if (what != StateTensor::Params) {
      if (slot_[k] < 0) out.clear();  // frozen: no gradient, no moments (the CPU engine's empty vectors)
      else download_f32(out, state_ptr(what, slot_[k]), r.n, s);
      continue;
    }
    if (r.master) {
      download_f32(out, r.master, r.n, s);
    } else if (r.dt == DType::BF16) {  // a frozen bf16 tensor: its values are the bf16 copy's
      bits.resize(size_t(r.n));
      CUDA_CHECK(cudaMemcpyAsync(bits.data(), r.compute, bits.size() * 2, cudaMemcpyDeviceToHost, s));
      CUDA_CHECK(cudaStreamSynchronize(s));
      out.resize(bits.size());
      for (size_t i = 0; i < bits.size(); ++i) out[i] = bf16_value(bits[i]);
    } else {
      download_f32(out, static_cast<const float*>(r.compute), r.n, s);
    }
  }
  CUDA_CHECK(cudaStreamSynchronize(s));
  return host_;
}

std::vector<std::vector<float>> DeviceTrainState::download_value_head(StateTensor what, cudaStream_t s) {
  if (what == StateTensor::ExpAvg || what == StateTensor::ExpAvgSq) opt_.ensure_moments(s);
  std::vector<std::vector<float>> out(vslot_.size());
  for (size_t i = 0; i < vslot_.size(); ++i) download_f32(out[i], state_ptr(what, vslot_[i]), vn_[i], s);
  CUDA_CHECK(cudaStreamSynchronize(s));
  return out;
}

void DeviceTrainState::upload(StateTensor what, size_t k, const std::vector<float>& data, cudaStream_t s) {
  GLAM_CHECK(what != StateTensor::Grads, "InvalidArgument", "gradients cannot be imported");
  GLAM_CHECK(k < refs_.size() && int64_t(data.size()) == refs_[k].n, "TensorShapeMismatch",
             "tensor " + std::to_string(k) + " has " + std::to_string(data.size()) + " values, expected " +
                 std::to_string(k < refs_.size() ? refs_[k].n : 0));
  const Ref& r = refs_[k];
  if (r.n == 0) return;
  if (what != StateTensor::Params) {
    if (slot_[k] < 0) return;  // frozen: no moments to hold
    opt_.ensure_moments(s);
    CUDA_CHECK(cudaMemcpyAsync(state_ptr(what, slot_[k]), data.data(), data.size() * 4, cudaMemcpyHostToDevice, s));
  } else if (r.master) {
    CUDA_CHECK(cudaMemcpyAsync(r.master, data.data(), data.size() * 4, cudaMemcpyHostToDevice, s));
    if (r.compute != r.master) cast_rows(r.compute, DType::BF16, r.master, 1, r.n, r.n, 1.0f, s);
  } else if (r.dt == DType::BF16) {  // frozen bf16 tensor: round on the host like the upload at load
    std::vector<uint16_t> bits(data.size());
    for (size_t i = 0; i < data.size(); ++i) bits[i] = bf16_bits(data[i]);
    CUDA_CHECK(cudaMemcpyAsync(r.compute, bits.data(), bits.size() * 2, cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
  } else {
    CUDA_CHECK(cudaMemcpyAsync(r.compute, data.data(), data.size() * 4, cudaMemcpyHostToDevice, s));
  }
  CUDA_CHECK(cudaStreamSynchronize(s));  // data is the caller's pageable memory
}

void DeviceTrainState::upload_value_head(StateTensor what, size_t i, bool bias, const std::vector<float>& data,
                                         cudaStream_t s) {
  GLAM_CHECK(what != StateTensor::Grads, "InvalidArgument", "gradients cannot be imported");
  const size_t j = 2 * i + (bias ? 1 : 0);
  GLAM_CHECK(j < vslot_.size() && int64_t(data.size()) == vn_[j], "TensorShapeMismatch",
             "value head tensor " + std::to_string(j) + " has the wrong size");
  if (what != StateTensor::Params) opt_.ensure_moments(s);
  CUDA_CHECK(cudaMemcpyAsync(state_ptr(what, vslot_[j]), data.data(), data.size() * 4, cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
}

}  // namespace glam::cuda
