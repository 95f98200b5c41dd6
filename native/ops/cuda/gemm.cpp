// cuBLASLt GEMMs; see gemm.h.
#include "ops/cuda/gemm.h"

#include <algorithm>
#include <string>

namespace glam::cuda {

struct Gemm::Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

namespace {

// The largest power of two (at most 256) that divides the address: cuBLASLt picks kernels by it.
int alignment(const void* p) {
  const uintptr_t u = reinterpret_cast<uintptr_t>(p);
  int a = 256;
  while (a > 1 && (u % uintptr_t(a)) != 0) a >>= 1;
  return a;
}

}  // namespace

Gemm::Gemm(size_t workspace_bytes) : ws_bytes_(workspace_bytes) {
  CUBLAS_CHECK(cublasLtCreate(&handle_));
  if (cudaMalloc(&ws_, ws_bytes_) != cudaSuccess) {
    cublasLtDestroy(handle_);
    cudaGetLastError();
    throw GlamError("CudaError", "out of GPU memory for the cuBLASLt workspace (" + std::to_string(ws_bytes_ >> 20) +
                                     " MiB)");
  }
}

Gemm::~Gemm() {
  plans_.clear();
  if (ws_) cudaFree(ws_);
  if (handle_) cublasLtDestroy(handle_);
}

Gemm::Plan& Gemm::plan(const Key& key) {
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  const auto [M, N, K, in_i, has_bias, accumulate, align, op_i, ldx, ldw, ldy] = key;
  (void)accumulate;
  const GemmOp op = GemmOp(op_i);
  const bool bf16 = in_i == int(DType::BF16);
  const cudaDataType_t ab = bf16 ? CUDA_R_16BF : CUDA_R_32F;
  auto p = std::make_unique<Plan>();
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t ta = op == GemmOp::NT ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t tb = op == GemmOp::TN ? CUBLAS_OP_T : CUBLAS_OP_N;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  const cublasLtEpilogue_t epi = has_bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
  if (has_bias) {
    const cudaDataType_t bt = CUDA_R_32F;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof(bt)));
  }
  // column-major views (stored shapes, before transa/transb); C = D = Y^T (N x M, ld ldy)
  if (op == GemmOp::NT) CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->a, ab, uint64_t(K), uint64_t(N), ldw));
  else CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->a, ab, uint64_t(N), uint64_t(K), ldw));
  if (op == GemmOp::TN) CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->b, ab, uint64_t(M), uint64_t(K), ldx));
  else CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->b, ab, uint64_t(K), uint64_t(M), ldx));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->c, CUDA_R_32F, uint64_t(N), uint64_t(M), ldy));
  cublasLtMatmulPreference_t pref = nullptr;
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint32_t al = uint32_t(align);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes_, sizeof(ws_bytes_));
  for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    cublasLtMatmulPreferenceSetAttribute(pref, attr, &al, sizeof(al));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t st =
      cublasLtMatmulAlgoGetHeuristic(handle_, p->op, p->a, p->b, p->c, p->c, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS || found == 0)
    throw GlamError("CudaError", "cuBLASLt has no algorithm for a " + std::string(bf16 ? "bf16" : "fp32") + " GEMM of " +
                                     std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) +
                                     " (status " + std::to_string(int(st)) + ")");
  p->algo = result.algo;
  return *plans_.emplace(key, std::move(p)).first->second;
}

void Gemm::nt(float* Y, const void* X, const void* W, const float* bias, int64_t M, int64_t N, int64_t K, DType in,
              bool accumulate, cudaStream_t s) {
  run(GemmOp::NT, Y, N, X, K, W, K, bias, M, N, K, in, accumulate, s);
}

void Gemm::run(GemmOp op, float* Y, int64_t ldy, const void* X, int64_t ldx, const void* W, int64_t ldw,
               const float* bias, int64_t M, int64_t N, int64_t K, DType in, bool accumulate, cudaStream_t s) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // an empty reduction: Y = 0 (+ bias) or unchanged; cuBLASLt rejects K = 0
    GLAM_CHECK(accumulate && !bias, "Internal", "a GEMM with K = 0 must accumulate without a bias");
    return;
  }
  int align = alignment(Y);
  for (const void* q : {X, W, static_cast<const void*>(bias)})
    if (q) align = std::min(align, alignment(q));
  // every row of a strided operand starts ld * element bytes after the previous one
  const int64_t es = int64_t(dtype_size(in));
  for (int64_t stride_bytes : {ldy * 4, ldx * es, ldw * es})
    align = std::min(align, alignment(reinterpret_cast<const void*>(uintptr_t(stride_bytes))));
  Plan& p = plan(Key{M, N, K, int(in), bias != nullptr, accumulate, align, int(op), ldx, ldw, ldy});
  if (bias) CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  CUBLAS_CHECK(cublasLtMatmul(handle_, p.op, &alpha, W, p.a, X, p.b, &beta, Y, p.c, Y, p.c, &p.algo, ws_, ws_bytes_, s));
}

}  // namespace glam::cuda
