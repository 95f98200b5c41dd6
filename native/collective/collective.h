// Collective: what data-parallel learners need from a communication library, behind one interface:
// an in-place all-reduce of a flat buffer, a broadcast, a barrier and an abort. Two implementations:
// MpiCollective (mpi_collective.cpp; Open MPI or any MPI) for CPU learners on one machine or many,
// and NcclCollective (nccl_collective.cpp, built only where NCCL and CUDA are found) for GPU learners,
// whose communicator is set up from a unique id that rank 0 makes and MPI broadcasts.
// Used by the collective addon glam_mpi.node / glam_nccl.node (addon.cpp); declared to TypeScript in
// lib/native/collective.ts. The CPU and CUDA engine addons never link MPI.
// Legend: n elements of the buffer; P learners (ranks).
// Subtle:
// - Avg is Sum then a division by P on every rank: the sum is the same bits on every rank (MPI's and
//   NCCL's reductions hand every rank the same result), so the replicas stay bit-identical.
// - Failures are GlamError "LearnerLost" (a peer died, the network broke): MPI runs with
//   MPI_ERRORS_RETURN so an error comes back here instead of aborting the process, where the
//   transport can tell; where it cannot (shared memory), the TypeScript side's timeout does.
#pragma once
#include <cstdint>
#include <string>

namespace glam::collective {

enum class ReduceOp { Sum, Max, Avg };
enum class Elem { F32, F64 };

inline size_t elem_bytes(Elem t) { return t == Elem::F32 ? 4 : 8; }

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In place over buf (n elements), blocking; every rank passes the same n, type and op.
  virtual void allreduce(void* buf, int64_t n, Elem t, ReduceOp op) = 0;
  // root's `bytes` bytes of buf to every rank.
  virtual void broadcast(void* buf, int64_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job (MPI_Abort / ncclCommAbort then MPI_Abort); never returns.
  [[noreturn]] virtual void abort(int code) = 0;
  virtual std::string describe() const = 0;
};

}  // namespace glam::collective
