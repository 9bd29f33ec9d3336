#pragma once
/// \file
/// The CPU GEMM behind minidnn::gemm (row-major, see ops/gemm.hpp for the contract): a
/// cache-blocked, packed GEMM in the GotoBLAS/BLIS style, for float and double.
///
/// Loops, outermost first (docs/gemm.md explains the sizes):
///   columns of C in blocks of nc  >  k in slices of kc (pack op(B) kc x nc, panel by panel)
///   >  rows in blocks of mc  >  B panels of one register tile's width  >  register tiles of rows
///   >  micro-kernel over kc.
/// Only B is packed: the micro-kernel reads A in place, whether A is stored as is or transposed
/// (cpu_gemm_kernel.hpp), so no product pays for copying A; the small-n per-sample products of a
/// convolution would pay for it in full.
///
/// Each instruction set has its own copy of the blocked product (micro-kernel, packing, the
/// loops above; ops/gemm/*-inl.hpp); the threads are started here, in portable code, and each
/// runs the active set's copy on its blocks.
///
/// Threading: outside an OpenMP parallel region, products big enough to pay for it are split over
/// the threads by blocks of columns (or of rows when C is narrow); inside a parallel region the
/// calling thread does all the work. The packing buffer is one per thread, grown on first use and
/// then reused, so steady-state calls allocate nothing.
#include <algorithm>
#include <cstddef>

#include <type_traits>

#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/core/parallel.hpp"
#include "minidnn/cpu/simd.hpp"

namespace minidnn::cpu {

/// How the micro-kernel finds A(i, k); see ops/gemm/kernel-inl.hpp.
enum class ALayout { k_major, row_major };

/// How a product is cut into blocks for threads, for one instruction set (see gemm()).
struct GemmUnits {
  int panel;                  // columns per B panel
  int rows;                   // rows per register tile
  double min_parallel_madds;  // below, one thread
  int blocks_per_thread;
};

}  // namespace minidnn::cpu

#define MINIDNN_PER_ISA_FILE "minidnn/ops/gemm/kernel-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"
#define MINIDNN_PER_ISA_FILE "minidnn/ops/gemm/pack-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"
#define MINIDNN_PER_ISA_FILE "minidnn/ops/gemm/serial-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"

namespace minidnn::cpu {

/// The blocked product on the calling thread, on the active instruction set. Requires m, n, k > 0.
template <typename T>
void gemm_serial(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a,
                 std::ptrdiff_t lda, const T* b, std::ptrdiff_t ldb, T beta, T* c,
                 std::ptrdiff_t ldc) {
  MINIDNN_DISPATCH(gemm_serial<T>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
}

/// C = beta * C for the k == 0 / alpha == 0 cases; beta == 0 writes zeros without reading C.
template <typename T>
void scale_matrix(int m, int n, T beta, T* c, std::ptrdiff_t ldc) {
  MINIDNN_DISPATCH(scale_matrix<T>(m, n, beta, c, ldc));
}

template <typename T>
GemmUnits gemm_units() {
  MINIDNN_DISPATCH(gemm_units<T>());
}

/// C (m x n) = alpha * op(A) * op(B) + beta * C, row-major; see ops/gemm.hpp.
template <typename T>
void gemm(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
          int ldb, T beta, T* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {  // nothing to multiply: A and B are not read
    scale_matrix(m, n, beta, c, ldc);
    return;
  }
  const GemmUnits tile = gemm_units<T>();
  const double madds = static_cast<double>(m) * n * k;
  int threads = 1;
  if (!in_parallel_region() && madds >= 2 * tile.min_parallel_madds)
    threads = std::min<double>(max_threads(), madds / tile.min_parallel_madds);

  // Split C into independent blocks of whole B panels of columns if there are enough, else of
  // whole register tiles of rows (narrow outputs such as a 7-class dense layer). There are a few
  // blocks per thread, handed out dynamically: on a shared machine a thread that starts late
  // then takes fewer blocks instead of holding everyone at the closing barrier.
  const int panel = tile.panel;
  const int mr = tile.rows;
  const int column_units = (n + panel - 1) / panel;
  const int row_units = (m + mr - 1) / mr;
  const bool split_columns = column_units >= 2 * threads || column_units >= row_units;
  const int units = split_columns ? column_units : row_units;
  threads = std::min(threads, units);
  if (threads <= 1) {
    gemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const int units_per_block = std::max(1, units / (tile.blocks_per_thread * threads));
  const int blocks = (units + units_per_block - 1) / units_per_block;

#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int block = 0; block < blocks; ++block) {
    const int first = block * units_per_block;
    const int last = std::min(units, first + units_per_block);
    if (split_columns) {
      const int j0 = first * panel, j1 = std::min(n, last * panel);
      gemm_serial(trans_a, trans_b, m, j1 - j0, k, alpha, a, lda,
                  trans_b ? b + static_cast<std::ptrdiff_t>(j0) * ldb : b + j0, ldb, beta, c + j0,
                  ldc);
    } else {
      const int i0 = first * mr, i1 = std::min(m, last * mr);
      gemm_serial(trans_a, trans_b, i1 - i0, n, k, alpha,
                  trans_a ? a + i0 : a + static_cast<std::ptrdiff_t>(i0) * lda, lda, b, ldb, beta,
                  c + static_cast<std::ptrdiff_t>(i0) * ldc, ldc);
    }
  }
}

}  // namespace minidnn::cpu
