// Op-level test hooks of the CPU test addon (glam_cpu_test.node): exports.ops = { gemm, openblasSgemm,
// cpuPeakGflops }. They back test/native/gemm.test.ts (parity against the references) and
// bench/gemm.ts; the engine itself never goes through them. lib/native/test-hooks.ts declares them.
//
//   gemm(kind: 'nt'|'nn'|'tn', X: Float32Array, W: Float32Array, M, N, K, opts?) -> Float32Array
//     nt: Y[M,N] = X[M,K]·W[N,K]^T (+ bias)   nn: Y = X[M,K]·W[K,N]   tn: Y = X[K,M]^T·W[K,N]
//     opts: bias?: Float32Array (nt only, length N), threads?: number (default: all cores),
//           reference?: boolean (the double-accumulating reference), accumulateInto?: Float32Array
//           (Y += into it, in place; it is returned), out?: Float32Array (Y = into it, in place),
//           ldx?, ldw?, ldy?: leading dimensions (default: the logical widths; with one given, the
//           array only needs to reach its last element).
//   openblasSgemm(kind, X, W, M, N, K, opts?: {threads?, accumulateInto?, out?, ldx?, ldw?, ldy?})
//     -> Float32Array, or null when libopenblas.so.0 cannot be loaded. OpenBLAS is dlopen'ed at
//     run time, never linked, so the addon neither needs nor ships it (benchmark comparison only).
//   cpuPeakGflops(threads?) -> number: an FMA-only register loop on `threads` threads, the
//     machine's attainable fp32 peak right now, to put GEMM GFLOP/s in proportion.
// Subtle: every malformed argument throws a coded error (napi/coded_error.h, code InvalidArgument)
// before any native memory is touched; nothing here may crash Node.
// Subtle: pools are cached per thread count and each is used by one call at a time (a mutex), since
// ThreadPool::run must not be entered concurrently (Node worker threads share this module).
#include <dlfcn.h>
#include <napi.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "napi/coded_error.h"
#include "ops/cpu/gemm.h"
#include "runtime/thread_pool.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace glam::napi {

namespace {

constexpr int kMaxThreads = 256;
constexpr double kMaxDim = 2147483647.0;  // 2^31 - 1

[[noreturn]] void invalid(const std::string& msg) { fail("InvalidArgument", msg); }

struct PoolSlot {
  std::mutex mu;
  std::unique_ptr<glam::ThreadPool> pool;
};

PoolSlot& pool_slot(int threads) {
  static std::mutex mu;
  static std::map<int, std::unique_ptr<PoolSlot>> slots;
  std::lock_guard<std::mutex> lk(mu);
  auto it = slots.find(threads);
  if (it != slots.end()) return *it->second;
  auto s = std::make_unique<PoolSlot>();
  s->pool = std::make_unique<glam::ThreadPool>(threads);  // may throw (thread limits): nothing cached then
  return *slots.emplace(threads, std::move(s)).first->second;
}

int default_threads() {
  const unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : int(std::min<unsigned>(h, kMaxThreads));
}

// A thread count in [1, kMaxThreads]; absent: all cores.
int threads_arg(const Napi::Value& t) {
  if (t.IsEmpty() || t.IsUndefined()) return default_threads();
  if (!t.IsNumber()) invalid("threads must be a number");
  const double d = t.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || d < 1 || d > kMaxThreads)
    invalid("threads must be an integer in [1, " + std::to_string(kMaxThreads) + "]");
  return int(d);
}

int64_t get_dim(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) invalid(std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < 0 || d > kMaxDim || std::floor(d) != d)
    invalid(std::string(name) + " must be an integer in [0, 2^31)");
  return int64_t(d);
}

Napi::Float32Array get_f32(const Napi::Value& v, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    invalid(std::string(name) + " must be a Float32Array");
  return v.As<Napi::Float32Array>();
}

// A row-major matrix argument: rows x cols with leading dimension ld (explicit or = cols).
struct MatArg {
  const float* data = nullptr;
  size_t length = 0;
  int64_t ld = 0;
};

// The length an array needs for rows x cols with row stride ld.
int64_t needed(int64_t rows, int64_t cols, int64_t ld) { return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols; }

int64_t get_ld(const Napi::Object* opts, const char* key, int64_t cols) {
  if (!opts || !opts->Has(key) || opts->Get(key).IsUndefined()) return -1;
  const int64_t ld = get_dim(opts->Get(key), key);
  if (ld < cols || ld < 1) invalid(std::string(key) + " (" + std::to_string(ld) + ") must be >= the row width " +
                                   std::to_string(cols) + " and >= 1");
  return ld;
}

