#pragma once
/// \file
/// The CPU GEMM behind minidnn::gemm (row-major, see backend/gemm.hpp for the contract): a
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
/// Threading: outside an OpenMP parallel region, products big enough to pay for it are split over
/// the threads by blocks of columns (or of rows when C is narrow); inside a parallel region the
/// calling thread does all the work. The packing buffer is one per thread, grown on first use and
/// then reused, so steady-state calls allocate nothing.
#include <algorithm>
#include <cstddef>

#include "minidnn/backend/cpu_gemm_kernel.hpp"
#include "minidnn/backend/cpu_gemm_pack.hpp"
#include "minidnn/backend/cpu_gemm_simd.hpp"
#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/core/parallel.hpp"

namespace minidnn::cpu {

/// Cache blocking of the CPU GEMM (values measured on the target machine, see docs/gemm.md).
template <typename T>
struct GemmBlocking {
  /// Width of one packed B panel = one register tile of C.
  static constexpr int panel = Simd<T>::vectors * Simd<T>::width;
  /// k slice: one packed B panel (kc x panel) stays in L1 while the register tiles of a row block
  /// stream past it.
  static constexpr int kc = 256;
  /// Rows of A per block: the A block (mc x kc, read in place) stays in L2 across the B panels.
  static constexpr int mc = 192;
  /// Columns per packed B block (kc x nc): bounded so the block fits L2 with the A block.
  static constexpr int nc = 16 * panel;
  /// Below this many multiply-adds a product runs on one thread: starting a parallel region
  /// would cost more than it saves.
  static constexpr double min_parallel_madds = 1 << 21;
  /// Blocks of C per thread in a multi-threaded product (see gemm()).
  static constexpr int blocks_per_thread = 4;
};

/// The calling thread's packing buffer, grown on demand and kept for the next call.
template <typename T>
AlignedVector<T>& packing_buffer() {
  static thread_local AlignedVector<T> buffer;
  return buffer;
}

/// C = beta * C for the k == 0 / alpha == 0 cases; beta == 0 writes zeros without reading C.
template <typename T>
void scale_matrix(int m, int n, T beta, T* c, std::ptrdiff_t ldc) {
  if (beta == T(1)) return;
  for (int i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T(0)) std::fill(row, row + n, T(0));
    else for (int j = 0; j < n; ++j) row[j] *= beta;
  }
}

/// The whole blocked product on the calling thread. Requires m, n, k > 0.
template <typename T>
void gemm_serial(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a,
                 std::ptrdiff_t lda, const T* b, std::ptrdiff_t ldb, T beta, T* c,
                 std::ptrdiff_t ldc) {
  using S = Simd<T>;
  using Blocking = GemmBlocking<T>;
  constexpr int panel = Blocking::panel;
  constexpr int w = S::width;
  constexpr int mr = S::rows;

  const int nc_max = std::min(Blocking::nc, (n + panel - 1) / panel * panel);
  const int kc_max = std::min(Blocking::kc, k);
  AlignedVector<T>& buffer = packing_buffer<T>();
  const std::size_t needed = static_cast<std::size_t>(nc_max) * kc_max;
  if (buffer.size() < needed) buffer.resize(needed);
  T* packed_b = buffer.data();  // nc / panel panels, each kc x panel

  const ALayout layout = trans_a ? ALayout::k_major : ALayout::row_major;
  for (int jc = 0; jc < n; jc += Blocking::nc) {
    const int nc = std::min(Blocking::nc, n - jc);
    for (int pc = 0; pc < k; pc += Blocking::kc) {
      const int kc = std::min(Blocking::kc, k - pc);
      const T beta_here = pc == 0 ? beta : T(1);  // later k slices accumulate onto the first
      pack_b(trans_b, kc, nc, trans_b ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, packed_b);

      for (int ic = 0; ic < m; ic += Blocking::mc) {
        const int mc = std::min(Blocking::mc, m - ic);
        // A block (mc x kc) origin; A(i, p) = a[p * lda + i] (transposed) or a[i * lda + p].
        const T* a_block = trans_a ? a + pc * lda + ic : a + ic * lda + pc;
        for (int jr = 0; jr < nc; jr += panel) {
          const int cols = std::min(panel, nc - jr);
          const int vectors = (cols + w - 1) / w;
          const auto last_mask = S::first_lanes(cols - (vectors - 1) * w);
          const T* b_panel = packed_b + static_cast<std::ptrdiff_t>(jr) * kc;
          T* c_panel = c + ic * ldc + jc + jr;
          for (int ir = 0; ir < mc; ir += mr) {
            const int rows = std::min(mr, mc - ir);
            if (layout == ALayout::k_major) {
              MicroKernelTable<T, ALayout::k_major>::get(rows, vectors)(
                  kc, a_block + ir, lda, b_panel, panel, c_panel + ir * ldc, ldc, alpha, beta_here,
                  last_mask);
            } else {
              MicroKernelTable<T, ALayout::row_major>::get(rows, vectors)(
                  kc, a_block + ir * lda, lda, b_panel, panel, c_panel + ir * ldc, ldc, alpha,
                  beta_here, last_mask);
            }
          }
        }
      }
    }
  }
}

/// C (m x n) = alpha * op(A) * op(B) + beta * C, row-major; see backend/gemm.hpp.
template <typename T>
void gemm(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
          int ldb, T beta, T* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {  // nothing to multiply: A and B are not read
    scale_matrix(m, n, beta, c, ldc);
    return;
  }
  using Blocking = GemmBlocking<T>;
  const double madds = static_cast<double>(m) * n * k;
  int threads = 1;
  if (!in_parallel_region() && madds >= 2 * Blocking::min_parallel_madds)
    threads = std::min<double>(max_threads(), madds / Blocking::min_parallel_madds);

  // Split C into independent blocks of whole B panels of columns if there are enough, else of
  // whole register tiles of rows (narrow outputs such as a 7-class dense layer). There are a few
  // blocks per thread, handed out dynamically: on a shared machine a thread that starts late
  // then takes fewer blocks instead of holding everyone at the closing barrier.
  constexpr int panel = Blocking::panel;
  constexpr int mr = Simd<T>::rows;
  const int column_units = (n + panel - 1) / panel;
  const int row_units = (m + mr - 1) / mr;
  const bool split_columns = column_units >= 2 * threads || column_units >= row_units;
  const int units = split_columns ? column_units : row_units;
  threads = std::min(threads, units);
  if (threads <= 1) {
    gemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const int units_per_block = std::max(1, units / (Blocking::blocks_per_thread * threads));
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
