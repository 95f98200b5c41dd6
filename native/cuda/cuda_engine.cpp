// The GPU scoring pass; see cuda_engine.h.
// Pipeline (fused; one stream, capturable):
//   x (T,C) = embed(ids) (+ wpe(pos))
//   per layer l:   h = norm1(x += y_{l-1})           fused residual add + norm (no add for l = 0)
//                  qkv = h Wqkv^T + b; rope(q, k)     cuBLASLt, fp32 out
//                  att = shared-prefix attention(qkv)
//                  y = att Wo^T + b
//                  h = norm2(x += y)
//                  up = h Wup^T + b; act = swiglu | gelu(up)
//                  y = act Wdown^T + b
//   hn (R,C) = final_norm(x + y)[rows]                gather of scored rows (x left as is)
//   hn32 (B,C) = final_norm(x + y)[rows[0:B]] in fp32 (value head input, `hidden`)
//   lse (R), tlogit (NT) = fused LM head over vocabulary tiles
//   values (B) = value head(hn32)
// then lse, tlogit, values (and hn32) come back; log p = tlogit - lse[trow]; sums in double.
#include "cuda/cuda_engine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "model/value_head.h"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

namespace {

constexpr size_t kFreeMargin = size_t(256) << 20;  // left free for cuBLASLt, graphs and the driver
constexpr size_t kMaxGraphs = 16;

// Scoped device selection for the calling thread (N-API workers run on libuv's pool).
struct OnDevice {
  explicit OnDevice(int d) { CUDA_CHECK(cudaSetDevice(d)); }
};

}  // namespace

int device_count(std::string& err) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    err = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
    cudaGetLastError();
    return 0;
  }
  if (n == 0) err = "cudart reports no CUDA device";
  return n;
}

CudaEngine::CudaEngine(ModelConfig cfg, const Weights& w, DType dt, int device) : cfg_(std::move(cfg)), device_(device) {
  std::string why;
  const int n = device_count(why);
  GLAM_CHECK(n > 0, "DeviceUnavailable", "no CUDA device is available (" + why + "); load with device: 'cpu'");
  GLAM_CHECK(device >= 0 && device < n, "DeviceUnavailable",
             "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(n) + " found)");
  GLAM_CHECK(cfg_.head_dim <= kAttnMaxHeadDim, "UnsupportedArchitecture",
             "the CUDA backend supports head sizes up to " + std::to_string(kAttnMaxHeadDim) + "; this model has " +
                 std::to_string(cfg_.head_dim) + ": load it with device: 'cpu'");
  OnDevice on(device_);
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  try {
    gemm_ = std::make_unique<Gemm>();
    w_ = upload_weights(w, dt);
  } catch (...) {
    cudaStreamDestroy(stream_);
    throw;
  }
  const char* g = std::getenv("GLAM_CUDA_GRAPHS");
  use_graphs_ = !(g && std::strcmp(g, "0") == 0);
}

CudaEngine::~CudaEngine() {
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  drop_graphs();
  if (stream_) cudaStreamDestroy(stream_);
}

EngineInfo CudaEngine::info() const {
  EngineInfo i;
  i.device = device_;
  i.weight_bytes = w_.bytes;
  i.workspace_bytes = ws_.size();
  i.graphs = int64_t(graphs_.size());
  i.graph_replays = replays_;
  return i;
}

void CudaEngine::drop_graphs() {
  for (auto& [sig, exec] : graphs_) cudaGraphExecDestroy(exec);
  graphs_.clear();
  seen_.clear();
}