// Checks an array against rows x cols: exactly rows*cols without an explicit ld, else at least
// (rows-1)*ld + cols.
MatArg check_mat(const Napi::Float32Array& a, const char* name, int64_t rows, int64_t cols, int64_t ld_opt) {
  MatArg m;
  m.data = a.Data();
  m.length = a.ElementLength();
  if (ld_opt < 0) {
    m.ld = std::max<int64_t>(cols, 1);
    if (int64_t(m.length) != rows * cols)
      invalid(std::string(name) + " has length " + std::to_string(m.length) + ", expected " + std::to_string(rows) +
              "x" + std::to_string(cols) + " = " + std::to_string(rows * cols));
  } else {
    m.ld = ld_opt;
    if (int64_t(m.length) < needed(rows, cols, ld_opt))
      invalid(std::string(name) + " has length " + std::to_string(m.length) + ", needs at least " +
              std::to_string(needed(rows, cols, ld_opt)) + " for " + std::to_string(rows) + "x" + std::to_string(cols) +
              " with leading dimension " + std::to_string(ld_opt));
  }
  return m;
}

bool overlaps(const float* a, size_t na, const float* b, size_t nb) {
  if (na == 0 || nb == 0) return false;
  const uintptr_t a0 = reinterpret_cast<uintptr_t>(a), a1 = a0 + na * sizeof(float);
  const uintptr_t b0 = reinterpret_cast<uintptr_t>(b), b1 = b0 + nb * sizeof(float);
  return a0 < b1 && b0 < a1;
}

enum class Kind { NT, NN, TN };

// Everything a gemm-like call needs, validated.
struct GemmCall {
  Kind kind = Kind::NT;
  int64_t M = 0, N = 0, K = 0;
  MatArg X, W;
  float* Y = nullptr;
  size_t y_length = 0;
  int64_t ldy = 0;
  const float* bias = nullptr;
  bool accumulate = false;
  bool reference = false;
  int threads = 1;
  Napi::Float32Array result;
};

