#pragma once
// A tiny check harness for the programs mpirun starts (Catch2 does not know about ranks): each
// rank counts its failed checks, and finish() sums them over the ranks, so every rank exits with
// the same status and none is left waiting in a collective because another stopped early.
#include <cstdio>
#include <string>

#include "minidnn/distributed/environment.hpp"

namespace mpi_check {

inline int& failures() {
  static int n = 0;
  return n;
}

#define MPI_CHECK(condition, ...)                                                          \
  do {                                                                                     \
    if (!(condition)) {                                                                    \
      ++mpi_check::failures();                                                             \
      std::fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #condition);   \
      std::fprintf(stderr, __VA_ARGS__);                                                   \
      std::fprintf(stderr, "\n");                                                          \
    }                                                                                      \
  } while (0)

// The exit status of every rank: 0 when no rank failed a check.
inline int finish(const minidnn::distributed::MpiEnvironment& mpi, const char* name) {
  double failed = mpi_check::failures();
  mpi.sum(&failed, 1);
  if (mpi.is_root())
    std::printf("%s: %d rank(s), %s (%d failed checks)\n", name, mpi.size(), failed == 0 ? "passed" : "FAILED", int(failed));
  return failed == 0 ? 0 : 1;
}

}  // namespace mpi_check
