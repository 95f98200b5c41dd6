// NcclCollective: Collective (collective.h) for GPU learners over NCCL, one GPU per rank. Rank 0 makes
// the communicator's unique id (ncclGetUniqueId, 128 bytes) and MPI broadcasts it; every rank then
// calls ncclCommInitRank after cudaSetDevice(device). Built only where NCCL's headers and library and a
// CUDA toolkit are found (cmake/collective.cmake), into glam_nccl.node.
// Legend: see collective.h.
// Subtle: the engines hand gradients to TypeScript as host buffers (Engine::read_gradients), so a host
// buffer is staged through one device buffer (grown to the largest seen) on a private stream;
// allreduce_device() is the zero-copy path for a device pointer. ncclAvg does the averaging on the
// GPU. A NCCL error other than success is LearnerLost; abort() is ncclCommAbort, then MPI_Abort.
#pragma once
#include <cuda_runtime.h>
#include <nccl.h>

#include "collective/mpi_collective.h"

namespace glam::collective {

class NcclCollective final : public Collective {
 public:
  NcclCollective(MpiCollective& mpi, int device);
  ~NcclCollective() override;
  int rank() const override { return mpi_.rank(); }
  int size() const override { return mpi_.size(); }
  // A host buffer, staged through the GPU.
  void allreduce(void* buf, int64_t n, Elem t, ReduceOp op) override;
  // In place on device memory (stream-ordered on this collective's stream, then synchronised).
  void allreduce_device(void* dbuf, int64_t n, Elem t, ReduceOp op);
  void broadcast(void* buf, int64_t bytes, int root) override { mpi_.broadcast(buf, bytes, root); }
  void barrier() override { mpi_.barrier(); }
  [[noreturn]] void abort(int code) override;
  std::string describe() const override;

 private:
  MpiCollective& mpi_;
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* staging_ = nullptr;
  size_t staging_bytes_ = 0;
};

}  // namespace glam::collective