void CudaEngine::set_value_head(const ValueHead& head) {
  OnDevice on(device_);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  drop_graphs();  // graphs hold the old head's pointers
  vsizes_ = head.sizes;
  vw_.clear();
  vb_.clear();
  vwidth_ = 0;
  if (head.empty()) return;
  for (size_t i = 0; i < head.weight.size(); ++i) {
    DeviceBuffer wb(head.weight[i].size() * 4), bb(head.bias[i].size() * 4);
    CUDA_CHECK(cudaMemcpy(wb.get(), head.weight[i].data(), wb.size(), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(bb.get(), head.bias[i].data(), bb.size(), cudaMemcpyHostToDevice));
    vw_.push_back(std::move(wb));
    vb_.push_back(std::move(bb));
    if (i + 1 < head.weight.size()) vwidth_ = std::max(vwidth_, head.sizes[i + 1]);
  }
}

void CudaEngine::ensure_workspace(const WorkspaceShape& shape) {
  wp_ = plan_workspace(cfg_, shape, w_.dt == DType::BF16);
  if (wp_.total <= ws_.size()) return;
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  drop_graphs();  // graphs hold the old arena's addresses
  ws_.reset();
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const size_t available = free_b > kFreeMargin ? free_b - kFreeMargin : 0;
  check_fits(cfg_, shape, w_.dt == DType::BF16, available);
  ws_.alloc(std::min(wp_.total + wp_.total / 8, available));  // headroom (when it fits): nearby shapes reuse the arena
}

void CudaEngine::upload_meta(const BatchPlan& p) {
  staging_.reserve(wp_.meta_bytes);
  char* host = staging_.as<char>();
  auto put = [&](size_t off, const void* src, size_t bytes) {
    if (bytes) std::memcpy(host + (off - wp_.meta), src, bytes);
  };
  put(wp_.ids, p.ids.data(), p.ids.size() * 4);
  put(wp_.pos, p.pos.data(), p.pos.size() * 4);
  put(wp_.rows, p.rows.data(), p.rows.size() * 4);
  put(wp_.trow, p.trow.data(), p.trow.size() * 4);
  put(wp_.tid, p.tid.data(), p.tid.size() * 4);
  put(wp_.tiles, p.tiles.data(), p.tiles.size() * sizeof(AttnTile));
  put(wp_.arows, p.arows.data(), p.arows.size() * sizeof(AttnRow));
  CUDA_CHECK(cudaMemcpyAsync(ws_.as<char>(wp_.meta), host, wp_.meta_bytes, cudaMemcpyHostToDevice, stream_));
}

void CudaEngine::enqueue_pass(const BatchPlan& p) {
  const ModelConfig& c = cfg_;
  const DType dt = w_.dt;
  const bool llama = c.family == Family::Llama;
  const int64_t T = p.T, C = c.hidden, H = c.heads, Hkv = c.kv_heads, D = c.head_dim, I = c.inter;
  const int64_t Q = c.qkv_dim(), U = llama ? 2 * I : I;
  float* x = ws_.as<float>(wp_.x);
  float* y = ws_.as<float>(wp_.y);
  void* h = ws_.as<void>(wp_.h);
  float* qkv = ws_.as<float>(wp_.qkv);
  void* att = ws_.as<void>(wp_.att);
  float* up = ws_.as<float>(wp_.up);
  void* act = ws_.as<void>(wp_.act);
  const int32_t* ids = ws_.as<int32_t>(wp_.ids);
  const int32_t* pos = ws_.as<int32_t>(wp_.pos);
  const int32_t* rows = ws_.as<int32_t>(wp_.rows);
  cudaStream_t s = stream_;
  auto norm = [&](void* out, DType ot, const float* add, const int32_t* gather, int64_t n, const DeviceBuffer& w,
                  const DeviceBuffer& b) {
    if (llama) rmsnorm_forward(out, ot, x, add, gather, w.as<float>(), n, C, c.norm_eps, s);
    else layernorm_forward(out, ot, x, add, gather, w.as<float>(), b.as<float>(), n, C, c.norm_eps, s);
  };

  embedding_forward(x, ids, pos, w_.embed.get(), llama ? nullptr : w_.pos_embed.get(), dt, T, C, s);
  for (size_t l = 0; l < w_.layers.size(); ++l) {
    const DeviceLayer& lw = w_.layers[l];
    norm(h, dt, l == 0 ? nullptr : y, nullptr, T, lw.norm1_w, lw.norm1_b);
    gemm_->nt(qkv, h, lw.wqkv.get(), lw.bqkv.as<float>(), T, Q, C, dt, false, s);
    if (llama) rope_forward(qkv, Q, T, H + Hkv, D, pos, w_.inv_freq.as<float>(), s);
    attention_forward(att, dt, nullptr, qkv, pos, ws_.as<AttnTile>(wp_.tiles), int64_t(p.tiles.size()),
                      ws_.as<AttnRow>(wp_.arows), H, Hkv, D, c.sliding_window, p.rows_per_tile, s);
    gemm_->nt(y, att, lw.wo.get(), lw.bo.as<float>(), T, C, H * D, dt, false, s);
    norm(h, dt, y, nullptr, T, lw.norm2_w, lw.norm2_b);
    gemm_->nt(up, h, lw.wup.get(), lw.bup.as<float>(), T, U, C, dt, false, s);
    if (llama) swiglu_forward(act, dt, up, T, I, s);
    else gelu_forward(act, dt, up, T * I, c.act == Act::GeluTanh, s);
    gemm_->nt(y, act, lw.wdown.get(), lw.bdown.as<float>(), T, C, I, dt, false, s);
  }
  // final norm of the scored rows, with the last block's residual add folded into the gather
  norm(ws_.as<void>(wp_.hn), dt, y, rows, p.R, w_.final_w, w_.final_b);
  norm(ws_.as<void>(wp_.hn32), DType::F32, y, rows, p.B, w_.final_w, w_.final_b);
  lm_head_lse_forward(ws_.as<float>(wp_.lse), ws_.as<float>(wp_.tlogit), ws_.as<void>(wp_.hn), w_.head(), dt, p.R,
                      c.vocab, C, ws_.as<int32_t>(wp_.trow), ws_.as<int32_t>(wp_.tid), p.NT, ws_.as<float>(wp_.logits),
                      wp_.Vt, ws_.as<float>(wp_.run_max), ws_.as<float>(wp_.run_sum), *gemm_, s);
  if (!vw_.empty()) {
    std::vector<const float*> W, b;
    for (size_t i = 0; i < vw_.size(); ++i) {
      W.push_back(vw_[i].as<float>());
      b.push_back(vb_[i].as<float>());
    }
    value_head_forward(ws_.as<float>(wp_.values), ws_.as<float>(wp_.hn32), int(vw_.size()), vsizes_.data(), W.data(),
                       b.data(), ws_.as<float>(wp_.vh_a), ws_.as<float>(wp_.vh_b), p.B, *gemm_, s);
  }
}

void CudaEngine::run_pass(const BatchPlan& p) {
  const std::vector<int64_t> sig = p.signature();
  auto g = graphs_.find(sig);
  if (g != graphs_.end()) {
    CUDA_CHECK(cudaGraphLaunch(g->second, stream_));
    ++replays_;
    return;
  }
  if (!use_graphs_ || ++seen_[sig] < 2) {  // first sight of this shape: eager (sets up plans and attributes)
    enqueue_pass(p);
    return;
  }
  if (graphs_.size() >= kMaxGraphs) drop_graphs();
  cudaGraph_t graph = nullptr;
  CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  try {
    enqueue_pass(p);
  } catch (...) {
    cudaStreamEndCapture(stream_, &graph);
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  CUDA_CHECK(e);
  graphs_[sig] = exec;
  CUDA_CHECK(cudaGraphLaunch(exec, stream_));
}

CudaScore CudaEngine::score_fused(const BatchPlan& p, bool want_hidden) {
  WorkspaceShape shape{p.T, p.B, p.R, p.NT, int64_t(p.tiles.size()), vwidth_};
  ensure_workspace(shape);
  upload_meta(p);
  run_pass(p);
  // results: lse (R), tlogit (NT), values (B), hidden (B, C) through the pinned staging buffer
  const size_t C = size_t(cfg_.hidden);
  const size_t out_bytes = (size_t(p.R) + size_t(p.NT) + size_t(p.B) + (want_hidden ? size_t(p.B) * C : 0)) * 4;
  CUDA_CHECK(cudaStreamSynchronize(stream_));  // the metadata upload is done with the staging buffer
  staging_.reserve(out_bytes);
  float* lse = staging_.as<float>();
  float* tlogit = lse + p.R;
  float* values = tlogit + p.NT;
  float* hidden = values + p.B;
  CUDA_CHECK(cudaMemcpyAsync(lse, ws_.as<float>(wp_.lse), size_t(p.R) * 4, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaMemcpyAsync(tlogit, ws_.as<float>(wp_.tlogit), size_t(p.NT) * 4, cudaMemcpyDeviceToHost, stream_));
  if (!vw_.empty())
    CUDA_CHECK(cudaMemcpyAsync(values, ws_.as<float>(wp_.values), size_t(p.B) * 4, cudaMemcpyDeviceToHost, stream_));
  if (want_hidden)
    CUDA_CHECK(cudaMemcpyAsync(hidden, ws_.as<float>(wp_.hn32), size_t(p.B) * C * 4, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  CudaScore r;
  r.token_logprobs.resize(size_t(p.NT));
  for (int64_t t = 0; t < p.NT; ++t) r.token_logprobs[size_t(t)] = tlogit[t] - lse[p.trow[size_t(t)]];
  r.logprobs.resize(size_t(p.N));
  for (int64_t k = 0; k < p.N; ++k) {
    double sum = 0;
    for (int64_t t = p.tok_off[size_t(k)]; t < p.tok_off[size_t(k + 1)]; ++t) sum += r.token_logprobs[size_t(t)];
    r.logprobs[size_t(k)] = float(sum);
  }
  r.values.assign(size_t(p.B), 0.0f);
  if (!vw_.empty()) std::memcpy(r.values.data(), values, size_t(p.B) * 4);
  if (want_hidden) r.hidden.assign(hidden, hidden + size_t(p.B) * C);
  return r;
}

CudaScore CudaEngine::score(const PackedBatch& batch, bool naive, bool want_hidden) {
  OnDevice on(device_);
  if (!naive) return score_fused(plan_batch(cfg_, batch), want_hidden);
  std::vector<int32_t> pos_check;
  batch.validate(cfg_, pos_check);  // the original batch's errors, not the rewritten one's
  std::vector<int32_t> first;
  const PackedBatch nb = naive_batch(batch, first);
  CudaScore r = score_fused(plan_batch(cfg_, nb), want_hidden);
  const size_t B = first.size(), C = size_t(cfg_.hidden);
  std::vector<float> values(B), hidden(want_hidden ? B * C : 0);
  for (size_t b = 0; b < B; ++b) {
    values[b] = r.values[size_t(first[b])];
    if (want_hidden)
      std::copy(r.hidden.begin() + first[b] * C, r.hidden.begin() + (first[b] + 1) * C, hidden.begin() + b * C);
  }
  r.values = std::move(values);
  r.hidden = std::move(hidden);
  return r;
}

}  // namespace glam::cuda
