// The GPU scoring pass; see cuda_engine.h.
// Pipeline (one stream, capturable):
//   x (T,C) = Decoder::forward (model/decoder.cpp) over the CUDA backend
//   hn, hn32, lse, tlogit, values = Heads::forward (model/heads.cpp) into the workspace arena
// then lse, tlogit, values (and hn32) come back through pinned staging; assemble (model/heads.h)
// forms log p = tlogit - lse[trow], the candidates' sums in double and each prompt's value.
#include "cuda/cuda_engine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "model/prompt_logprobs.h"
#include "ops/cuda/cuda_ops.h"

namespace glam::cuda {

namespace {

constexpr size_t kFreeMargin = size_t(256) << 20;  // left free for cuBLASLt, graphs and the driver
constexpr size_t kMaxGraphs = 16;

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

void check_device(const ModelConfig& cfg, int device) {
  std::string why;
  const int n = device_count(why);
  GLAM_CHECK(n > 0, "DeviceUnavailable", "no CUDA device is available (" + why + "); load with device: 'cpu'");
  GLAM_CHECK(device >= 0 && device < n, "DeviceUnavailable",
             "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(n) + " found)");
  GLAM_CHECK(cfg.head_dim <= kAttnMaxHeadDim, "UnsupportedArchitecture",
             "the CUDA backend supports head sizes up to " + std::to_string(kAttnMaxHeadDim) + "; this model has " +
                 std::to_string(cfg.head_dim) + ": load it with device: 'cpu'");
}

CudaEngine::CudaEngine(ModelConfig cfg, Weights&& w, DType dt, int device) : cfg_(std::move(cfg)), device_(device) {
  check_device(cfg_, device);
  OnDevice on(device_);
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  try {
    gemm_ = std::make_unique<Gemm>();
    w_ = upload_weights(std::move(w), dt);
    be_ = std::make_unique<CudaBackend>(dt, *gemm_, stream_);
    dec_ = std::make_unique<Decoder>(cfg_, *be_);
    heads_ = std::make_unique<Heads>(cfg_, *be_, family_spec(cfg_.family).norm);
    params_ = decoder_params(cfg_, w_.table());
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
  train_.reset();  // its buffers free before the stream goes
  if (stream_) cudaStreamDestroy(stream_);
}

std::vector<std::pair<std::string, InfoValue>> CudaEngine::info() const {
  const EngineInfo i = engine_info();
  auto n = [](double v) { InfoValue x; x.num = v; return x; };
  auto str = [](std::string v) { InfoValue x; x.str = std::move(v); x.is_str = true; return x; };
  return {{"threads", n(1)}, {"backend", str("cuda")}, {"device", n(i.device)}, {"precision", str(dtype_name(w_.dt))},
          {"weightBytes", n(double(i.weight_bytes))}, {"workspaceBytes", n(double(i.workspace_bytes))},
          {"graphs", n(double(i.graphs))}, {"graphReplays", n(double(i.graph_replays))}};
}

EngineInfo CudaEngine::engine_info() const {
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
  vh_.upload(head);
}

ValueHeadParams CudaEngine::value_head() const { return vh_.params(); }

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

void CudaEngine::upload_meta(const BatchPlan& p, const MetaLayout& m, void* dev) {
  staging_.reserve(m.bytes);
  char* host = staging_.as<char>();
  auto put = [&](size_t off, const void* src, size_t bytes) {
    if (bytes) std::memcpy(host + off, src, bytes);
  };
  put(m.ids, p.ids.data(), p.ids.size() * 4);
  put(m.pos, p.pos.data(), p.pos.size() * 4);
  put(m.rows, p.rows.data(), p.rows.size() * 4);
  put(m.trow, p.trow.data(), p.trow.size() * 4);
  put(m.tid, p.tid.data(), p.tid.size() * 4);
  put(m.arows, p.arows.data(), p.arows.size() * sizeof(AttnRow));
  put(m.tiles, p.tiles.data(), p.tiles.size() * sizeof(AttnTile));
  if (m.bytes > m.kv) put(m.kv, p.kv_tiles.data(), p.kv_tiles.size() * sizeof(AttnKvTile));
  CUDA_CHECK(cudaMemcpyAsync(dev, host, m.bytes, cudaMemcpyHostToDevice, stream_));
}

void CudaEngine::enqueue_pass(const BatchPlan& p) {
  const ModelConfig& c = cfg_;
  float* x = ws_.as<float>(wp_.x);
  const int32_t* ids = ws_.as<int32_t>(wp_.ids);
  const int32_t* pos = ws_.as<int32_t>(wp_.pos);
  const int32_t* rows = ws_.as<int32_t>(wp_.rows);
  PassBindings b;
  b.arows = ws_.as<AttnRow>(wp_.arows);
  b.tiles = ws_.as<AttnTile>(wp_.tiles);
  b.lm_tile = ws_.as<float>(wp_.logits);
  b.Vt = wp_.Vt;
  b.run_max = ws_.as<float>(wp_.run_max);
  b.run_sum = ws_.as<float>(wp_.run_sum);
  be_->bind(b);
  be_->set_attention(p, pos, p.T);
  const DecoderWorkspace dw{ws_.as<void>(wp_.h), ws_.as<float>(wp_.qkv), ws_.as<void>(wp_.att), ws_.as<float>(wp_.up),
                            ws_.as<void>(wp_.act)};
  dec_->use_workspace(&dw);
  // with training on, the views carry the LoRA adapters (their gradients are not touched here)
  const DecoderParams prm = train_ ? decoder_params(c, train_->table()) : params_;
  dec_->forward(prm, x, ids, pos, p.T);
  HeadOut o;
  o.hn = ws_.as<void>(wp_.hn);
  o.hv = ws_.as<float>(wp_.hn32);
  o.lse = ws_.as<float>(wp_.lse);
  o.tlogit = ws_.as<float>(wp_.tlogit);
  o.values = ws_.as<float>(wp_.values);
  for (size_t i = 0; i + 1 < vh_.w.size(); ++i) o.vacts.push_back(ws_.as<float>(i % 2 ? wp_.vh_b : wp_.vh_a));  // alternate
  heads_->forward(prm, value_head(), x, PlanRows{rows, ws_.as<int32_t>(wp_.trow), ws_.as<int32_t>(wp_.tid), p.R, p.NT, p.B},
                  o);
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
    const int64_t gen = be_->generation();
    enqueue_pass(p);
    if (be_->generation() != gen) {  // a decoder buffer moved: graphs captured before hold its old address
      for (auto& [k, exec] : graphs_) cudaGraphExecDestroy(exec);
      graphs_.clear();
    }
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

ScoreResult CudaEngine::score_plan(const BatchPlan& p, bool want_hidden) {
  WorkspaceShape shape{p.T, p.B, p.R, p.NT, int64_t(p.tiles.size()), vh_.width};
  ensure_workspace(shape);
  upload_meta(p, wp_.m, ws_.as<char>(wp_.meta));
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
  if (!vh_.empty())
    CUDA_CHECK(cudaMemcpyAsync(values, ws_.as<float>(wp_.values), size_t(p.B) * 4, cudaMemcpyDeviceToHost, stream_));
  if (want_hidden)
    CUDA_CHECK(cudaMemcpyAsync(hidden, ws_.as<float>(wp_.hn32), size_t(p.B) * C * 4, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  return assemble(p, lse, tlogit, vh_.empty() ? nullptr : values, want_hidden ? hidden : nullptr, cfg_.hidden);
}

ScoreResult CudaEngine::score_top(const PackedBatch& batch, const ValueHead&, bool want_hidden, int64_t top_n) {
  OnDevice on(device_);
  const BatchPlan p = plan_batch(cfg_, batch);
  ScoreResult r = score_plan(p, want_hidden);
  std::vector<float> host;  // one chunk of logits
  const FetchFloats fetch = [&](const float* src, size_t n) {
    host.resize(n);
    CUDA_CHECK(cudaMemcpyAsync(host.data(), src, n * 4, cudaMemcpyDeviceToHost, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    return static_cast<const float*>(host.data());
  };
  // hn (R, C) of this pass is still in the workspace
  const DecoderParams prm = train_ ? decoder_params(cfg_, train_->table()) : params_;
  vocab_top(*be_, ws_.as<void>(wp_.hn), p.R, prm.head, cfg_.vocab, cfg_.hidden, p.trow.data(), p.NT, top_n, fetch,
            nullptr, r);
  return r;
}

ScoreResult CudaEngine::score(const PackedBatch& batch, bool naive, bool want_hidden) {
  OnDevice on(device_);
  return score_plan(naive ? plan_naive(cfg_, batch) : plan_batch(cfg_, batch), want_hidden);
}

}  // namespace glam::cuda
