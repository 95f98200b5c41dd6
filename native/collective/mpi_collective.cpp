// MpiCollective; see mpi_collective.h.
#include "collective/mpi_collective.h"

#include <dlfcn.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "common/error.h"

namespace glam::collective {
namespace {

constexpr int64_t kMaxCount = int64_t(1) << 30;  // MPI counts are int: large buffers go in pieces

MPI_Datatype mpi_type(Elem t) { return t == Elem::F32 ? MPI_FLOAT : MPI_DOUBLE; }

// Reopens libmpi with RTLD_GLOBAL so Open MPI's dlopen'ed plugins resolve its symbols.
void promote_libmpi() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &info) != 0 && info.dli_fname != nullptr)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
}

}  // namespace

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail("LearnerLost", std::string(what) + " failed: " + std::string(text, size_t(len)) +
                          " (another learner died or the network between learners broke)");
}

MpiCollective::MpiCollective() {
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    promote_libmpi();
    int provided = 0;
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    GLAM_CHECK(provided >= MPI_THREAD_SERIALIZED, "InvalidArgument",
               "this MPI library gives no MPI_THREAD_SERIALIZED support; glam's learners need it");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  MPI_Comm local;
  check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local), "MPI_Comm_split_type");
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
}

MpiCollective::~MpiCollective() {
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiCollective::allreduce(void* buf, int64_t n, Elem t, ReduceOp op) {
  char* p = static_cast<char*>(buf);
  for (int64_t off = 0; off < n; off += kMaxCount) {
    const int c = int(std::min(kMaxCount, n - off));
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, p + off * int64_t(elem_bytes(t)), c, mpi_type(t), op == ReduceOp::Max ? MPI_MAX : MPI_SUM, comm_),
              "MPI_Allreduce");
  }
  if (op != ReduceOp::Avg) return;
  if (t == Elem::F32) {
    float* f = static_cast<float*>(buf);
    const float d = float(size_);
    for (int64_t i = 0; i < n; ++i) f[i] /= d;
  } else {
    double* f = static_cast<double*>(buf);
    const double d = double(size_);
    for (int64_t i = 0; i < n; ++i) f[i] /= d;
  }
}

void MpiCollective::broadcast(void* buf, int64_t bytes, int root) {
  GLAM_CHECK(root >= 0 && root < size_, "InvalidArgument", "broadcast root must be a rank in [0, " + std::to_string(size_) + ")");
  char* p = static_cast<char*>(buf);
  for (int64_t off = 0; off < bytes; off += kMaxCount)
    check_mpi(MPI_Bcast(p + off, int(std::min(kMaxCount, bytes - off)), MPI_BYTE, root, comm_), "MPI_Bcast");
}

void MpiCollective::barrier() { check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); }

void MpiCollective::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  _Exit(code);  // MPI_Abort returned (it should not)
}

std::string MpiCollective::describe() const {
  char v[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(v, &len);
  std::string s(v, size_t(len));
  const size_t nl = s.find_first_of(",\n");
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace glam::collective
