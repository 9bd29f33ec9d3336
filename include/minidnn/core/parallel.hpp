#pragma once
/// \file
/// The few OpenMP facts the library needs, in one place, so a build without OpenMP still works.
#include <algorithm>
#include <cstddef>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace minidnn {

/// Threads a parallel region started here would get.
inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// Index of the calling thread inside a parallel region (0 outside).
inline int thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/// Threads in the current parallel region's team (1 outside).
inline int team_size() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

/// True inside an active parallel region: nested kernels must then run on the calling thread.
inline bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

/// Sets the number of threads used by minidnn's parallel regions.
inline void set_num_threads(int n) {
#ifdef _OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}

/// out[0, n) = parts[0] + ... + parts[count - 1], summed in thread order: the per-thread gradient
/// shares of a parallel backward, deterministic for a given thread count. Parts is any container
/// of per-thread buffers of at least n values each.
template <typename Parts, typename T>
void sum_thread_shares(const Parts& parts, int count, std::size_t n, T* out) {
  std::copy(parts[0].begin(), parts[0].begin() + n, out);
  for (int t = 1; t < count; ++t)
    for (std::size_t i = 0; i < n; ++i) out[i] += parts[t][i];
}

/// The same into a whole container: out.size() values.
template <typename Parts, typename Out>
void sum_thread_shares(const Parts& parts, int count, Out& out) {
  sum_thread_shares(parts, count, out.size(), out.data());
}

}  // namespace minidnn