GemmCall parse_gemm(const Napi::CallbackInfo& info, bool allow_bias, bool allow_reference) {
  Napi::Env env = info.Env();
  if (info.Length() < 6) invalid("gemm(kind, X, W, M, N, K, opts?) takes at least 6 arguments");
  GemmCall c;
  if (!info[0].IsString()) invalid("kind must be 'nt', 'nn' or 'tn'");
  const std::string kind = info[0].As<Napi::String>().Utf8Value();
  if (kind == "nt") c.kind = Kind::NT;
  else if (kind == "nn") c.kind = Kind::NN;
  else if (kind == "tn") c.kind = Kind::TN;
  else invalid("kind must be 'nt', 'nn' or 'tn', got '" + kind + "'");
  const Napi::Float32Array X = get_f32(info[1], "X");
  const Napi::Float32Array W = get_f32(info[2], "W");
  c.M = get_dim(info[3], "M");
  c.N = get_dim(info[4], "N");
  c.K = get_dim(info[5], "K");
  Napi::Object opts_obj;
  const Napi::Object* opts = nullptr;
  if (info.Length() > 6 && !info[6].IsUndefined() && !info[6].IsNull()) {
    if (!info[6].IsObject() || info[6].IsArray() || info[6].IsTypedArray()) invalid("opts must be an object");
    opts_obj = info[6].As<Napi::Object>();
    opts = &opts_obj;
  }
  auto has = [&](const char* key) { return opts && opts->Has(key) && !opts->Get(key).IsUndefined(); };

  // All option reads (which may run JS getters) come before any data pointer is taken.
  // X: [M,K] (nt, nn) or [K,M] (tn); W: [N,K] (nt) or [K,N] (nn, tn).
  const int64_t xr = c.kind == Kind::TN ? c.K : c.M, xc = c.kind == Kind::TN ? c.M : c.K;
  const int64_t wr = c.kind == Kind::NT ? c.N : c.K, wc = c.kind == Kind::NT ? c.K : c.N;
  const int64_t ldx_opt = get_ld(opts, "ldx", xc), ldw_opt = get_ld(opts, "ldw", wc);
  const int64_t ldy_opt = get_ld(opts, "ldy", c.N);
  c.threads = threads_arg(has("threads") ? opts->Get("threads") : Napi::Value());
  if (has("reference")) {
    if (!allow_reference) invalid("reference is not an option here");
    const Napi::Value r = opts->Get("reference");
    if (!r.IsBoolean()) invalid("reference must be a boolean");
    c.reference = r.As<Napi::Boolean>().Value();
  }
  Napi::Value bias_v;
  if (has("bias")) {
    if (!allow_bias || c.kind != Kind::NT) invalid("bias is only supported by gemm kind 'nt'");
    bias_v = opts->Get("bias");
    get_f32(bias_v, "bias");
  }
  const bool acc = has("accumulateInto"), out = has("out");
  if (acc && out) invalid("give accumulateInto or out, not both");
  const char* y_name = acc ? "accumulateInto" : "out";
  Napi::Value y_v;
  if (acc || out) {
    y_v = opts->Get(y_name);
    get_f32(y_v, y_name);
  }

  c.X = check_mat(X, "X", xr, xc, ldx_opt);
  c.W = check_mat(W, "W", wr, wc, ldw_opt);
  if (!bias_v.IsEmpty()) {
    const Napi::Float32Array b = bias_v.As<Napi::Float32Array>();
    if (int64_t(b.ElementLength()) != c.N)
      invalid("bias has length " + std::to_string(b.ElementLength()) + ", expected N = " + std::to_string(c.N));
    c.bias = c.N > 0 ? b.Data() : nullptr;
  }
  if (acc || out) {
    const Napi::Float32Array y = y_v.As<Napi::Float32Array>();
    const MatArg m = check_mat(y, y_name, c.M, c.N, ldy_opt);
    c.result = y;
    c.Y = const_cast<float*>(m.data);
    c.y_length = m.length;
    c.ldy = m.ld;
    c.accumulate = acc;
    if (overlaps(c.Y, c.y_length, c.X.data, c.X.length) || overlaps(c.Y, c.y_length, c.W.data, c.W.length) ||
        (c.bias && overlaps(c.Y, c.y_length, c.bias, size_t(c.N))))
      invalid(std::string(y_name) + " must not share memory with X, W or bias");
  } else {
    c.ldy = ldy_opt < 0 ? std::max<int64_t>(c.N, 1) : ldy_opt;
    const int64_t len = ldy_opt < 0 ? c.M * c.N : c.M * c.ldy;
    c.result = Napi::Float32Array::New(env, size_t(len));
    c.Y = c.result.Data();
    c.y_length = size_t(len);
  }
  return c;
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
    GemmCall c = parse_gemm(info, true, true);
    PoolSlot& slot = pool_slot(c.reference ? 1 : c.threads);
    std::lock_guard<std::mutex> lk(slot.mu);
    glam::ThreadPool& pool = *slot.pool;
    using namespace glam::cpu;
    switch (c.kind) {
      case Kind::NT:
        (c.reference ? gemm_nt_reference : gemm_nt)(c.X.data, c.X.ld, c.W.data, c.W.ld, c.Y, c.ldy, c.M, c.N, c.K,
                                                     c.bias, c.accumulate, pool);
        break;
      case Kind::NN:
        (c.reference ? gemm_nn_reference : gemm_nn)(c.X.data, c.X.ld, c.W.data, c.W.ld, c.Y, c.ldy, c.M, c.N, c.K,
                                                     c.accumulate, pool);
        break;
      case Kind::TN:
        (c.reference ? gemm_tn_reference : gemm_tn)(c.X.data, c.X.ld, c.W.data, c.W.ld, c.Y, c.ldy, c.M, c.N, c.K,
                                                     c.accumulate, pool);
        break;
    }
    return c.result;
  GLAM_NAPI_CATCH(env)
}

// --- OpenBLAS, loaded at run time --------------------------------------------------------------

// cblas_sgemm with the LP64 interface (blasint = int), CBLAS enums passed as their int values.
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                            int);
using OpenblasSetThreads = void (*)(int);
constexpr int kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112;

struct OpenBlas {
  CblasSgemm sgemm = nullptr;
  OpenblasSetThreads set_threads = nullptr;
  std::mutex mu;
};

OpenBlas* openblas() {
  static OpenBlas* lib = [] () -> OpenBlas* {
    void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) return nullptr;
    auto* o = new OpenBlas();  // lives as long as the process, like the dlopen handle
    o->sgemm = reinterpret_cast<CblasSgemm>(dlsym(h, "cblas_sgemm"));
    o->set_threads = reinterpret_cast<OpenblasSetThreads>(dlsym(h, "openblas_set_num_threads"));
    if (!o->sgemm) {
      delete o;
      dlclose(h);
      return nullptr;
    }
    return o;
  }();
  return lib;
}

