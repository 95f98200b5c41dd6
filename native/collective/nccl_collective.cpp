// NcclCollective; see nccl_collective.h.
#include "collective/nccl_collective.h"

#include <cstdlib>

#include "common/error.h"

namespace glam::collective {
namespace {

void check_nccl(ncclResult_t r, const char* what) {
  if (r == ncclSuccess) return;
  fail("LearnerLost", std::string(what) + " failed: " + ncclGetErrorString(r) +
                          " (another learner died or the network between GPUs broke)");
}

void check_cuda(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  fail("CudaError", std::string(what) + " failed: " + cudaGetErrorString(e));
}

ncclDataType_t nccl_type(Elem t) { return t == Elem::F32 ? ncclFloat32 : ncclFloat64; }
ncclRedOp_t nccl_op(ReduceOp op) { return op == ReduceOp::Max ? ncclMax : op == ReduceOp::Avg ? ncclAvg : ncclSum; }

}  // namespace

NcclCollective::NcclCollective(MpiCollective& mpi, int device) : mpi_(mpi), device_(device) {
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  ncclUniqueId id;
  if (mpi_.rank() == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  mpi_.broadcast(&id, sizeof(id), 0);
  check_nccl(ncclCommInitRank(&comm_, mpi_.size(), id, mpi_.rank()), "ncclCommInitRank");
  check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
}

NcclCollective::~NcclCollective() {
  if (staging_) cudaFree(staging_);
  if (stream_) cudaStreamDestroy(stream_);
  if (comm_) ncclCommDestroy(comm_);
}

void NcclCollective::allreduce_device(void* dbuf, int64_t n, Elem t, ReduceOp op) {
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  check_nccl(ncclAllReduce(dbuf, dbuf, size_t(n), nccl_type(t), nccl_op(op), comm_, stream_), "ncclAllReduce");
  check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
}

void NcclCollective::allreduce(void* buf, int64_t n, Elem t, ReduceOp op) {
  const size_t bytes = size_t(n) * elem_bytes(t);
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  if (bytes > staging_bytes_) {
    if (staging_) cudaFree(staging_);
    staging_ = nullptr;
    check_cuda(cudaMalloc(&staging_, bytes), "cudaMalloc (all-reduce staging)");
    staging_bytes_ = bytes;
  }
  check_cuda(cudaMemcpyAsync(staging_, buf, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync");
  check_nccl(ncclAllReduce(staging_, staging_, size_t(n), nccl_type(t), nccl_op(op), comm_, stream_), "ncclAllReduce");
  check_cuda(cudaMemcpyAsync(buf, staging_, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync");
  check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
}

void NcclCollective::abort(int code) {
  if (comm_) ncclCommAbort(comm_);
  comm_ = nullptr;
  mpi_.abort(code);
}

std::string NcclCollective::describe() const {
  int v = 0;
  ncclGetVersion(&v);
  return "NCCL " + std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100) + " over " +
         mpi_.describe();
}

}  // namespace glam::collective
