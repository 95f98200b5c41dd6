// MpiCollective: Collective (collective.h) over MPI_COMM_WORLD, duplicated, with MPI_ERRORS_RETURN.
// Legend: see collective.h.
// Subtle: Node loads addons with RTLD_LOCAL, but Open MPI's plugins (mca_*.so) look up libmpi's
// symbols globally, so init() first reopens libmpi with RTLD_GLOBAL. MPI is initialised with
// MPI_THREAD_SERIALIZED: collectives run on libuv's worker threads, one at a time (the TypeScript side
// awaits each before the next).
#pragma once
#include <mpi.h>

#include "collective/collective.h"

namespace glam::collective {

class MpiCollective final : public Collective {
 public:
  // MPI_Init_thread (once per process); InvalidArgument when the library gives less than SERIALIZED.
  MpiCollective();
  ~MpiCollective() override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  void allreduce(void* buf, int64_t n, Elem t, ReduceOp op) override;
  void broadcast(void* buf, int64_t bytes, int root) override;
  void barrier() override;
  [[noreturn]] void abort(int code) override;
  std::string describe() const override;
  MPI_Comm comm() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

// Throws LearnerLost with MPI's own words when rc is not MPI_SUCCESS.
void check_mpi(int rc, const char* what);

}  // namespace glam::collective