Napi::Value OpenblasSgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
    OpenBlas* ob = openblas();
    if (!ob) return env.Null();
    GemmCall c = parse_gemm(info, false, false);
    const double lim = 2147483647.0;
    if (double(c.X.ld) > lim || double(c.W.ld) > lim || double(c.ldy) > lim)
      invalid("leading dimensions exceed OpenBLAS's 32-bit interface");
    if (c.M == 0 || c.N == 0) return c.result;
    if (c.K == 0) {  // BLAS would scale Y by beta; match gemm's semantics directly
      if (!c.accumulate)
        for (int64_t i = 0; i < c.M; ++i)
          for (int64_t j = 0; j < c.N; ++j) c.Y[i * c.ldy + j] = 0.0f;
      return c.result;
    }
    std::lock_guard<std::mutex> lk(ob->mu);
    if (ob->set_threads) ob->set_threads(c.threads);
    const int ta = c.kind == Kind::TN ? kCblasTrans : kCblasNoTrans;
    const int tb = c.kind == Kind::NT ? kCblasTrans : kCblasNoTrans;
    ob->sgemm(kCblasRowMajor, ta, tb, int(c.M), int(c.N), int(c.K), 1.0f, c.X.data, int(c.X.ld), c.W.data, int(c.W.ld),
              c.accumulate ? 1.0f : 0.0f, c.Y, int(c.ldy));
    return c.result;
  GLAM_NAPI_CATCH(env)
}

// --- Peak ----------------------------------------------------------------------------------------

// FMA throughput of one thread over `iters` rounds of 12 independent vector FMAs; returns flops.
double fma_loop(int64_t iters) {
#if defined(__AVX512F__)
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i) * 1e-3f);
  const __m512 b = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
  float s[16];
  __m512 t = a[0];
  for (int i = 1; i < 12; ++i) t = _mm512_add_ps(t, a[i]);
  _mm512_storeu_ps(s, t);
  volatile float sink = s[0];
  (void)sink;
  return double(iters) * 12 * 16 * 2;
#elif defined(__AVX2__) && defined(__FMA__)
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(i) * 1e-3f);
  const __m256 b = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], b, c);
  float s[8];
  __m256 t = a[0];
  for (int i = 1; i < 12; ++i) t = _mm256_add_ps(t, a[i]);
  _mm256_storeu_ps(s, t);
  volatile float sink = s[0];
  (void)sink;
  return double(iters) * 12 * 8 * 2;
#else
  float a[12][4];
  for (int i = 0; i < 12; ++i)
    for (int l = 0; l < 4; ++l) a[i][l] = float(i) * 1e-3f;
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i)
      for (int l = 0; l < 4; ++l) a[i][l] = a[i][l] * 0.9999f + 1e-7f;
  volatile float sink = a[0][0];
  (void)sink;
  return double(iters) * 12 * 4 * 2;
#endif
}

Napi::Value CpuPeakGflops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GLAM_NAPI_TRY
    const int threads = threads_arg(info.Length() > 0 ? info[0] : Napi::Value());
    PoolSlot& slot = pool_slot(threads);
    std::lock_guard<std::mutex> lk(slot.mu);
    const int64_t iters = 20'000'000;  // ~0.1 s per thread at ~100 GFLOP/s
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
      std::vector<double> flops(size_t(threads), 0.0);
      const auto t0 = std::chrono::steady_clock::now();
      slot.pool->run(threads, [&](int64_t t) { flops[size_t(t)] = fma_loop(iters); });
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double total = 0;
      for (double f : flops) total += f;
      best = std::max(best, total / dt / 1e9);
    }
    return Napi::Number::New(env, best);
  GLAM_NAPI_CATCH(env)
}

}  // namespace

void register_op_exports(Napi::Env env, Napi::Object exports) {
  Napi::Object ops = Napi::Object::New(env);
  ops.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  ops.Set("openblasSgemm", Napi::Function::New(env, OpenblasSgemm, "openblasSgemm"));
  ops.Set("cpuPeakGflops", Napi::Function::New(env, CpuPeakGflops, "cpuPeakGflops"));
  exports.Set("ops", ops);
}

}  // namespace glam::napi
