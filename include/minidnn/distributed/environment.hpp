#pragma once
/// \file
/// MpiEnvironment: MPI started for the life of the object (MPI_Init_thread, MPI_Finalize), this
/// process's rank and the number of ranks, and the few collectives the data-parallel code needs
/// beyond the gradient allreduce (sums of metrics, broadcasts, a barrier). Only the calling thread
/// talks to MPI (MPI_THREAD_FUNNELED): OpenMP threads compute, the main thread communicates.
///
/// A rank that dies takes the job down: MPI_ERRORS_ARE_FATAL stays the handler of
/// MPI_COMM_WORLD, mpirun ends the other ranks when one exits abnormally, and abort() ends the
/// job from a rank that cannot go on (an error on one rank that the others cannot know about
/// would otherwise leave them waiting in a collective forever).
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "minidnn/core/error.hpp"

namespace minidnn::distributed {

/// The MPI datatype of a scalar.
template <typename T>
MPI_Datatype mpi_type() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "mpi_type: float or double");
  return std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE;
}

/// Fails with MPI's own message when an MPI call does not return MPI_SUCCESS.
inline void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, message, &length);
  fail(what, ": ", std::string(message, length));
}

/// True when this process was started by Open MPI's mpirun (or another launcher that sets the
/// PMIx/Open MPI variables), i.e. when starting MPI makes sense; a plain run stays MPI-free.
inline bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr;
}

class MpiEnvironment {
 public:
  MpiEnvironment(int* argc = nullptr, char*** argv = nullptr) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) fail("MpiEnvironment: MPI is already started");
    int provided = 0;
    check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiEnvironment() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  /// In place, over all ranks.
  void sum(double* values, int count) const {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  }
  template <typename T>
  void broadcast(T* values, std::size_t count, int root = 0) const {
    check_mpi(MPI_Bcast(values, int(count), mpi_type<T>(), root, MPI_COMM_WORLD), "MPI_Bcast");
  }
  void broadcast(int& value, int root = 0) const {
    check_mpi(MPI_Bcast(&value, 1, MPI_INT, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
  void barrier() const { check_mpi(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

  /// Ends the whole job (every rank) after printing `message` on this rank's stderr.
  [[noreturn]] void abort(const std::string& message, int code = 1) const {
    std::fprintf(stderr, "rank %d of %d: %s; ending the job\n", rank_, size_, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort();
  }

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace minidnn::distributed
