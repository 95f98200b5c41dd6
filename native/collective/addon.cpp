// The collective addon (glam_mpi.node; glam_nccl.node in a CUDA build with NCCL): MPI set up once per
// process, and the collectives of collective.h over JS typed arrays, each on a libuv worker so the
// event loop (signals, the TypeScript side's timeouts) keeps running while a rank waits for the others.
//   init() -> { rank, size, localRank, localSize, library }
//   allreduce(Float32Array | Float64Array, 'sum' | 'max' | 'avg') -> Promise<void>   (in place)
//   broadcast(TypedArray, root) -> Promise<void>,  barrier() -> Promise<void>
//   ncclInit(device) -> { library }   (glam_nccl.node only; then allreduce of a Float32Array goes
//                                       through NCCL on that GPU, the rest stays on MPI)
//   abort(code): ends every rank of the job; never returns.   finalize()
// Declared to TypeScript in lib/native/collective.ts. Subtle: a worker holds a reference to its
// typed array so the buffer outlives the call; the JS side must not touch it until the promise settles.
#include <napi.h>

#include <memory>

#include "collective/mpi_collective.h"
#include "napi/coded_error.h"
#ifdef GLAM_WITH_NCCL
#include "collective/nccl_collective.h"
#endif

namespace glam::collective {
namespace {

std::unique_ptr<MpiCollective> g_mpi;
#ifdef GLAM_WITH_NCCL
std::unique_ptr<NcclCollective> g_nccl;
#endif

MpiCollective& mpi() {
  GLAM_CHECK(g_mpi != nullptr, "InvalidArgument", "call init() before any collective");
  return *g_mpi;
}

class CollectiveWorker : public napi::CodedWorker {
 public:
  enum class Kind { AllReduce, Broadcast, Barrier };
  CollectiveWorker(Napi::Env env, Kind k, Napi::TypedArray buf, Elem t, ReduceOp op, int root)
      : CodedWorker(env), kind_(k), t_(t), op_(op), root_(root) {
    if (!buf.IsEmpty()) {
      ref_ = Napi::Persistent(buf.As<Napi::Object>());
      data_ = static_cast<char*>(buf.ArrayBuffer().Data()) + buf.ByteOffset();
      bytes_ = int64_t(buf.ByteLength());
    }
  }

 protected:
  void Run() override {
    if (kind_ == Kind::Barrier) return mpi().barrier();
    if (kind_ == Kind::Broadcast) return mpi().broadcast(data_, bytes_, root_);
    const int64_t n = bytes_ / int64_t(elem_bytes(t_));
#ifdef GLAM_WITH_NCCL
    if (g_nccl && t_ == Elem::F32) return g_nccl->allreduce(data_, n, t_, op_);
#endif
    mpi().allreduce(data_, n, t_, op_);
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

 private:
  Kind kind_;
  Elem t_;
  ReduceOp op_;
  int root_;
  Napi::ObjectReference ref_;
  void* data_ = nullptr;
  int64_t bytes_ = 0;
};

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  if (!g_mpi) g_mpi = std::make_unique<MpiCollective>();
  Napi::Object o = Napi::Object::New(env);
  o.Set("rank", g_mpi->rank());
  o.Set("size", g_mpi->size());
  o.Set("localRank", g_mpi->local_rank());
  o.Set("localSize", g_mpi->local_size());
  o.Set("library", g_mpi->describe());
  return o;
  GLAM_NAPI_CATCH(env)
}

Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  mpi();
  GLAM_CHECK(info.Length() >= 2 && info[0].IsTypedArray() && info[1].IsString(), "InvalidArgument",
             "allreduce(Float32Array | Float64Array, 'sum' | 'max' | 'avg')");
  Napi::TypedArray a = info[0].As<Napi::TypedArray>();
  GLAM_CHECK(a.TypedArrayType() == napi_float32_array || a.TypedArrayType() == napi_float64_array, "InvalidArgument",
             "allreduce takes a Float32Array or a Float64Array");
  const std::string op = info[1].As<Napi::String>().Utf8Value();
  GLAM_CHECK(op == "sum" || op == "max" || op == "avg", "InvalidArgument", "allreduce op must be 'sum', 'max' or 'avg'");
  auto* w = new CollectiveWorker(env, CollectiveWorker::Kind::AllReduce, a,
                                 a.TypedArrayType() == napi_float32_array ? Elem::F32 : Elem::F64,
                                 op == "sum" ? ReduceOp::Sum : op == "max" ? ReduceOp::Max : ReduceOp::Avg, 0);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  mpi();
  GLAM_CHECK(info.Length() >= 2 && info[0].IsTypedArray() && info[1].IsNumber(), "InvalidArgument", "broadcast(TypedArray, root)");
  auto* w = new CollectiveWorker(env, CollectiveWorker::Kind::Broadcast, info[0].As<Napi::TypedArray>(), Elem::F32, ReduceOp::Sum,
                                 info[1].As<Napi::Number>().Int32Value());
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  mpi();
  auto* w = new CollectiveWorker(env, CollectiveWorker::Kind::Barrier, Napi::TypedArray(), Elem::F32, ReduceOp::Sum, 0);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
  GLAM_NAPI_CATCH(env)
}

Napi::Value Abort(const Napi::CallbackInfo& info) {
  const int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
#ifdef GLAM_WITH_NCCL
  if (g_nccl) g_nccl->abort(code);
#endif
  if (g_mpi) g_mpi->abort(code);
  _Exit(code);
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
#ifdef GLAM_WITH_NCCL
  g_nccl.reset();
#endif
  g_mpi.reset();
  return info.Env().Undefined();
}

#ifdef GLAM_WITH_NCCL
Napi::Value NcclInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
  GLAM_CHECK(info.Length() >= 1 && info[0].IsNumber(), "InvalidArgument", "ncclInit(device)");
  if (!g_nccl) g_nccl = std::make_unique<NcclCollective>(mpi(), info[0].As<Napi::Number>().Int32Value());
  Napi::Object o = Napi::Object::New(env);
  o.Set("library", g_nccl->describe());
  return o;
  GLAM_NAPI_CATCH(env)
}
#endif

Napi::Object Module(Napi::Env env, Napi::Object exports) {
#ifdef GLAM_WITH_NCCL
  exports.Set("backend", Napi::String::New(env, "mpi+nccl"));
  exports.Set("ncclInit", Napi::Function::New(env, NcclInit));
#else
  exports.Set("backend", Napi::String::New(env, "mpi"));
#endif
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("allreduce", Napi::Function::New(env, AllReduce));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  return exports;
}

}  // namespace
}  // namespace glam::collective

static Napi::Object InitCollectiveAddon(Napi::Env env, Napi::Object exports) { return glam::collective::Module(env, exports); }

NODE_API_MODULE(glam_mpi, InitCollectiveAddon)
